// Cognito Sync route table (spec 3.2 paths, decoded as libwebsockets delivers them).
#include "cognito/sync_routes.h"

#include <gtest/gtest.h>

#include <set>

namespace tether::server::cognito {
namespace {

const std::string kP = "us-east-1:11111111-2222-3333-4444-555555555555";
const std::string kI = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

std::optional<SyncOp> opOf(const char* method, const std::string& path) {
  auto r = matchSyncRoute(method, path);
  if (!r) return std::nullopt;
  return r->op;
}

TEST(SyncRoutesTest, AllSeventeenOperations) {
  std::string id = "/identitypools/" + kP + "/identities/" + kI;
  EXPECT_EQ(opOf("GET", "/identitypools"), SyncOp::kListIdentityPoolUsage);
  EXPECT_EQ(opOf("GET", "/identitypools/" + kP), SyncOp::kDescribeIdentityPoolUsage);
  EXPECT_EQ(opOf("GET", id), SyncOp::kDescribeIdentityUsage);
  EXPECT_EQ(opOf("GET", id + "/datasets"), SyncOp::kListDatasets);
  EXPECT_EQ(opOf("GET", id + "/datasets/d"), SyncOp::kDescribeDataset);
  EXPECT_EQ(opOf("POST", id + "/datasets/d"), SyncOp::kUpdateRecords);
  EXPECT_EQ(opOf("DELETE", id + "/datasets/d"), SyncOp::kDeleteDataset);
  EXPECT_EQ(opOf("GET", id + "/datasets/d/records"), SyncOp::kListRecords);
  EXPECT_EQ(opOf("POST", "/identitypools/" + kP + "/identity/" + kI + "/device"), SyncOp::kRegisterDevice);
  EXPECT_EQ(opOf("POST", id + "/datasets/d/subscriptions/dev-1"), SyncOp::kSubscribeToDataset);
  EXPECT_EQ(opOf("DELETE", id + "/datasets/d/subscriptions/dev-1"), SyncOp::kUnsubscribeFromDataset);
  EXPECT_EQ(opOf("POST", "/identitypools/" + kP + "/bulkpublish"), SyncOp::kBulkPublish);
  EXPECT_EQ(opOf("POST", "/identitypools/" + kP + "/getBulkPublishDetails"), SyncOp::kGetBulkPublishDetails);
  EXPECT_EQ(opOf("GET", "/identitypools/" + kP + "/events"), SyncOp::kGetCognitoEvents);
  EXPECT_EQ(opOf("POST", "/identitypools/" + kP + "/events"), SyncOp::kSetCognitoEvents);
  EXPECT_EQ(opOf("GET", "/identitypools/" + kP + "/configuration"), SyncOp::kGetIdentityPoolConfiguration);
  EXPECT_EQ(opOf("POST", "/identitypools/" + kP + "/configuration"), SyncOp::kSetIdentityPoolConfiguration);
}

TEST(SyncRoutesTest, ParametersAndCanonicalUri) {
  auto r = matchSyncRoute("GET", "/identitypools/" + kP + "/identities/" + kI + "/datasets/my.Dataset_1/records");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->poolId, kP);
  EXPECT_EQ(r->identityId, kI);
  EXPECT_EQ(r->datasetName, "my.Dataset_1");
  EXPECT_EQ(r->canonicalUri,
            "/identitypools/us-east-1%253A11111111-2222-3333-4444-555555555555/identities/"
            "us-east-1%253Aaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/datasets/my.Dataset_1/records");
}

TEST(SyncRoutesTest, DeviceIdAbsorbsSlashes) {
  auto r = matchSyncRoute("POST", "/identitypools/" + kP + "/identities/" + kI + "/datasets/d/subscriptions/dev/1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deviceId, "dev/1");
  EXPECT_TRUE(r->canonicalUri.ends_with("/subscriptions/dev%252F1"));
}

// The route table (what the security matrix enumerates) is what the matcher serves: each row's
// template, filled in, matches that row's operation, and every operation has one row.
TEST(SyncRoutesTest, RouteTableIsWhatMatches) {
  std::set<std::string> names;
  for (const SyncRouteSpec& spec : syncRouteTable()) {
    std::string path(spec.pathTemplate);
    for (auto [param, value] : {std::pair<std::string, std::string>{"{IdentityPoolId}", kP}, {"{IdentityId}", kI},
                                {"{DatasetName}", "d"}, {"{DeviceId+}", "dev/1"}})
      if (size_t at = path.find(param); at != std::string::npos) path.replace(at, param.size(), value);
    auto r = matchSyncRoute(spec.method, path);
    ASSERT_TRUE(r) << spec.method << " " << path;
    EXPECT_EQ(r->op, spec.op) << path;
    names.insert(std::string(syncOpName(spec.op)));
  }
  EXPECT_EQ(names.size(), 17u);
  EXPECT_EQ(syncRouteTable().size(), 17u);
}

TEST(SyncRoutesTest, UnknownPathsAndMethodsMatchNothing) {
  std::string id = "/identitypools/" + kP + "/identities/" + kI;
  EXPECT_FALSE(matchSyncRoute("PUT", id + "/datasets/d"));
  EXPECT_FALSE(matchSyncRoute("POST", id + "/datasets"));
  EXPECT_FALSE(matchSyncRoute("GET", id + "/datasets/a/b"));   // a '/' inside a dataset name
  EXPECT_FALSE(matchSyncRoute("GET", id + "/datasets//records"));
  EXPECT_FALSE(matchSyncRoute("GET", "/identitypools/" + kP + "/nothing"));
  EXPECT_FALSE(matchSyncRoute("GET", "/other"));
  EXPECT_FALSE(matchSyncRoute("GET", ""));
}

}  // namespace
}  // namespace tether::server::cognito
