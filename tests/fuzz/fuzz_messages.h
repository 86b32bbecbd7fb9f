// Native-protocol messages built from a fuzz input (the structure-aware half of the codec,
// session and hostile-server targets): every field is read from the input, strings mostly from a
// vocabulary of values that pass validation (so requests reach the service logic behind it),
// integers mostly from the edges checks care about. The message is then encoded with the real
// codec, so what reaches the code under test is a well-formed Cap'n Proto frame with hostile
// contents.
#pragma once

#include <string>
#include <vector>

#include "fuzz_input.h"
#include "tether/protocol.h"

namespace tether::fuzz {

struct Vocabulary {
  std::vector<std::string> pools;
  std::vector<std::string> identities;
  std::vector<std::string> datasets{"prefs", "settings", "a", "b.c", "x_y-z:1", "scores"};
  std::vector<std::string> keys{"theme", "k", "score", "a.b", "lang", ""};
  std::vector<std::string> values{"dark", "", "1", "v", std::string(300, 'x')};
  std::vector<std::string> tokens;       // session, page and JWT tokens the target knows
  std::vector<std::string> devices{"device-1", "dev2"};
  std::vector<std::string> providers{"accounts.google.com", "login.dev", "graph.facebook.com"};
};

inline Status fuzzStatus(FuzzInput& in) {
  auto code = static_cast<StatusCode>(in.range<int>(0, 15));  // 14, 15: unknown codes
  return Status(code, in.bytes(64));
}

inline Record fuzzRecord(FuzzInput& in, const Vocabulary& v) {
  Record r;
  r.key = in.pick(v.keys, 1100);
  if (in.boolean()) r.value = in.pick(v.values, 2000);
  r.syncCount = in.int64();
  r.lastModifiedMs = in.int64();
  r.lastModifiedBy = in.pick(v.devices, 64);
  r.deviceLastModifiedMs = in.int64();
  return r;
}

inline std::vector<Record> fuzzRecords(FuzzInput& in, const Vocabulary& v) {
  std::vector<Record> out(in.range<int>(0, 6));
  for (auto& r : out) r = fuzzRecord(in, v);
  return out;
}

inline DatasetMetadata fuzzDatasetMetadata(FuzzInput& in, const Vocabulary& v) {
  DatasetMetadata d;
  d.name = in.pick(v.datasets, 200);
  d.creationMs = in.int64();
  d.lastModifiedMs = in.int64();
  d.lastModifiedBy = in.pick(v.devices, 64);
  d.dataStorage = in.int64();
  d.numRecords = in.int64();
  d.syncCount = in.int64();
  return d;
}

inline std::vector<Login> fuzzLogins(FuzzInput& in, const Vocabulary& v) {
  std::vector<Login> out(in.range<int>(0, 3));
  for (auto& l : out) {
    l.provider = in.pick(v.providers, 200);
    l.token = in.pick(v.tokens, 2000);
  }
  return out;
}

inline std::vector<std::string> fuzzNames(FuzzInput& in, const Vocabulary& v) {
  std::vector<std::string> out(in.range<int>(0, 4));
  for (auto& n : out) n = in.pick(v.datasets, 200);
  return out;
}

inline proto::RequestBody fuzzRequestBody(FuzzInput& in, const Vocabulary& v) {
  switch (in.range<int>(0, 11)) {
    case 0: return proto::GetIdRequest{in.pick(v.pools), fuzzLogins(in, v)};
    case 1: return proto::GetTokenRequest{in.pick(v.identities), fuzzLogins(in, v)};
    case 2: return proto::AuthenticateRequest{in.pick(v.tokens, 4000)};
    case 3: return proto::ListDatasetsRequest{in.uint32(), in.pick(v.tokens)};
    case 4: return proto::DescribeDatasetRequest{in.pick(v.datasets)};
    case 5: {
      proto::ListRecordsRequest r;
      r.datasetName = in.pick(v.datasets);
      r.lastSyncCount = in.int64();
      r.maxResults = in.uint32();
      r.nextToken = in.pick(v.tokens);
      return r;
    }
    case 6: {
      proto::UpdateRecordsRequest r;
      r.datasetName = in.pick(v.datasets);
      r.syncSessionToken = in.pick(v.tokens);
      r.deviceId = in.pick(v.devices);
      r.patches.resize(in.range<int>(0, 5));
      for (auto& p : r.patches) {
        p.op = in.boolean() ? PatchOp::kRemove : PatchOp::kReplace;
        p.key = in.pick(v.keys, 1100);
        p.value = in.pick(v.values, 2000);
        p.syncCount = in.int64();
        p.deviceLastModifiedMs = in.int64();
      }
      r.ifDatasetSyncCount = in.boolean() ? -1 : in.int64();
      r.omitValues = in.boolean();
      return r;
    }
    case 7: return proto::DeleteDatasetRequest{in.pick(v.datasets)};
    case 8: return proto::DescribeIdentityUsageRequest{};
    case 9: return proto::SubscribeRequest{fuzzNames(in, v), in.pick(v.devices)};
    case 10: return proto::UnsubscribeRequest{fuzzNames(in, v)};
    default: {
      proto::GetDeveloperTokenRequest r;
      r.identityPoolId = in.pick(v.pools);
      r.identityId = in.boolean() ? "" : in.pick(v.identities);
      r.developerUserId = in.bytes(64);
      r.tokenDurationSeconds = in.int64();
      r.accessKeyId = in.bytes(64);
      r.timestampMs = in.int64();
      r.signature = in.bytes(80);
      return r;
    }
  }
}

inline proto::ClientMessage fuzzClientMessage(FuzzInput& in, const Vocabulary& v) {
  if (in.range<int>(0, 7) == 0) {
    proto::Hello h;
    h.protocolVersion = in.boolean() ? proto::kProtocolVersion : in.uint32();
    h.clientName = in.bytes(64);
    return h;
  }
  proto::Request r;
  r.id = in.boolean() ? in.range<uint64_t>(0, 16) : in.integral<uint64_t>();
  r.body = fuzzRequestBody(in, v);
  return r;
}

inline proto::ResponseBody fuzzResponseBody(FuzzInput& in, const Vocabulary& v) {
  switch (in.range<int>(0, 11)) {
    case 0: return fuzzStatus(in);
    case 1: return proto::GetIdResponse{in.pick(v.identities)};
    case 2: return proto::GetTokenResponse{in.pick(v.identities), in.pick(v.tokens), in.int64()};
    case 3: return proto::AuthenticateResponse{in.pick(v.identities), in.pick(v.pools), in.int64()};
    case 4: {
      proto::ListDatasetsResponse r;
      r.datasets.resize(in.range<int>(0, 4));
      for (auto& d : r.datasets) d = fuzzDatasetMetadata(in, v);
      r.nextToken = in.boolean() ? "" : in.pick(v.tokens);
      return r;
    }
    case 5: return proto::DescribeDatasetResponse{fuzzDatasetMetadata(in, v)};
    case 6: {
      proto::ListRecordsResponse r;
      r.records = fuzzRecords(in, v);
      r.nextToken = in.boolean() ? "" : in.pick(v.tokens);
      r.datasetSyncCount = in.int64();
      r.lastModifiedBy = in.pick(v.devices);
      r.mergedDatasetNames = in.boolean() ? std::vector<std::string>{} : fuzzNames(in, v);
      r.datasetExists = in.boolean();
      r.datasetDeletedAfterRequestedSyncCount = in.boolean();
      r.syncSessionToken = in.pick(v.tokens);
      return r;
    }
    case 7: {
      proto::UpdateRecordsResponse r;
      r.records = fuzzRecords(in, v);
      r.syncCount = in.int64();
      r.lastModifiedMs = in.int64();
      r.lastModifiedBy = in.pick(v.devices);
      return r;
    }
    case 8: return proto::DeleteDatasetResponse{fuzzDatasetMetadata(in, v)};
    case 9: {
      proto::DescribeIdentityUsageResponse r;
      r.identityId = in.pick(v.identities);
      r.identityPoolId = in.pick(v.pools);
      r.lastModifiedMs = in.int64();
      r.datasetCount = in.int64();
      r.dataStorage = in.int64();
      return r;
    }
    case 10: {
      proto::SubscribeResponse r;
      r.datasets.resize(in.range<int>(0, 4));
      for (auto& s : r.datasets) s = {in.pick(v.datasets), in.int64(), in.boolean()};
      return r;
    }
    default: return proto::UnsubscribeResponse{};
  }
}

inline proto::DatasetChanged fuzzDatasetChanged(FuzzInput& in, const Vocabulary& v) {
  proto::DatasetChanged c;
  c.identityPoolId = in.pick(v.pools);
  c.identityId = in.pick(v.identities);
  c.datasetName = in.pick(v.datasets);
  c.syncCount = in.int64();
  c.hasRecords = in.boolean();
  if (c.hasRecords) c.records = fuzzRecords(in, v);
  return c;
}

inline proto::ServerMessage fuzzServerMessage(FuzzInput& in, const Vocabulary& v) {
  switch (in.range<int>(0, 5)) {
    case 0: {
      proto::HelloAck a;
      a.protocolVersion = in.boolean() ? proto::kProtocolVersion : in.uint32();
      a.serverName = in.bytes(64);
      a.maxFrameBytes = in.uint32();
      a.conditionalPush = in.boolean();
      return a;
    }
    case 1: return fuzzDatasetChanged(in, v);
    default: return proto::Response{in.boolean() ? in.range<uint64_t>(0, 16) : in.integral<uint64_t>(),
                                    fuzzResponseBody(in, v)};
  }
}

}  // namespace tether::fuzz
