// LocalStore row layout (issue 18): values live apart from the narrow records rows, so marking
// a pushed batch clean writes a few pages instead of every value; a cache file written by the
// previous layout (schema version 1, value inside the records row) opens and keeps every record,
// dirty flags and sync counts included.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>

#include "store/local_store.h"
#include "test_util.h"

namespace tether::client::testing {
namespace {

constexpr const char* kId = "local:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr const char* kOtherId = "local:aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff";

class CacheLayoutTest : public LocalStoreFixture {
 protected:
  CacheLayoutTest() : LocalStoreFixture("cache_layout") {}

  int64_t walBytes() {
    std::error_code ec;
    auto n = std::filesystem::file_size(path_ + "-wal", ec);
    return ec ? 0 : static_cast<int64_t>(n);
  }
  void rawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  int64_t rawInt(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
};

// The layout libtether wrote before issue 18, verbatim (schema version 1).
constexpr const char* kOldLayout = R"sql(
PRAGMA journal_mode=WAL;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE datasets(
  identity_id TEXT NOT NULL, dataset_name TEXT NOT NULL,
  creation_ms INTEGER NOT NULL DEFAULT 0,
  last_modified_ms INTEGER NOT NULL DEFAULT 0,
  last_modified_by TEXT NOT NULL DEFAULT '',
  remote_storage_bytes INTEGER NOT NULL DEFAULT 0,
  remote_record_count INTEGER NOT NULL DEFAULT 0,
  last_sync_count INTEGER NOT NULL DEFAULT 0,
  last_sync_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(identity_id, dataset_name));
CREATE TABLE records(
  identity_id TEXT NOT NULL, dataset_name TEXT NOT NULL, key TEXT NOT NULL,
  value TEXT,
  sync_count INTEGER NOT NULL DEFAULT 0,
  last_modified_ms INTEGER NOT NULL DEFAULT 0,
  last_modified_by TEXT NOT NULL DEFAULT '',
  device_last_modified_ms INTEGER NOT NULL DEFAULT 0,
  modified INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY(identity_id, dataset_name, key));
PRAGMA user_version = 1;
)sql";

TEST_F(CacheLayoutTest, VersionOneCacheOpensWithEveryRecordAndDirtyFlag) {
  store_.reset();
  std::filesystem::remove(path_);
  std::filesystem::remove(path_ + "-wal");
  std::filesystem::remove(path_ + "-shm");
  rawExec(kOldLayout);
  rawExec(std::string(
      "INSERT INTO meta VALUES('identity_id', '") + kId + "'), ('device_id', 'dev-1');"
      "INSERT INTO datasets(identity_id, dataset_name, creation_ms, last_sync_count) VALUES"
      " ('" + kId + "', 'prefs', 5, 7), ('" + kId + "', 'gone', 5, -1), ('" + kOtherId + "', 'x', 5, 2);"
      "INSERT INTO records VALUES"
      " ('" + kId + "', 'prefs', 'clean', 'c', 7, 100, 'srv', 90, 0),"
      " ('" + kId + "', 'prefs', 'edited', 'mine', 6, 101, 'dev-1', 95, 1),"
      " ('" + kId + "', 'prefs', 'removed', NULL, 4, 102, 'dev-1', 96, 1),"
      " ('" + kOtherId + "', 'x', 'k', 'other', 2, 103, 'srv', 97, 0);");
  reopen();
  EXPECT_EQ(rawInt("PRAGMA user_version"), 2);
  EXPECT_EQ(*store_->identityId(), kId);
  EXPECT_EQ(*store_->deviceId(), "dev-1");
  EXPECT_EQ(*store_->lastSyncCount(kId, "prefs"), 7);
  EXPECT_EQ(*store_->lastSyncCount(kId, "gone"), kPendingDeleteSyncCount);

  auto clean = rec(kId, "prefs", "clean");
  ASSERT_TRUE(clean);
  EXPECT_EQ(clean->record.value, "c");
  EXPECT_FALSE(clean->dirty);
  EXPECT_EQ(clean->record.syncCount, 7);
  EXPECT_EQ(clean->record.lastModifiedMs, 100);
  EXPECT_EQ(clean->record.lastModifiedBy, "srv");
  EXPECT_EQ(clean->record.deviceLastModifiedMs, 90);
  auto dirty = store_->dirtyRecords(kId, "prefs");
  ASSERT_TRUE(dirty.isOk()) << dirty.status();
  ASSERT_EQ(dirty->size(), 2u);
  EXPECT_EQ((*dirty)[0].record.key, "edited");
  EXPECT_EQ((*dirty)[0].record.value, "mine");
  EXPECT_EQ((*dirty)[0].record.syncCount, 6);
  EXPECT_EQ((*dirty)[1].record.key, "removed");
  EXPECT_FALSE((*dirty)[1].record.value.has_value());  // the tombstone is still to be pushed
  EXPECT_EQ((*dirty)[1].record.syncCount, 4);
  auto other = rec(kOtherId, "x", "k");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->record.value, "other");
  auto ds = store_->getDataset(kId, "prefs");
  ASSERT_TRUE(ds.isOk() && *ds);
  EXPECT_EQ((*ds)->metadata.numRecords, 2);  // live: clean, edited
  EXPECT_EQ((*ds)->metadata.dataStorage, 5 + 1 + 6 + 4);
  auto changes = store_->datasetsWithLocalChanges(kId);
  ASSERT_TRUE(changes.isOk());
  EXPECT_EQ(*changes, (std::vector<std::string>{"gone", "prefs"}));

