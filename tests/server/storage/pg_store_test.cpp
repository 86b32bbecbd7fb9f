// PostgreSQL-only storage tests (the contract on both backends is in storage_test.cpp and
// store_contract_test.cpp): several Store objects on one database stand for several tetherd
// nodes. Two writers of one dataset never both pass the sync-count check; the 20-dataset limit
// holds under concurrent creation; nodes migrating an empty database at once create the schema
// once; migrations are versioned; the database lost mid-service gives kUnavailable and service
// resumes when it returns; a terminated backend is replaced; the database down at open fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_cluster.h"
#include "storage/pg_conn.h"
#include "storage/pg_schema.h"
#include "storage/pg_store.h"
#include "storage/store.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

const std::string kPool = "local:00000000-0000-0000-0000-0000000000aa";
const std::string kAlice = "local:00000000-0000-0000-0000-00000000a11c";
const OwnerRef kOwner{kPool, kAlice};

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PG_TEST_OR_SKIP(cluster);
    cluster_ = cluster;
    auto schema = cluster->freshSchema(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(schema.isOk()) << schema.status();
    conninfo_ = cluster->conninfo(*schema);
  }
  std::unique_ptr<Store> open(int poolSize = 8) {
    PgStoreOptions options;
    options.poolSize = poolSize;
    auto s = openPgStore(conninfo_, options);
    EXPECT_TRUE(s.isOk()) << s.status();
    return s.isOk() ? std::move(s).value() : nullptr;
  }
  Result<PgResult> query(const std::string& sql) {
    TETHER_TRY(std::unique_ptr<PgConn> conn, PgConn::connect(conninfo_));
    return conn->exec(sql);
  }

  tether::testing::PgTestCluster* cluster_ = nullptr;
  std::string conninfo_;
};

DatasetRow liveRow(const std::string& name, int64_t count) {
  DatasetRow r;
  r.name = name;
  r.syncCount = count;
  r.live = true;
  r.creationMs = 1;
  r.lastModifiedMs = 1;
  r.lastModifiedBy = "t";
  return r;
}

// A client's increment of the counter record "n" of dataset "ctr": read (outside the write, as
// a device pulls), then the conditional write the sync service makes (same order of calls: the
// identity, the dataset row, the records, the check, the write). kConflict if the record moved.
Result<int64_t> incrementOnce(Store& store) {
  int64_t seenCount = 0;
  int64_t seenValue = 0;
  {
    TETHER_TRY(auto txn, store.beginRead());
    std::vector<std::string> keys{"n"};
    TETHER_TRY(std::vector<Record> recs, txn->getRecords(kOwner, "ctr", keys));
    if (!recs.empty()) {
      seenCount = recs[0].syncCount;
      seenValue = std::stoll(*recs[0].value);
    }
  }
  return runWriteTransaction(store, [&](StoreTransaction& txn) -> Result<int64_t> {
    TETHER_TRY(bool disabled, txn.identityDisabled(kAlice));
    if (disabled) return Status::unauthenticated("disabled");
    TETHER_TRY(std::optional<DatasetRow> row, txn.getDataset(kOwner, "ctr"));
    std::vector<std::string> keys{"n"};
    TETHER_TRY(std::vector<Record> recs, txn.getRecords(kOwner, "ctr", keys));
    const int64_t current = recs.empty() ? 0 : recs[0].syncCount;
    if (current != seenCount) return Status::conflict("stale");
    DatasetRow next = row ? *row : liveRow("ctr", 0);
    next.syncCount += 1;
    next.numRecords = 1;
    std::vector<Record> write{Record{"n", std::to_string(seenValue + 1), next.syncCount, 1, "t", 1}};
    TETHER_RETURN_IF_ERROR(txn.putDataset(kOwner, next));
    TETHER_RETURN_IF_ERROR(txn.putRecords(kOwner, "ctr", write));
    TETHER_RETURN_IF_ERROR(txn.commit());
    return next.syncCount;
  });
}

