// The rows of the security matrix: for every operation, which credentials may call it and how
// to build a valid request for a target. The operations themselves (names, Cognito Sync
// methods and paths) come from the routers; a row names an operation, and the test checks that
// every operation has exactly one row (docs/security.md, "Security matrix").
#include <map>

#include <nlohmann/json.hpp>

#include "cognito/sync_routes.h"
#include "security_matrix_world.h"
#include "ws_test_client.h"

namespace tether::testing::matrix {

using nlohmann::json;
using namespace proto;

namespace {

const std::set<Col> kOwnOrDeveloper = {Col::kOwn, Col::kDeveloper};

// Cognito Sync: who may call each operation and its body; method and path come from
// syncRouteTable().
struct SyncRow {
  std::set<Col> allowed;
  bool mutates = false;
  std::function<std::string(const Target&)> body;
  int okStatus = 200;
  std::string okType;
};

SyncRow syncRow(std::set<Col> allowed, bool mutates, std::function<std::string(const Target&)> body,
                int okStatus = 200, std::string okType = "") {
  return SyncRow{std::move(allowed), mutates, std::move(body), okStatus, std::move(okType)};
}

std::map<std::string, SyncRow> syncRowTable() {
  auto none = [](const Target&) { return std::string(); };
  const std::set<Col> developer = {Col::kDeveloper}, own = {Col::kOwn};
  return {
      {"ListIdentityPoolUsage", syncRow(developer, false, none)},
      {"DescribeIdentityPoolUsage", syncRow(developer, false, none)},
      {"DescribeIdentityUsage", syncRow(kOwnOrDeveloper, false, none)},
      {"ListDatasets", syncRow(kOwnOrDeveloper, false, none)},
      {"DescribeDataset", syncRow(kOwnOrDeveloper, false, none)},
      {"ListRecords", syncRow(kOwnOrDeveloper, false, none)},
      {"UpdateRecords", syncRow(kOwnOrDeveloper, true, [](const Target& t) {
         return json{{"SyncSessionToken", t.syncSessionToken},
                     {"RecordPatches", {{{"Op", "replace"}, {"Key", "k2"}, {"Value", "v2"}, {"SyncCount", 0}}}}}.dump();
       })},
      {"DeleteDataset", syncRow(kOwnOrDeveloper, true, none)},
      // Push sync: "only with temporary credentials provided by Cognito Identity" (AWS), so a
      // developer credential is refused.
      {"RegisterDevice", syncRow(own, true, [](const Target& t) {
         return json{{"Platform", "GCM"}, {"Token", "push-" + t.name}}.dump();
       })},
      {"SubscribeToDataset", syncRow(own, true, none)},
      {"UnsubscribeFromDataset", syncRow(own, true, none)},
      // Cognito Streams is not supported: the authorized answer is this error.
      {"BulkPublish", syncRow(developer, false, none, 400, "InvalidParameterException")},
      {"GetBulkPublishDetails", syncRow(developer, false, none)},
      {"GetCognitoEvents", syncRow(developer, false, none)},
      // An empty ARN (removes the trigger): an ARN without a [[sync_triggers]] target would make
      // the later own-credential writes of the pool fail (docs/events.md "Sync trigger").
      {"SetCognitoEvents", syncRow(developer, false, [](const Target&) {
         return json{{"Events", {{"SyncTrigger", ""}}}}.dump();
       })},
      {"GetIdentityPoolConfiguration", syncRow(developer, false, none)},
      {"SetIdentityPoolConfiguration", syncRow(developer, false, [](const Target&) {
         return json{{"CognitoStreams", {{"StreamName", "s"}, {"StreamingStatus", "DISABLED"}}}}.dump();
       })},
  };
}

std::vector<std::string> pathFor(std::string_view tpl, const Target& t) {
  std::vector<std::string> segs;
  size_t start = 1;
  while (start <= tpl.size()) {
    size_t slash = tpl.find('/', start);
    std::string s(tpl.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (s == "{IdentityPoolId}") s = t.pool;
    else if (s == "{IdentityId}") s = t.identity;
    else if (s == "{DatasetName}") s = t.dataset;
    else if (s == "{DeviceId+}" || s == "{DeviceId}") s = t.deviceId;
    segs.push_back(s);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segs;
}

// Cognito Identity: the body of each operation for a target.
struct IdentityRow {
  HttpSurface surface;
  std::set<Col> allowed;
  bool mutates = false;
  std::function<json(const Target&, const MatrixConfig&)> body;
};

std::map<std::string, IdentityRow> identityRowTable() {
  const std::set<Col> developer = {Col::kDeveloper};
  // The device operations: the pool allows guests, so GetId needs nothing (a new guest, or the
  // identity of the presented token: the caller's own, whichever identity that is); the others
  // name an identity that has a login, which only its own token proves.
  const std::set<Col> anyone = {Col::kNone, Col::kOwn, Col::kOtherIdentity, Col::kDeveloper};
  auto pool = [](const Target& t, const MatrixConfig&) { return json{{"IdentityPoolId", t.pool}}; };
  auto id = [](const Target& t, const MatrixConfig&) { return json{{"IdentityId", t.identity}}; };
  return {
      {"GetId", {HttpSurface::kIdentityDevice, anyone, false, pool}},
      {"GetOpenIdToken", {HttpSurface::kIdentityDevice, {Col::kOwn}, false, id}},
      {"GetCredentialsForIdentity", {HttpSurface::kIdentityDevice, {Col::kOwn}, false, id}},
      {"UnlinkIdentity", {HttpSurface::kIdentityDevice, {Col::kOwn}, true,
                          [](const Target& t, const MatrixConfig& c) {
                            return json{{"IdentityId", t.identity}, {"LoginsToRemove", {c.provider}}};
                          }}},
      {"GetOpenIdTokenForDeveloperIdentity", {HttpSurface::kIdentitySigned, developer, false,
                                              [](const Target& t, const MatrixConfig& c) {
                                                std::string p = t.pool == c.p1 ? c.devProvider1 : c.devProvider2;
                                                return json{{"IdentityPoolId", t.pool}, {"IdentityId", t.identity},
                                                            {"Logins", {{p, t.devUser}}}};
                                              }}},
      {"LookupDeveloperIdentity", {HttpSurface::kIdentitySigned, developer, false,
                                   [](const Target& t, const MatrixConfig&) {
                                     return json{{"IdentityPoolId", t.pool}, {"IdentityId", t.identity}};
                                   }}},
      {"MergeDeveloperIdentities", {HttpSurface::kIdentitySigned, developer, true,
                                    [](const Target& t, const MatrixConfig& c) {
                                      return json{{"IdentityPoolId", t.pool}, {"SourceUserIdentifier", t.devUser2},
                                                  {"DestinationUserIdentifier", t.devUser},
                                                  {"DeveloperProviderName", t.pool == c.p1 ? c.devProvider1 : c.devProvider2}};
                                    }}},
      {"UnlinkDeveloperIdentity", {HttpSurface::kIdentitySigned, developer, true,
                                   [](const Target& t, const MatrixConfig& c) {
                                     return json{{"IdentityPoolId", t.pool}, {"IdentityId", t.identity},
                                                 {"DeveloperUserIdentifier", t.devUser},
                                                 {"DeveloperProviderName", t.pool == c.p1 ? c.devProvider1 : c.devProvider2}};
                                   }}},
      {"DescribeIdentity", {HttpSurface::kIdentitySigned, developer, false, id}},
      {"ListIdentities", {HttpSurface::kIdentitySigned, developer, false,
                          [](const Target& t, const MatrixConfig&) {
                            return json{{"IdentityPoolId", t.pool}, {"MaxResults", 2}};
                          }}},
      {"DeleteIdentities", {HttpSurface::kIdentitySigned, developer, true,
                            [](const Target& t, const MatrixConfig&) {
                              return json{{"IdentityIdsToDelete", {t.identity}}};
                            }}},
      {"DescribeIdentityPool", {HttpSurface::kIdentitySigned, developer, false, pool}},
      {"ListIdentityPools", {HttpSurface::kIdentitySigned, developer, false,
                             [](const Target&, const MatrixConfig&) { return json{{"MaxResults", 1}}; }}},
  };
}

std::vector<Login> loginsOf(const std::string& token, const MatrixConfig& c) {
  if (token.empty()) return {};
  return {Login{c.cognito, token}};
}

}  // namespace

std::vector<HttpRow> httpRows(const MatrixConfig& c) {
  std::vector<HttpRow> rows;
  std::map<std::string, SyncRow> sync = syncRowTable();
  for (const server::cognito::SyncRouteSpec& spec : server::cognito::syncRouteTable()) {
    auto it = sync.find(std::string(server::cognito::syncOpName(spec.op)));
    if (it == sync.end()) continue;  // reported by the completeness check
    SyncRow s = it->second;
    HttpRow r{it->first, HttpSurface::kSync, s.allowed, s.okStatus, s.okType, s.mutates, nullptr};
    std::string method(spec.method), tpl(spec.pathTemplate);
    r.build = [method, tpl, body = s.body](const Target& t, const std::string&) {
      return HttpCall{method, pathFor(tpl, t), "", body(t), {}};
    };
    rows.push_back(std::move(r));
  }
  for (auto& [op, row] : identityRowTable()) {
    HttpRow r{op, row.surface, row.allowed, 200, "", row.mutates, nullptr};
    r.build = [op = op, row = row, c](const Target& t, const std::string& login) {
      json body = row.body(t, c);
      if (row.surface == HttpSurface::kIdentityDevice && (op != "GetId" || !login.empty()))
        body["Logins"] = login.empty() ? json::object() : json{{c.cognito, login}};
      return HttpCall{"POST", {}, op, body.dump(), {}};
    };
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<NativeRow> nativeRows(const MatrixConfig& c) {
  const std::set<Col> others = {Col::kOtherIdentity, Col::kOtherPool};
  auto session = [&](std::string kind, bool mutates,
                     std::function<RequestBody(const Target&, WsTestClient&)> build) {
    return NativeRow{std::move(kind), NativeCred::kSession, {Col::kOwn}, others, mutates,
                     [build](const Target& t, const std::string&, WsTestClient& conn) { return build(t, conn); }};
  };
  std::vector<NativeRow> rows = {
      // Like Cognito GetId: a guest pool needs no login; a token names its own identity.
      {"getId", NativeCred::kLogins, {Col::kNone, Col::kOwn, Col::kOtherIdentity}, {}, false,
       [c](const Target& t, const std::string& token, WsTestClient&) {
         return RequestBody{GetIdRequest{t.pool, loginsOf(token, c)}};
       }},
      {"getToken", NativeCred::kLogins, {Col::kOwn}, {}, false,
       [c](const Target& t, const std::string& token, WsTestClient&) {
         return RequestBody{GetTokenRequest{t.identity, loginsOf(token, c)}};
       }},
      // Authenticating with another identity's genuine token makes the session that identity's.
      {"authenticate", NativeCred::kToken, {Col::kOwn, Col::kOtherIdentity, Col::kOtherPool}, {}, false,
       [](const Target&, const std::string& token, WsTestClient&) { return RequestBody{AuthenticateRequest{token}}; }},
      {"getDeveloperToken", NativeCred::kDeveloperHmac, {Col::kDeveloper}, {}, false,
       [](const Target& t, const std::string&, WsTestClient&) {
         return RequestBody{GetDeveloperTokenRequest{t.pool, t.identity, t.devUser, 60, "", 0, ""}};
       }},
      session("listDatasets", false, [](const Target&, WsTestClient&) { return ListDatasetsRequest{}; }),
      session("describeDataset", false, [](const Target& t, WsTestClient&) { return DescribeDatasetRequest{t.dataset}; }),
      session("listRecords", false, [](const Target& t, WsTestClient&) { return ListRecordsRequest{t.dataset, 0, 0, ""}; }),
      session("updateRecords", true, [](const Target& t, WsTestClient& conn) {
        // The session token of this connection's identity (a denied connection has none).
        auto list = conn.callAs<ListRecordsResponse>(ListRecordsRequest{t.dataset, 0, 0, ""});
        std::string token = list.isOk() ? list->syncSessionToken : t.syncSessionToken;
        return UpdateRecordsRequest{t.dataset, token, "", {RecordPatch{PatchOp::kReplace, "k3", "v3", 0, 0}}};
      }),
      session("deleteDataset", true, [](const Target& t, WsTestClient&) { return DeleteDatasetRequest{t.dataset}; }),
      session("describeIdentityUsage", false, [](const Target&, WsTestClient&) { return DescribeIdentityUsageRequest{}; }),
      session("subscribe", false, [](const Target& t, WsTestClient&) { return SubscribeRequest{{t.dataset}, t.deviceId}; }),
      session("unsubscribe", false, [](const Target& t, WsTestClient&) { return UnsubscribeRequest{{t.dataset}}; }),
  };
  return rows;
}

std::set<std::string> identityRowNames() {
  std::set<std::string> out;
  for (const auto& [op, row] : identityRowTable()) out.insert(op);
  return out;
}

std::set<std::string> syncRowNames() {
  std::set<std::string> out;
  for (const auto& [op, row] : syncRowTable()) out.insert(op);
  return out;
}

std::set<std::string> nativeRowNames() {
  std::set<std::string> out;
  for (const NativeRow& r : nativeRows(MatrixConfig{})) out.insert(r.kind);
  return out;
}

void compareRows(const std::string& surface, const std::set<std::string>& ops, const std::set<std::string>& rows,
                 std::vector<std::string>& missing, std::vector<std::string>& stale) {
  for (const std::string& op : ops)
    if (!rows.count(op)) missing.push_back(surface + " " + op);
  for (const std::string& r : rows)
    if (!ops.count(r)) stale.push_back(surface + " " + r);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace tether::testing::matrix
