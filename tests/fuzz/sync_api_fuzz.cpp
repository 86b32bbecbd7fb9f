// Fuzz target 4: every Cognito Sync request (method, path, query, headers, body) through the real
// router (cognito/cognito_http -> sync_routes -> sync_api) against the real SyncService and store
// (fuzz_server_world.h).
//
// Input: first byte = mode. 0: raw - method, path, query pairs, headers and body are free bytes
// (signed or not). 1: structured - one of the operations' paths with segments mostly from the
// world's vocabulary (own and other identities, pools, dataset names, device IDs), the query
// parameters and JSON body members the operations read (RecordPatches, SyncSessionToken - real
// ones -, DeviceId, Platform/Token, PushSync, CognitoStreams, Events...) with values mostly of
// the right type, SigV4-signed by identity A's temporary credentials, B's, or the developer key,
// or unsigned. Several requests per input.
// Properties (fuzz_http_checks.h): never a 5xx, always a JSON body, errors typed.
#include <string>
#include <vector>

#include "fuzz_http_checks.h"
#include "fuzz_server_world.h"
#include "sync/page_token.h"

using namespace tether;
using nlohmann::json;

namespace {

struct Route {
  const char* method;
  std::vector<std::string> shape;  // literal segments; "{pool}", "{id}", "{ds}", "{dev}" are parameters
};

const std::vector<Route> kRoutes = {
    {"GET", {"identitypools"}},
    {"GET", {"identitypools", "{pool}"}},
    {"GET", {"identitypools", "{pool}", "identities", "{id}"}},
    {"GET", {"identitypools", "{pool}", "identities", "{id}", "datasets"}},
    {"GET", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}"}},
    {"POST", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}"}},
    {"POST", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}"}},
    {"DELETE", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}"}},
    {"GET", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}", "records"}},
    {"GET", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}", "records"}},
    {"POST", {"identitypools", "{pool}", "identity", "{id}", "device"}},
    {"POST", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}", "subscriptions", "{dev}"}},
    {"DELETE", {"identitypools", "{pool}", "identities", "{id}", "datasets", "{ds}", "subscriptions", "{dev}"}},
    {"POST", {"identitypools", "{pool}", "bulkpublish"}},
    {"POST", {"identitypools", "{pool}", "getBulkPublishDetails"}},
    {"GET", {"identitypools", "{pool}", "events"}},
    {"POST", {"identitypools", "{pool}", "events"}},
    {"GET", {"identitypools", "{pool}", "configuration"}},
    {"POST", {"identitypools", "{pool}", "configuration"}},
};

json patches(fuzz::FuzzInput& in, fuzz::ServerWorld& w) {
  json list = json::array();
  int n = in.range<int>(0, 4);
  for (int i = 0; i < n; ++i) {
    json p = json::object();
    p["Op"] = fuzz::fuzzJsonValue(in, in.pick({"replace", "remove", "Replace"}, 10));
    p["Key"] = fuzz::fuzzJsonValue(in, in.pick(w.vocab.keys, 1100));
    if (in.range<int>(0, 3) != 0) p["Value"] = fuzz::fuzzJsonValue(in, in.pick(w.vocab.values, 2000));
    p["SyncCount"] = fuzz::fuzzJsonValue(in, in.int64());
    if (in.boolean()) p["DeviceLastModifiedDate"] = fuzz::fuzzJsonValue(in, in.range<int64_t>(0, 2'000'000'000));
    list.push_back(p);
  }
  return list;
}

json body(fuzz::FuzzInput& in, fuzz::ServerWorld& w) {
  json b = json::object();
  int n = in.range<int>(0, 5);
  for (int i = 0; i < n; ++i) {
    switch (in.range<int>(0, 9)) {
      case 0: case 1: b["RecordPatches"] = fuzz::fuzzJsonValue(in, patches(in, w)); break;
      case 2: case 3: b["SyncSessionToken"] = fuzz::fuzzJsonValue(in, in.pick(w.vocab.tokens)); break;
      case 4: b["DeviceId"] = fuzz::fuzzJsonValue(in, in.pick(w.vocab.devices)); break;
      case 5: b["Platform"] = fuzz::fuzzJsonValue(in, in.pick({"GCM", "APNS", "APNS_SANDBOX", "ADM", "X"}, 20)); break;
      case 6: b["Token"] = fuzz::fuzzJsonValue(in, in.bytes(100)); break;
      case 7:
        b["PushSync"] = fuzz::fuzzJsonValue(in, json{{"ApplicationArns", json::array({"arn:aws:sns:x"})}, {"RoleArn", in.bytes(30)}});
        break;
      case 8:
        b["CognitoStreams"] = fuzz::fuzzJsonValue(
            in, json{{"StreamName", in.bytes(20)}, {"RoleArn", "arn"}, {"StreamingStatus", in.pick({"ENABLED", "DISABLED"}, 10)}});
        break;
      default: b["Events"] = fuzz::fuzzJsonValue(in, json{{in.pick({"SyncTrigger"}, 20), "arn:aws:lambda:x"}}); break;
    }
  }
  // UpdateRecords bodies usually carry a real session token and patches.
  if (in.boolean()) {
    if (!b.contains("SyncSessionToken")) b["SyncSessionToken"] = in.pick(w.vocab.tokens);
    if (!b.contains("RecordPatches")) b["RecordPatches"] = patches(in, w);
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ServerWorld& w = fuzz::ServerWorld::get();
  static const std::vector<std::string> pageTokens = [&w] {
    server::OwnerRef a{fuzz::kPoolA, w.idA};
    return std::vector<std::string>{server::encodeRecordsPageToken(a, "prefs", {0, 2, {1, "k"}}),
                                    server::encodeDatasetsPageToken(a, "prefs")};
  }();
  fuzz::FuzzInput in(data, size);
  bool rawMode = in.range<int>(0, 1) == 0;
  for (int i = 0; i < 6 && !in.empty(); ++i) {
    server::HttpRequest req;
    req.peer = "127.0.0.1";
    std::vector<std::string> segs;
    if (rawMode) {
      req.method = in.pick({"GET", "POST", "DELETE", "PUT", "OPTIONS"}, 10);
      int n = in.range<int>(0, 9);
      for (int s = 0; s < n; ++s) segs.push_back(in.pick({"identitypools", "identities", "datasets", "records"}, 60));
      int q = in.range<int>(0, 3);
      for (int k = 0; k < q; ++k) req.query.emplace_back(in.bytes(20), in.bytes(60));
      int h = in.range<int>(0, 3);
      for (int k = 0; k < h; ++k) req.headers[in.pick({"content-type", "origin", "x-amz-user-agent"}, 20)] = in.bytes(40);
      req.body = in.bytes(3000);
      req.bodyTooLarge = in.range<int>(0, 31) == 0;
    } else {
      const Route& r = kRoutes[in.range<size_t>(0, kRoutes.size() - 1)];
      req.method = in.range<int>(0, 15) == 0 ? "PATCH" : r.method;
      for (const std::string& part : r.shape) {
        if (part == "{pool}") segs.push_back(in.pick(w.vocab.pools, 80));
        else if (part == "{id}") segs.push_back(in.pick({w.idA, w.idA, w.idB, w.idOther}, 80));
        else if (part == "{ds}") segs.push_back(in.pick(w.vocab.datasets, 200));
        else if (part == "{dev}") segs.push_back(in.pick({"device-1", "seed-device", "a/b"}, 80));
        else segs.push_back(part);
      }
      int q = in.range<int>(0, 3);
      for (int k = 0; k < q; ++k) {
        std::string name = in.pick({"lastSyncCount", "maxResults", "nextToken", "syncSessionToken"}, 20);
        std::string value = name == "nextToken" ? in.pick(pageTokens, 80)
                            : name == "syncSessionToken" ? in.pick(w.vocab.tokens)
                                                         : std::to_string(in.int64());
        req.query.emplace_back(name, value);
      }
      req.headers["content-type"] = "application/json";
      if (req.method == "POST") req.body = fuzz::dumpLenient(body(in, w));
    }
    for (const auto& s : segs) req.path += "/" + s;
    if (segs.empty()) req.path = "/";
    switch (in.range<int>(0, 5)) {
      case 0: case 1: case 2:
        fuzz::signRequest(req, segs, w.credsA.accessKeyId, w.credsA.secretKey, w.credsA.sessionToken, "cognito-sync");
        break;
      case 3: fuzz::signRequest(req, segs, w.credsB.accessKeyId, w.credsB.secretKey, w.credsB.sessionToken, "cognito-sync"); break;
      case 4: fuzz::signRequest(req, segs, fuzz::kDevKey, fuzz::kDevSecret, "", "cognito-sync"); break;
      default: break;
    }
    server::HttpResponse resp = w.call(req);
    // Other paths fall through to the next handler (a plain JSON 404 here): not the Sync API.
    if (req.path.rfind("/identitypools", 0) == 0)
      fuzz::checkCognitoResponse(resp, req.method + " " + req.path + " " + req.body);
  }
  return 0;
}
