// The real tetherd on PostgreSQL (`--store postgresql://...`), one schema of the process's test
// cluster per test: a sync round, two nodes on one database (devices on different nodes converge,
// one of two writers from the same sync count wins, a hammered counter loses no increment), the
// keys shared through the database, the database down at start (non-zero exit, clear error), and
// the database lost while serving (kUnavailable, then service resumes by itself).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "http_test_client.h"
#include "pg_test_cluster.h"
#include "storage/pg_conn.h"
#include "tetherd_process.h"
#include "tether/codec.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RecordPatch put(std::string key, std::string value, int64_t syncCount = 0) {
  return RecordPatch{PatchOp::kReplace, std::move(key), std::move(value), syncCount, nowMs()};
}

Result<ListRecordsResponse> pull(WsTestClient& c, const std::string& ds, int64_t since = 0) {
  return c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, since, 0, ""});
}

class PgIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PG_TEST_OR_SKIP(cluster);
    cluster_ = cluster;
    auto schema = cluster->freshSchema(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(schema.isOk()) << schema.status();
    schema_ = *schema;
    url_ = cluster->url(schema_);
  }

  std::unique_ptr<TetherdProcess> node(bool createPool) {
    TetherdOptions o;
    o.store = url_;
    o.createPool = createPool;
    // Nodes on a shared store must be told the deployment's issuer (docs/scale-out.md).
    o.extraArgs = {"--issuer", "http://tether-pg.test"};
    auto p = TetherdProcess::start(o);
    EXPECT_NE(p, nullptr);
    return p;
  }

  std::unique_ptr<WsTestClient> device(TetherdProcess& server, const std::string& identity) {
    auto c = WsTestClient::connect(server.url());
    EXPECT_NE(c, nullptr);
    if (c) {
      EXPECT_TRUE(c->loginAs(identity).isOk());
    }
    return c;
  }

  PgTestCluster* cluster_ = nullptr;
  std::string schema_;
  std::string url_;
};

TEST_F(PgIntegrationTest, TwoNodesOnOneDatabaseConvergeAndOneOfTwoWritersWins) {
  auto node1 = node(/*createPool=*/true);
  ASSERT_NE(node1, nullptr);
  auto node2 = node(/*createPool=*/false);  // the pool is in the shared database already
  ASSERT_NE(node2, nullptr);

  auto a = WsTestClient::connect(node1->url());
  ASSERT_NE(a, nullptr);
  Result<std::string> identity = a->loginAsNewGuest(node1->poolId());
  ASSERT_TRUE(identity.isOk()) << identity.status();
  auto first = pull(*a, "prefs");
  ASSERT_TRUE(first.isOk()) << first.status();
  auto up = a->callAs<UpdateRecordsResponse>(
      UpdateRecordsRequest{"prefs", first->syncSessionToken, "dev-a", {put("theme", "dark")}});
  ASSERT_TRUE(up.isOk()) << up.status();
  EXPECT_EQ(up->syncCount, 1);

  // Device B of the same identity, on the other node, sees it.
  auto b = device(*node2, *identity);
  ASSERT_NE(b, nullptr);
  auto got = pull(*b, "prefs");
  ASSERT_TRUE(got.isOk()) << got.status();
  ASSERT_EQ(got->records.size(), 1u);
  EXPECT_EQ(*got->records[0].value, "dark");
  EXPECT_EQ(got->datasetSyncCount, 1);

  // Both write the same key from sync count 1, each through its own node: exactly one wins.
  auto pa = pull(*a, "prefs");
  auto pb = pull(*b, "prefs");
  ASSERT_TRUE(pa.isOk() && pb.isOk());
  std::atomic<int> wins{0}, conflicts{0};
  std::thread ta([&] {
    auto r = a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"prefs", pa->syncSessionToken, "dev-a", {put("theme", "blue", 1)}});
    if (r.isOk()) ++wins;
    else if (r.status().code() == StatusCode::kConflict) ++conflicts;
  });
  std::thread tb([&] {
    auto r = b->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"prefs", pb->syncSessionToken, "dev-b", {put("theme", "light", 1)}});
    if (r.isOk()) ++wins;
    else if (r.status().code() == StatusCode::kConflict) ++conflicts;
  });
  ta.join();
  tb.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), 1);
  auto fa = pull(*a, "prefs");
  auto fb = pull(*b, "prefs");
  ASSERT_TRUE(fa.isOk() && fb.isOk());
  EXPECT_EQ(fa->datasetSyncCount, 2);
  EXPECT_EQ(fb->datasetSyncCount, 2);
  EXPECT_EQ(*fa->records[0].value, *fb->records[0].value);  // converged on the winner
}

