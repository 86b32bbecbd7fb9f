#include "net/native_handler.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <optional>
#include <variant>

#include <spdlog/spdlog.h>

#include "auth/identity_service.h"
#include "common/request_context.h"
#include "net/tuning.h"
#include "tether/codec.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

// WebSocket close codes (RFC 6455 7.4.1).
constexpr uint16_t kCloseProtocolError = 1002;
constexpr uint16_t kCloseInvalidPayload = 1007;

bool isIdentityRequest(const proto::RequestBody& body) {
  return std::holds_alternative<proto::GetIdRequest>(body) ||
         std::holds_alternative<proto::GetTokenRequest>(body) ||
         std::holds_alternative<proto::AuthenticateRequest>(body) ||
         std::holds_alternative<proto::GetDeveloperTokenRequest>(body);
}

// The request's kind, the operation label of its metrics (proto::RequestBody's order).
const char* operationName(const proto::RequestBody& body) {
  static constexpr const char* kNames[] = {"GetId",         "GetToken",     "Authenticate",    "ListDatasets",
                                           "DescribeDataset", "ListRecords", "UpdateRecords",   "DeleteDataset",
                                           "DescribeIdentityUsage", "Subscribe", "Unsubscribe", "GetDeveloperToken"};
  static_assert(std::size(kNames) == std::variant_size_v<proto::RequestBody>);
  return kNames[body.index()];
}

// Converts a Result<T> into a response body.
template <class T>
proto::ResponseBody toBody(Result<T> r) {
  if (!r.isOk()) return r.status();
  return std::move(r).value();
}

}  // namespace

NativeHandler::NativeHandler(IdentityService& identities, SyncService& sync,
                             WorkPool& pool, const Clock& clock, ServerMetrics& metrics)
    : identities_(identities), sync_(sync), pool_(pool), clock_(clock), metrics_(metrics) {}

void NativeHandler::attach(NetServer& server) { server_ = &server; }

void NativeHandler::onOpen(ConnId conn, const std::string& peer) {
  auto s = std::make_shared<Session>();
  s->id = conn;
  s->peer = peer;
  sessions_.emplace(conn, std::move(s));
  metrics_.connectionsOpen++;
  metrics_.connectionsTotal++;
  spdlog::debug("conn {}: open from {}", conn, peer);
}

void NativeHandler::onClose(ConnId conn) {
  sessions_.erase(conn);
  changes_.removeConnection(conn);
  metrics_.connectionsOpen--;
  spdlog::debug("conn {}: closed", conn);
}

void NativeHandler::onFrame(ConnId conn, std::string frame) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end()) return;
  std::shared_ptr<Session> s = it->second;

  Result<proto::ClientMessage> msg = codec::decodeClientMessage(frame);
  if (!msg.isOk()) {
    metrics_.protocolErrorsTotal++;
    // A request we can't read but whose id we can (e.g. a newer client's request type) gets a
    // typed error; anything else ends the connection with the reason.
    if (std::optional<uint64_t> id = codec::peekRequestId(frame); id && s->helloDone) {
      respond(conn, *id, msg.status());
      return;
    }
    spdlog::info("conn {}: closing: {}", conn, msg.status().message());
    server_->close(conn, kCloseInvalidPayload, msg.status().message());
    return;
  }

  if (auto* hello = std::get_if<proto::Hello>(&*msg)) {
    onHello(*s, *hello);
    return;
  }
  if (!s->helloDone) {
    metrics_.protocolErrorsTotal++;
    respond(conn, 0, Status::protocolError("send hello before any request"));
    server_->close(conn, kCloseProtocolError, "hello expected first");
    return;
  }
  onRequest(s, std::get<proto::Request>(std::move(*msg)));
}

