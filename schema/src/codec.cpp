// Maps between the plain structs of protocol.h and Cap'n Proto messages of sync.capnp.
// The one place where kj::Exception from decoding is caught and turned into a Status.
#include "tether/codec.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstring>

#include "sync.capnp.h"
#include "tether/limits.h"

namespace tether::codec {
namespace {

namespace w = ::tether::wire;
using namespace ::tether::proto;

std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
capnp::Text::Reader txt(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

// Serializes straight into the string (one copy of the segments), not through an intermediate
// flat array (a second copy: 1 MB more memory traffic per W1 reply / W2 request).
std::string toBytes(capnp::MessageBuilder& mb) {
  kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments = mb.getSegmentsForOutput();
  std::string out(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word), '\0');
  kj::ArrayOutputStream os(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size()));
  capnp::writeMessage(os, segments);
  return out;
}

// ---------------------------------------------------------------- shared value types

void fillRecord(w::Record::Builder b, const Record& r) {
  b.setKey(txt(r.key));
  if (r.value) b.getValue().setText(txt(*r.value));
  else b.getValue().setRemoved();
  b.setSyncCount(r.syncCount);
  b.setLastModifiedMs(r.lastModifiedMs);
  b.setLastModifiedBy(txt(r.lastModifiedBy));
  b.setDeviceLastModifiedMs(r.deviceLastModifiedMs);
}

Record readRecord(w::Record::Reader r) {
  Record out;
  out.key = str(r.getKey());
  if (r.getValue().isText()) out.value = str(r.getValue().getText());
  out.syncCount = r.getSyncCount();
  out.lastModifiedMs = r.getLastModifiedMs();
  out.lastModifiedBy = str(r.getLastModifiedBy());
  out.deviceLastModifiedMs = r.getDeviceLastModifiedMs();
  return out;
}

void fillRecords(capnp::List<w::Record>::Builder list, const std::vector<Record>& rs) {
  for (unsigned i = 0; i < rs.size(); ++i) fillRecord(list[i], rs[i]);
}

std::vector<Record> readRecords(capnp::List<w::Record>::Reader list) {
  std::vector<Record> out;
  out.reserve(list.size());
  for (auto r : list) out.push_back(readRecord(r));
  return out;
}

void fillMetadata(w::DatasetMetadata::Builder b, const DatasetMetadata& m) {
  b.setName(txt(m.name));
  b.setCreationMs(m.creationMs);
  b.setLastModifiedMs(m.lastModifiedMs);
  b.setLastModifiedBy(txt(m.lastModifiedBy));
  b.setDataStorage(m.dataStorage);
  b.setNumRecords(m.numRecords);
  b.setSyncCount(m.syncCount);
}

DatasetMetadata readMetadata(w::DatasetMetadata::Reader r) {
  DatasetMetadata m;
  m.name = str(r.getName());
  m.creationMs = r.getCreationMs();
  m.lastModifiedMs = r.getLastModifiedMs();
  m.lastModifiedBy = str(r.getLastModifiedBy());
  m.dataStorage = r.getDataStorage();
  m.numRecords = r.getNumRecords();
  m.syncCount = r.getSyncCount();
  return m;
}

void fillLogins(capnp::List<w::Login>::Builder list, const std::vector<Login>& ls) {
  for (unsigned i = 0; i < ls.size(); ++i) {
    list[i].setProvider(txt(ls[i].provider));
    list[i].setToken(txt(ls[i].token));
  }
}

std::vector<Login> readLogins(capnp::List<w::Login>::Reader list) {
  std::vector<Login> out;
  for (auto l : list) out.push_back({str(l.getProvider()), str(l.getToken())});
  return out;
}

w::ErrorCode toWireCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return w::ErrorCode::INVALID_PARAMETER;
    case StatusCode::kNotFound: return w::ErrorCode::RESOURCE_NOT_FOUND;
    case StatusCode::kConflict: return w::ErrorCode::RESOURCE_CONFLICT;
    case StatusCode::kLimitExceeded: return w::ErrorCode::LIMIT_EXCEEDED;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return w::ErrorCode::NOT_AUTHORIZED;
    case StatusCode::kTooManyRequests: return w::ErrorCode::TOO_MANY_REQUESTS;
    case StatusCode::kUnavailable: return w::ErrorCode::SERVICE_UNAVAILABLE;
    case StatusCode::kTriggerFailed: return w::ErrorCode::INVALID_LAMBDA_FUNCTION_OUTPUT;
    case StatusCode::kTriggerThrottled: return w::ErrorCode::LAMBDA_THROTTLED;
    case StatusCode::kProtocolError:
      return s.message().rfind("unsupported protocol version", 0) == 0
                 ? w::ErrorCode::UNSUPPORTED_VERSION : w::ErrorCode::PROTOCOL_ERROR;
    default: return w::ErrorCode::INTERNAL_ERROR;
  }
}

