// Scale-out on PostgreSQL: three real tetherd nodes on one PostgreSQL database (the process's
// test cluster, a fresh schema per suite), reached directly and through HAProxy running the
// deployment's config (docs/scale-out/haproxy.cfg).
//
// What must hold across nodes as on one: convergence, live notifications, the conflict rule
// (one winner), no lost increment under a hammer from every node, the 20-dataset / 1,024-record
// limits under concurrent writers, tokens and SigV4 credentials valid on every node, and the
// catch-up delivering notices a node missed while its listener connection was gone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include "haproxy_process.h"
#include "http_test_client.h"
#include "pg_test_cluster.h"
#include "signed_sync_client.h"
#include "storage/pg_store.h"
#include "tetherd_cluster.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;
using Clock = std::chrono::steady_clock;

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

RecordPatch put(const std::string& k, const std::string& v, int64_t count) {
  return RecordPatch{PatchOp::kReplace, k, v, count, 1};
}

// Pull, then push `patches` built from what the pull saw (key -> its sync count).
Result<UpdateRecordsResponse> readModifyWrite(
    WsTestClient& c, const std::string& ds,
    const std::function<std::vector<RecordPatch>(const std::map<std::string, Record>&)>& make) {
  auto p = c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, 0, 0, ""});
  if (!p.isOk()) return p.status();
  std::map<std::string, Record> seen;
  for (const Record& r : p->records) seen[r.key] = r;
  return c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{ds, p->syncSessionToken, "dev", make(seen)});
}

int64_t lastPushed(const WsTestClient& c, const std::string& ds) {
  int64_t n = -1;
  for (const auto& p : c.pushes())
    if (p.datasetName == ds) n = std::max(n, p.syncCount);
  return n;
}

class MultiNodeTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;

  static void SetUpTestSuite() {
    auto cluster = PgTestCluster::shared();
    if (!cluster.isOk()) {
      setupError_ = "PostgreSQL test cluster: " + cluster.status().toString();
      return;
    }
    pg_ = *cluster;
    // A long periodic catch-up, so that the listener test below sees the catch-up that the
    // reconnect triggers, not the periodic one.
    TetherdClusterOptions o;
    o.name = "multinode";
    o.configToml = "[server]\ncatch_up_interval_ms = 600000\n";
    auto started = TetherdCluster::start(*pg_, o);
    if (!started.isOk()) {
      setupError_ = started.status().toString();
      return;
    }
    deployment_ = started->release();
    for (int i = 0; i < kNodes; ++i) nodes_[i] = &deployment_->node(i);
    lb_ = &deployment_->balancer();
    pool_ = deployment_->poolId();
    schema_ = deployment_->schema();
  }
  static void TearDownTestSuite() {
    delete deployment_;
    deployment_ = nullptr;
  }
  void SetUp() override {
    if (!setupError_.empty()) {
      const char* ci = std::getenv("CI");
      if (pg_ == nullptr && !(ci != nullptr && std::string(ci) == "true")) GTEST_SKIP() << setupError_;
      FAIL() << setupError_;
    }
  }

  static std::unique_ptr<WsTestClient> connect(int node) {
    return WsTestClient::connect(node < 0 ? lb_->url() : nodes_[node]->url());
  }
  static std::string newGuest() {
    auto c = connect(0);
    auto id = c->callAs<GetIdResponse>(GetIdRequest{pool_, {}});
    EXPECT_TRUE(id.isOk()) << id.status();
    return id.isOk() ? id->identityId : "";
  }
  static std::unique_ptr<WsTestClient> device(int node, const std::string& identity) {
    auto c = connect(node);
    EXPECT_NE(c, nullptr);
    if (c) {
      auto r = c->loginAs(identity);
      EXPECT_TRUE(r.isOk()) << r.status();
    }
    return c;
  }

  static inline PgTestCluster* pg_ = nullptr;
  static inline TetherdCluster* deployment_ = nullptr;
  static inline std::string schema_, pool_, setupError_;
  static inline TetherdProcess* nodes_[kNodes] = {};
  static inline HaproxyProcess* lb_ = nullptr;
};