void NativeHandler::onHello(Session& s, const proto::Hello& hello) {
  if (s.helloDone) {
    respond(s.id, 0, Status::protocolError("hello already received"));
    return;
  }
  if (hello.protocolVersion < proto::kProtocolVersion) {
    metrics_.protocolErrorsTotal++;
    respond(s.id, 0, Status::protocolError("unsupported protocol version " +
                                           std::to_string(hello.protocolVersion) +
                                           "; this server speaks 1"));
    server_->close(s.id, kCloseProtocolError, "unsupported protocol version");
    return;
  }
  // A newer client is answered with our version; it must speak it or hang up.
  s.helloDone = true;
  server_->send(s.id, codec::encode(proto::ServerMessage{proto::HelloAck{
                          proto::kProtocolVersion, "tetherd/0.1", static_cast<uint32_t>(kMaxFrameBytes),
                          /*conditionalPush=*/true}}));
}

void NativeHandler::onRequest(const std::shared_ptr<Session>& s, proto::Request request) {
  metrics_.requestsTotal++;
  // One request ID per request frame: in this thread's log lines, and (WorkPool) the worker's.
  RequestScope scope(newRequestId());
  {
    MutexLock lock(pendingMu_);
    pending_[{s->id, request.id}] =
        Pending{std::chrono::steady_clock::now(), operationName(request.body), currentRequestId()};
  }
  if (shuttingDown_.load()) {
    respond(s->id, request.id, Status::unavailable("server shutting down"));
    return;
  }
  if (s->inFlight.load() >= tuning::kMaxInFlightPerConnection) {
    metrics_.limitRejections[ServerMetrics::kPendingRequestsPerConnection]++;
    respond(s->id, request.id, Status::tooManyRequests("too many requests in flight on this connection"));
    return;
  }
  if (!rateAllows(*s, request.body)) {
    respond(s->id, request.id, Status::tooManyRequests("rate exceeded: try again later"));
    return;
  }

  if (isIdentityRequest(request.body)) {
    s->inFlight++;
    pool_.post([this, s, rq = std::move(request)]() mutable {
      runIdentityRequest(s, std::move(rq));
      s->inFlight--;
    });
    return;
  }

  std::optional<Caller> caller;
  int64_t expiresAtMs = 0;
  {
    MutexLock lock(s->mu);
    caller = s->caller;
    expiresAtMs = s->expiresAtMs;
  }
  if (!caller) {
    respond(s->id, request.id, Status::unauthenticated("authenticate first"));
    return;
  }
  if (expiresAtMs <= clock_.nowMs()) {
    respond(s->id, request.id, Status::unauthenticated("token expired; authenticate again"));
    return;
  }
  s->inFlight++;
  caller->connection = s->id;
  std::string identityId = caller->identityId;
  pool_.postForIdentity(identityId, [this, s, c = std::move(*caller), rq = std::move(request)]() mutable {
      if (std::holds_alternative<proto::UpdateRecordsRequest>(rq.body)) return runUpdateRecords(s, c, std::move(rq));
      runDatasetRequest(c, s->id, std::move(rq));
      s->inFlight--;
    });
}

// UpdateRecords may wait for the pool's sync trigger (docs/events.md "Sync trigger"): the answer
// and the end of the request's in-flight slot come from the completion, which runs now or later
// on this identity's strand. The strand is free meanwhile.
void NativeHandler::runUpdateRecords(const std::shared_ptr<Session>& s, const Caller& caller, proto::Request request) {
  const uint64_t id = request.id;
  auto done = [this, s, id](Result<proto::UpdateRecordsResponse> u) {
    if (u.isOk() && !u->records.empty()) {
      metrics_.batchesAcceptedTotal++;
      metrics_.recordsAcceptedTotal += static_cast<int64_t>(u->records.size());
    } else if (!u.isOk() && u.status().code() == StatusCode::kConflict) {
      metrics_.conflictsTotal++;
    }
    respond(s->id, id, toBody(std::move(u)));
    s->inFlight--;
  };
  try {
    sync_.updateRecordsAsync(caller, std::get<proto::UpdateRecordsRequest>(std::move(request.body)), done);
  } catch (const std::exception& e) {
    // Thrown before the service took the request (it hands `done` on only once it has).
    done(Status::internal(std::string("internal error: ") + e.what()));
  }
}

