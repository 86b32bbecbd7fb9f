// SqliteDb's statement cache (nested use, reset on give-back, a failed COMMIT) and
// LocalStore::getRecords (several keys, missing keys, tombstones), on real temp SQLite files.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <map>
#include <string>
#include <vector>

#include "store/local_store.h"
#include "store/sqlite_db.h"
#include "test_util.h"

namespace tether::client::testing {
namespace {

constexpr const char* kId = "local:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

// Compiled statements alive on the connection (cached idle ones and checked-out ones).
int liveStatements(sqlite3* db) {
  int n = 0;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr); s; s = sqlite3_next_stmt(db, s)) ++n;
  return n;
}

class StatementCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::open(makeTempDir("stmt_cache") + "/db.sqlite");
    ASSERT_TRUE(db.isOk()) << db.status();
    db_.emplace(std::move(*db));
    ASSERT_TRUE(db_->exec("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);"
                          "INSERT INTO t VALUES(1, 'one'), (2, 'two'), (3, 'three');").isOk());
  }
  int64_t rowCount(const char* table) {
    auto st = db_->prepare(std::string("SELECT count(*) FROM ") + table);
    EXPECT_TRUE(st.isOk());
    auto row = st->step();
    EXPECT_TRUE(row.isOk() && *row);
    return st->columnInt64(0);
  }

  std::optional<SqliteDb> db_;
};

constexpr const char* kRange = "SELECT a FROM t WHERE a >= ?1 ORDER BY a";

TEST_F(StatementCacheTest, NestedUseOfTheSameSqlGetsItsOwnStatement) {
  int before = liveStatements(db_->raw());
  auto outer = db_->prepare(kRange);
  ASSERT_TRUE(outer.isOk()) << outer.status();
  outer->bind(1, int64_t{1});
  ASSERT_TRUE(*outer->step());
  EXPECT_EQ(outer->columnInt64(0), 1);
  {
    // The same text while `outer` is mid-iteration: must not rebind or rewind it.
    auto inner = db_->prepare(kRange);
    ASSERT_TRUE(inner.isOk()) << inner.status();
    EXPECT_EQ(liveStatements(db_->raw()), before + 2);
    inner->bind(1, int64_t{3});
    ASSERT_TRUE(*inner->step());
    EXPECT_EQ(inner->columnInt64(0), 3);
    EXPECT_FALSE(*inner->step());
  }
  ASSERT_TRUE(*outer->step());
  EXPECT_EQ(outer->columnInt64(0), 2);
  ASSERT_TRUE(*outer->step());
  EXPECT_EQ(outer->columnInt64(0), 3);
  EXPECT_FALSE(*outer->step());
  *outer = Statement();  // give it back too
  // One idle copy per text is kept; the second one came back and was finalized.
  EXPECT_EQ(liveStatements(db_->raw()), before + 1);
  auto again = db_->prepare(kRange);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(liveStatements(db_->raw()), before + 1);  // reused, not compiled again
  again->bind(1, int64_t{2});
  ASSERT_TRUE(*again->step());
  EXPECT_EQ(again->columnInt64(0), 2);
}

TEST_F(StatementCacheTest, ReturnedStatementIsResetWithBindingsCleared) {
  {
    auto st = db_->prepare("SELECT ?1, a FROM t ORDER BY a");
    ASSERT_TRUE(st.isOk());
    st->bind(1, "bound");
    ASSERT_TRUE(*st->step());
    EXPECT_EQ(st->columnText(0), "bound");
    EXPECT_EQ(st->columnInt64(1), 1);
    // Given back mid-iteration, with a binding.
  }
  int cached = liveStatements(db_->raw());
  auto st = db_->prepare("SELECT ?1, a FROM t ORDER BY a");
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(liveStatements(db_->raw()), cached);  // the cached one
  ASSERT_TRUE(*st->step());
  EXPECT_TRUE(st->isNull(0));          // the old binding is gone
  EXPECT_EQ(st->columnInt64(1), 1);    // rewound to the first row, not the second
  // A writer is not blocked by a read the cache forgot to reset (it would hold the snapshot).
  *st = Statement();
  ASSERT_TRUE(db_->exec("INSERT INTO t VALUES(4, 'four')").isOk());
  EXPECT_EQ(rowCount("t"), 4);
}

