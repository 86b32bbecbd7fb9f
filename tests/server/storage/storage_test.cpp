// Tests of the Store interface: the contract (pools, identities, meta, datasets/records/merges
// through transactions, rollback) on both backends (StoreContract, TEST_P over SQLite and
// PostgreSQL), and SQLite's own open/migrate/refuse-newer and error mapping.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite_db.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"
#include "store_backend.h"
#include "temp_dir.h"

namespace tether::server {
namespace {

using testing::TempDir;

// Direct SQLite access to check what the store left on disk.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& file) {
    EXPECT_EQ(sqlite3_open(file.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

std::unique_ptr<Store> mustOpen(const std::filesystem::path& file) {
  auto store = openSqliteStore(file);
  EXPECT_TRUE(store.isOk()) << store.status();
  return store.isOk() ? std::move(store).value() : nullptr;
}

const OwnerRef kAlice{"local:0000aaaa", "local:1111aaaa"};
const OwnerRef kBob{"local:0000aaaa", "local:2222bbbb"};

DatasetRow liveRow(std::string name, int64_t syncCount) {
  DatasetRow r;
  r.name = std::move(name);
  r.syncCount = syncCount;
  r.live = true;
  r.creationMs = 100;
  r.lastModifiedMs = 200;
  r.lastModifiedBy = "dev";
  return r;
}

Record rec(std::string key, std::optional<std::string> value, int64_t syncCount) {
  Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.syncCount = syncCount;
  r.lastModifiedMs = 1000 + syncCount;
  r.lastModifiedBy = "dev";
  r.deviceLastModifiedMs = 900 + syncCount;
  return r;
}

// ---- open, pragmas, migrations

TEST(SqliteStoreOpen, CreatesMissingParentDirectoriesAndFile) {
  TempDir dir;
  auto file = dir.path() / "a" / "b" / "tether.db";
  auto store = mustOpen(file);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(SqliteStoreOpen, FreshFileIsWalAtCurrentSchemaVersion) {
  TempDir dir;
  auto file = dir.file("t.db");
  auto store = mustOpen(file);
  ASSERT_NE(store, nullptr);
  RawDb raw(file);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");  // WAL is persistent in the file
  EXPECT_EQ(raw.integer("PRAGMA user_version"), kSqliteSchemaVersion);
  EXPECT_GE(kSqliteSchemaVersion, 2);
  for (const char* table : {"pools", "identities", "meta", "datasets", "records",
                            "merged_datasets"}) {
    EXPECT_EQ(raw.integer(std::string("SELECT count(*) FROM sqlite_master WHERE name = '") +
                          table + "'"),
              1)
        << table;
  }
}

TEST(SqliteStoreOpen, MigratesEmptyV0File) {
  TempDir dir;
  auto file = dir.file("v0.db");
  { std::ofstream(file).flush(); }  // zero bytes: a brand-new SQLite file, user_version 0
  ASSERT_TRUE(std::filesystem::exists(file));
  auto store = mustOpen(file);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->putPool({"local:01", "p", true, 5}).isOk());
  store.reset();
  RawDb raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), kSqliteSchemaVersion);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM pools"), 1);
}

// Migration 5 rebuilt `records` as a rowid table: a version-4 file keeps every record, field
// for field, with its keys, index and foreign key.
TEST(SqliteStoreOpen, MigrationFiveKeepsEveryRecord) {
  TempDir dir;
  auto file = dir.file("v4.db");
  {
    auto db = SqliteDb::open(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.isOk()) << db.status();
    ASSERT_TRUE(migrateSqliteSchemaTo(**db, 4).isOk());
  }
  {
    RawDb raw(file);
    ASSERT_EQ(raw.integer("PRAGMA user_version"), 4);
    EXPECT_NE(raw.text("SELECT sql FROM sqlite_master WHERE name = 'records'").find("WITHOUT ROWID"),
              std::string::npos);
    raw.exec(
        "INSERT INTO datasets VALUES ('local:0000aaaa', 'local:1111aaaa', 'prefs', 3, 1, NULL, 100, 200, 'dev', 9, 2);"
        "INSERT INTO datasets VALUES ('local:0000aaaa', 'local:2222bbbb', 'prefs', 1, 1, NULL, 100, 200, 'dev', 2, 1);"
        "INSERT INTO records VALUES ('local:0000aaaa', 'local:1111aaaa', 'prefs', 'theme', 'dark', 1, 10, 'a', 11);"
        "INSERT INTO records VALUES ('local:0000aaaa', 'local:1111aaaa', 'prefs', 'gone', NULL, 2, 20, 'b', 21);"
        "INSERT INTO records VALUES ('local:0000aaaa', 'local:1111aaaa', 'prefs', 'lang', 'en', 3, 30, 'c', 31);"
        "INSERT INTO records VALUES ('local:0000aaaa', 'local:2222bbbb', 'prefs', 'x', 'y', 1, 40, 'd', 41);");
  }
  auto store = mustOpen(file);
  ASSERT_NE(store, nullptr);
  {
    auto txn = store->beginRead();
    ASSERT_TRUE(txn.isOk());
    auto all = (*txn)->listRecords(kAlice, "prefs", RecordQuery{});
    ASSERT_TRUE(all.isOk()) << all.status();
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0], (Record{"theme", std::string("dark"), 1, 10, "a", 11}));
    EXPECT_EQ((*all)[1], (Record{"gone", std::nullopt, 2, 20, "b", 21}));
    EXPECT_EQ((*all)[2], (Record{"lang", std::string("en"), 3, 30, "c", 31}));
    auto newer = (*txn)->listRecords(kAlice, "prefs", RecordQuery{2});
    ASSERT_TRUE(newer.isOk());
    ASSERT_EQ(newer->size(), 1u);
    EXPECT_EQ((*newer)[0].key, "lang");
    const std::vector<std::string> keys{"x", "theme"};
    auto bob = (*txn)->getRecords(kBob, "prefs", keys);
    ASSERT_TRUE(bob.isOk());
    ASSERT_EQ(bob->size(), 1u);
    EXPECT_EQ((*bob)[0], (Record{"x", std::string("y"), 1, 40, "d", 41}));
  }
  // Upserts on the key still replace, and deleting a dataset's records still works.
  {
    auto txn = store->begin();
    ASSERT_TRUE(txn.isOk());
    const std::vector<Record> update{Record{"theme", std::string("light"), 4, 50, "e", 51}};
    ASSERT_TRUE((*txn)->putRecords(kAlice, "prefs", update).isOk());
    ASSERT_TRUE((*txn)->deleteRecords(kBob, "prefs").isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  store.reset();
  RawDb raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), kSqliteSchemaVersion);
  EXPECT_EQ(raw.text("SELECT sql FROM sqlite_master WHERE name = 'records'").find("WITHOUT ROWID"),
            std::string::npos);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'records_by_sync_count'"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'records_v5'"), 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM records"), 3);
  EXPECT_EQ(raw.text("SELECT value FROM records WHERE key = 'theme'"), "light");
  EXPECT_EQ(raw.text("SELECT count(*) FROM pragma_foreign_key_check('records')"), "0");
  // The foreign key survived the rebuild: a record needs its dataset row.
  char* err = nullptr;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
  EXPECT_NE(sqlite3_exec(db, "INSERT INTO records VALUES ('local:0000aaaa', 'local:9', 'none', 'k', 'v', 1, 1, 'x', 1)",
                         nullptr, nullptr, &err), SQLITE_OK);
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST(SqliteStoreOpen, MigratesV0DatabaseAndKeepsForeignTables) {
  TempDir dir;
  auto file = dir.file("v0.db");
  {
    RawDb raw(file);
    raw.exec("CREATE TABLE operator_notes (x TEXT); INSERT INTO operator_notes VALUES ('keep')");
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 0);
  }
  auto store = mustOpen(file);
  ASSERT_NE(store, nullptr);
  store.reset();
  RawDb raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), kSqliteSchemaVersion);
  EXPECT_EQ(raw.text("SELECT x FROM operator_notes"), "keep");
}

