// Crashes right after libtether's fsync-free commits (issue 18): applying a pull and marking a
// pushed batch clean commit with synchronous=NORMAL. Against a real tetherd:
//
// - Kill -9: an app (cache_kill_app.cpp) is stopped by SIGKILL exactly after such a commit
//   (TETHER_TEST_KILL_AFTER_RELAXED_COMMITS). After it: the cache passes integrity_check, every
//   put() the app returned from is there, the records agree with the dataset's sync count, and
//   the next sync converges with the server with zero conflicts shown to the app.
// - Power loss, played in this process by PowerLossVfs: everything written since the last fsync
//   is dropped (or a random share of it kept), as after a power cut. Same checks; plus the
//   fsync counts (the relaxed commits really skip the fsync; a put() does not) and the case
//   of a local edit made on top of not-yet-durable pulled data, which must bring that data
//   with it.
//
// What this does not prove: a real disk and kernel may reorder or tear writes in ways the shim
// does not play (it keeps whole 4 KB blocks); the shim trusts fsync, as SQLite does.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "power_loss_vfs.h"
#include "store/local_store.h"
#include "tether/client.h"
#include "tetherd_process.h"
#include "torture_util.h"
#include "ws_test_client.h"

namespace tether::testing::torture {
namespace {

constexpr int kRecords = 300;

std::string valueFor(int i) { return std::to_string(i) + std::string(1000, 'x'); }

std::string appBinary() {
  const char* b = std::getenv("TETHER_CACHE_KILL_APP");
  return b ? b : "cache_kill_app";
}

// Runs the app with the kill hook armed; returns its wait status and stdout.
int runApp(const std::vector<std::string>& argv, const std::string& errFile, std::string& out) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    FILE* e = std::fopen(errFile.c_str(), "a");
    if (e) dup2(fileno(e), 2);
    close(fds[0]);
    close(fds[1]);
    setenv("TETHER_TEST_KILL_AFTER_RELAXED_COMMITS", "1", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// The cache file as SQLite sees it (the client closed): the dataset's last sync count, and its
// records by key (value, sync count, dirty).
struct CacheState {
  int64_t lastSyncCount = -2;  // -2: no dataset row
  struct Row {
    std::optional<std::string> value;
    int64_t syncCount = 0;
    bool dirty = false;
  };
  std::map<std::string, Row> rows;
};

CacheState readCache(const std::string& file, const std::string& dataset) {
  CacheState s;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT last_sync_count FROM datasets WHERE dataset_name = ?1",
                               -1, &st, nullptr), SQLITE_OK);
  sqlite3_bind_text(st, 1, dataset.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW) s.lastSyncCount = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               "SELECT r.key, v.value, r.sync_count, r.modified FROM records r"
                               " LEFT JOIN record_values v ON v.rid = r.rid WHERE r.dataset_name = ?1",
                               -1, &st, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_bind_text(st, 1, dataset.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    CacheState::Row r;
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
      r.value = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    r.syncCount = sqlite3_column_int64(st, 2);
    r.dirty = sqlite3_column_int64(st, 3) != 0;
    s.rows[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] = std::move(r);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return s;
}

// Records and sync count agree: no row is newer than the dataset's count, and a clean row is
// one the server gave us (sync count >= 1) at or below it.
void expectConsistent(const CacheState& s, const std::string& when) {
  for (const auto& [key, r] : s.rows) {
    EXPECT_LE(r.syncCount, s.lastSyncCount) << when << ": " << key << " is newer than the dataset";
    if (!r.dirty) {
      EXPECT_GE(r.syncCount, 1) << when << ": " << key << " clean but never synced";
    }
  }
}

class CacheKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = TetherdProcess::start();
    ASSERT_NE(server_, nullptr);
    auto ws = WsTestClient::connect(server_->url());
    ASSERT_NE(ws, nullptr);
    auto guest = ws->callAs<proto::GetIdResponse>(proto::GetIdRequest{server_->poolId(), {}});
    ASSERT_TRUE(guest.isOk()) << guest.status();
    identity_ = guest->identityId;
    dir_ = makeTempDir("cache-kill").string();
  }

  ClientOptions options(const std::string& cache) const {
    ClientOptions o;
    o.serverUrl = server_->url();
    o.identityPoolId = server_->poolId();
    o.identityId = identity_;
    o.cachePath = cache;
    o.deviceName = "cache-kill-checker";
    return o;
  }