  // The migrated file works as a new one: edits, removals, reopen.
  ASSERT_TRUE(store_->put(kId, "prefs", "clean", std::string("c2"), "dev-1").isOk());
  ASSERT_TRUE(store_->put(kId, "prefs", "edited", std::nullopt, "dev-1").isOk());
  ASSERT_TRUE(store_->purgeDataset(kOtherId, "x").isOk());
  reopen();
  EXPECT_EQ(rec(kId, "prefs", "clean")->record.value, "c2");
  EXPECT_TRUE(rec(kId, "prefs", "clean")->dirty);
  EXPECT_FALSE(rec(kId, "prefs", "edited")->record.value.has_value());
  EXPECT_FALSE(rec(kOtherId, "x", "k"));
  // Purging dropped the value rows with the records rows (no orphans left behind).
  EXPECT_EQ(rawInt("SELECT COUNT(*) FROM record_values WHERE rid NOT IN (SELECT rid FROM records)"), 0);
  EXPECT_EQ(rawInt("SELECT COUNT(*) FROM records WHERE rid NOT IN (SELECT rid FROM record_values)"), 0);
}

TEST_F(CacheLayoutTest, MarkingAPushedBatchCleanDoesNotRewriteTheValues) {
  const std::string value(1000, 'v');
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(store_->put(kId, "ds", "key-" + std::to_string(i), value, "d").isOk());
  auto dirty = store_->dirtyRecords(kId, "ds");
  ASSERT_TRUE(dirty.isOk());
  ASSERT_EQ(dirty->size(), 1000u);
  std::map<std::string, LocalRecord> snap;
  std::vector<Record> server;
  for (const LocalRecord& lr : *dirty) {
    snap[lr.record.key] = lr;
    Record r = lr.record;  // what an omitValues reply implies: stored as sent, count 1
    r.syncCount = 1;
    r.lastModifiedMs = 5000;
    r.lastModifiedBy = "d";
    server.push_back(r);
  }
  reopen();  // the close checkpoints and removes the WAL: what follows starts an empty one
  const int64_t before = walBytes();
  ASSERT_TRUE(store_->conditionallyPutRecords(kId, "ds", server, snap, 1).isOk());
  const int64_t written = walBytes() - before;
  std::printf("marking 1,000 x 1 KB clean wrote %lld bytes of WAL\n", static_cast<long long>(written));
  // 1,000 narrow rows (~100 bytes) fill a few dozen 4 KB pages; the values alone are 1 MB.
  EXPECT_LT(written, 256 * 1024) << "marking clean wrote " << written << " bytes of WAL";
  EXPECT_TRUE(store_->dirtyRecords(kId, "ds")->empty());
  auto r = rec(kId, "ds", "key-7");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->record.value, value);
  EXPECT_EQ(r->record.syncCount, 1);
  EXPECT_EQ(r->record.lastModifiedMs, 5000);
  EXPECT_EQ(*store_->lastSyncCount(kId, "ds"), 1);
}

TEST_F(CacheLayoutTest, ServerValueDifferentFromPushedIsStored) {
  // A server that does not omit values and stored something else (e.g. a sync trigger):
  // the row becomes clean with the server's value, not ours.
  ASSERT_TRUE(store_->put(kId, "ds", "k", std::string("mine"), "d").isOk());
  auto dirty = store_->dirtyRecords(kId, "ds");
  std::map<std::string, LocalRecord> snap{{"k", (*dirty)[0]}};
  std::vector<Record> server = {Record{"k", std::string("theirs"), 1, 9, "srv", 1}};
  ASSERT_TRUE(store_->conditionallyPutRecords(kId, "ds", server, snap).isOk());
  auto r = rec(kId, "ds", "k");
  EXPECT_EQ(r->record.value, "theirs");
  EXPECT_FALSE(r->dirty);
}

TEST_F(CacheLayoutTest, IdentityMergeCopiesValuesOfCopiedRows) {
  ASSERT_TRUE(store_->put(kId, "ds", "a", std::string("va"), "d").isOk());
  ASSERT_TRUE(store_->put(kOtherId, "ds", "b", std::string("other-b"), "d").isOk());
  ASSERT_TRUE(store_->changeIdentity(kId, kOtherId).isOk());
  auto a = rec(kOtherId, "ds", "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->record.value, "va");
  EXPECT_TRUE(a->dirty);
  EXPECT_EQ(rec(kOtherId, "ds", "b")->record.value, "other-b");  // kept, not overwritten
  EXPECT_EQ(rawInt("SELECT COUNT(*) FROM records WHERE rid NOT IN (SELECT rid FROM record_values)"), 0);
}

}  // namespace
}  // namespace tether::client::testing