TEST(SqliteStoreOpen, ReopenKeepsDataAndDoesNotRemigrate) {
  TempDir dir;
  auto file = dir.file("t.db");
  {
    auto store = mustOpen(file);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->putPool({"local:01", "first", false, 1}).isOk());
  }
  auto store = mustOpen(file);
  ASSERT_NE(store, nullptr);
  auto pool = store->getPool("local:01");
  ASSERT_TRUE(pool.isOk());
  ASSERT_TRUE(pool->has_value());
  EXPECT_EQ((*pool)->name, "first");
}

TEST(SqliteStoreOpen, RefusesFileFromNewerVersionAndLeavesItAlone) {
  TempDir dir;
  auto file = dir.file("t.db");
  { ASSERT_NE(mustOpen(file), nullptr); }
  const int64_t newer = kSqliteSchemaVersion + 1;
  { RawDb(file).exec("PRAGMA user_version = " + std::to_string(newer)); }
  auto store = openSqliteStore(file);
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos) << store.status();
  EXPECT_NE(store.status().message().find(std::to_string(newer)), std::string::npos);
  EXPECT_EQ(RawDb(file).integer("PRAGMA user_version"), newer);
}

TEST(SqliteStoreOpen, GarbageFileIsCorruption) {
  TempDir dir;
  auto file = dir.file("junk.db");
  {
    std::ofstream out(file, std::ios::binary);
    std::string junk(8192, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) % 251);
    out << junk;
  }
  auto store = openSqliteStore(file);
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kCorruption) << store.status();
}

