// LocalStore: spec 4.1 semantics, limits refused locally, durability, identity re-parenting,
// pending delete, conditional apply.
#include "store/local_store.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <fstream>

#include "test_util.h"
#include "tether/limits.h"

namespace tether::client::testing {
namespace {

constexpr const char* kId = "local:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr const char* kOtherId = "local:aaaaaaaa-bbbb-4ccc-8ddd-ffffffffffff";

class LocalStoreTest : public LocalStoreFixture {
 protected:
  LocalStoreTest() : LocalStoreFixture("local_store") {}
};

TEST_F(LocalStoreTest, UnknownIdentityBeforeFirstGetId) {
  EXPECT_EQ(*store_->identityId(), "unknown");
  ASSERT_TRUE(store_->put("", "prefs", "theme", std::string("dark"), "dev").isOk());
  auto r = rec("unknown", "prefs", "theme");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->dirty);
  EXPECT_EQ(r->record.syncCount, 0);
  EXPECT_EQ(r->record.lastModifiedBy, "dev");
  EXPECT_EQ(r->record.deviceLastModifiedMs, clock_.now->load());
}

TEST_F(LocalStoreTest, PutIsDurableAcrossReopen) {
  ASSERT_TRUE(store_->put(kId, "prefs", "theme", std::string("dark"), "dev").isOk());
  ASSERT_TRUE(store_->put(kId, "prefs", "gone", std::string("x"), "dev").isOk());
  ASSERT_TRUE(store_->put(kId, "prefs", "gone", std::nullopt, "dev").isOk());
  reopen();
  auto r = rec(kId, "prefs", "theme");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->record.value, "dark");
  EXPECT_TRUE(r->dirty);
  auto t = rec(kId, "prefs", "gone");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->record.value.has_value());  // tombstone survives too
  EXPECT_TRUE(t->dirty);
}

TEST_F(LocalStoreTest, WalAndFullSync) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(LocalStoreTest, SameValueIsNoOpAndStaysClean) {
  Record r{"k", std::string("v"), 4, 1, "srv", 1};
  ASSERT_TRUE(store_->applyPulled(kId, "ds", {r}, {}, {}, 4).isOk());
  ASSERT_TRUE(store_->put(kId, "ds", "k", std::string("v"), "dev").isOk());
  EXPECT_FALSE(rec(kId, "ds", "k")->dirty);
  ASSERT_TRUE(store_->put(kId, "ds", "k", std::string("w"), "dev").isOk());
  auto after = rec(kId, "ds", "k");
  EXPECT_TRUE(after->dirty);
  EXPECT_EQ(after->record.syncCount, 4);  // keeps the last seen server count
}

TEST_F(LocalStoreTest, RemoveOfUnknownKeyWritesDirtyTombstone) {
  ASSERT_TRUE(store_->put(kId, "ds", "never", std::nullopt, "dev").isOk());
  auto r = rec(kId, "ds", "never");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->dirty);
  EXPECT_FALSE(r->record.value);
  EXPECT_EQ(r->record.syncCount, 0);
}