  // Opens `cache`, synchronizes `dataset` counting the conflicts shown to the app, and checks
  // that the result is exactly the server's `kRecords` values (plus `extra`), nothing dirty.
  void syncAndCheck(const std::string& cache, const std::string& dataset,
                    const std::map<std::string, std::string>& extra = {}) {
    auto c = Client::open(options(cache));
    ASSERT_TRUE(c.isOk()) << c.status();
    auto ds = (*c)->openOrCreateDataset(dataset);
    ASSERT_TRUE(ds.isOk()) << ds.status();
    size_t conflicts = 0;
    SyncCallbacks cb;
    cb.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
      conflicts += cs.size();
      return SyncAction::kContinue;
    };
    auto r = (*ds)->synchronizeAndWait(cb, std::chrono::seconds(60));
    ASSERT_TRUE(r.isOk()) << r.status();
    EXPECT_EQ(conflicts, 0u) << "the repair surfaced conflicts to the app";
    auto all = (*ds)->getAll();
    ASSERT_TRUE(all.isOk());
    std::map<std::string, std::string> want = extra;
    for (int i = 0; i < kRecords; ++i) want["k" + std::to_string(i)] = valueFor(i);
    EXPECT_EQ(all->size(), want.size());
    EXPECT_TRUE(*all == want) << "cache differs from the expected data after the repair sync";
    auto recs = (*ds)->getAllRecords();
    ASSERT_TRUE(recs.isOk());
    for (const LocalRecord& lr : *recs) EXPECT_FALSE(lr.dirty) << lr.record.key << " still dirty";
    // And the server holds it too: a fresh device pulls the same.
    auto fresh = Client::open(options(dir_ + "/verify-" + dataset + std::to_string(++verifies_) + ".db"));
    ASSERT_TRUE(fresh.isOk());
    auto fds = (*fresh)->openOrCreateDataset(dataset);
    ASSERT_TRUE(fds.isOk());
    ASSERT_TRUE((*fds)->synchronizeAndWait({}, std::chrono::seconds(60)).isOk());
    EXPECT_TRUE(*(*fds)->getAll() == want) << "the server differs from the expected data";
  }

  std::unique_ptr<TetherdProcess> server_;
  std::string identity_;
  std::string dir_;
  int verifies_ = 0;
};

TEST_F(CacheKillTest, Kill9RightAfterMarkCleanAndAfterApplyLosesNothingAndRepairsWithoutConflicts) {
  const std::string err = dir_ + "/app.err";
  // 1. Push: every put returns (durable), then the sync is killed right after marking clean.
  const std::string pusher = dir_ + "/pusher.db";
  std::string out;
  int status = runApp({appBinary(), "push", server_->url(), server_->poolId(), identity_, pusher,
                       "w", std::to_string(kRecords)}, err, out);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the app was not stopped by the hook (status " << status << "): " << slurpFile(err);
  EXPECT_NE(out.find("P " + std::to_string(kRecords - 1) + "\n"), std::string::npos);
  ASSERT_EQ(integrityCheck(pusher), "ok");
  CacheState s = readCache(pusher, "w");
  expectConsistent(s, "after the kill in mark-clean");
  ASSERT_EQ(s.rows.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i)
    EXPECT_EQ(s.rows["k" + std::to_string(i)].value, valueFor(i)) << "put " << i << " lost";
  syncAndCheck(pusher, "w");

  // 2. Pull: a fresh device of the identity is killed right after applying the pull.
  const std::string puller = dir_ + "/puller.db";
  out.clear();
  status = runApp({appBinary(), "pull", server_->url(), server_->poolId(), identity_, puller, "w"},
                  err, out);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the app was not stopped by the hook (status " << status << "): " << slurpFile(err);
  ASSERT_EQ(integrityCheck(puller), "ok");
  s = readCache(puller, "w");
  expectConsistent(s, "after the kill in the apply");
  // A kill (not a power cut) loses nothing the kernel has: the apply is all there.
  EXPECT_EQ(s.rows.size(), static_cast<size_t>(kRecords));
  syncAndCheck(puller, "w");
}

class CachePowerLossTest : public CacheKillTest {
 protected:
  void SetUp() override {
    PowerLossVfs::install();
    PowerLossVfs::reset();
    CacheKillTest::SetUp();
  }
  // Power cut with the client open: close it (its writes go nowhere), then the disk comes back
  // as of its last fsync, plus a random share of the blocks written after (keepOneIn > 0).
  // The Dataset keeps the client (and its cache connection) alive: it goes first.
  void cutPower(std::unique_ptr<Client> client, std::shared_ptr<Dataset>& ds, uint32_t seed,
                int keepOneIn) {
    PowerLossVfs::cut();
    ds.reset();
    client.reset();
    PowerLossVfs::restore(seed, keepOneIn);
  }
  void pushAll(const std::string& dataset) {
    // Another device's cache fills the server: the pushes under test are the power-cut one's.
    auto c = Client::open(options(dir_ + "/filler-" + dataset + ".db"));
    ASSERT_TRUE(c.isOk());
    auto ds = (*c)->openOrCreateDataset(dataset);
    ASSERT_TRUE(ds.isOk());
    for (int i = 0; i < kRecords; ++i)
      ASSERT_TRUE((*ds)->put("k" + std::to_string(i), valueFor(i)).isOk());
    ASSERT_TRUE((*ds)->synchronizeAndWait({}, std::chrono::seconds(60)).isOk());
  }
};