TEST(SqliteStoreOpen, ParentThatIsAFileIsIOError) {
  TempDir dir;
  { std::ofstream(dir.file("plain")) << "x"; }
  auto store = openSqliteStore(dir.file("plain") / "sub" / "t.db");
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kIOError) << store.status();
}

TEST(SqliteStoreOpen, EmptyPathIsInvalidArgument) {
  auto store = openSqliteStore("");
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

// ---- the storage contract, on both backends (tests/support/store_backend.h)

class StoreContract : public tether::testing::StoreBackendFixture {};
TETHER_INSTANTIATE_BACKENDS(StoreContract);

// ---- pools, identities, meta

TEST_P(StoreContract, PoolsRoundTripReplaceAndOrder) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  PoolInfo b{"local:0b", "bee", true, 20};
  PoolInfo a{"local:0a", "ay", false, 20};
  PoolInfo c{"local:0c", "sea", false, 10};
  ASSERT_TRUE(store->putPool(b).isOk());
  ASSERT_TRUE(store->putPool(a).isOk());
  ASSERT_TRUE(store->putPool(c).isOk());
  auto got = store->getPool("local:0b");
  ASSERT_TRUE(got.isOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, b);
  auto missing = store->getPool("local:0f");
  ASSERT_TRUE(missing.isOk());
  EXPECT_FALSE(missing->has_value());

  b.name = "bee2";
  b.allowGuests = false;
  ASSERT_TRUE(store->putPool(b).isOk());
  auto all = store->listPools();
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(*all, (std::vector<PoolInfo>{c, a, b}));  // by createdMs, then id
}

TEST_P(StoreContract, IdentitiesRoundTripAndDuplicateIsConflict) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  IdentityInfo id{"local:abc-1", "local:0a", 42, false};
  ASSERT_TRUE(store->createIdentity(id).isOk());
  IdentityInfo again = id;
  again.createdMs = 99;
  Status dup = store->createIdentity(again);
  EXPECT_EQ(dup.code(), StatusCode::kConflict) << dup;
  auto got = store->getIdentity("local:abc-1");
  ASSERT_TRUE(got.isOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, id);  // the failed insert changed nothing
  IdentityInfo disabled{"local:abc-2", "local:0a", 43, true};
  ASSERT_TRUE(store->createIdentity(disabled).isOk());
  EXPECT_TRUE((*store->getIdentity("local:abc-2"))->disabled);
  EXPECT_FALSE(store->getIdentity("local:ffff")->has_value());
}