TEST_F(MultiNodeTest, DevicesOnDifferentNodesConvergeAndAreNotified) {
  std::string id = newGuest();
  auto a = device(0, id);
  auto b = device(1, id);
  auto viaLb = device(-1, id);
  ASSERT_TRUE(b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  ASSERT_TRUE(viaLb->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  auto w = readModifyWrite(*a, "prefs", [](auto&) { return std::vector<RecordPatch>{put("theme", "dark", 0)}; });
  ASSERT_TRUE(w.isOk()) << w.status();
  // Node 2's subscriber hears of node 1's write live (LISTEN/NOTIFY), as does one behind the LB.
  EXPECT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == w->syncCount; }, 5000));
  EXPECT_TRUE(waitUntil([&] { return lastPushed(*viaLb, "prefs") == w->syncCount; }, 5000));
  EXPECT_TRUE(a->pushes().empty());  // the writer is never told of its own write
  auto pulled = b->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(pulled.isOk());
  ASSERT_EQ(pulled->records.size(), 1u);
  EXPECT_EQ(pulled->records[0].value, std::optional<std::string>("dark"));
  EXPECT_EQ(pulled->datasetSyncCount, w->syncCount);
}

TEST_F(MultiNodeTest, SameKeyFromTheSameSyncCountOnTwoNodesExactlyOneWins) {
  std::string id = newGuest();
  auto a = device(0, id);
  auto b = device(2, id);
  auto base = readModifyWrite(*a, "doc", [](auto&) { return std::vector<RecordPatch>{put("title", "v0", 0)}; });
  ASSERT_TRUE(base.isOk());
  for (int round = 0; round < 10; ++round) {
    // Both pulled the same state; both push the same key from the same record sync count.
    auto pa = a->callAs<ListRecordsResponse>(ListRecordsRequest{"doc", 0, 0, ""});
    auto pb = b->callAs<ListRecordsResponse>(ListRecordsRequest{"doc", 0, 0, ""});
    ASSERT_TRUE(pa.isOk() && pb.isOk());
    int64_t count = pa->records.at(0).syncCount;
    ASSERT_EQ(count, pb->records.at(0).syncCount);
    uint64_t ida = a->sendRequest(UpdateRecordsRequest{"doc", pa->syncSessionToken, "a", {put("title", "a", count)}});
    uint64_t idb = b->sendRequest(UpdateRecordsRequest{"doc", pb->syncSessionToken, "b", {put("title", "b", count)}});
    auto ra = a->waitResponse(ida);
    auto rb = b->waitResponse(idb);
    ASSERT_TRUE(ra && rb);
    bool okA = std::holds_alternative<UpdateRecordsResponse>(ra->body);
    bool okB = std::holds_alternative<UpdateRecordsResponse>(rb->body);
    EXPECT_NE(okA, okB) << "round " << round << ": exactly one must win";
    const Response& loser = okA ? *rb : *ra;
    ASSERT_TRUE(std::holds_alternative<Status>(loser.body));
    EXPECT_EQ(std::get<Status>(loser.body).code(), StatusCode::kConflict);
  }
}