// The rate limits of docs/security.md, checked on the network thread before any work. A
// token request's pool is only known once its identity is read: it has the address limit only.
bool NativeHandler::rateAllows(Session& s, const proto::RequestBody& body) {
  if (!limiter_) return true;
  auto both = [&](RateKind kind, const std::string& poolId) {
    return limiter_->allowAddress(kind, s.peer) && limiter_->allowPool(kind, poolId);
  };
  if (auto* r = std::get_if<proto::GetIdRequest>(&body))
    return both(r->logins.empty() ? RateKind::kIdentityCreation : RateKind::kSignIn, r->identityPoolId);
  if (auto* r = std::get_if<proto::GetTokenRequest>(&body)) {
    if (!r->logins.empty() && !limiter_->allowAddress(RateKind::kSignIn, s.peer)) return false;
    return limiter_->allowAddress(RateKind::kTokenIssuance, s.peer);
  }
  if (auto* r = std::get_if<proto::GetDeveloperTokenRequest>(&body)) return both(RateKind::kSignIn, r->identityPoolId);
  if (std::holds_alternative<proto::UpdateRecordsRequest>(body) ||
      std::holds_alternative<proto::DeleteDatasetRequest>(body)) {
    std::string poolId;
    {
      MutexLock lock(s.mu);
      if (s.caller) poolId = s.caller->poolId;
    }
    if (poolId.empty()) return true;  // not authenticated: refused as such, not throttled
    return both(RateKind::kWrites, poolId);
  }
  return true;
}

void NativeHandler::runIdentityRequest(const std::shared_ptr<Session>& s, proto::Request request) {
  proto::ResponseBody body;
  try {
    if (auto* r = std::get_if<proto::GetIdRequest>(&request.body)) {
      body = toBody(identities_.getId(*r));
    } else if (auto* r = std::get_if<proto::GetTokenRequest>(&request.body)) {
      body = toBody(identities_.getToken(*r));
    } else if (auto* r = std::get_if<proto::GetDeveloperTokenRequest>(&request.body)) {
      body = toBody(identities_.getDeveloperToken(*r));
    } else if (auto* r = std::get_if<proto::AuthenticateRequest>(&request.body)) {
      Result<VerifiedToken> v = identities_.authenticate(r->token);
      if (v.isOk()) {
        {
          MutexLock lock(s->mu);
          s->caller = Caller{v->poolId, v->identityId, ""};
          s->expiresAtMs = v->expiresAtMs;
        }
        body = proto::AuthenticateResponse{v->identityId, v->poolId, v->expiresAtMs};
      } else {
        body = v.status();
      }
    }
  } catch (const std::exception& e) {
    body = Status::internal(std::string("internal error: ") + e.what());
  }
  respond(s->id, request.id, std::move(body));
}

void NativeHandler::runDatasetRequest(const Caller& caller, ConnId conn, proto::Request request) {
  proto::ResponseBody body;
  try {
    std::visit(
        [&](auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, proto::ListDatasetsRequest>) body = toBody(sync_.listDatasets(caller, r));
          else if constexpr (std::is_same_v<T, proto::DescribeDatasetRequest>) body = toBody(sync_.describeDataset(caller, r));
          else if constexpr (std::is_same_v<T, proto::ListRecordsRequest>) body = toBody(sync_.listRecords(caller, r));
          else if constexpr (std::is_same_v<T, proto::DeleteDatasetRequest>) body = toBody(sync_.deleteDataset(caller, r));
          else if constexpr (std::is_same_v<T, proto::DescribeIdentityUsageRequest>) body = toBody(sync_.describeIdentityUsage(caller));
          else if constexpr (std::is_same_v<T, proto::SubscribeRequest>) body = toBody(subscribe(caller, r));
          else if constexpr (std::is_same_v<T, proto::UnsubscribeRequest>) {
            changes_.unsubscribe(caller.connection, r.datasetNames);
            body = proto::UnsubscribeResponse{};
          }
          else body = Status::internal("unexpected request");
        },
        request.body);
  } catch (const std::exception& e) {
    body = Status::internal(std::string("internal error: ") + e.what());
  }
  respond(conn, request.id, std::move(body));
}