TEST_P(StoreContract, MetaRoundTripAndReplace) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->getMeta("server-id")->has_value());
  ASSERT_TRUE(store->putMeta("server-id", "one").isOk());
  ASSERT_TRUE(store->putMeta("server-id", "two").isOk());
  EXPECT_EQ(**store->getMeta("server-id"), "two");
}

// ---- transactions

TEST_P(StoreContract, TransactionCommitPersistsAcrossReopen) {
  {
    auto store = openStore();
    ASSERT_NE(store, nullptr);
    auto txn = store->begin();
    ASSERT_TRUE(txn.isOk()) << txn.status();
    DatasetRow row = liveRow("prefs", 2);
    row.deletedAtSyncCount = 1;
    row.numRecords = 1;
    row.dataStorage = 6;
    ASSERT_TRUE((*txn)->putDataset(kAlice, row).isOk());
    std::vector<Record> recs{rec("theme", "dark", 2), rec("gone", std::nullopt, 2)};
    ASSERT_TRUE((*txn)->putRecords(kAlice, "prefs", recs).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->beginRead();
  ASSERT_TRUE(txn.isOk());
  auto row = (*txn)->getDataset(kAlice, "prefs");
  ASSERT_TRUE(row.isOk());
  ASSERT_TRUE(row->has_value());
  DatasetRow want = liveRow("prefs", 2);
  want.deletedAtSyncCount = 1;
  want.numRecords = 1;
  want.dataStorage = 6;
  EXPECT_EQ(**row, want);
  std::vector<std::string> keys{"gone", "theme", "never"};
  auto got = (*txn)->getRecords(kAlice, "prefs", keys);
  ASSERT_TRUE(got.isOk());
  std::sort(got->begin(), got->end(), [](auto& x, auto& y) { return x.key < y.key; });
  EXPECT_EQ(*got, (std::vector<Record>{rec("gone", std::nullopt, 2), rec("theme", "dark", 2)}));
}

TEST_P(StoreContract, TransactionDestroyWithoutCommitRollsBack) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  {
    auto txn = store->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->putDataset(kAlice, liveRow("prefs", 1)).isOk());
    std::vector<Record> recs{rec("k", "v", 1)};
    ASSERT_TRUE((*txn)->putRecords(kAlice, "prefs", recs).isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(kAlice, "prefs", "prefs.local:9").isOk());
    auto inside = (*txn)->getDataset(kAlice, "prefs");
    ASSERT_TRUE(inside.isOk());
    EXPECT_TRUE(inside->has_value());  // visible inside the transaction
  }
  auto txn = store->beginRead();
  ASSERT_TRUE(txn.isOk());
  EXPECT_FALSE((*txn)->getDataset(kAlice, "prefs")->has_value());
  std::vector<std::string> keys{"k"};
  EXPECT_TRUE((*txn)->getRecords(kAlice, "prefs", keys)->empty());
  EXPECT_TRUE((*txn)->listMergedDatasets(kAlice, "prefs")->empty());
}

TEST_P(StoreContract, TransactionFinishedTransactionRefusesFurtherCalls) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  ASSERT_TRUE((*txn)->commit().isOk());
  EXPECT_EQ((*txn)->commit().code(), StatusCode::kInternal);
  EXPECT_EQ((*txn)->getDataset(kAlice, "x").status().code(), StatusCode::kInternal);
  EXPECT_EQ((*txn)->putDataset(kAlice, liveRow("x", 1)).code(), StatusCode::kInternal);
}