Status fromWireError(w::Error::Reader e) {
  std::string m = str(e.getMessage());
  switch (e.getCode()) {
    case w::ErrorCode::INVALID_PARAMETER: return Status::invalidArgument(m);
    case w::ErrorCode::NOT_AUTHORIZED: return Status::unauthenticated(m);
    case w::ErrorCode::RESOURCE_NOT_FOUND: return Status::notFound(m);
    case w::ErrorCode::RESOURCE_CONFLICT: return Status::conflict(m);
    case w::ErrorCode::LIMIT_EXCEEDED: return Status::limitExceeded(m);
    case w::ErrorCode::TOO_MANY_REQUESTS: return Status::tooManyRequests(m);
    case w::ErrorCode::PROTOCOL_ERROR: return Status::protocolError(m);
    case w::ErrorCode::UNSUPPORTED_VERSION:
      return Status::protocolError(m.rfind("unsupported protocol version", 0) == 0
                                       ? m : "unsupported protocol version: " + m);
    case w::ErrorCode::INTERNAL_ERROR: return Status::internal(m);
    case w::ErrorCode::SERVICE_UNAVAILABLE: return Status::unavailable(m);
    case w::ErrorCode::INVALID_LAMBDA_FUNCTION_OUTPUT: return Status::triggerFailed(m);
    case w::ErrorCode::LAMBDA_THROTTLED: return Status::triggerThrottled(m);
  }
  return Status::internal("unknown error code " + std::to_string(static_cast<int>(e.getCode())) + ": " + m);
}

// ---------------------------------------------------------------- client -> server