TEST_F(StatementCacheTest, FailedCommitRollsBackAndTheConnectionStaysUsable) {
  // A deferred foreign key is checked at COMMIT: the commit itself fails.
  ASSERT_TRUE(db_->exec("PRAGMA foreign_keys=ON;"
                        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
                        "CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);")
                  .isOk());
  {
    auto txn = Transaction::begin(*db_);
    ASSERT_TRUE(txn.isOk()) << txn.status();
    auto ins = db_->prepare("INSERT INTO t VALUES(?1, ?2)");
    ASSERT_TRUE(ins.isOk());
    ASSERT_TRUE(ins->bind(1, int64_t{10}).bind(2, "ten").exec().isOk());
    ASSERT_TRUE(db_->exec("INSERT INTO child VALUES(99)").isOk());  // no parent 99
    Status s = txn->commit();
    EXPECT_FALSE(s.isOk());
    EXPECT_EQ(s.code(), StatusCode::kInternal) << s;
  }
  EXPECT_EQ(sqlite3_get_autocommit(db_->raw()), 1);  // no transaction left open
  EXPECT_EQ(rowCount("t"), 3);                        // nothing of it was written
  EXPECT_EQ(rowCount("child"), 0);
  // The cached BEGIN/INSERT/COMMIT statements work again for the next transaction.
  auto txn = Transaction::begin(*db_);
  ASSERT_TRUE(txn.isOk()) << txn.status();
  auto ins = db_->prepare("INSERT INTO t VALUES(?1, ?2)");
  ASSERT_TRUE(ins.isOk());
  ASSERT_TRUE(ins->bind(1, int64_t{10}).bind(2, "ten").exec().isOk());
  ASSERT_TRUE(txn->commit().isOk());
  EXPECT_EQ(rowCount("t"), 4);
}

class GetRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LocalStore::open(makeTempDir("get_records") + "/cache.db", clock_.fn());
    ASSERT_TRUE(s.isOk()) << s.status();
    store_ = std::move(*s);
  }
  ManualClock clock_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(GetRecordsTest, SeveralKeysMissingKeysAndTombstones) {
  ASSERT_TRUE(store_->put(kId, "ds", "k1", std::string("v1"), "dev").isOk());
  ASSERT_TRUE(store_->put(kId, "ds", "k2", std::string("v2"), "dev").isOk());
  ASSERT_TRUE(store_->put(kId, "ds", "k3", std::string("v3"), "dev").isOk());
  ASSERT_TRUE(store_->put(kId, "ds", "k2", std::nullopt, "dev").isOk());  // dirty tombstone
  ASSERT_TRUE(store_->put(kId, "other", "k4", std::string("elsewhere"), "dev").isOk());

  auto got = store_->getRecords(kId, "ds", {"k3", "missing", "k1", "k2", "k4"});
  ASSERT_TRUE(got.isOk()) << got.status();
  ASSERT_EQ(got->size(), 3u);  // "missing" absent; k4 belongs to another dataset
  EXPECT_EQ(got->at("k1").record.value, std::optional<std::string>("v1"));
  EXPECT_EQ(got->at("k3").record.value, std::optional<std::string>("v3"));
  EXPECT_TRUE(got->at("k1").dirty);
  EXPECT_FALSE(got->at("k2").record.value.has_value());  // the tombstone is returned as a row
  EXPECT_TRUE(got->at("k2").dirty);
  EXPECT_EQ(got->count("missing"), 0u);
  EXPECT_EQ(got->count("k4"), 0u);
  // Each row agrees with the single-key read.
  for (const auto& [key, row] : *got) {
    auto one = store_->getRecord(kId, "ds", key);
    ASSERT_TRUE(one.isOk() && one->has_value());
    EXPECT_EQ(**one, row) << key;
  }

  auto none = store_->getRecords(kId, "ds", {});
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none->empty());
  auto otherId = store_->getRecords("local:aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff", "ds", {"k1"});
  ASSERT_TRUE(otherId.isOk());
  EXPECT_TRUE(otherId->empty());
}

TEST_F(GetRecordsTest, PulledPageOfCleanRecordsAndServerTombstones) {
  // A page as the sync engine applies it: clean rows with sync counts, some removed.
  std::vector<Record> page;
  for (int i = 0; i < 1200; ++i) {
    Record r;
    r.key = "key" + std::to_string(i);
    if (i % 7 != 0) r.value = "value" + std::to_string(i);
    r.syncCount = i + 1;
    r.lastModifiedMs = 1700000000000 + i;
    r.lastModifiedBy = "other-device";
    page.push_back(r);
  }
  ASSERT_TRUE(store_->createDataset(kId, "ds").isOk());
  ASSERT_TRUE(store_->applyPulled(kId, "ds", page, {}, {}, 1200).isOk());
  std::vector<std::string> keys;
  for (int i = 0; i < 1300; i += 3) keys.push_back("key" + std::to_string(i));  // 1200+ missing
  auto got = store_->getRecords(kId, "ds", keys);
  ASSERT_TRUE(got.isOk()) << got.status();
  EXPECT_EQ(got->size(), 400u);  // 0, 3, ..., 1197
  for (int i = 0; i < 1300; i += 3) {
    std::string key = "key" + std::to_string(i);
    if (i >= 1200) {
      EXPECT_EQ(got->count(key), 0u) << key;
      continue;
    }
    ASSERT_EQ(got->count(key), 1u) << key;
    const LocalRecord& row = got->at(key);
    EXPECT_FALSE(row.dirty) << key;
    EXPECT_EQ(row.record.syncCount, i + 1);
    EXPECT_EQ(row.record.value.has_value(), i % 7 != 0) << key;
    if (row.record.value) {
      EXPECT_EQ(*row.record.value, "value" + std::to_string(i));
    }
  }
}

}  // namespace
}  // namespace tether::client::testing