TEST_F(CachePowerLossTest, MarkCleanIsFsyncFreeAndItsLossIsRepairedWithoutConflicts) {
  for (int keep : {0, 2}) {
    SCOPED_TRACE("keep one in " + std::to_string(keep));
    PowerLossVfs::reset();
    const std::string dataset = "push" + std::to_string(keep);
    const std::string cache = dir_ + "/" + dataset + ".db";
    auto c = Client::open(options(cache));
    ASSERT_TRUE(c.isOk());
    auto ds = (*c)->openOrCreateDataset(dataset);
    ASSERT_TRUE(ds.isOk());
    int64_t syncs = PowerLossVfs::walSyncs();
    for (int i = 0; i < kRecords; ++i)
      ASSERT_TRUE((*ds)->put("k" + std::to_string(i), valueFor(i)).isOk());
    EXPECT_GE(PowerLossVfs::walSyncs() - syncs, kRecords) << "every put() fsyncs the WAL";
    syncs = PowerLossVfs::walSyncs();
    ASSERT_TRUE((*ds)->synchronizeAndWait({}, std::chrono::seconds(60)).isOk());
    EXPECT_EQ(PowerLossVfs::walSyncs() - syncs, 0) << "marking the push clean fsynced";
    cutPower(std::move(*c), *ds, 1000 + keep, keep);
    ASSERT_EQ(integrityCheck(cache), "ok");
    CacheState s = readCache(cache, dataset);
    expectConsistent(s, "after the power cut in mark-clean");
    ASSERT_EQ(s.rows.size(), static_cast<size_t>(kRecords)) << "keep 1 in " << keep;
    for (int i = 0; i < kRecords; ++i)
      EXPECT_EQ(s.rows["k" + std::to_string(i)].value, valueFor(i)) << "put " << i << " lost";
    if (keep == 0) {
      // Worst case: the whole mark-clean commit is gone; the edits are still to be pushed.
      EXPECT_EQ(s.lastSyncCount, 0);
      EXPECT_TRUE(s.rows["k0"].dirty);
    }
    syncAndCheck(cache, dataset);
  }
}

TEST_F(CachePowerLossTest, ApplyIsFsyncFreeAndItsLossIsRepairedByTheNextPull) {
  pushAll("pulled");
  for (int keep : {0, 2, 3}) {
    SCOPED_TRACE("keep one in " + std::to_string(keep));
    PowerLossVfs::reset();
    const std::string cache = dir_ + "/pull" + std::to_string(keep) + ".db";
    auto c = Client::open(options(cache));
    ASSERT_TRUE(c.isOk());
    auto ds = (*c)->openOrCreateDataset("pulled");
    ASSERT_TRUE(ds.isOk());
    const int64_t syncs = PowerLossVfs::walSyncs();
    ASSERT_TRUE((*ds)->synchronizeAndWait({}, std::chrono::seconds(60)).isOk());
    EXPECT_EQ(PowerLossVfs::walSyncs() - syncs, 0) << "applying the pull fsynced";
    EXPECT_EQ((*ds)->getAll()->size(), static_cast<size_t>(kRecords));
    cutPower(std::move(*c), *ds, 2000 + keep, keep);
    ASSERT_EQ(integrityCheck(cache), "ok");
    CacheState s = readCache(cache, "pulled");
    expectConsistent(s, "after the power cut in the apply");
    // All or nothing: one transaction with the sync count.
    EXPECT_TRUE(s.rows.empty() || s.rows.size() == static_cast<size_t>(kRecords))
        << s.rows.size() << " of the pulled records survived";
    if (keep == 0) {
      EXPECT_TRUE(s.rows.empty()) << "nothing was fsynced, nothing should remain";
    }
    syncAndCheck(cache, "pulled");
  }
}

