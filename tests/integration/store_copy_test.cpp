// `tetherd store copy` end to end: a deployment populated through the real server (native and
// Cognito HTTP clients, deletions, tombstones, a push-sync device, a developer credential) is
// stopped, copied into an empty store, verified, and served again from the copy; a device that
// had synced goes on without a re-pull and without a conflict, with the same identity.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <unistd.h>

#include "pg_test_cluster.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;

Result<UpdateRecordsResponse> write(WsTestClient& c, const std::string& ds, std::vector<RecordPatch> patches) {
  auto p = c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, 0, 0, ""});
  if (!p.isOk()) return p.status();
  return c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{ds, p->syncSessionToken, "dev-a", std::move(patches)});
}

RecordPatch put(const std::string& k, const std::string& v, int64_t count) {
  return RecordPatch{PatchOp::kReplace, k, v, count, 1};
}

// The target: another SQLite directory, or (the scale-out move) a PostgreSQL database.
class StoreCopyTest : public ::testing::TestWithParam<bool> {
 protected:
  bool postgres() const { return GetParam(); }
};

TEST_P(StoreCopyTest, CopiesAPopulatedDeploymentAndDevicesContinueOnTheCopy) {
  PgTestCluster* pg = nullptr;
  std::string pgSchema;
  if (postgres()) {
    PG_TEST_OR_SKIP(cluster);
    pg = cluster;
    pgSchema = "storecopy_" + std::to_string(::getpid());
    ASSERT_TRUE(pg->adminExec("DROP SCHEMA IF EXISTS " + pgSchema + " CASCADE; CREATE SCHEMA " + pgSchema).isOk());
  }
  auto source = TetherdProcess::start();
  ASSERT_NE(source, nullptr);
  std::string pool = source->poolId();
  std::string out, err;
  ASSERT_EQ(TetherdProcess::runTool({"credentials", "create", "--data-dir", source->dataDir().string()}, &out, &err), 0)
      << err;

  auto a = WsTestClient::connect(source->url());
  ASSERT_NE(a, nullptr);
  Result<std::string> id = a->loginAsNewGuest(pool);
  ASSERT_TRUE(id.isOk()) << id.status();
  auto w1 = write(*a, "prefs", {put("theme", "dark", 0), put("lang", "en", 0), put("tmp", "x", 0)});
  ASSERT_TRUE(w1.isOk()) << w1.status();
  auto w2 = write(*a, "prefs", {RecordPatch{PatchOp::kRemove, "tmp", "", w1->syncCount, 2}});
  ASSERT_TRUE(w2.isOk()) << w2.status();
  ASSERT_TRUE(write(*a, "scratch", {put("k", "v", 0)}).isOk());
  ASSERT_TRUE(a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"scratch"}).isOk());
  // A second identity, and a push-sync device with a subscription over the Cognito HTTP API.
  auto b = WsTestClient::connect(source->url());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->loginAsNewGuest(pool).isOk());
  ASSERT_TRUE(write(*b, "notes", {put("n1", std::string(2000, 'z'), 0)}).isOk());
  SignedSyncClient cognito(source->port(), pool, *id);
  ASSERT_TRUE(cognito.fetchCredentials());
  HttpReply reg = cognito.registerDevice("GCM", "push-token-1");
  ASSERT_EQ(reg.status, 200) << reg.raw;
  std::string deviceId = reg.body.value("DeviceId", "");
  ASSERT_FALSE(deviceId.empty());
  ASSERT_EQ(cognito.subscribe("prefs", deviceId).status, 200);
  a.reset();
  b.reset();
  ASSERT_EQ(source->stop(), 0);

  std::filesystem::path target = makeTempDir("copy-target");
  std::string from = "sqlite:" + source->dataDir().string();
  std::string to = postgres() ? pg->url(pgSchema) : "sqlite:" + target.string();
  int rc = TetherdProcess::runTool({"store", "copy", "--from", from, "--to", to}, &out, &err);
  ASSERT_EQ(rc, 0) << out << err;
  EXPECT_NE(out.find("copied 1 pools, 2 identities, 0 logins, 3 datasets, 3 records, 1 tombstones"), std::string::npos)
      << out;
  EXPECT_NE(out.find("1 devices, 1 subscriptions"), std::string::npos) << out;
  EXPECT_NE(out.find("1 developer credentials"), std::string::npos) << out;
  EXPECT_NE(out.find("3 keys"), std::string::npos) << out;
  EXPECT_NE(out.find("verified: 3 datasets, 3 records and 1 tombstones on both sides"), std::string::npos) << out;

  // Never into a store that holds something.
  rc = TetherdProcess::runTool({"store", "copy", "--from", from, "--to", to}, &out, &err);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("not empty"), std::string::npos) << err;

  // Served from the copy: the same identity, the same sync counts, nothing to re-pull.
  TetherdOptions opts;
  opts.dataDir = target;
  opts.createPool = false;
  if (postgres()) {
    opts.store = to;
    // The issuer the SQLite deployment signed as (its listen address), kept: the tokens devices
    // hold stay valid (docs/scale-out.md).
    opts.extraArgs = {"--issuer", "http://127.0.0.1:" + std::to_string(source->port())};
  }
  auto copy = TetherdProcess::start(opts);
  ASSERT_NE(copy, nullptr);
  auto again = WsTestClient::connect(copy->url());
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->loginAs(*id).isOk());
  auto pulled = again->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", w2->syncCount, 0, ""});
  ASSERT_TRUE(pulled.isOk()) << pulled.status();
  EXPECT_TRUE(pulled->records.empty());  // the device is current: nothing to pull
  EXPECT_EQ(pulled->datasetSyncCount, w2->syncCount);
  // Its next edit, made against the counts it already had, is accepted (no conflict).
  auto next = again->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
      "prefs", pulled->syncSessionToken, "dev-a", {put("theme", "light", w1->syncCount)}});
  ASSERT_TRUE(next.isOk()) << next.status();
  EXPECT_EQ(next->syncCount, w2->syncCount + 1);
  // The deleted dataset stays deleted with its count; the tombstone is still there for devices
  // that have not seen the removal.
  auto full = again->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(full.isOk());
  std::map<std::string, std::optional<std::string>> seen;
  for (const Record& r : full->records) seen[r.key] = r.value;
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen["tmp"], std::nullopt);
  EXPECT_EQ(seen["lang"], std::optional<std::string>("en"));
}

INSTANTIATE_TEST_SUITE_P(Targets, StoreCopyTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "ToPostgres" : "ToSqlite"; });

}  // namespace
}  // namespace tether::testing