TEST(SqliteStoreTransaction, StoreCallOnTheTransactionThreadFailsInsteadOfDeadlocking) {
  TempDir dir;
  auto store = mustOpen(dir.file("t.db"));
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  EXPECT_EQ(store->putPool({"local:01", "p", true, 1}).code(), StatusCode::kInternal);
  EXPECT_EQ(store->begin().status().code(), StatusCode::kInternal);
  txn->reset();
  EXPECT_TRUE(store->putPool({"local:01", "p", true, 1}).isOk());  // fine once it is gone
}

TEST_P(StoreContract, TransactionRecordsWithoutDatasetRowAreABug) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  std::vector<Record> recs{rec("k", "v", 1)};
  EXPECT_EQ((*txn)->putRecords(kAlice, "nope", recs).code(), StatusCode::kInternal);
}

TEST_P(StoreContract, TransactionListRecordsFiltersOrdersAndResumesAfterCursor) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  ASSERT_TRUE((*txn)->putDataset(kAlice, liveRow("d", 4)).isOk());
  std::vector<Record> recs{rec("b", "1", 1), rec("a", "1", 1), rec("c", std::nullopt, 2),
                           rec("a2", "x", 3), rec("z", "x", 3), rec("m", "x", 4)};
  ASSERT_TRUE((*txn)->putRecords(kAlice, "d", recs).isOk());
  auto keysOf = [](const std::vector<Record>& v) {
    std::vector<std::string> out;
    for (auto& r : v) out.push_back(r.key);
    return out;
  };
  RecordQuery all;
  EXPECT_EQ(keysOf(*(*txn)->listRecords(kAlice, "d", all)),
            (std::vector<std::string>{"a", "b", "c", "a2", "z", "m"}));
  RecordQuery q;
  q.afterSyncCount = 1;
  q.maxSyncCount = 3;
  EXPECT_EQ(keysOf(*(*txn)->listRecords(kAlice, "d", q)),
            (std::vector<std::string>{"c", "a2", "z"}));
  q.after = RecordCursor{3, "a2"};
  EXPECT_EQ(keysOf(*(*txn)->listRecords(kAlice, "d", q)), (std::vector<std::string>{"z"}));
  RecordQuery limited;
  limited.limit = 2;
  limited.after = RecordCursor{1, "b"};
  EXPECT_EQ(keysOf(*(*txn)->listRecords(kAlice, "d", limited)),
            (std::vector<std::string>{"c", "a2"}));
  // Other owners and datasets see nothing.
  EXPECT_TRUE((*txn)->listRecords(kBob, "d", all)->empty());
  EXPECT_TRUE((*txn)->listRecords(kAlice, "e", all)->empty());
  ASSERT_TRUE((*txn)->deleteRecords(kAlice, "d").isOk());
  EXPECT_TRUE((*txn)->listRecords(kAlice, "d", all)->empty());
}

TEST_P(StoreContract, TransactionKeysAndValuesAreByteExact) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  ASSERT_TRUE((*txn)->putDataset(kAlice, liveRow("d", 1)).isOk());
  const std::string key("a\0b", 3);
  const std::string value("\xF0\x9F\x98\x80 x\0y", 8);
  std::vector<Record> recs{rec(key, value, 1), rec("a", "", 1)};
  ASSERT_TRUE((*txn)->putRecords(kAlice, "d", recs).isOk());
  std::vector<std::string> keys{key, "a"};
  auto got = (*txn)->getRecords(kAlice, "d", keys);
  ASSERT_TRUE(got.isOk());
  ASSERT_EQ(got->size(), 2u);
  for (const Record& r : *got) {
    if (r.key == "a") {
      ASSERT_TRUE(r.value.has_value());  // empty string is a value, not a tombstone
      EXPECT_EQ(*r.value, "");
    } else {
      EXPECT_EQ(r.key, key);
      EXPECT_EQ(r.value, value);
    }
  }
}