struct RequestFiller {
  w::Request::Builder b;
  void operator()(const GetIdRequest& r) {
    auto g = b.initGetId();
    g.setIdentityPoolId(txt(r.identityPoolId));
    fillLogins(g.initLogins(r.logins.size()), r.logins);
  }
  void operator()(const GetTokenRequest& r) {
    auto g = b.initGetToken();
    g.setIdentityId(txt(r.identityId));
    fillLogins(g.initLogins(r.logins.size()), r.logins);
  }
  void operator()(const AuthenticateRequest& r) { b.initAuthenticate().setToken(txt(r.token)); }
  void operator()(const ListDatasetsRequest& r) {
    auto g = b.initListDatasets();
    g.setMaxResults(r.maxResults);
    g.setNextToken(txt(r.nextToken));
  }
  void operator()(const DescribeDatasetRequest& r) {
    b.initDescribeDataset().setDatasetName(txt(r.datasetName));
  }
  void operator()(const ListRecordsRequest& r) {
    auto g = b.initListRecords();
    g.setDatasetName(txt(r.datasetName));
    g.setLastSyncCount(r.lastSyncCount);
    g.setMaxResults(r.maxResults);
    g.setNextToken(txt(r.nextToken));
  }
  void operator()(const UpdateRecordsRequest& r) {
    auto g = b.initUpdateRecords();
    g.setDatasetName(txt(r.datasetName));
    g.setSyncSessionToken(txt(r.syncSessionToken));
    g.setDeviceId(txt(r.deviceId));
    auto list = g.initPatches(r.patches.size());
    for (unsigned i = 0; i < r.patches.size(); ++i) {
      const RecordPatch& p = r.patches[i];
      auto pb = list[i];
      pb.setKey(txt(p.key));
      if (p.op == PatchOp::kReplace) pb.getOp().setReplace(txt(p.value));
      else pb.getOp().setRemove();
      pb.setSyncCount(p.syncCount);
      pb.setDeviceLastModifiedMs(p.deviceLastModifiedMs);
    }
    g.setIfDatasetSyncCount(r.ifDatasetSyncCount);
    g.setOmitValues(r.omitValues);
  }
  void operator()(const DeleteDatasetRequest& r) {
    b.initDeleteDataset().setDatasetName(txt(r.datasetName));
  }
  void operator()(const DescribeIdentityUsageRequest&) { b.initDescribeIdentityUsage(); }
  void operator()(const SubscribeRequest& r) {
    auto g = b.initSubscribe();
    auto names = g.initDatasetNames(r.datasetNames.size());
    for (unsigned i = 0; i < r.datasetNames.size(); ++i) names.set(i, txt(r.datasetNames[i]));
    g.setDeviceId(txt(r.deviceId));
  }
  void operator()(const UnsubscribeRequest& r) {
    auto names = b.initUnsubscribe().initDatasetNames(r.datasetNames.size());
    for (unsigned i = 0; i < r.datasetNames.size(); ++i) names.set(i, txt(r.datasetNames[i]));
  }
  void operator()(const GetDeveloperTokenRequest& r) {
    auto g = b.initGetDeveloperToken();
    g.setIdentityPoolId(txt(r.identityPoolId));
    g.setIdentityId(txt(r.identityId));
    g.setDeveloperUserId(txt(r.developerUserId));
    g.setTokenDurationSeconds(r.tokenDurationSeconds);
    g.setAccessKeyId(txt(r.accessKeyId));
    g.setTimestampMs(r.timestampMs);
    g.setSignature(txt(r.signature));
  }
};

std::vector<std::string> readNames(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto n : list) out.push_back(str(n));
  return out;
}