TEST_F(CachePowerLossTest, LocalEditOnTopOfFsyncFreePulledDataMakesItDurable) {
  pushAll("base");
  const std::string cache = dir_ + "/edit.db";
  auto c = Client::open(options(cache));
  ASSERT_TRUE(c.isOk());
  auto ds = (*c)->openOrCreateDataset("base");
  ASSERT_TRUE(ds.isOk());
  ASSERT_TRUE((*ds)->synchronizeAndWait({}, std::chrono::seconds(60)).isOk());  // relaxed apply
  // The app reads pulled data and writes on top of it: an edit of a pulled key and a new key.
  ASSERT_EQ(*(*ds)->get("k5"), valueFor(5));
  ASSERT_TRUE((*ds)->put("k5", "edited").isOk());
  ASSERT_TRUE((*ds)->put("mine", "new").isOk());
  cutPower(std::move(*c), *ds, 3000, 0);  // worst case: nothing after the last fsync survives
  ASSERT_EQ(integrityCheck(cache), "ok");
  CacheState s = readCache(cache, "base");
  expectConsistent(s, "after the power cut after the edits");
  // The put()s returned, so they are there; their fsync covered the pull they were based on.
  ASSERT_EQ(s.rows.size(), static_cast<size_t>(kRecords + 1));
  EXPECT_EQ(s.rows["k5"].value, "edited");
  EXPECT_TRUE(s.rows["k5"].dirty);
  EXPECT_EQ(s.rows["k5"].syncCount, s.lastSyncCount) << "the edit is based on the pulled version";
  EXPECT_EQ(s.rows["k6"].value, valueFor(6));
  EXPECT_FALSE(s.rows["k6"].dirty);
  EXPECT_EQ(s.rows["mine"].value, "new");
  // The edit of a pulled key pushes without a conflict: it is based on the server's version.
  std::map<std::string, std::string> extra = {{"mine", "new"}};
  {
    auto again = Client::open(options(cache));
    ASSERT_TRUE(again.isOk());
    auto d2 = (*again)->openOrCreateDataset("base");
    size_t conflicts = 0;
    SyncCallbacks cb;
    cb.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
      conflicts += cs.size();
      return SyncAction::kContinue;
    };
    ASSERT_TRUE((*d2)->synchronizeAndWait(cb, std::chrono::seconds(60)).isOk());
    EXPECT_EQ(conflicts, 0u);
    EXPECT_EQ(*(*d2)->get("k5"), std::optional<std::string>("edited"));
    auto recs = (*d2)->getAllRecords();
    for (const LocalRecord& lr : *recs) EXPECT_FALSE(lr.dirty) << lr.record.key;
  }
}

// LocalStore level: an edit made while a push was in flight adopts the pushed batch's sync count
// in the (fsync-free) mark-clean commit. Losing that would make it an edit on the old count
// against our own pushed value, a conflict; so that commit is followed by a WAL fsync.
TEST(CacheStorePowerLoss, EditDuringPushKeepsItsNewBaseAcrossAPowerCut) {
  PowerLossVfs::install();
  PowerLossVfs::reset();
  const std::string path = makeTempDir("cache-edit-push").string() + "/cache.db";
  const char* id = "local:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
  auto clock = [] { return int64_t{1700000000000}; };
  {
    auto opened = client::LocalStore::open(path, clock);
    ASSERT_TRUE(opened.isOk()) << opened.status();
    std::unique_ptr<client::LocalStore> store = std::move(*opened);
    ASSERT_TRUE(store->put(id, "ds", "a", std::string("1"), "d").isOk());
    ASSERT_TRUE(store->put(id, "ds", "b", std::string("1"), "d").isOk());
    auto dirty = store->dirtyRecords(id, "ds");
    ASSERT_TRUE(dirty.isOk());
    std::map<std::string, LocalRecord> pushed;
    for (const auto& lr : *dirty) pushed[lr.record.key] = lr;
    ASSERT_TRUE(store->put(id, "ds", "b", std::string("2"), "d").isOk());  // during the push
    std::vector<Record> server = {Record{"a", std::string("1"), 1, 9, "d", 1700000000000},
                                  Record{"b", std::string("1"), 1, 9, "d", 1700000000000}};
    ASSERT_TRUE(store->conditionallyPutRecords(id, "ds", server, pushed, 1).isOk());
    PowerLossVfs::cut();
  }
  PowerLossVfs::restore(4000, 0);
  auto opened = client::LocalStore::open(path, clock);
  ASSERT_TRUE(opened.isOk()) << opened.status();
  auto b = (*opened)->getRecord(id, "ds", "b");
  ASSERT_TRUE(b.isOk() && b->has_value());
  EXPECT_EQ((*b)->record.value, "2");
  EXPECT_TRUE((*b)->dirty);
  EXPECT_EQ((*b)->record.syncCount, 1) << "the edit lost its new base in the power cut";
  auto a = (*opened)->getRecord(id, "ds", "a");
  EXPECT_FALSE((*a)->dirty);  // made durable by the same fsync
  EXPECT_EQ(*(*opened)->lastSyncCount(id, "ds"), 1);
}

}  // namespace
}  // namespace tether::testing::torture
