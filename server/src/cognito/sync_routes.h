// The Cognito Sync REST routes (cognito-compat.md 3.2): method + decoded path -> operation and
// path parameters, plus the SigV4 canonical URI rebuilt from those parameters (the path arrives
// percent-decoded, net/http.h). The last parameter of a route absorbs any remaining segments
// (a DeviceId may contain '/'); other parameters never contain '/' when valid, so a path with
// extra segments simply matches no route.
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tether::server::cognito {

enum class SyncOp {
  kListIdentityPoolUsage, kDescribeIdentityPoolUsage, kDescribeIdentityUsage, kListDatasets,
  kDescribeDataset, kUpdateRecords, kDeleteDataset, kListRecords, kRegisterDevice,
  kSubscribeToDataset, kUnsubscribeFromDataset, kBulkPublish, kGetBulkPublishDetails,
  kGetCognitoEvents, kSetCognitoEvents, kGetIdentityPoolConfiguration, kSetIdentityPoolConfiguration,
};

struct SyncRoute {
  SyncOp op;
  std::string poolId;
  std::string identityId;   // empty for pool-level operations
  std::string datasetName;
  std::string deviceId;
  std::string canonicalUri; // for SigV4
};

// One row of the route table: an operation, its HTTP method and its path template as the
// Cognito Sync API reference writes it: literal segments, and parameters in braces
// ({IdentityPoolId}, {IdentityId}, {DatasetName}, {DeviceId}); a parameter ending in '+' is
// greedy (only last: it absorbs the remaining segments). matchSyncRoute is driven by this table,
// so the list is every operation the router serves (the security matrix test enumerates it).
struct SyncRouteSpec {
  SyncOp op;
  std::string_view method;
  std::string_view pathTemplate;
};
std::span<const SyncRouteSpec> syncRouteTable();

// nullopt: no Cognito Sync operation has this method and path.
std::optional<SyncRoute> matchSyncRoute(std::string_view method, std::string_view path);

std::string_view syncOpName(SyncOp op);

}  // namespace tether::server::cognito