Result<ClientMessage> readClientMessage(w::ClientMessage::Reader m) {
  switch (m.which()) {
    case w::ClientMessage::HELLO: {
      auto h = m.getHello();
      return ClientMessage{Hello{h.getProtocolVersion(), str(h.getClientName())}};
    }
    case w::ClientMessage::REQUEST: break;
    default: return Status::protocolError("unknown client message type");
  }
  auto r = m.getRequest();
  Request out;
  out.id = r.getId();
  switch (r.which()) {
    case w::Request::GET_ID: {
      auto g = r.getGetId();
      out.body = GetIdRequest{str(g.getIdentityPoolId()), readLogins(g.getLogins())};
      break;
    }
    case w::Request::GET_TOKEN: {
      auto g = r.getGetToken();
      out.body = GetTokenRequest{str(g.getIdentityId()), readLogins(g.getLogins())};
      break;
    }
    case w::Request::AUTHENTICATE:
      out.body = AuthenticateRequest{str(r.getAuthenticate().getToken())};
      break;
    case w::Request::LIST_DATASETS: {
      auto g = r.getListDatasets();
      out.body = ListDatasetsRequest{g.getMaxResults(), str(g.getNextToken())};
      break;
    }
    case w::Request::DESCRIBE_DATASET:
      out.body = DescribeDatasetRequest{str(r.getDescribeDataset().getDatasetName())};
      break;
    case w::Request::LIST_RECORDS: {
      auto g = r.getListRecords();
      out.body = ListRecordsRequest{str(g.getDatasetName()), g.getLastSyncCount(),
                                    g.getMaxResults(), str(g.getNextToken())};
      break;
    }
    case w::Request::UPDATE_RECORDS: {
      auto g = r.getUpdateRecords();
      UpdateRecordsRequest u;
      u.datasetName = str(g.getDatasetName());
      u.syncSessionToken = str(g.getSyncSessionToken());
      u.deviceId = str(g.getDeviceId());
      auto patches = g.getPatches();
      if (patches.size() > static_cast<unsigned>(kMaxPatchesPerBatch))
        return Status::invalidArgument("too many patches in one batch (at most 1,024)");
      u.patches.reserve(patches.size());
      for (auto p : patches) {
        RecordPatch rp;
        rp.key = str(p.getKey());
        switch (p.getOp().which()) {
          case w::RecordPatch::Op::REPLACE:
            rp.op = PatchOp::kReplace;
            rp.value = str(p.getOp().getReplace());
            break;
          case w::RecordPatch::Op::REMOVE: rp.op = PatchOp::kRemove; break;
          default: return Status::protocolError("unknown patch operation");
        }
        rp.syncCount = p.getSyncCount();
        rp.deviceLastModifiedMs = p.getDeviceLastModifiedMs();
        u.patches.push_back(std::move(rp));
      }
      u.ifDatasetSyncCount = g.getIfDatasetSyncCount();
      u.omitValues = g.getOmitValues();
      out.body = std::move(u);
      break;
    }
    case w::Request::DELETE_DATASET:
      out.body = DeleteDatasetRequest{str(r.getDeleteDataset().getDatasetName())};
      break;
    case w::Request::DESCRIBE_IDENTITY_USAGE:
      out.body = DescribeIdentityUsageRequest{};
      break;
    case w::Request::SUBSCRIBE: {
      auto g = r.getSubscribe();
      if (g.getDatasetNames().size() > static_cast<unsigned>(kMaxPatchesPerBatch))
        return Status::invalidArgument("too many dataset names");
      out.body = SubscribeRequest{readNames(g.getDatasetNames()), str(g.getDeviceId())};
      break;
    }
    case w::Request::UNSUBSCRIBE: {
      auto g = r.getUnsubscribe();
      if (g.getDatasetNames().size() > static_cast<unsigned>(kMaxPatchesPerBatch))
        return Status::invalidArgument("too many dataset names");
      out.body = UnsubscribeRequest{readNames(g.getDatasetNames())};
      break;
    }
    case w::Request::GET_DEVELOPER_TOKEN: {
      auto g = r.getGetDeveloperToken();
      out.body = GetDeveloperTokenRequest{str(g.getIdentityPoolId()), str(g.getIdentityId()),
                                          str(g.getDeveloperUserId()), g.getTokenDurationSeconds(),
                                          str(g.getAccessKeyId()), g.getTimestampMs(), str(g.getSignature())};
      break;
    }
    default:
      // Keep the id so the server can answer this request with a typed error.
      return Status::protocolError("unknown request type (id " + std::to_string(out.id) + ")");
  }
  return ClientMessage{std::move(out)};
}

// ---------------------------------------------------------------- server -> client

