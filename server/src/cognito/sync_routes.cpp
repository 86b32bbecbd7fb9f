// Cognito Sync route table; see sync_routes.h.
#include "cognito/sync_routes.h"

#include "cognito/sigv4.h"

namespace tether::server::cognito {
namespace {

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string joinFrom(const std::vector<std::string>& segs, size_t from) {
  std::string out;
  for (size_t i = from; i < segs.size(); ++i) {
    if (i > from) out += '/';
    out += segs[i];
  }
  return out;
}

}  // namespace

std::optional<SyncRoute> matchSyncRoute(std::string_view method, std::string_view path) {
  std::vector<std::string> s = splitPath(path);
  if (s.empty() || s[0] != "identitypools") return std::nullopt;
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i].empty()) return std::nullopt;  // "//" never comes from an SDK
  const bool get = method == "GET", post = method == "POST", del = method == "DELETE";
  SyncRoute r{};
  // Segments that are parameters get the SDK's label encoding in the canonical URI; literal
  // segments are plain ASCII and encode to themselves, so one rule covers both.
  auto done = [&](SyncOp op, std::vector<std::string> canonicalSegs) -> std::optional<SyncRoute> {
    r.op = op;
    r.canonicalUri = canonicalUri(canonicalSegs);
    return r;
  };
  const size_t n = s.size();
  if (n == 1 && s[0] == "identitypools") {
    if (get) return done(SyncOp::kListIdentityPoolUsage, s);
    return std::nullopt;
  }
  if (n == 2 && s[1].empty()) return std::nullopt;
  r.poolId = s[1];
  if (n == 2) {
    if (get) return done(SyncOp::kDescribeIdentityPoolUsage, s);
    return std::nullopt;
  }
  if (n == 3) {
    if (s[2] == "bulkpublish" && post) return done(SyncOp::kBulkPublish, s);
    if (s[2] == "getBulkPublishDetails" && post) return done(SyncOp::kGetBulkPublishDetails, s);
    if (s[2] == "events" && get) return done(SyncOp::kGetCognitoEvents, s);
    if (s[2] == "events" && post) return done(SyncOp::kSetCognitoEvents, s);
    if (s[2] == "configuration" && get) return done(SyncOp::kGetIdentityPoolConfiguration, s);
    if (s[2] == "configuration" && post) return done(SyncOp::kSetIdentityPoolConfiguration, s);
    return std::nullopt;
  }
  if (n == 5 && s[2] == "identity" && s[4] == "device" && post && !s[3].empty()) {
    r.identityId = s[3];
    return done(SyncOp::kRegisterDevice, s);
  }
  if (s[2] != "identities" || s[3].empty()) return std::nullopt;
  r.identityId = s[3];
  if (n == 4) {
    if (get) return done(SyncOp::kDescribeIdentityUsage, s);
    return std::nullopt;
  }
  if (s[4] != "datasets") return std::nullopt;
  if (n == 5) {
    if (get) return done(SyncOp::kListDatasets, s);
    return std::nullopt;
  }
  if (s[5].empty()) return std::nullopt;
  r.datasetName = s[5];
  if (n == 6) {
    if (get) return done(SyncOp::kDescribeDataset, s);
    if (post) return done(SyncOp::kUpdateRecords, s);
    if (del) return done(SyncOp::kDeleteDataset, s);
    return std::nullopt;
  }
  if (n == 7 && s[6] == "records") {
    if (get) return done(SyncOp::kListRecords, s);
    return std::nullopt;
  }
  if (n >= 8 && s[6] == "subscriptions") {
    r.deviceId = joinFrom(s, 7);
    if (r.deviceId.empty()) return std::nullopt;
    std::vector<std::string> canon(s.begin(), s.begin() + 7);
    canon.push_back(r.deviceId);  // one label: its '/' was %2F on the wire
    if (post) return done(SyncOp::kSubscribeToDataset, canon);
    if (del) return done(SyncOp::kUnsubscribeFromDataset, canon);
  }
  return std::nullopt;
}

std::string_view syncOpName(SyncOp op) {
  switch (op) {
    case SyncOp::kListIdentityPoolUsage: return "ListIdentityPoolUsage";
    case SyncOp::kDescribeIdentityPoolUsage: return "DescribeIdentityPoolUsage";
    case SyncOp::kDescribeIdentityUsage: return "DescribeIdentityUsage";
    case SyncOp::kListDatasets: return "ListDatasets";
    case SyncOp::kDescribeDataset: return "DescribeDataset";
    case SyncOp::kUpdateRecords: return "UpdateRecords";
    case SyncOp::kDeleteDataset: return "DeleteDataset";
    case SyncOp::kListRecords: return "ListRecords";
    case SyncOp::kRegisterDevice: return "RegisterDevice";
    case SyncOp::kSubscribeToDataset: return "SubscribeToDataset";
    case SyncOp::kUnsubscribeFromDataset: return "UnsubscribeFromDataset";
    case SyncOp::kBulkPublish: return "BulkPublish";
    case SyncOp::kGetBulkPublishDetails: return "GetBulkPublishDetails";
    case SyncOp::kGetCognitoEvents: return "GetCognitoEvents";
    case SyncOp::kSetCognitoEvents: return "SetCognitoEvents";
    case SyncOp::kGetIdentityPoolConfiguration: return "GetIdentityPoolConfiguration";
    case SyncOp::kSetIdentityPoolConfiguration: return "SetIdentityPoolConfiguration";
  }
  return "Unknown";
}

}  // namespace tether::server::cognito
