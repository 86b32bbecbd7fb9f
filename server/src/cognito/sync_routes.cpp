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

constexpr SyncRouteSpec kRoutes[] = {
    {SyncOp::kListIdentityPoolUsage, "GET", "/identitypools"},
    {SyncOp::kDescribeIdentityPoolUsage, "GET", "/identitypools/{IdentityPoolId}"},
    {SyncOp::kBulkPublish, "POST", "/identitypools/{IdentityPoolId}/bulkpublish"},
    {SyncOp::kGetBulkPublishDetails, "POST", "/identitypools/{IdentityPoolId}/getBulkPublishDetails"},
    {SyncOp::kGetCognitoEvents, "GET", "/identitypools/{IdentityPoolId}/events"},
    {SyncOp::kSetCognitoEvents, "POST", "/identitypools/{IdentityPoolId}/events"},
    {SyncOp::kGetIdentityPoolConfiguration, "GET", "/identitypools/{IdentityPoolId}/configuration"},
    {SyncOp::kSetIdentityPoolConfiguration, "POST", "/identitypools/{IdentityPoolId}/configuration"},
    {SyncOp::kRegisterDevice, "POST", "/identitypools/{IdentityPoolId}/identity/{IdentityId}/device"},
    {SyncOp::kDescribeIdentityUsage, "GET", "/identitypools/{IdentityPoolId}/identities/{IdentityId}"},
    {SyncOp::kListDatasets, "GET", "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets"},
    {SyncOp::kDescribeDataset, "GET", "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}"},
    {SyncOp::kUpdateRecords, "POST", "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}"},
    {SyncOp::kDeleteDataset, "DELETE", "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}"},
    {SyncOp::kListRecords, "GET",
     "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}/records"},
    {SyncOp::kSubscribeToDataset, "POST",
     "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}/subscriptions/{DeviceId+}"},
    {SyncOp::kUnsubscribeFromDataset, "DELETE",
     "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}/subscriptions/{DeviceId+}"},
};

// The route's parameter field for a template parameter name; nullptr if unknown.
std::string* field(SyncRoute& r, std::string_view name) {
  if (name == "IdentityPoolId") return &r.poolId;
  if (name == "IdentityId") return &r.identityId;
  if (name == "DatasetName") return &r.datasetName;
  if (name == "DeviceId") return &r.deviceId;
  return nullptr;
}

// `segs` against one template; the route (without op) if they match.
std::optional<SyncRoute> matchTemplate(const std::vector<std::string>& segs, std::string_view pathTemplate) {
  std::vector<std::string> tpl = splitPath(pathTemplate);
  SyncRoute r{};
  std::vector<std::string> canon;
  for (size_t i = 0; i < tpl.size(); ++i) {
    std::string_view t = tpl[i];
    if (i >= segs.size()) return std::nullopt;
    if (t.empty() || t.front() != '{') {
      if (segs[i] != t) return std::nullopt;
      canon.push_back(segs[i]);
      continue;
    }
    bool greedy = t.size() > 2 && t[t.size() - 2] == '+';
    std::string_view name = t.substr(1, t.size() - (greedy ? 3 : 2));
    // Greedy: the rest joined (its '/' was %2F on the wire; one label in the canonical URI).
    std::string value = greedy ? joinFrom(segs, i) : segs[i];
    if (value.empty()) return std::nullopt;
    std::string* f = field(r, name);
    if (f == nullptr) return std::nullopt;
    *f = value;
    canon.push_back(std::move(value));
    if (greedy) {
      r.canonicalUri = canonicalUri(canon);
      return r;
    }
  }
  if (segs.size() != tpl.size()) return std::nullopt;
  // Segments that are parameters get the SDK's label encoding in the canonical URI; literal
  // segments are plain ASCII and encode to themselves, so one rule covers both.
  r.canonicalUri = canonicalUri(canon);
  return r;
}

}  // namespace

std::span<const SyncRouteSpec> syncRouteTable() { return kRoutes; }

std::optional<SyncRoute> matchSyncRoute(std::string_view method, std::string_view path) {
  std::vector<std::string> s = splitPath(path);
  if (s.empty() || s[0] != "identitypools") return std::nullopt;
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i].empty()) return std::nullopt;  // "//" never comes from an SDK
  for (const SyncRouteSpec& spec : kRoutes) {
    if (spec.method != method) continue;
    if (std::optional<SyncRoute> r = matchTemplate(s, spec.pathTemplate)) {
      r->op = spec.op;
      return r;
    }
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
