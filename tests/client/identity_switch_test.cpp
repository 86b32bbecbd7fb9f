// LocalStore::changeIdentity (spec 4.3): "unknown" -> real and real -> real (a guest merged
// into a login's identity), name clashes with existing ".unknown" / ".<old>" datasets, the
// 20-dataset limit, pending deletes, and atomicity (an injected failure half-way leaves the
// cache exactly as it was).
#include "store/local_store.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include "test_util.h"
#include "tether/limits.h"

namespace tether::client::testing {
namespace {

constexpr const char* kOld = "local:aaaaaaaa-bbbb-4ccc-8ddd-000000000001";
constexpr const char* kNew = "local:aaaaaaaa-bbbb-4ccc-8ddd-000000000002";

class IdentitySwitchTest : public LocalStoreFixture {
 protected:
  IdentitySwitchTest() : LocalStoreFixture("identity_switch") {}
  std::vector<std::string> names(std::string_view id) {
    std::vector<std::string> out;
    auto l = store_->listDatasets(id);
    EXPECT_TRUE(l.isOk());
    if (l.isOk())
      for (auto& m : *l) out.push_back(m.name);
    return out;
  }
  // Every row of the tables, for before/after comparisons.
  std::string dump() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::string out;
    auto cb = [](void* acc, int n, char** vals, char**) -> int {
      auto* s = static_cast<std::string*>(acc);
      for (int i = 0; i < n; ++i) *s += (vals[i] ? vals[i] : "NULL") + std::string("|");
      *s += "\n";
      return 0;
    };
    sqlite3_exec(db, "SELECT * FROM datasets ORDER BY 1, 2", cb, &out, nullptr);
    sqlite3_exec(db, "SELECT * FROM records ORDER BY 1, 2, 3", cb, &out, nullptr);
    sqlite3_exec(db, "SELECT * FROM record_values ORDER BY 1", cb, &out, nullptr);
    sqlite3_exec(db, "SELECT * FROM meta WHERE key = 'identity_id'", cb, &out, nullptr);
    sqlite3_close(db);
    return out;
  }
  void execRaw(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  // Makes `id` the cached identity with a synced dataset.
  void seedOld() {
    ASSERT_TRUE(store_->changeIdentity("unknown", kOld).isOk());
    ASSERT_TRUE(store_->applyPulled(kOld, "prefs",
                                    {Record{"a", std::string("old-a"), 4, 1, "s", 1},
                                     Record{"b", std::string("old-b"), 5, 1, "s", 1},
                                     Record{"c", std::string("old-c"), 5, 1, "s", 1}},
                                    {}, {}, 5).isOk());
    ASSERT_TRUE(store_->put("", "prefs", "b", std::string("edited-b"), "dev").isOk());  // dirty
    ASSERT_TRUE(store_->put("", "prefs", "c", std::nullopt, "dev").isOk());             // dirty tombstone
    ASSERT_TRUE(store_->put("", "notes", "n", std::string("note"), "dev").isOk());      // never synced
  }
};

TEST_F(IdentitySwitchTest, RealToRealCopiesLiveRecordsAndKeepsMergedOriginals) {
  seedOld();
  // The new identity already has its own "prefs" locally (e.g. pulled earlier).
  ASSERT_TRUE(store_->applyPulled(kNew, "prefs",
                                  {Record{"a", std::string("new-a"), 3, 1, "s", 1},
                                   Record{"x", std::string("new-x"), 3, 1, "s", 1}},
                                  {}, {}, 3).isOk());
  ASSERT_TRUE(store_->changeIdentity(kOld, kNew).isOk());
  EXPECT_EQ(*store_->identityId(), kNew);
  EXPECT_TRUE(names(kOld).empty());

  // Copies into the same-named dataset: dirty, sync count 0; a key kNew holds keeps its row.
  EXPECT_EQ(rec(kNew, "prefs", "a")->record.value, "new-a");
  EXPECT_FALSE(rec(kNew, "prefs", "a")->dirty);
  auto b = rec(kNew, "prefs", "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->record.value, "edited-b");
  EXPECT_TRUE(b->dirty);
  EXPECT_EQ(b->record.syncCount, 0);
  EXPECT_FALSE(rec(kNew, "prefs", "c")) << "tombstones are not copied";
  EXPECT_EQ(rec(kNew, "prefs", "x")->record.value, "new-x");
  EXPECT_EQ(*store_->lastSyncCount(kNew, "prefs"), 3);  // the existing dataset keeps its count
  auto n = rec(kNew, "notes", "n");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->dirty);
  EXPECT_EQ(*store_->lastSyncCount(kNew, "notes"), 0);

  // The originals: "<name>.<old>", pulled whole at their next sync, dirty flags kept.
  const std::string merged = std::string("prefs.") + kOld;
  EXPECT_EQ(*store_->localMergedDatasets(kNew, "prefs"), std::vector<std::string>{merged});
  EXPECT_EQ(*store_->lastSyncCount(kNew, merged), 0);
  auto ma = rec(kNew, merged, "a");
  ASSERT_TRUE(ma);
  EXPECT_EQ(ma->record.value, "old-a");
  EXPECT_FALSE(ma->dirty);
  EXPECT_EQ(ma->record.syncCount, 0);
  auto mc = rec(kNew, merged, "c");
  ASSERT_TRUE(mc);
  EXPECT_FALSE(mc->record.value);
  EXPECT_TRUE(mc->dirty);
  EXPECT_EQ(rec(kNew, merged, "b")->record.value, "edited-b");

  reopen();
  EXPECT_EQ(*store_->identityId(), kNew);
  EXPECT_TRUE(rec(kNew, merged, "a"));
}

TEST_F(IdentitySwitchTest, TakenMergedNameIsNeverOverwritten) {
  seedOld();
  const std::string merged = std::string("prefs.") + kOld;
  ASSERT_TRUE(store_->put(kNew, merged, "keep", std::string("me"), "dev").isOk());
  ASSERT_TRUE(store_->changeIdentity(kOld, kNew).isOk());
  EXPECT_EQ(rec(kNew, merged, "keep")->record.value, "me");
  EXPECT_FALSE(rec(kNew, merged, "a"));
  EXPECT_EQ(rec(kNew, merged + "-2", "a")->record.value, "old-a");
}

TEST_F(IdentitySwitchTest, UnknownClashWithExistingDotUnknown) {
  ASSERT_TRUE(store_->put("", "prefs", "u", std::string("offline"), "dev").isOk());
  ASSERT_TRUE(store_->put(kNew, "prefs", "p", std::string("server"), "dev").isOk());
  ASSERT_TRUE(store_->put(kNew, "prefs.unknown", "earlier", std::string("e"), "dev").isOk());
  ASSERT_TRUE(store_->changeIdentity("unknown", kNew).isOk());
  EXPECT_EQ(rec(kNew, "prefs.unknown", "earlier")->record.value, "e");
  EXPECT_FALSE(rec(kNew, "prefs.unknown", "u"));
  auto u = rec(kNew, "prefs.unknown-2", "u");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->dirty);
  EXPECT_EQ(rec(kNew, "prefs", "p")->record.value, "server");
}

TEST_F(IdentitySwitchTest, LongNamesAreCutToValidNames) {
  ASSERT_TRUE(store_->changeIdentity("unknown", kOld).isOk());
  const std::string longName(120, 'n');
  ASSERT_TRUE(store_->put("", longName, "k", std::string("v"), "dev").isOk());
  ASSERT_TRUE(store_->changeIdentity(kOld, kNew).isOk());
  std::vector<std::string> all = names(kNew);
  ASSERT_EQ(all.size(), 2u);
  for (const std::string& n : all) EXPECT_TRUE(validateDatasetName(n).isOk()) << n;
  EXPECT_EQ(rec(kNew, longName, "k")->record.value, "v");
}

TEST_F(IdentitySwitchTest, MergeMayPassTheDatasetLimit) {
  seedOld();
  for (int i = 0; i < kMaxDatasetsPerIdentity; ++i)
    ASSERT_TRUE(store_->createDataset(kNew, "ds" + std::to_string(i)).isOk());
  ASSERT_TRUE(store_->changeIdentity(kOld, kNew).isOk());
  EXPECT_EQ(names(kNew).size(), static_cast<size_t>(kMaxDatasetsPerIdentity) + 4);
  // New datasets are refused until the merged ones are folded in and deleted.
  EXPECT_EQ(store_->createDataset("", "more").code(), StatusCode::kLimitExceeded);
}

TEST_F(IdentitySwitchTest, PendingDeleteIsOnlyRenamed) {
  seedOld();
  ASSERT_TRUE(store_->deleteDataset("", "notes").isOk());
  ASSERT_TRUE(store_->changeIdentity(kOld, kNew).isOk());
  auto plain = store_->getDataset(kNew, "notes");
  EXPECT_FALSE(*plain) << "no empty copy of a dataset the user deleted";
  EXPECT_EQ(*store_->lastSyncCount(kNew, std::string("notes.") + kOld), kPendingDeleteSyncCount);
  auto changed = store_->datasetsWithLocalChanges(kNew);
  ASSERT_TRUE(changed.isOk());
  EXPECT_NE(std::find(changed->begin(), changed->end(), std::string("notes.") + kOld), changed->end());
}

TEST_F(IdentitySwitchTest, FailureHalfWayLeavesTheCacheUntouched) {
  seedOld();
  const std::string before = dump();
  store_.reset();
  // The second dataset's rename fails inside the transaction ("notes" sorts after "prefs"
  // or not: either way one dataset was already copied when the failure hits).
  execRaw(std::string("CREATE TRIGGER fail_switch BEFORE UPDATE ON records WHEN NEW.dataset_name = 'prefs.") +
          kOld + "' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  reopen();
  Status s = store_->changeIdentity(kOld, kNew);
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(*store_->identityId(), kOld);
  // Local writes still work, and the switch succeeds once the cause is gone.
  ASSERT_TRUE(store_->put("", "notes", "n2", std::string("x"), "dev").isOk());
  store_.reset();
  execRaw("DROP TRIGGER fail_switch");
  reopen();
  ASSERT_TRUE(store_->changeIdentity(kOld, kNew).isOk());
  EXPECT_EQ(rec(kNew, "notes", "n2")->record.value, "x");
  EXPECT_EQ(rec(kNew, std::string("prefs.") + kOld, "a")->record.value, "old-a");
}

TEST_F(IdentitySwitchTest, SameIdentityIsANoOp) {
  seedOld();
  const std::string before = dump();
  ASSERT_TRUE(store_->changeIdentity(kOld, kOld).isOk());
  EXPECT_EQ(dump(), before);
  EXPECT_EQ(store_->changeIdentity(kOld, "not an id").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dump(), before);
}

}  // namespace
}  // namespace tether::client::testing