TEST_F(LocalStoreTest, BadNamesKeysValuesRefused) {
  EXPECT_EQ(store_->put(kId, "bad name", "k", std::string("v"), "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->put(kId, std::string(129, 'a'), "k", std::string("v"), "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->put(kId, "ds", "", std::string("v"), "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->put(kId, "ds", std::string(1025, 'k'), std::string("v"), "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->put(kId, "ds", "k", std::string("\xff\xfe"), "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->put(kId, "ds", "k", std::string(kMaxRecordValueChars + 1, 'v'), "d").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->listDatasets(kId)->empty());  // nothing partially written
}

TEST_F(LocalStoreTest, RecordAndByteLimitsRefusedWithoutPartialWrite) {
  for (int i = 0; i < kMaxRecordsPerDataset; ++i)
    ASSERT_TRUE(store_->put(kId, "ds", "k" + std::to_string(i), std::string("v"), "d").isOk()) << i;
  Status s = store_->put(kId, "ds", "one-more", std::string("v"), "d");
  EXPECT_EQ(s.code(), StatusCode::kLimitExceeded);
  EXPECT_FALSE(rec(kId, "ds", "one-more"));
  // Replacing an existing record is still fine at the record limit.
  EXPECT_TRUE(store_->put(kId, "ds", "k0", std::string("w"), "d").isOk());
  // A tombstone frees a slot.
  ASSERT_TRUE(store_->put(kId, "ds", "k1", std::nullopt, "d").isOk());
  EXPECT_TRUE(store_->put(kId, "ds", "one-more", std::string("v"), "d").isOk());

  // Bytes: 1 MB of key + value in total.
  std::string big(kMaxDatasetBytes - 10, 'x');
  ASSERT_TRUE(store_->put(kId, "big", "a", big, "d").isOk());
  EXPECT_EQ(*store_->sizeInBytes(kId, "big"), kMaxDatasetBytes - 9);
  EXPECT_EQ(store_->put(kId, "big", "b", std::string(9, 'y'), "d").code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(store_->put(kId, "big", "b", std::string(8, 'y'), "d").isOk());
  EXPECT_EQ(*store_->sizeInBytes(kId, "big"), kMaxDatasetBytes);
}

TEST_F(LocalStoreTest, TwentyDatasetsPerIdentity) {
  for (int i = 0; i < kMaxDatasetsPerIdentity; ++i)
    ASSERT_TRUE(store_->createDataset(kId, "ds" + std::to_string(i)).isOk());
  EXPECT_EQ(store_->createDataset(kId, "ds20").code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(store_->put(kId, "ds20", "k", std::string("v"), "d").code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(store_->createDataset(kOtherId, "ds20").isOk());  // per identity
  EXPECT_EQ(store_->listDatasets(kId)->size(), 20u);
}

TEST_F(LocalStoreTest, UnknownIdentityReparenting) {
  ASSERT_TRUE(store_->put("", "prefs", "a", std::string("1"), "d").isOk());
  ASSERT_TRUE(store_->put("", "only", "b", std::string("2"), "d").isOk());
  // The new identity already has a "prefs" (e.g. --identity of an existing user).
  ASSERT_TRUE(store_->applyPulled(kId, "prefs", {Record{"x", std::string("9"), 3, 1, "s", 1}}, {}, {}, 3).isOk());
  ASSERT_TRUE(store_->changeIdentity("unknown", kId).isOk());
  EXPECT_EQ(*store_->identityId(), kId);
  EXPECT_TRUE(store_->records("unknown", "prefs")->empty());
  auto moved = rec(kId, "prefs.unknown", "a");
  ASSERT_TRUE(moved);
  EXPECT_TRUE(moved->dirty);
  auto b = rec(kId, "only", "b");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->dirty);
  EXPECT_EQ(rec(kId, "prefs", "x")->record.value, "9");
  EXPECT_EQ(*store_->localMergedDatasets(kId, "prefs"), std::vector<std::string>{"prefs.unknown"});
  // Writes with the "current identity" id now land under kId.
  ASSERT_TRUE(store_->put("", "only", "c", std::string("3"), "d").isOk());
  EXPECT_TRUE(rec(kId, "only", "c"));
  reopen();
  EXPECT_EQ(*store_->identityId(), kId);
}

TEST_F(LocalStoreTest, RealIdentityChangeCopiesDirtyAndKeepsMergedCopy) {
  ASSERT_TRUE(store_->applyPulled(kId, "prefs", {Record{"a", std::string("1"), 5, 1, "s", 1}}, {}, {}, 5).isOk());
  ASSERT_TRUE(store_->changeIdentity(kId, kOtherId).isOk());
  auto copy = rec(kOtherId, "prefs", "a");
  ASSERT_TRUE(copy);
  EXPECT_TRUE(copy->dirty);
  EXPECT_EQ(copy->record.syncCount, 0);
  std::string merged = std::string("prefs.") + kId;
  auto orig = rec(kOtherId, merged, "a");
  ASSERT_TRUE(orig);
  EXPECT_FALSE(orig->dirty);
  EXPECT_EQ(*store_->localMergedDatasets(kOtherId, "prefs"), std::vector<std::string>{merged});
}

TEST_F(LocalStoreTest, MergedDetectionIgnoresOrdinaryDottedNames) {
  ASSERT_TRUE(store_->createDataset(kId, "prefs.old").isOk());
  EXPECT_TRUE(store_->localMergedDatasets(kId, "prefs")->empty());
}

TEST_F(LocalStoreTest, PendingDeleteMarkerAndPurge) {
  ASSERT_TRUE(store_->applyPulled(kId, "ds", {Record{"a", std::string("1"), 2, 1, "s", 1}}, {}, {}, 2).isOk());
  ASSERT_TRUE(store_->deleteDataset(kId, "ds").isOk());
  EXPECT_EQ(*store_->lastSyncCount(kId, "ds"), kPendingDeleteSyncCount);
  EXPECT_TRUE(store_->records(kId, "ds")->empty());
  EXPECT_TRUE(store_->listDatasets(kId)->empty());
  // A pull finishing meanwhile cannot resurrect it.
  ASSERT_TRUE(store_->applyPulled(kId, "ds", {Record{"b", std::string("2"), 3, 1, "s", 1}}, {}, {}, 3).isOk());
  EXPECT_TRUE(store_->records(kId, "ds")->empty());
  ASSERT_TRUE(store_->setLastSyncCount(kId, "ds", 7).isOk());
  EXPECT_EQ(*store_->lastSyncCount(kId, "ds"), kPendingDeleteSyncCount);
  reopen();
  EXPECT_EQ(*store_->lastSyncCount(kId, "ds"), kPendingDeleteSyncCount);
  auto more = store_->finishRemoteDelete(kId, "ds");
  ASSERT_TRUE(more.isOk());
  EXPECT_FALSE(*more);
  EXPECT_FALSE(*store_->getDataset(kId, "ds"));
}

TEST_F(LocalStoreTest, PutAfterDeleteRecreatesAfterRemoteDelete) {
  ASSERT_TRUE(store_->applyPulled(kId, "ds", {Record{"a", std::string("1"), 2, 1, "s", 1}}, {}, {}, 2).isOk());
  ASSERT_TRUE(store_->deleteDataset(kId, "ds").isOk());
  ASSERT_TRUE(store_->put(kId, "ds", "new", std::string("n"), "d").isOk());
  auto more = store_->finishRemoteDelete(kId, "ds");
  ASSERT_TRUE(more.isOk());
  EXPECT_TRUE(*more);
  EXPECT_EQ(*store_->lastSyncCount(kId, "ds"), 0);
  EXPECT_TRUE(rec(kId, "ds", "new")->dirty);
}

TEST_F(LocalStoreTest, ApplyPulledSkipsRowsEditedMeanwhile) {
  ASSERT_TRUE(store_->put(kId, "ds", "k", std::string("local"), "d").isOk());
  ASSERT_TRUE(store_->applyPulled(kId, "ds", {Record{"k", std::string("remote"), 3, 1, "s", 1}}, {}, {}, 3).isOk());
  auto r = rec(kId, "ds", "k");
  EXPECT_EQ(r->record.value, "local");
  EXPECT_TRUE(r->dirty);
  EXPECT_EQ(*store_->lastSyncCount(kId, "ds"), 3);
}

TEST_F(LocalStoreTest, ConditionallyPutKeepsEditsMadeDuringPush) {
  ASSERT_TRUE(store_->put(kId, "ds", "a", std::string("1"), "d").isOk());
  ASSERT_TRUE(store_->put(kId, "ds", "b", std::string("1"), "d").isOk());
  auto dirty = store_->dirtyRecords(kId, "ds");
  std::map<std::string, LocalRecord> snap;
  for (auto& r : *dirty) snap[r.record.key] = r;
  clock_.advance(5);
  ASSERT_TRUE(store_->put(kId, "ds", "b", std::string("2"), "d").isOk());  // during the push
  std::vector<Record> server = {Record{"a", std::string("1"), 1, 9, "d", 1},
                                Record{"b", std::string("1"), 1, 9, "d", 1}};
  ASSERT_TRUE(store_->conditionallyPutRecords(kId, "ds", server, snap).isOk());
  auto a = rec(kId, "ds", "a");
  EXPECT_FALSE(a->dirty);
  EXPECT_EQ(a->record.syncCount, 1);
  auto b = rec(kId, "ds", "b");
  EXPECT_TRUE(b->dirty);
  EXPECT_EQ(b->record.value, "2");
  EXPECT_EQ(b->record.syncCount, 1);  // based on what we pushed
}

TEST_F(LocalStoreTest, NewerSchemaRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = LocalStore::open(path_, clock_.fn());
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
}

TEST_F(LocalStoreTest, GarbageFileRefusedWithTypedStatus) {
  std::string bad = dir_ + "/garbage.db";
  {
    std::ofstream f(bad, std::ios::binary);
    f << std::string(8192, 'x');
  }
  auto s = LocalStore::open(bad, clock_.fn());
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << s.status();
  auto missingDir = LocalStore::open(dir_ + "/no/such/dir/cache.db", clock_.fn());
  ASSERT_FALSE(missingDir.isOk());
  EXPECT_EQ(missingDir.status().code(), StatusCode::kIOError) << missingDir.status();
}

TEST_F(LocalStoreTest, DeviceIdGeneratedOncePerFile) {
  std::string d1 = *store_->deviceId();
  EXPECT_EQ(d1.size(), 36u);
  reopen();
  EXPECT_EQ(*store_->deviceId(), d1);
  auto other = LocalStore::open(dir_ + "/other.db", clock_.fn());
  EXPECT_NE(*(*other)->deviceId(), d1);
}

TEST_F(LocalStoreTest, WipeClearsDataAndIdentity) {
  ASSERT_TRUE(store_->changeIdentity("unknown", kId).isOk());
  ASSERT_TRUE(store_->put("", "ds", "k", std::string("v"), "d").isOk());
  ASSERT_TRUE(store_->wipe().isOk());
  EXPECT_EQ(*store_->identityId(), "unknown");
  EXPECT_TRUE(store_->listDatasets(kId)->empty());
}

}  // namespace
}  // namespace tether::client::testing