struct ResponseFiller {
  w::Response::Builder b;
  void operator()(const Status& s) {
    auto e = b.initError();
    e.setCode(toWireCode(s));
    e.setMessage(txt(s.message()));
  }
  void operator()(const GetIdResponse& r) { b.initGetId().setIdentityId(txt(r.identityId)); }
  void operator()(const GetTokenResponse& r) {
    auto g = b.initGetToken();
    g.setIdentityId(txt(r.identityId));
    g.setToken(txt(r.token));
    g.setExpiresAtMs(r.expiresAtMs);
  }
  void operator()(const AuthenticateResponse& r) {
    auto g = b.initAuthenticate();
    g.setIdentityId(txt(r.identityId));
    g.setIdentityPoolId(txt(r.identityPoolId));
    g.setExpiresAtMs(r.expiresAtMs);
  }
  void operator()(const ListDatasetsResponse& r) {
    auto g = b.initListDatasets();
    auto list = g.initDatasets(r.datasets.size());
    for (unsigned i = 0; i < r.datasets.size(); ++i) fillMetadata(list[i], r.datasets[i]);
    g.setNextToken(txt(r.nextToken));
  }
  void operator()(const DescribeDatasetResponse& r) {
    fillMetadata(b.initDescribeDataset().initDataset(), r.dataset);
  }
  void operator()(const ListRecordsResponse& r) {
    auto g = b.initListRecords();
    fillRecords(g.initRecords(r.records.size()), r.records);
    g.setNextToken(txt(r.nextToken));
    g.setDatasetSyncCount(r.datasetSyncCount);
    g.setLastModifiedBy(txt(r.lastModifiedBy));
    auto names = g.initMergedDatasetNames(r.mergedDatasetNames.size());
    for (unsigned i = 0; i < r.mergedDatasetNames.size(); ++i) names.set(i, txt(r.mergedDatasetNames[i]));
    g.setDatasetExists(r.datasetExists);
    g.setDatasetDeletedAfterRequestedSyncCount(r.datasetDeletedAfterRequestedSyncCount);
    g.setSyncSessionToken(txt(r.syncSessionToken));
  }
  void operator()(const UpdateRecordsResponse& r) {
    auto g = b.initUpdateRecords();
    fillRecords(g.initRecords(r.records.size()), r.records);
    g.setSyncCount(r.syncCount);
    g.setLastModifiedMs(r.lastModifiedMs);
    g.setLastModifiedBy(txt(r.lastModifiedBy));
  }
  void operator()(const DeleteDatasetResponse& r) {
    fillMetadata(b.initDeleteDataset().initDataset(), r.dataset);
  }
  void operator()(const DescribeIdentityUsageResponse& r) {
    auto g = b.initDescribeIdentityUsage();
    g.setIdentityId(txt(r.identityId));
    g.setIdentityPoolId(txt(r.identityPoolId));
    g.setLastModifiedMs(r.lastModifiedMs);
    g.setDatasetCount(r.datasetCount);
    g.setDataStorage(r.dataStorage);
  }
  void operator()(const SubscribeResponse& r) {
    auto list = b.initSubscribe().initDatasets(r.datasets.size());
    for (unsigned i = 0; i < r.datasets.size(); ++i) {
      list[i].setDatasetName(txt(r.datasets[i].datasetName));
      list[i].setSyncCount(r.datasets[i].syncCount);
      list[i].setExists(r.datasets[i].exists);
    }
  }
  void operator()(const UnsubscribeResponse&) { b.initUnsubscribe(); }
};