TEST_F(PgStoreTest, TwoNodesHammeringOneDatasetNeverBothPassTheCheck) {
  auto node1 = open();
  auto node2 = open();
  ASSERT_NE(node1, nullptr);
  ASSERT_NE(node2, nullptr);
  constexpr int kThreadsPerNode = 4;
  constexpr int kIncrementsEach = 15;
  std::mutex mu;
  std::vector<int64_t> acceptedCounts;
  std::atomic<int> conflicts{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < 2; ++n) {
    Store* store = n == 0 ? node1.get() : node2.get();
    for (int t = 0; t < kThreadsPerNode; ++t) {
      threads.emplace_back([&, store] {
        for (int done = 0; done < kIncrementsEach;) {
          Result<int64_t> r = incrementOnce(*store);
          if (r.isOk()) {
            std::lock_guard lock(mu);
            acceptedCounts.push_back(*r);
            ++done;
          } else if (r.status().code() == StatusCode::kConflict) {
            ++conflicts;  // lost the race: pull again, as a device does
          } else {
            ++errors;
            ADD_FAILURE() << r.status();
            return;
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  const int total = 2 * kThreadsPerNode * kIncrementsEach;
  ASSERT_EQ(static_cast<int>(acceptedCounts.size()), total);
  // Every accepted write got its own sync count, 1..total, no gap and no duplicate.
  std::sort(acceptedCounts.begin(), acceptedCounts.end());
  for (int i = 0; i < total; ++i) ASSERT_EQ(acceptedCounts[static_cast<size_t>(i)], i + 1) << "at " << i;
  // No lost update: the counter saw every accepted increment.
  auto txn = node1->beginRead();
  ASSERT_TRUE(txn.isOk());
  std::vector<std::string> keys{"n"};
  auto recs = (*txn)->getRecords(kOwner, "ctr", keys);
  ASSERT_TRUE(recs.isOk());
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ(*(*recs)[0].value, std::to_string(total));
  EXPECT_EQ((*(*txn)->getDataset(kOwner, "ctr"))->syncCount, total);
  RecordProperty("conflicts", conflicts.load());
}

// What the sync service does for a batch to a dataset the identity does not have live.
Status createDataset(Store& store, const std::string& name, const OwnerRef& owner = kOwner) {
  return runWriteTransaction(store, [&](StoreTransaction& txn) -> Status {
    TETHER_TRY(bool disabled, txn.identityDisabled(owner.identityId));
    (void)disabled;
    TETHER_TRY(std::optional<DatasetRow> row, txn.getDataset(owner, name));
    if (row && row->live) return Status::conflict("exists");
    TETHER_TRY(int64_t count, txn.countLiveDatasets(owner));
    if (count >= kMaxDatasetsPerIdentity) return Status::limitExceeded("20 datasets");
    TETHER_RETURN_IF_ERROR(txn.putDataset(owner, liveRow(name, 1)));
    return txn.commit();
  });
}

TEST_F(PgStoreTest, DatasetLimitHoldsUnderConcurrentCreationFromTwoNodes) {
  auto node1 = open();
  auto node2 = open();
  ASSERT_NE(node1, nullptr);
  ASSERT_NE(node2, nullptr);
  // Several identities, one after another, each 2 short of the limit with 8 creators racing
  // (half on each node): exactly 2 may win each time.
  constexpr int kRounds = 4;
  constexpr int kContenders = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::string identity = kAlice + "-" + std::to_string(round);
    const OwnerRef owner{kPool, identity};
    for (int i = 0; i < kMaxDatasetsPerIdentity - 2; ++i)
      ASSERT_TRUE(createDataset(*node1, "pre" + std::to_string(i), owner).isOk());
    std::atomic<int> created{0}, refused{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kContenders; ++i) {
      threads.emplace_back([&, i] {
        Status s = createDataset(i % 2 == 0 ? *node1 : *node2, "new" + std::to_string(i), owner);
        if (s.isOk()) ++created;
        else if (s.code() == StatusCode::kLimitExceeded) ++refused;
        else {
          ++other;
          ADD_FAILURE() << s;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(created.load(), 2) << "round " << round;
    EXPECT_EQ(refused.load(), kContenders - 2);
    EXPECT_EQ(other.load(), 0);
    auto txn = node2->beginRead();
    ASSERT_TRUE(txn.isOk());
    EXPECT_EQ(*(*txn)->countLiveDatasets(owner), kMaxDatasetsPerIdentity);
  }
}

TEST_F(PgStoreTest, NodesMigratingAnEmptyDatabaseAtOnceCreateTheSchemaOnce) {
  constexpr int kNodes = 6;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<Status> failures(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auto s = openPgStore(conninfo_, PgStoreOptions{2, 10000});
      if (s.isOk()) ++ok;
      else failures[static_cast<size_t>(i)] = s.status();
    });
  }
  for (auto& th : threads) th.join();
  for (const Status& s : failures) EXPECT_TRUE(s.isOk()) << s;
  EXPECT_EQ(ok.load(), kNodes);
  auto rows = query("SELECT count(*), min(version), max(version) FROM schema_version");
  ASSERT_TRUE(rows.isOk()) << rows.status();
  EXPECT_EQ(rows->int64(0, 0), kPgSchemaVersion) << "each migration applied exactly once";
  EXPECT_EQ(rows->int64(0, 1), 1);
  EXPECT_EQ(rows->int64(0, 2), kPgSchemaVersion);
}

TEST_F(PgStoreTest, MigrationsAreVersionedAndANewerDatabaseIsRefused) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->putPool({kPool, "p", true, 1}).isOk());
  }
  {
    auto conn = PgConn::connect(conninfo_);
    ASSERT_TRUE(conn.isOk());
    EXPECT_EQ(*pgSchemaVersion(**conn), kPgSchemaVersion);
    // Reopening applies nothing again.
    ASSERT_TRUE(migratePgSchema(**conn).isOk());
    EXPECT_EQ(query("SELECT count(*) FROM schema_version")->int64(0, 0), kPgSchemaVersion);
    // A newer tetherd migrated this database: refuse, change nothing.
    ASSERT_TRUE((*conn)->exec("INSERT INTO schema_version (version) VALUES ($1)", {kPgSchemaVersion + 1}).isOk());
  }
  auto refused = openPgStore(conninfo_, PgStoreOptions{});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status();
  EXPECT_NE(refused.status().message().find("newer"), std::string::npos);
  EXPECT_EQ(query("SELECT count(*) FROM pools")->int64(0, 0), 1);
}

TEST_F(PgStoreTest, CommitAfterAFailedStatementIsNeverReportedAsCommitted) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  ASSERT_TRUE((*txn)->putDataset(kOwner, liveRow("kept?", 1)).isOk());
  std::vector<Record> orphan{Record{"k", "v", 1, 1, "t", 1}};
  EXPECT_EQ((*txn)->putRecords(kOwner, "no-such-dataset", orphan).code(), StatusCode::kInternal);
  // PostgreSQL would answer this COMMIT with ROLLBACK; the store must say so.
  EXPECT_FALSE((*txn)->commit().isOk());
  auto read = store->beginRead();
  ASSERT_TRUE(read.isOk());
  EXPECT_FALSE((*read)->getDataset(kOwner, "kept?")->has_value());
}

TEST_F(PgStoreTest, DatabaseDownAtOpenIsUnavailable) {
  // A port nothing listens on (the cluster's port + 1 is not ours; pick one bound and closed).
  auto s = openPgStore("host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=5", PgStoreOptions{});
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable) << s.status();
  auto bad = openPgStore("host=127.0.0.1 port=notaport", PgStoreOptions{});
  EXPECT_FALSE(bad.isOk());
}

TEST_F(PgStoreTest, TerminatedBackendIsReplacedOnNextUse) {
  auto store = open(/*poolSize=*/1);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->putPool({kPool, "p", true, 1}).isOk());
  // Kill every backend of this schema's connections except the admin one running the query.
  ASSERT_TRUE(cluster_->adminExec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                  " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
                  .isOk());
  // The idle pooled connection is found dead and replaced: the next call just works.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Result<std::optional<PoolInfo>> pool = store->getPool(kPool);
  while (!pool.isOk() && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(pool.status().code(), StatusCode::kUnavailable) << pool.status();
    pool = store->getPool(kPool);
  }
  ASSERT_TRUE(pool.isOk()) << pool.status();
  EXPECT_TRUE(pool->has_value());
}

TEST_F(PgStoreTest, DatabaseStoppedMidServiceIsUnavailableThenServiceResumes) {
  if (cluster_->external()) GTEST_SKIP() << "cannot stop an external server";
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->putPool({kPool, "p", true, 1}).isOk());
  ASSERT_TRUE(createDataset(*store, "before").isOk());

  // A write transaction open while the server goes away.
  auto open = store->begin();
  ASSERT_TRUE(open.isOk());
  ASSERT_TRUE((*open)->putDataset(kOwner, liveRow("half", 1)).isOk());
  ASSERT_TRUE(cluster_->stop().isOk());

  Status commit = (*open)->commit();
  EXPECT_EQ(commit.code(), StatusCode::kUnavailable) << commit;
  open->reset();
  auto pool = store->getPool(kPool);
  EXPECT_EQ(pool.status().code(), StatusCode::kUnavailable) << pool.status();
  EXPECT_EQ(createDataset(*store, "during").code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->beginRead().status().code(), StatusCode::kUnavailable);

  ASSERT_TRUE(cluster_->start().isOk());
  // Service resumes by itself: the pool drops the dead connections and opens new ones.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Status s = createDataset(*store, "after");
  while (!s.isOk() && std::chrono::steady_clock::now() < deadline) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = createDataset(*store, "after");
  }
  ASSERT_TRUE(s.isOk()) << s;
  auto txn = store->beginRead();
  ASSERT_TRUE(txn.isOk()) << txn.status();
  EXPECT_TRUE((*(*txn)->getDataset(kOwner, "before"))->live);
  EXPECT_TRUE((*(*txn)->getDataset(kOwner, "after"))->live);
  EXPECT_FALSE((*txn)->getDataset(kOwner, "half")->has_value()) << "nothing half-written";
  EXPECT_FALSE((*txn)->getDataset(kOwner, "during")->has_value());
}

}  // namespace
}  // namespace tether::server
