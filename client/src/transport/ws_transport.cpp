// WsTransport (ws_transport.h): lifecycle, the executor, the protocol state machine, requests
// and authentication. The connection itself (Beast, TLS, proxy) is in ws_connection.cpp.
#include "transport/ws_transport.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "tether/codec.h"
#include "tether/limits.h"
#include "transport/ws_connection.h"
#include "tuning.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {

namespace {

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class T>
struct ResponseKind;
#define TETHER_RESPONSE_KIND(Resp) \
  template <> struct ResponseKind<proto::Resp> { static constexpr bool kKnown = true; };
TETHER_RESPONSE_KIND(GetIdResponse)
TETHER_RESPONSE_KIND(GetTokenResponse)
TETHER_RESPONSE_KIND(AuthenticateResponse)
TETHER_RESPONSE_KIND(ListDatasetsResponse)
TETHER_RESPONSE_KIND(ListRecordsResponse)
TETHER_RESPONSE_KIND(UpdateRecordsResponse)
TETHER_RESPONSE_KIND(DeleteDatasetResponse)
TETHER_RESPONSE_KIND(SubscribeResponse)
TETHER_RESPONSE_KIND(UnsubscribeResponse)
#undef TETHER_RESPONSE_KIND

// Unpacks a response body into the type the request expects.
template <class Resp>
Result<Resp> expect(Result<proto::ResponseBody> body) {
  static_assert(ResponseKind<Resp>::kKnown);
  if (!body.isOk()) return body.status();
  if (auto* err = std::get_if<Status>(&*body)) {
    if (err->isOk()) return Status::protocolError("error response with an ok status");
    return *err;
  }
  if (auto* r = std::get_if<Resp>(&*body)) return std::move(*r);
  return Status::protocolError("response of the wrong type");
}

}  // namespace

// ---- lifecycle

WsTransport::WsTransport(WsTransportOptions options) : options_(std::move(options)) {
  if (!options_.nowMs) options_.nowMs = systemNowMs;
}

Result<std::shared_ptr<WsTransport>> WsTransport::start(WsTransportOptions options) {
  std::shared_ptr<WsTransport> t(new WsTransport(std::move(options)));
  TETHER_RETURN_IF_ERROR(t->init());
  return t;
}

Status WsTransport::init() {
  const std::string& url = options_.url;
  std::string rest;
  if (url.rfind("wss://", 0) == 0) {
    tls_ = true;
    rest = url.substr(6);
  } else if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else {
    return Status::invalidArgument("server URL must start with ws:// or wss://: " + url);
  }
  size_t slash = rest.find('/');
  std::string hostPort = rest.substr(0, slash);
  path_ = slash == std::string::npos ? "/" : rest.substr(slash);
  port_ = tls_ ? 443 : 80;
  std::string portText;
  bool hasPort = false;
  if (!hostPort.empty() && hostPort.front() == '[') {  // [v6 literal]:port
    size_t close = hostPort.find(']');
    if (close == std::string::npos) return Status::invalidArgument("bad host in server URL: " + url);
    if (close + 1 < hostPort.size()) {
      if (hostPort[close + 1] != ':') return Status::invalidArgument("bad host in server URL: " + url);
      portText = hostPort.substr(close + 2);
      hasPort = true;
    }
    hostPort = hostPort.substr(1, close - 1);
  } else if (size_t colon = hostPort.rfind(':'); colon != std::string::npos) {
    portText = hostPort.substr(colon + 1);
    hostPort.resize(colon);
    hasPort = true;
  }
  if (hasPort) {
    if (portText.empty() || portText.size() > 5 ||
        portText.find_first_not_of("0123456789") != std::string::npos)
      return Status::invalidArgument("bad port in server URL: " + url);
    port_ = std::stoi(portText);
  }
  if (port_ <= 0 || port_ > 65535) return Status::invalidArgument("bad port in server URL: " + url);
  if (hostPort.empty()) return Status::invalidArgument("no host in server URL: " + url);
  host_ = hostPort;
  if (!options_.caFile.empty()) {
    if (!tls_) return Status::invalidArgument("a CA file needs a wss:// URL");
    if (FILE* f = std::fopen(options_.caFile.c_str(), "rb")) std::fclose(f);
    else return Status::invalidArgument("cannot read CA file " + options_.caFile);
  }

  if (options_.httpProxy) {
    if (!options_.httpProxy->empty()) TETHER_RETURN_IF_ERROR(parseProxy(*options_.httpProxy));
  } else if (const char* env = std::getenv("http_proxy"); env && *env) {
    if (!parseProxy(env).isOk()) proxyAuth_.clear();  // ignored, as libwebsockets did
  }

  net_ = std::make_unique<Net>();
  if (tls_) {
    net_->tls.emplace(asio::ssl::context::tls_client);
    asio::ssl::context& ctx = *net_->tls;
    boost::system::error_code ec;
    if (options_.caFile.empty()) ctx.set_default_verify_paths(ec);
    else ctx.load_verify_file(options_.caFile, ec);
    if (ec) return Status::invalidArgument("cannot load CA file " + options_.caFile + ": " + describeError(ec));
    ctx.set_verify_mode(asio::ssl::verify_peer);
  }
  thread_ = std::thread([this] { serviceLoop(); });
  post([this] { connectOnLoop(); });
  return Status::ok();
}