TEST_P(StoreContract, TransactionListDatasetsFiltersAndPages) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  for (const char* n : {"c", "a", "b", "d"}) ASSERT_TRUE((*txn)->putDataset(kAlice, liveRow(n, 1)).isOk());
  DatasetRow dead = liveRow("bb", 3);
  dead.live = false;
  dead.deletedAtSyncCount = 3;
  ASSERT_TRUE((*txn)->putDataset(kAlice, dead).isOk());
  ASSERT_TRUE((*txn)->putDataset(kBob, liveRow("a", 1)).isOk());
  auto names = [](const std::vector<DatasetRow>& v) {
    std::string s;
    for (auto& r : v) s += r.name + ",";
    return s;
  };
  EXPECT_EQ(names(*(*txn)->listDatasets(kAlice, DatasetFilter::kLiveOnly, "", 10)), "a,b,c,d,");
  EXPECT_EQ(names(*(*txn)->listDatasets(kAlice, DatasetFilter::kAll, "", 10)), "a,b,bb,c,d,");
  EXPECT_EQ(names(*(*txn)->listDatasets(kAlice, DatasetFilter::kLiveOnly, "b", 2)), "c,d,");
  EXPECT_EQ(*(*txn)->countLiveDatasets(kAlice), 4);
  EXPECT_EQ(*(*txn)->countLiveDatasets(kBob), 1);
}

TEST_P(StoreContract, TransactionMergedDatasetRelation) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auto txn = store->begin();
  ASSERT_TRUE(txn.isOk());
  ASSERT_TRUE((*txn)->addMergedDataset(kAlice, "x", "x.local:b").isOk());
  ASSERT_TRUE((*txn)->addMergedDataset(kAlice, "x", "x.local:a").isOk());
  ASSERT_TRUE((*txn)->addMergedDataset(kAlice, "x", "x.local:a").isOk());  // idempotent
  ASSERT_TRUE((*txn)->addMergedDataset(kBob, "x", "x.local:c").isOk());
  EXPECT_EQ(*(*txn)->listMergedDatasets(kAlice, "x"),
            (std::vector<std::string>{"x.local:a", "x.local:b"}));
  ASSERT_TRUE((*txn)->removeMergedDataset(kAlice, "x.local:a").isOk());
  EXPECT_EQ(*(*txn)->listMergedDatasets(kAlice, "x"), (std::vector<std::string>{"x.local:b"}));
  EXPECT_EQ(*(*txn)->listMergedDatasets(kBob, "x"), (std::vector<std::string>{"x.local:c"}));
}

TEST_P(StoreContract, TransactionThreadsEachCommitTheirOwnRows) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      std::string identity = std::string("local:") + std::to_string(1000 + t);
      OwnerRef owner{"local:0a", identity};
      for (int i = 0; i < kEach; ++i) {
        auto txn = store->begin();
        if (!txn.isOk()) { ++failures; continue; }
        std::string name = std::string("d") + std::to_string(i);
        if (!(*txn)->putDataset(owner, liveRow(name, 1)).isOk() || !(*txn)->commit().isOk())
          ++failures;
        if (!store->getMeta("probe").isOk()) ++failures;  // autocommit calls interleave
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto txn = store->beginRead();
  ASSERT_TRUE(txn.isOk());
  for (int t = 0; t < kThreads; ++t) {
    std::string identity = std::string("local:") + std::to_string(1000 + t);
    EXPECT_EQ(*(*txn)->countLiveDatasets(OwnerRef{"local:0a", identity}), kEach);
  }
}

// ---- error mapping

