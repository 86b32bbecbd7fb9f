// Erasure through the real server (issue 16, point 4), SQLite and PostgreSQL: an identity is
// populated through real requests — native record writes and a removal (tombstone), a
// developer login linked with GetOpenIdTokenForDeveloperIdentity, a push device with a
// subscription over the Cognito Sync HTTP API — and erased with the Cognito DeleteIdentities
// operation (developer-signed). Then the raw database is read, every table and column
// (raw_db_scan.h): no value mentions the identity's ID, its record values, its login or its
// push token, while a second identity's rows are all still there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pg_test_cluster.h"
#include "raw_db_scan.h"
#include "security_matrix_support.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;
using Json = nlohmann::json;

class ForgetIntegrationTest : public ::testing::TestWithParam<bool> {
 protected:
  bool postgres() const { return GetParam(); }
};

TEST_P(ForgetIntegrationTest, DeleteIdentitiesLeavesNoTraceInTheRawDatabase) {
  PgTestCluster* pg = nullptr;
  std::string schema;
  TetherdOptions opts;
  if (postgres()) {
    PG_TEST_OR_SKIP(cluster);
    pg = cluster;
    schema = "forget_" + std::to_string(::getpid());
    ASSERT_TRUE(pg->adminExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).isOk());
    opts.store = pg->url(schema);
    opts.extraArgs = {"--issuer", "http://tether-forget.test"};
  }
  auto server = TetherdProcess::start(opts);
  ASSERT_NE(server, nullptr);
  const std::string pool = server->poolId();
  std::vector<std::string> storeArgs = postgres() ? std::vector<std::string>{"--store", opts.store}
                                                  : std::vector<std::string>{"--data-dir", server->dataDir().string()};
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.end(), storeArgs.begin(), storeArgs.end());
    std::string out, err;
    EXPECT_EQ(TetherdProcess::runTool(args, &out, &err), 0) << err;
    return out;
  };
  admin({"pool", "set-developer-provider", "--pool", pool, "--name", "login.example.app"});
  std::string created = admin({"credentials", "create"});
  auto field = [&created](const std::string& name) {
    size_t a = created.find(name + ": ");
    if (a == std::string::npos) return std::string();
    a += name.size() + 2;
    return created.substr(a, created.find('\n', a) - a);
  };
  matrix::SigV4Key dev{field("AccessKeyId"), field("SecretAccessKey"), ""};
  ASSERT_FALSE(dev.accessKeyId.empty()) << created;

  // Two identities with the same kinds of data; the first is erased.
  std::vector<std::string> ids;
  for (const std::string name : {"alice", "bob"}) {
    auto c = WsTestClient::connect(server->url());
    ASSERT_NE(c, nullptr);
    Result<std::string> id = c->loginAsNewGuest(pool);
    ASSERT_TRUE(id.isOk()) << id.status();
    ids.push_back(*id);
    auto w = c->write("prefs", {RecordPatch{PatchOp::kReplace, "secret", name + "-private-value", 0, 1},
                                 RecordPatch{PatchOp::kReplace, "tmp", name + "-tmp", 0, 1}});
    ASSERT_TRUE(w.isOk()) << w.status();
    ASSERT_TRUE(c->write("prefs", {RecordPatch{PatchOp::kRemove, "tmp", "", w->syncCount, 2}}).isOk());
    SignedSyncClient cognito(server->port(), pool, *id);
    ASSERT_TRUE(cognito.fetchCredentials());
    HttpReply reg = cognito.registerDevice("GCM", name + "-push-token");
    ASSERT_EQ(reg.status, 200) << reg.raw;
    ASSERT_EQ(cognito.subscribe("prefs", reg.body.value("DeviceId", "")).status, 200);
    HttpReply link = matrix::sendCognito(
        server->port(),
        matrix::HttpCall{"POST", {}, "GetOpenIdTokenForDeveloperIdentity",
                         Json{{"IdentityPoolId", pool}, {"IdentityId", *id},
                              {"Logins", {{"login.example.app", name + "-developer-user"}}}}.dump(), {}},
        &dev);
    ASSERT_EQ(link.status, 200) << link.raw;
  }
  HttpReply del = matrix::sendCognito(
      server->port(),
      matrix::HttpCall{"POST", {}, "DeleteIdentities", Json{{"IdentityIdsToDelete", {ids[0]}}}.dump(), {}}, &dev);
  ASSERT_EQ(del.status, 200) << del.raw;
  EXPECT_TRUE(del.body["UnprocessedIdentityIds"].empty()) << del.raw;
  ASSERT_EQ(server->stop(), 0);

  std::vector<std::string> raw = postgres() ? rawPgValues(pg->conninfo(schema), schema)
                                            : rawSqliteValues(server->dataDir() / "tether.db");
  auto mentions = [&raw](const std::string& needle) {
    std::vector<std::string> hits;
    for (const std::string& v : raw)
      if (v.find(needle) != std::string::npos) hits.push_back(v);
    return hits;
  };
  for (const std::string& trace : {ids[0], std::string("alice-private-value"), std::string("alice-tmp"),
                                   std::string("alice-developer-user"), std::string("alice-push-token")}) {
    std::vector<std::string> hits = mentions(trace);
    EXPECT_TRUE(hits.empty()) << trace << " is still in the database, e.g. " << hits.front();
  }
  for (const std::string table : {"identities", "logins", "devices", "dataset_subscriptions", "datasets", "records"}) {
    bool found = false;
    for (const std::string& v : mentions(ids[1])) found = found || v.rfind(table + ": ", 0) == 0;
    EXPECT_TRUE(found) << "no row of " << table << " mentions the other identity";
  }
  EXPECT_FALSE(mentions("bob-developer-user").empty());
  EXPECT_FALSE(mentions("bob-push-token").empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, ForgetIntegrationTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "postgresql" : "sqlite"; });

}  // namespace
}  // namespace tether::testing