WsTransport::~WsTransport() { shutdown(); }

void WsTransport::serviceLoop() {
  net_->io.run();  // until shutdown() stops it
  // Last rites on this thread: nothing may stay waiting forever. After closed_, posts fail
  // and new requests are cancelled at once.
  {
    MutexLock lock(inboxMu_);
    closed_ = true;
  }
  if (conn_) {
    conn_->close();
    conn_.reset();
  }
  failAllOnLoop(Status::cancelled("client is closed"));
  drainInbox();
  failAllOnLoop(Status::cancelled("client is closed"));
}

void WsTransport::shutdown() {
  {
    MutexLock lock(inboxMu_);
    if (closed_ && !thread_.joinable()) return;
  }
  if (isCurrentThread()) return;  // cannot join ourselves; the owner calls again
  stop_.store(true);
  if (net_) net_->io.stop();
  if (thread_.joinable()) thread_.join();
  {
    MutexLock lock(inboxMu_);
    closed_ = true;
    inbox_.clear();
  }
  net_.reset();  // destroys pending handlers (and the Conns they hold), timers, the TLS context
}

bool WsTransport::post(std::function<void()> fn) {
  {
    MutexLock lock(inboxMu_);
    if (closed_) return false;
    inbox_.push_back(std::move(fn));
    if (wakePending_) return true;
    wakePending_ = true;
    // Under the lock: shutdown() destroys net_ only after closed_ is set.
    asio::post(net_->io, [this] { drainInbox(); });
  }
  return true;
}

bool WsTransport::isCurrentThread() const { return std::this_thread::get_id() == thread_.get_id(); }

void WsTransport::drainInbox() {
  // Wakeups coalesce: take everything queued each time.
  for (;;) {
    std::deque<std::function<void()>> batch;
    {
      MutexLock lock(inboxMu_);
      wakePending_ = false;
      if (inbox_.empty()) return;
      batch.swap(inbox_);
    }
    for (auto& fn : batch) fn();
  }
}

bool WsTransport::postAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  {
    MutexLock lock(inboxMu_);
    if (closed_) return false;
  }
  if (isCurrentThread()) {
    startTimer(delay, std::move(fn));
    return true;
  }
  // Timers belong to the service thread: hop there first.
  return post([this, delay, fn = std::move(fn)]() mutable { startTimer(delay, std::move(fn)); });
}