TEST_F(PgIntegrationTest, CounterHammeredThroughTwoNodesLosesNoIncrement) {
  auto node1 = node(true);
  ASSERT_NE(node1, nullptr);
  auto node2 = node(false);
  ASSERT_NE(node2, nullptr);
  auto first = WsTestClient::connect(node1->url());
  ASSERT_NE(first, nullptr);
  Result<std::string> identity = first->loginAsNewGuest(node1->poolId());
  ASSERT_TRUE(identity.isOk());
  constexpr int kDevicesPerNode = 3, kRounds = 10;
  std::atomic<int> accepted{0}, failures{0};
  std::vector<std::thread> threads;
  for (int d = 0; d < 2 * kDevicesPerNode; ++d) {
    threads.emplace_back([&, d] {
      TetherdProcess& server = d % 2 == 0 ? *node1 : *node2;
      auto c = WsTestClient::connect(server.url());
      if (!c || !c->loginAs(*identity).isOk()) {
        ++failures;
        return;
      }
      for (int r = 0; r < kRounds; ++r) {
        for (int attempt = 0; attempt < 500; ++attempt) {
          auto cur = pull(*c, "counter");
          if (!cur.isOk()) {
            ++failures;
            return;
          }
          int64_t value = 0, count = 0;
          for (auto& rec : cur->records)
            if (rec.key == "n") {
              value = std::stoll(*rec.value);
              count = rec.syncCount;
            }
          auto up = c->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
              "counter", cur->syncSessionToken, "dev" + std::to_string(d), {put("n", std::to_string(value + 1), count)}});
          if (up.isOk()) {
            ++accepted;
            break;
          }
          if (up.status().code() != StatusCode::kConflict) {
            ADD_FAILURE() << up.status();
            ++failures;
            return;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const int total = 2 * kDevicesPerNode * kRounds;
  EXPECT_EQ(accepted.load(), total);
  auto final = pull(*first, "counter");
  ASSERT_TRUE(final.isOk());
  ASSERT_EQ(final->records.size(), 1u);
  EXPECT_EQ(*final->records[0].value, std::to_string(total));
  EXPECT_EQ(final->datasetSyncCount, total);  // one count per accepted batch, no gap
}

TEST_F(PgIntegrationTest, KeysLiveInTheDatabaseAndEveryNodeUsesTheSameOnes) {
  auto node1 = node(true);
  ASSERT_NE(node1, nullptr);
  auto node2 = node(false);
  ASSERT_NE(node2, nullptr);
  auto keys = cluster_->adminQuery("SELECT string_agg(key, ',' ORDER BY key) FROM " + schema_ + ".meta");
  ASSERT_TRUE(keys.isOk()) << keys.status();
  // The user pools' sealing keys too (no [user_pools] key_dir here: the at-rest key with them).
  EXPECT_EQ(*keys,
            "secret/credentials-key,secret/idp-at-rest.key,secret/idp-token.key,secret/session-key,"
            "secret/signing-key.pem");
  HttpReply j1 = httpRequest(node1->port(), "GET", "/.well-known/jwks.json");
  HttpReply j2 = httpRequest(node2->port(), "GET", "/.well-known/jwks.json");
  ASSERT_EQ(j1.status, 200);
  ASSERT_EQ(j2.status, 200);
  EXPECT_EQ(j1.body["keys"], j2.body["keys"]);
  // No keys/ directory was written next to the node's log.
  EXPECT_FALSE(std::filesystem::exists(node1->dataDir() / "keys"));
}

TEST_F(PgIntegrationTest, DatabaseDownAtStartIsAClearErrorAndNonZeroExit) {
  std::string out, err;
  int rc = TetherdProcess::runTool(
      {"serve", "--listen", "127.0.0.1:0", "--store", "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=5"},
      &out, &err);
  EXPECT_EQ(rc, 1) << out << err;
  EXPECT_NE(err.find("cannot connect to PostgreSQL"), std::string::npos) << err;
  EXPECT_EQ(out.find("ready"), std::string::npos);
  rc = TetherdProcess::runTool({"serve", "--store", "mysql://x"}, &out, &err);
  EXPECT_NE(rc, 0);
  rc = TetherdProcess::runTool({"serve", "--store", url_, "--data-dir", "/tmp/x"}, &out, &err);
  EXPECT_EQ(rc, 2) << "both --store and --data-dir";
}

TEST_F(PgIntegrationTest, DatabaseLostWhileServingIsUnavailableThenServiceResumes) {
  if (cluster_->external()) GTEST_SKIP() << "cannot stop an external server";
  auto server = node(true);
  ASSERT_NE(server, nullptr);
  auto a = WsTestClient::connect(server->url());
  ASSERT_NE(a, nullptr);
  Result<std::string> identity = a->loginAsNewGuest(server->poolId());
  ASSERT_TRUE(identity.isOk());
  auto p = pull(*a, "d");
  ASSERT_TRUE(p.isOk());
  ASSERT_TRUE(a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"d", p->syncSessionToken, "dev", {put("k", "1")}}).isOk());

  ASSERT_TRUE(cluster_->stop().isOk());
  auto down = pull(*a, "d");
  ASSERT_FALSE(down.isOk());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status();
  EXPECT_TRUE(down.status().isRetryable());
  HttpReply health = httpRequest(server->port(), "GET", "/healthz");
  EXPECT_NE(health.status, 0) << "tetherd is still up";
  // The Cognito API answers a transient error the AWS SDKs retry by themselves.
  HttpReply getId = httpRequest(server->port(), "POST", "/",
                                {{"Content-Type", "application/x-amz-json-1.1"},
                                 {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                                R"({"IdentityPoolId":")" + server->poolId() + R"("})");
  EXPECT_EQ(getId.status, 503) << getId.raw;
  EXPECT_EQ(getId.body.value("__type", ""), "ServiceUnavailable") << getId.raw;

  ASSERT_TRUE(cluster_->start().isOk());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Result<ListRecordsResponse> again = pull(*a, "d");
  while (!again.isOk() && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(again.status().code(), StatusCode::kUnavailable) << again.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    again = pull(*a, "d");
  }
  ASSERT_TRUE(again.isOk()) << again.status();
  ASSERT_EQ(again->records.size(), 1u);
  EXPECT_EQ(*again->records[0].value, "1");
  auto up = a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"d", again->syncSessionToken, "dev", {put("k", "2", 1)}});
  ASSERT_TRUE(up.isOk()) << up.status();
  EXPECT_EQ(up->syncCount, 2);
}

}  // namespace
}  // namespace tether::testing