Result<ServerMessage> readServerMessage(w::ServerMessage::Reader m) {
  switch (m.which()) {
    case w::ServerMessage::HELLO_ACK: {
      auto h = m.getHelloAck();
      return ServerMessage{HelloAck{h.getProtocolVersion(), str(h.getServerName()), h.getMaxFrameBytes(),
                                  h.getConditionalPush()}};
    }
    case w::ServerMessage::DATASET_CHANGED: {
      auto d = m.getDatasetChanged();
      return ServerMessage{DatasetChanged{str(d.getIdentityPoolId()), str(d.getIdentityId()),
                                          str(d.getDatasetName()), d.getSyncCount(),
                                          readRecords(d.getRecords()), d.getHasRecords()}};
    }
    case w::ServerMessage::RESPONSE: break;
    default: return Status::protocolError("unknown server message type");
  }
  auto r = m.getResponse();
  Response out;
  out.id = r.getId();
  switch (r.which()) {
    case w::Response::ERROR: out.body = fromWireError(r.getError()); break;
    case w::Response::GET_ID: out.body = GetIdResponse{str(r.getGetId().getIdentityId())}; break;
    case w::Response::GET_TOKEN: {
      auto g = r.getGetToken();
      out.body = GetTokenResponse{str(g.getIdentityId()), str(g.getToken()), g.getExpiresAtMs()};
      break;
    }
    case w::Response::AUTHENTICATE: {
      auto g = r.getAuthenticate();
      out.body = AuthenticateResponse{str(g.getIdentityId()), str(g.getIdentityPoolId()), g.getExpiresAtMs()};
      break;
    }
    case w::Response::LIST_DATASETS: {
      auto g = r.getListDatasets();
      ListDatasetsResponse l;
      for (auto d : g.getDatasets()) l.datasets.push_back(readMetadata(d));
      l.nextToken = str(g.getNextToken());
      out.body = std::move(l);
      break;
    }
    case w::Response::DESCRIBE_DATASET:
      out.body = DescribeDatasetResponse{readMetadata(r.getDescribeDataset().getDataset())};
      break;
    case w::Response::LIST_RECORDS: {
      auto g = r.getListRecords();
      ListRecordsResponse l;
      l.records = readRecords(g.getRecords());
      l.nextToken = str(g.getNextToken());
      l.datasetSyncCount = g.getDatasetSyncCount();
      l.lastModifiedBy = str(g.getLastModifiedBy());
      for (auto n : g.getMergedDatasetNames()) l.mergedDatasetNames.push_back(str(n));
      l.datasetExists = g.getDatasetExists();
      l.datasetDeletedAfterRequestedSyncCount = g.getDatasetDeletedAfterRequestedSyncCount();
      l.syncSessionToken = str(g.getSyncSessionToken());
      out.body = std::move(l);
      break;
    }
    case w::Response::UPDATE_RECORDS: {
      auto g = r.getUpdateRecords();
      out.body = UpdateRecordsResponse{readRecords(g.getRecords()), g.getSyncCount(),
                                       g.getLastModifiedMs(), str(g.getLastModifiedBy())};
      break;
    }
    case w::Response::DELETE_DATASET:
      out.body = DeleteDatasetResponse{readMetadata(r.getDeleteDataset().getDataset())};
      break;
    case w::Response::DESCRIBE_IDENTITY_USAGE: {
      auto g = r.getDescribeIdentityUsage();
      out.body = DescribeIdentityUsageResponse{str(g.getIdentityId()), str(g.getIdentityPoolId()),
                                               g.getLastModifiedMs(), g.getDatasetCount(), g.getDataStorage()};
      break;
    }
    case w::Response::SUBSCRIBE: {
      SubscribeResponse sr;
      for (auto d : r.getSubscribe().getDatasets())
        sr.datasets.push_back(SubscriptionState{str(d.getDatasetName()), d.getSyncCount(), d.getExists()});
      out.body = std::move(sr);
      break;
    }
    case w::Response::UNSUBSCRIBE:
      out.body = UnsubscribeResponse{};
      break;
    default:
      return Status::protocolError("unknown response type (id " + std::to_string(out.id) + ")");
  }
  return ServerMessage{std::move(out)};
}