void WsTransport::startTimer(std::chrono::milliseconds delay, std::function<void()> onLoop) {
  if (stop_) return;
  auto timer = std::make_shared<asio::steady_timer>(net_->io, delay);
  timer->async_wait([timer, onLoop = std::move(onLoop)](const boost::system::error_code& ec) {
    if (!ec) onLoop();
  });
}

int64_t WsTransport::nowMs() const { return options_.nowMs(); }

// ---- connection

void WsTransport::onEstablishedOnLoop() {
  state_ = ConnState::kHandshaking;
  proto::Hello hello;
  hello.clientName = options_.clientName;
  sendFrameOnLoop(codec::encode(proto::ClientMessage{hello}));
}

void WsTransport::onOpenOnLoop() {
  attempt_ = 0;
  lastAttemptFailed_ = false;
  connAuthenticated_ = false;
  if (!token_.empty() && tokenExpiresMs_ - nowMs() > tuning::kReauthMarginMs) {
    // A new connection is unauthenticated: present the token we hold before anything else.
    state_ = ConnState::kAuthenticating;
    proto::AuthenticateRequest req;
    req.token = token_;
    transmitOnLoop(req, [this](Result<proto::ResponseBody> r) {
      Result<proto::AuthenticateResponse> a = expect<proto::AuthenticateResponse>(std::move(r));
      if (a.isOk()) connAuthenticated_ = true;
      else token_.clear();  // expired or revoked: authenticate() starts over
      if (state_ != ConnState::kAuthenticating) return;
      markOpenOnLoop();
    });
    return;
  }
  markOpenOnLoop();
}

void WsTransport::markOpenOnLoop() {
  state_ = ConnState::kOpen;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting) transmitOnLoop(std::move(w.body), std::move(w.done));
  if (listener_) listener_->onConnected();
}

void WsTransport::setListener(RemoteListener* listener) {
  post([this, listener] {
    listener_ = listener;
    if (listener_ && state_ == ConnState::kOpen) listener_->onConnected();
  });
}

void WsTransport::onFrameOnLoop(std::string_view frame) {
  ++framesIn_;
  Result<proto::ServerMessage> msg = codec::decodeServerMessage(frame);
  if (!msg.isOk()) {
    lastError_ = "undecodable frame from server: " + msg.status().message();
    dropConnectionOnLoop(lastError_);
    return;
  }
  if (auto* ack = std::get_if<proto::HelloAck>(&*msg)) {
    if (state_ != ConnState::kHandshaking) return;
    if (ack->protocolVersion != proto::kProtocolVersion) {
      lastError_ = "server speaks protocol version " + std::to_string(ack->protocolVersion);
      dropConnectionOnLoop(lastError_);
      return;
    }
    conditionalPush_ = ack->conditionalPush;
    onOpenOnLoop();
    return;
  }
  if (auto* changed = std::get_if<proto::DatasetChanged>(&*msg)) {
    if (listener_ && state_ == ConnState::kOpen) listener_->onDatasetChanged(*changed);
    return;
  }
  auto& resp = std::get<proto::Response>(*msg);
  if (resp.id == 0) {
    // An error about the session itself (e.g. unsupported version): the server closes.
    if (auto* err = std::get_if<Status>(&resp.body)) lastError_ = err->toString();
    return;
  }
  auto it = inflight_.find(resp.id);
  if (it == inflight_.end()) return;  // timed out earlier: the answer is late, drop it
  ResponseCallback done = std::move(it->second);
  inflight_.erase(it);
  done(std::move(resp.body));
}

void WsTransport::onDisconnectedOnLoop(const std::string& why) {
  if (state_ == ConnState::kIdle) return;  // already handled (e.g. error during connect)
  bool wasOpen = state_ == ConnState::kOpen || state_ == ConnState::kAuthenticating;
  state_ = ConnState::kIdle;
  ++connGen_;
  connAuthenticated_ = false;
  lastAttemptFailed_ = true;
  ++attempt_;
  std::string msg = (wasOpen ? "connection to server lost: " : "server unreachable: ") + why;
  failAllOnLoop(Status::unavailable(msg));
  scheduleReconnectOnLoop();
}