TEST_F(MultiNodeTest, AHammeredIdentityLosesNoIncrementAndCountsHaveNoGaps) {
  std::string id = newGuest();
  constexpr int kPerNode = 2, kIncrements = 15;
  std::mutex mu;
  std::set<int64_t> accepted;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int node = 0; node < kNodes; ++node) {
    for (int t = 0; t < kPerNode; ++t) {
      threads.emplace_back([&, node] {
        auto c = device(node, id);
        if (!c) {
          failures++;
          return;
        }
        for (int done = 0; done < kIncrements;) {
          auto r = readModifyWrite(*c, "counter", [](const std::map<std::string, Record>& seen) {
            auto it = seen.find("n");
            int64_t v = it == seen.end() ? 0 : std::stoll(*it->second.value);
            return std::vector<RecordPatch>{put("n", std::to_string(v + 1), it == seen.end() ? 0 : it->second.syncCount)};
          });
          if (r.isOk()) {
            std::lock_guard<std::mutex> lock(mu);
            accepted.insert(r->syncCount);
            ++done;
          } else if (r.status().code() != StatusCode::kConflict) {
            failures++;
            return;
          }
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  const int total = kNodes * kPerNode * kIncrements;
  auto c = device(0, id);
  auto pulled = c->callAs<ListRecordsResponse>(ListRecordsRequest{"counter", 0, 0, ""});
  ASSERT_TRUE(pulled.isOk());
  ASSERT_EQ(pulled->records.size(), 1u);
  EXPECT_EQ(*pulled->records[0].value, std::to_string(total));  // no lost update
  // Every accepted batch got its own count, 1..total, none skipped.
  ASSERT_EQ(accepted.size(), static_cast<size_t>(total));
  EXPECT_EQ(*accepted.begin(), 1);
  EXPECT_EQ(*accepted.rbegin(), total);
  EXPECT_EQ(pulled->datasetSyncCount, total);
}

TEST_F(MultiNodeTest, LimitsHoldUnderConcurrentWritersOnEveryNode) {
  std::string id = newGuest();
  // 3 nodes x 10 new datasets each, at once: at most 20 exist, the rest refused.
  std::atomic<int> created{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int node = 0; node < kNodes; ++node) {
    threads.emplace_back([&, node] {
      auto c = device(node, id);
      for (int i = 0; i < 10; ++i) {
        auto r = readModifyWrite(*c, "ds" + std::to_string(node) + "_" + std::to_string(i),
                                 [](auto&) { return std::vector<RecordPatch>{put("k", "v", 0)}; });
        if (r.isOk()) created++;
        else if (r.status().code() == StatusCode::kLimitExceeded) refused++;
        else other++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(created.load(), 20);
  EXPECT_EQ(refused.load(), 10);
  auto c = device(1, id);
  auto listed = c->callAs<ListDatasetsResponse>(ListDatasetsRequest{64, ""});
  ASSERT_TRUE(listed.isOk());
  EXPECT_EQ(listed->datasets.size(), 20u);

  // 1,024 records: three nodes each add 400 new keys to one dataset (in batches of 100).
  std::string id2 = newGuest();
  std::atomic<int> batchesOk{0};
  threads.clear();
  for (int node = 0; node < kNodes; ++node) {
    threads.emplace_back([&, node] {
      auto d = device(node, id2);
      for (int b = 0; b < 4;) {
        auto r = readModifyWrite(*d, "big", [&](auto&) {
          std::vector<RecordPatch> ps;
          for (int k = 0; k < 100; ++k)
            ps.push_back(put("n" + std::to_string(node) + "b" + std::to_string(b) + "k" + std::to_string(k), "v", 0));
          return ps;
        });
        if (r.isOk()) batchesOk++;
        if (r.isOk() || r.status().code() == StatusCode::kLimitExceeded) ++b;
        else if (r.status().code() != StatusCode::kConflict) other++, ++b;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(batchesOk.load(), 10);  // 10 x 100 fit under 1,024; the 11th and 12th do not
  auto d = device(0, id2);
  auto big = d->callAs<DescribeDatasetResponse>(DescribeDatasetRequest{"big"});
  ASSERT_TRUE(big.isOk());
  EXPECT_EQ(big->dataset.numRecords, 1000);

  // 1 MB: three nodes each add one 400,000-byte record to one dataset at once; two fit, the
  // third would pass 1,048,576 bytes and is refused whichever node it came through.
  std::string id3 = newGuest();
  std::atomic<int> bigOk{0}, bigRefused{0};
  threads.clear();
  for (int node = 0; node < kNodes; ++node) {
    threads.emplace_back([&, node] {
      auto e = device(node, id3);
      while (true) {
        auto r = readModifyWrite(*e, "blob", [&](auto&) {
          return std::vector<RecordPatch>{put("part" + std::to_string(node), std::string(400000, 'x'), 0)};
        });
        if (r.isOk()) bigOk++;
        else if (r.status().code() == StatusCode::kLimitExceeded) bigRefused++;
        else if (r.status().code() == StatusCode::kConflict) continue;
        else other++;
        break;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(bigOk.load(), 2);
  EXPECT_EQ(bigRefused.load(), 1);
  auto blob = device(2, id3)->callAs<DescribeDatasetResponse>(DescribeDatasetRequest{"blob"});
  ASSERT_TRUE(blob.isOk());
  EXPECT_LE(blob->dataset.dataStorage, 1048576);
  EXPECT_EQ(blob->dataset.numRecords, 2);
}

TEST_F(MultiNodeTest, TokensAndSigV4CredentialsFromOneNodeWorkOnAnother) {
  std::string id = newGuest();
  auto one = connect(0);
  auto tok = one->callAs<GetTokenResponse>(GetTokenRequest{id, {}});
  ASSERT_TRUE(tok.isOk()) << tok.status();
  auto two = connect(1);
  auto auth = two->callAs<AuthenticateResponse>(AuthenticateRequest{tok->token});
  ASSERT_TRUE(auth.isOk()) << auth.status();
  EXPECT_EQ(auth->identityId, id);
  // The JWKS of every node lists the key that signed it.
  std::string j1 = httpGet(nodes_[0]->port(), "/.well-known/jwks.json");
  std::string j3 = httpGet(nodes_[2]->port(), "/.well-known/jwks.json");
  EXPECT_EQ(j1.substr(j1.find("\r\n\r\n")), j3.substr(j3.find("\r\n\r\n")));
  // Temporary AWS credentials minted by node 1 sign requests node 3 accepts.
  SignedSyncClient minted(nodes_[0]->port(), pool_, id);
  ASSERT_TRUE(minted.fetchCredentials());
  SignedSyncClient elsewhere = minted;
  elsewhere.retarget(nodes_[2]->port());
  HttpReply reg = elsewhere.registerDevice("GCM", "cross-node-token");
  EXPECT_EQ(reg.status, 200) << reg.raw;
}

TEST_F(MultiNodeTest, DeviceSubscriptionsMadeThroughOneNodeApplyOnEveryNode) {
  std::string id = newGuest();
  SignedSyncClient cognito(nodes_[0]->port(), pool_, id);
  ASSERT_TRUE(cognito.fetchCredentials());
  HttpReply reg = cognito.registerDevice("GCM", "sub-token");
  ASSERT_EQ(reg.status, 200) << reg.raw;
  std::string deviceId = reg.body.value("DeviceId", "");
  // The device's native connection is on node 2 and presents its DeviceId (no datasets yet).
  auto phone = device(1, id);
  ASSERT_TRUE(phone->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId}).isOk());
  // SubscribeToDataset through node 1 reaches node 2's hub over the bus.
  ASSERT_EQ(cognito.subscribe("news", deviceId).status, 200);
  auto writer = device(2, id);
  bool heard = waitUntil([&] {
    auto w = readModifyWrite(*writer, "news", [](auto& seen) {
      auto it = seen.find("h");
      return std::vector<RecordPatch>{put("h", "x", it == seen.end() ? 0 : it->second.syncCount)};
    });
    return w.isOk() && waitUntil([&] { return lastPushed(*phone, "news") == w->syncCount; }, 300);
  }, 5000);
  EXPECT_TRUE(heard);
}

TEST_F(MultiNodeTest, NoticesMissedWhileAListenerWasGoneAreDeliveredByTheCatchUp) {
  std::string id = newGuest();
  auto b = device(1, id);
  auto sub = b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""});
  ASSERT_TRUE(sub.isOk());
  // A change that sends no notice at all (as from a node killed between its commit and its
  // NOTIFY): written straight into the database.
  auto store = server::openPgStore(pg_->conninfo(schema_), server::PgStoreOptions{});
  ASSERT_TRUE(store.isOk()) << store.status();
  server::OwnerRef owner{pool_, id};
  int64_t written = 0;
  {
    auto txn = (*store)->begin();
    ASSERT_TRUE(txn.isOk());
    auto row = (*txn)->getDataset(owner, "prefs");
    ASSERT_TRUE(row.isOk());
    server::DatasetRow next = row->value_or(server::DatasetRow{"prefs"});
    next.syncCount += 1;
    next.live = true;
    next.numRecords = 1;
    next.dataStorage = 6;
    written = next.syncCount;
    ASSERT_TRUE((*txn)->putDataset(owner, next).isOk());
    std::vector<Record> recs{Record{"k", std::string("v"), written, 1, "direct", 1}};
    ASSERT_TRUE((*txn)->putRecords(owner, "prefs", recs).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  // Nothing announces it (the periodic catch-up is 10 minutes away).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(lastPushed(*b, "prefs"), -1);
  // Node 2's listening session is terminated; it reconnects, LISTENs again and catches up.
  auto killed = pg_->adminQuery(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE "
      "'tetherd-changes:node2.%'");
  ASSERT_TRUE(killed.isOk()) << killed.status();
  EXPECT_EQ(*killed, "1");
  EXPECT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == written; }, 10000));
  std::string metrics = httpGet(nodes_[1]->port(), "/metrics");
  EXPECT_NE(metrics.find("tether_cluster_bus_reconnects_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tether_cluster_bus_connected 1"), std::string::npos);
}

}  // namespace
}  // namespace tether::testing