Result<proto::SubscribeResponse> NativeHandler::subscribe(const Caller& caller,
                                                         const proto::SubscribeRequest& r) {
  if (r.datasetNames.size() > static_cast<size_t>(kMaxDatasetsPerIdentity) * 4)
    return Status::invalidArgument("too many datasets in one subscribe");
  for (const auto& name : r.datasetNames) TETHER_RETURN_IF_ERROR(validateDatasetName(name));
  if (!r.deviceId.empty()) TETHER_RETURN_IF_ERROR(validateDeviceId(r.deviceId));
  // The device's stored Cognito subscriptions (none if it was never registered for this
  // identity). Read before touching the hub so a failure changes nothing; this runs on the
  // identity's strand, as SubscribeToDataset/UnsubscribeFromDataset do, so the set cannot go
  // stale between this read and attachDevice.
  std::optional<std::vector<std::string>> stored;
  if (!r.deviceId.empty() && deviceStore_ != nullptr) {
    TETHER_TRY(std::vector<std::string> names,
               deviceStore_->listDeviceSubscriptions(caller.poolId, caller.identityId, r.deviceId));
    stored = std::move(names);
  }
  // Subscribe first, then read the counts: a change committed in between is either in the
  // counts or notified (or both), never lost.
  changes_.subscribe(caller.connection, caller.poolId, caller.identityId, r.datasetNames);
  if (stored) changes_.attachDevice(caller.connection, caller.poolId, caller.identityId, r.deviceId, *stored);
  // One state per requested name, in order, then one per stored device subscription not
  // requested by name (so a client that sent no names learns where its datasets stand).
  std::vector<std::string> names = r.datasetNames;
  if (stored) {
    for (const auto& n : *stored)
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  proto::SubscribeResponse out;
  for (const auto& name : names) {
    Result<proto::DescribeDatasetResponse> d = sync_.describeDataset(caller, proto::DescribeDatasetRequest{name});
    if (d.isOk()) out.datasets.push_back({name, d->dataset.syncCount, true});
    else if (d.status().code() == StatusCode::kNotFound) out.datasets.push_back({name, 0, false});
    else return d.status();
    // A count newer than the hub knew means a change this node was not told of (made on
    // another node, its notice lost): the other followers hear of it now; this connection
    // learns it from the response.
    changes_.observeSyncCount(caller.poolId, caller.identityId, name, out.datasets.back().syncCount,
                              caller.connection);
  }
  return out;
}

void NativeHandler::push(uint64_t connection, const std::string& key, std::string frame) {
  server_->sendCoalesced(connection, key, std::move(frame));
}

void NativeHandler::respond(ConnId conn, uint64_t id, proto::ResponseBody body) {
  std::optional<Pending> pending;
  {
    MutexLock lock(pendingMu_);
    if (auto it = pending_.find({conn, id}); it != pending_.end()) {
      pending = std::move(it->second);
      pending_.erase(it);
    }
  }
  std::optional<RequestScope> scope;
  if (pending && currentRequestId() != pending->requestId) scope.emplace(pending->requestId);
  if (pending) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - pending->start).count();
    metrics_.requestSeconds.with({"native", pending->operation}).observe(seconds);
    const Status* err = std::get_if<Status>(&body);
    spdlog::debug("native {} conn={} id={} -> {} ms={:.3f}", pending->operation, conn, id,
                  err ? statusCodeName(err->code()) : std::string_view("Ok"), seconds * 1000);
  }
  if (const Status* err = std::get_if<Status>(&body)) {
    metrics_.requestErrors.with({"native", std::string(statusCodeName(err->code()))}).add();
    if (err->code() == StatusCode::kInternal || err->code() == StatusCode::kIOError ||
        err->code() == StatusCode::kCorruption)
      spdlog::error("conn {}: request {} failed: {}", conn, id, err->toString());
    // Internal details stay in the log; the peer gets the class of failure.
    if (err->code() == StatusCode::kIOError || err->code() == StatusCode::kCorruption)
      body = Status::internal("internal error");
  }
  // Encoded after the network layer's header room: a 1 MB reply is queued without another copy.
  server_->sendWithHeadroom(conn, codec::encodeWithHeadroom(proto::ServerMessage{proto::Response{id, std::move(body)}},
                                                            NetServer::kFrameHeadroom));
}

}  // namespace tether::server