void WsTransport::failAllOnLoop(const Status& status) {
  auto inflight = std::move(inflight_);
  inflight_.clear();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [id, done] : inflight) done(status);
  for (auto& w : waiting) w.done(status);
}

void WsTransport::scheduleReconnectOnLoop() {
  if (stop_ || reconnectPending_) return;
  reconnectPending_ = true;
  static thread_local std::mt19937 rng{std::random_device{}()};
  int64_t delay = tuning::kBackoffBaseMs;
  for (int i = 1; i < attempt_ && delay < tuning::kBackoffMaxMs; ++i) delay *= 2;
  delay = std::min(delay, tuning::kBackoffMaxMs);
  delay = delay / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 2 + 1));
  uint64_t gen = connGen_;
  startTimer(std::chrono::milliseconds(delay), [this, gen] {
    if (gen != connGen_) return;  // someone connected meanwhile
    reconnectPending_ = false;
    connectOnLoop();
  });
}

// ---- requests

void WsTransport::transmitOnLoop(proto::RequestBody body, ResponseCallback done) {
  uint64_t id = nextId_++;
  inflight_[id] = std::move(done);
  sendFrameOnLoop(codec::encode(proto::ClientMessage{proto::Request{id, std::move(body)}}));
  const uint64_t gen = connGen_, framesBefore = framesIn_;
  startTimer(options_.requestTimeout, [this, id, gen, framesBefore] {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;
    ResponseCallback cb = std::move(it->second);
    inflight_.erase(it);
    cb(Status::unavailable("request timed out"));
    // Not one frame arrived on this connection for a whole request timeout: it is dead (a
    // route that silently drops everything, a peer that vanished without a FIN, or a wsi lws
    // retired without telling us). Drop it, so the next request connects again instead of
    // timing out on it forever.
    if (gen == connGen_ && framesIn_ == framesBefore && state_ != ConnState::kIdle) {
      lastError_ = "no answer from the server within the request timeout";
      closeConnectionOnLoop();
    }
  });
}

void WsTransport::sendRequestOnLoop(proto::RequestBody body, ResponseCallback done) {
  if (stop_) {
    // Shutting down: posts no longer run, so answer now.
    done(Status::cancelled("client is closed"));
    return;
  }
  switch (state_) {
    case ConnState::kOpen:
      transmitOnLoop(std::move(body), std::move(done));
      return;
    case ConnState::kConnecting:
    case ConnState::kHandshaking:
    case ConnState::kAuthenticating:
      waiting_.push_back(Waiting{std::move(body), std::move(done)});
      return;
    case ConnState::kIdle:
      if (lastAttemptFailed_) {
        // Offline is normal: fail fast (retryable), and try the server again now rather than
        // at the end of the backoff, so that the app's next attempt may find it back.
        post([done = std::move(done)] { done(Status::unavailable("server unreachable")); });
        ++connGen_;  // the scheduled reconnect is superseded
        reconnectPending_ = false;
        connectOnLoop();
        return;
      }
      waiting_.push_back(Waiting{std::move(body), std::move(done)});
      connectOnLoop();
      return;
  }
}

template <class Resp>
void WsTransport::call(proto::RequestBody body, Callback<Resp> done) {
  sendRequestOnLoop(std::move(body), [done = std::move(done)](Result<proto::ResponseBody> r) {
    done(expect<Resp>(std::move(r)));
  });
}