// Parses `frame` as one flat-array message and hands its root to `read`. Cap'n Proto checks
// bounds lazily and throws kj::Exception on bad input; this is where that stops.
template <class Root, class Fn>
auto decodeFrame(std::string_view frame, Fn&& read) -> decltype(read(std::declval<typename Root::Reader>())) {
  if (frame.empty()) return Status::protocolError("empty frame");
  if (frame.size() > kMaxFrameBytes) return Status::protocolError("frame too large");
  if (frame.size() % sizeof(capnp::word) != 0)
    return Status::protocolError("truncated frame (not a whole number of words)");
  // A frame in a std::string (what both transports hand over) comes from operator new and is
  // word-aligned: parse it in place. Only an unaligned view pays for an aligned copy.
  const size_t wordCount = frame.size() / sizeof(capnp::word);
  kj::Array<capnp::word> copy;
  kj::ArrayPtr<const capnp::word> words;
  if (reinterpret_cast<uintptr_t>(frame.data()) % alignof(capnp::word) == 0) {
    words = kj::ArrayPtr<const capnp::word>(reinterpret_cast<const capnp::word*>(frame.data()), wordCount);
  } else {
    copy = kj::heapArray<capnp::word>(wordCount);
    std::memcpy(copy.begin(), frame.data(), frame.size());
    words = kj::ArrayPtr<const capnp::word>(copy.begin(), copy.size());
  }
  try {
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = frame.size() / sizeof(capnp::word) * 2 + 64;
    opts.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(words, opts);
    if (reader.getEnd() != words.end()) return Status::protocolError("trailing bytes after message");
    return read(reader.getRoot<Root>());
  } catch (const kj::Exception& e) {
    return Status::protocolError(std::string("malformed message: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return Status::protocolError(std::string("malformed message: ") + e.what());
  }
}

}  // namespace

std::string encode(const ClientMessage& msg) {
  capnp::MallocMessageBuilder mb;
  auto root = mb.initRoot<w::ClientMessage>();
  if (const auto* h = std::get_if<Hello>(&msg)) {
    auto hb = root.initHello();
    hb.setProtocolVersion(h->protocolVersion);
    hb.setClientName(txt(h->clientName));
  } else {
    const auto& r = std::get<Request>(msg);
    auto rb = root.initRequest();
    rb.setId(r.id);
    std::visit(RequestFiller{rb}, r.body);
  }
  return toBytes(mb);
}

std::string encode(const ServerMessage& msg) {
  capnp::MallocMessageBuilder mb;
  auto root = mb.initRoot<w::ServerMessage>();
  if (const auto* h = std::get_if<HelloAck>(&msg)) {
    auto hb = root.initHelloAck();
    hb.setProtocolVersion(h->protocolVersion);
    hb.setServerName(txt(h->serverName));
    hb.setMaxFrameBytes(h->maxFrameBytes);
    hb.setConditionalPush(h->conditionalPush);
  } else if (const auto* d = std::get_if<DatasetChanged>(&msg)) {
    auto db = root.initDatasetChanged();
    db.setIdentityPoolId(txt(d->identityPoolId));
    db.setIdentityId(txt(d->identityId));
    db.setDatasetName(txt(d->datasetName));
    db.setSyncCount(d->syncCount);
    if (d->hasRecords) {
      fillRecords(db.initRecords(d->records.size()), d->records);
      db.setHasRecords(true);
    }
  } else {
    const auto& r = std::get<Response>(msg);
    auto rb = root.initResponse();
    rb.setId(r.id);
    std::visit(ResponseFiller{rb}, r.body);
  }
  return toBytes(mb);
}

Result<ClientMessage> decodeClientMessage(std::string_view frame) {
  return decodeFrame<w::ClientMessage>(frame, [](w::ClientMessage::Reader r) { return readClientMessage(r); });
}

Result<ServerMessage> decodeServerMessage(std::string_view frame) {
  return decodeFrame<w::ServerMessage>(frame, [](w::ServerMessage::Reader r) { return readServerMessage(r); });
}

std::optional<uint64_t> peekRequestId(std::string_view frame) {
  Result<uint64_t> id = decodeFrame<w::ClientMessage>(frame, [](w::ClientMessage::Reader r) -> Result<uint64_t> {
    if (r.which() != w::ClientMessage::REQUEST) return Status::protocolError("not a request");
    return r.getRequest().getId();
  });
  if (!id.isOk()) return std::nullopt;
  return *id;
}

std::vector<std::string> requestKindNames() {
  std::vector<std::string> out;
  for (capnp::StructSchema::Field f : capnp::Schema::from<w::Request>().getUnionFields())
    out.emplace_back(f.getProto().getName().cStr());
  return out;
}

std::string requestKindName(const RequestBody& body) {
  std::string frame = encode(ClientMessage{Request{0, body}});
  Result<std::string> name = decodeFrame<w::ClientMessage>(frame, [](w::ClientMessage::Reader r) -> Result<std::string> {
    if (r.which() != w::ClientMessage::REQUEST) return Status::protocolError("not a request");
    KJ_IF_MAYBE(field, capnp::toDynamic(r.getRequest()).which()) {
      return std::string(field->getProto().getName().cStr());
    }
    return Status::protocolError("no request member set");
  });
  return name.isOk() ? *name : std::string();
}

}  // namespace tether::codec

namespace tether::proto {

std::string_view cognitoErrorName(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kProtocolError: return "InvalidParameterException";
    case StatusCode::kNotFound: return "ResourceNotFoundException";
    case StatusCode::kConflict: return "ResourceConflictException";
    case StatusCode::kLimitExceeded: return "LimitExceededException";
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return "NotAuthorizedException";
    case StatusCode::kTooManyRequests: return "TooManyRequestsException";
    case StatusCode::kTriggerFailed: return "InvalidLambdaFunctionOutputException";
    case StatusCode::kTriggerThrottled: return "LambdaThrottledException";
    default: return "InternalErrorException";
  }
}

}  // namespace tether::proto