TEST(SqliteStoreErrors, FullDiskIsIOErrorAndLeavesCommittedDataIntact) {
  TempDir dir;
  SqliteStoreOptions options;
  options.maxPageCount = 64;  // 256 KiB with 4 KiB pages
  auto opened = openSqliteStore(dir.file("t.db"), options);
  ASSERT_TRUE(opened.isOk()) << opened.status();
  auto& store = *opened;
  {
    auto txn = store->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->putDataset(kAlice, liveRow("d", 1)).isOk());
    std::vector<Record> recs{rec("first", "v", 1)};
    ASSERT_TRUE((*txn)->putRecords(kAlice, "d", recs).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  Status failure;
  {
    auto txn = store->begin();
    ASSERT_TRUE(txn.isOk());
    const std::string big(64 * 1024, 'x');
    for (int i = 0; i < 20 && failure.isOk(); ++i) {
      std::vector<Record> recs{rec(std::string("big") + std::to_string(i), big, 2)};
      failure = (*txn)->putRecords(kAlice, "d", recs);
    }
  }
  ASSERT_FALSE(failure.isOk());
  EXPECT_EQ(failure.code(), StatusCode::kIOError) << failure;
  auto txn = store->beginRead();
  ASSERT_TRUE(txn.isOk());
  auto all = (*txn)->listRecords(kAlice, "d", RecordQuery{});
  ASSERT_TRUE(all.isOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().key, "first");
}

TEST(SqliteStoreErrors, ResultCodesMapToStatusCodes) {
  struct Case { int rc; StatusCode code; };
  const Case cases[] = {
      {SQLITE_FULL, StatusCode::kIOError},
      {SQLITE_IOERR, StatusCode::kIOError},
      {SQLITE_IOERR_FSYNC, StatusCode::kIOError},
      {SQLITE_CANTOPEN, StatusCode::kIOError},
      {SQLITE_READONLY, StatusCode::kIOError},
      {SQLITE_CORRUPT, StatusCode::kCorruption},
      {SQLITE_CORRUPT_INDEX, StatusCode::kCorruption},
      {SQLITE_NOTADB, StatusCode::kCorruption},
      {SQLITE_BUSY, StatusCode::kUnavailable},
      {SQLITE_BUSY_SNAPSHOT, StatusCode::kUnavailable},
      {SQLITE_LOCKED, StatusCode::kUnavailable},
      {SQLITE_CONSTRAINT_PRIMARYKEY, StatusCode::kConflict},
      {SQLITE_TOOBIG, StatusCode::kInvalidArgument},
      {SQLITE_RANGE, StatusCode::kInvalidArgument},
      {SQLITE_INTERRUPT, StatusCode::kCancelled},
      {SQLITE_PERM, StatusCode::kPermissionDenied},
      {SQLITE_NOMEM, StatusCode::kInternal},
      {SQLITE_ERROR, StatusCode::kInternal},
      {SQLITE_MISUSE, StatusCode::kInternal},
      {SQLITE_OK, StatusCode::kOk},
      {SQLITE_DONE, StatusCode::kOk},
  };
  for (const Case& c : cases) {
    Status s = sqliteStatus(c.rc, "doing x", "detail");
    EXPECT_EQ(s.code(), c.code) << "rc=" << c.rc << " " << s;
    if (!s.isOk()) {
      EXPECT_EQ(s.message(), "doing x: detail");
    }
  }
  EXPECT_TRUE(sqliteStatus(SQLITE_BUSY, "x").isRetryable());
  EXPECT_FALSE(sqliteStatus(SQLITE_CORRUPT, "x").isRetryable());
}

TEST(SqliteStoreErrors, BusyFileFromAnotherConnectionIsUnavailable) {
  TempDir dir;
  auto file = dir.file("t.db");
  SqliteStoreOptions options;
  options.busyTimeoutMs = 50;
  auto opened = openSqliteStore(file, options);
  ASSERT_TRUE(opened.isOk());
  RawDb other(file);
  other.exec("BEGIN IMMEDIATE");  // another process holds the write lock
  auto txn = (*opened)->begin();
  ASSERT_FALSE(txn.isOk());
  EXPECT_EQ(txn.status().code(), StatusCode::kUnavailable) << txn.status();
  other.exec("ROLLBACK");
  auto retry = (*opened)->begin();
  EXPECT_TRUE(retry.isOk()) << retry.status();
}

}  // namespace
}  // namespace tether::server