void WsTransport::authenticate(std::string identityId, LoginsFn logins, bool renew,
                               Callback<std::string> done) {
  if (!renew && !identityId.empty() && identityId == identity_ && connAuthenticated_ &&
      state_ == ConnState::kOpen && tokenExpiresMs_ - nowMs() > tuning::kReauthMarginMs) {
    post([done = std::move(done), identityId] { done(identityId); });
    return;
  }
  // Asked right before each request that carries them, so a provider sees every real need.
  auto currentLogins = [logins]() -> Result<std::vector<Login>> {
    if (!logins) return std::vector<Login>();
    return logins();
  };
  // GetToken -> Authenticate for a known identity.
  auto withIdentity = [this, currentLogins](std::string id, Callback<std::string> done) {
    Result<std::vector<Login>> ls = currentLogins();
    if (!ls.isOk()) {
      post([done = std::move(done), s = ls.status()] { done(s); });
      return;
    }
    proto::GetTokenRequest gt;
    gt.identityId = id;
    gt.logins = std::move(*ls);
    call<proto::GetTokenResponse>(gt, [this, id, done = std::move(done)](Result<proto::GetTokenResponse> t) mutable {
      if (!t.isOk()) return done(t.status());
      std::string confirmed = t->identityId.empty() ? id : t->identityId;
      if (!validateIdentityId(confirmed).isOk())
        return done(Status::protocolError("server returned an invalid identity ID"));
      std::string token = t->token;
      int64_t expires = t->expiresAtMs;
      proto::AuthenticateRequest ar;
      ar.token = token;
      call<proto::AuthenticateResponse>(ar, [this, confirmed, token, expires, done = std::move(done)](
                                                Result<proto::AuthenticateResponse> a) {
        if (!a.isOk()) return done(a.status());
        identity_ = a->identityId.empty() ? confirmed : a->identityId;
        token_ = token;
        tokenExpiresMs_ = a->expiresAtMs ? a->expiresAtMs : expires;
        connAuthenticated_ = true;
        done(identity_);
      });
    });
  };
  if (!identityId.empty()) return withIdentity(std::move(identityId), std::move(done));
  if (options_.identityPoolId.empty()) {
    post([done = std::move(done)] { done(Status::invalidArgument("no identity pool ID configured")); });
    return;
  }
  Result<std::vector<Login>> ls = currentLogins();
  if (!ls.isOk()) {
    post([done = std::move(done), s = ls.status()] { done(s); });
    return;
  }
  proto::GetIdRequest gi;
  gi.identityPoolId = options_.identityPoolId;
  gi.logins = std::move(*ls);
  call<proto::GetIdResponse>(gi, [withIdentity, done = std::move(done)](Result<proto::GetIdResponse> r) mutable {
    if (!r.isOk()) return done(r.status());
    if (!validateIdentityId(r->identityId).isOk())
      return done(Status::protocolError("server returned an invalid identity ID"));
    withIdentity(r->identityId, std::move(done));
  });
}

void WsTransport::listDatasets(proto::ListDatasetsRequest req, Callback<proto::ListDatasetsResponse> done) {
  call<proto::ListDatasetsResponse>(std::move(req), std::move(done));
}

void WsTransport::listRecords(proto::ListRecordsRequest req, Callback<proto::ListRecordsResponse> done) {
  call<proto::ListRecordsResponse>(std::move(req), std::move(done));
}

void WsTransport::updateRecords(proto::UpdateRecordsRequest req, Callback<proto::UpdateRecordsResponse> done) {
  call<proto::UpdateRecordsResponse>(std::move(req), std::move(done));
}

void WsTransport::deleteDataset(proto::DeleteDatasetRequest req, Callback<proto::DeleteDatasetResponse> done) {
  call<proto::DeleteDatasetResponse>(std::move(req), std::move(done));
}

void WsTransport::subscribe(proto::SubscribeRequest req, Callback<proto::SubscribeResponse> done) {
  call<proto::SubscribeResponse>(std::move(req), std::move(done));
}

void WsTransport::unsubscribe(proto::UnsubscribeRequest req, Callback<proto::UnsubscribeResponse> done) {
  call<proto::UnsubscribeResponse>(std::move(req), std::move(done));
}

}  // namespace tether::client
