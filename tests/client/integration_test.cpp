// libtether against the real tetherd (suite 'client-integration'): convergence of two devices,
// offline edits with conflicts, server down and back, wss with a test CA, and the client
// process killed with SIGKILL mid-sync (the tether CLI as the device).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "http_test_client.h"
#include "process_util.h"
#include "tetherd_process.h"
#include "tether/client.h"
#include "tether/tether.h"
#include "test_util.h"

namespace tether::client::testing {
namespace {

using tether::testing::httpGet;
using tether::testing::TetherdOptions;
using tether::testing::TetherdProcess;

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("client_integration");
    server_ = TetherdProcess::start(serverOptions());
    ASSERT_TRUE(server_) << "tetherd did not start";
  }
  virtual TetherdOptions serverOptions() { return {}; }

  std::unique_ptr<Client> open(const std::string& name, const std::string& identity = "",
                               const std::string& ca = "") {
    ClientOptions o;
    o.cachePath = dir_ + "/" + name + ".db";
    o.serverUrl = server_->url();
    o.identityPoolId = server_->poolId();
    o.identityId = identity;
    o.caFile = ca;
    o.deviceName = name;
    o.connectTimeout = std::chrono::seconds(5);
    o.requestTimeout = std::chrono::seconds(10);
    auto c = Client::open(o);
    EXPECT_TRUE(c.isOk()) << c.status();
    return c.isOk() ? std::move(*c) : nullptr;
  }
  static std::shared_ptr<Dataset> ds(Client& c, const std::string& name) {
    auto d = c.openOrCreateDataset(name);
    EXPECT_TRUE(d.isOk()) << d.status();
    return d.isOk() ? *d : nullptr;
  }
  // Retries while the connection (re)establishes: waiting on a condition with a deadline.
  static Result<std::vector<Record>> syncUntilUp(Dataset& d, SyncCallbacks cb = {},
                                                 std::chrono::seconds deadline = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto r = d.synchronizeAndWait(cb, std::chrono::seconds(15));
      if (r.isOk() || !r.status().isRetryable() || std::chrono::steady_clock::now() > end) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // backoff between attempts
    }
  }

  std::string dir_;
  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(IntegrationTest, TwoDevicesConverge) {
  auto a = open("a");
  auto da = ds(*a, "prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(da->put("lang", "en").isOk());
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  std::string id = a->identityId();
  ASSERT_FALSE(id.empty());

  auto b = open("b", id);
  auto db = ds(*b, "prefs");
  auto r = syncUntilUp(*db);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(*db->getAll(), *da->getAll());
  ASSERT_TRUE(db->remove("lang").isOk());
  ASSERT_TRUE(db->put("font", "mono").isOk());
  ASSERT_TRUE(syncUntilUp(*db).isOk());
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  EXPECT_EQ(*da->getAll(), (std::map<std::string, std::string>{{"font", "mono"}, {"theme", "dark"}}));
  EXPECT_EQ(*da->getAll(), *db->getAll());
  EXPECT_EQ(*da->lastSyncCount(), *db->lastSyncCount());

  ASSERT_TRUE(b->refreshDatasetMetadata().isOk());
  auto list = b->listDatasets();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "prefs");
}

TEST_F(IntegrationTest, OfflineEditsConflictOnlyOnTheSameKeys) {
  auto a = open("a");
  auto da = ds(*a, "game");
  ASSERT_TRUE(da->put("level", "1").isOk());
  ASSERT_TRUE(da->put("coins", "10").isOk());
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  auto b = open("b", a->identityId());
  auto db = ds(*b, "game");
  ASSERT_TRUE(syncUntilUp(*db).isOk());

  // Both edit offline: "level" on both sides, distinct other keys.
  ASSERT_TRUE(da->put("level", "5").isOk());
  ASSERT_TRUE(da->put("a-only", "x").isOk());
  ASSERT_TRUE(db->put("level", "7").isOk());
  ASSERT_TRUE(db->put("b-only", "y").isOk());
  ASSERT_TRUE(db->put("coins", "10").isOk());  // same value: no conflict
  ASSERT_TRUE(syncUntilUp(*da).isOk());

  std::vector<std::string> conflictKeys;
  SyncCallbacks cb;
  cb.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
    for (auto& c : cs) {
      conflictKeys.push_back(c.key());
      EXPECT_EQ(c.local().value, "7");
      EXPECT_EQ(c.remote().value, "5");
      c.resolveWithValue("12");  // e.g. the sum of both
    }
    return SyncAction::kContinue;
  };
  ASSERT_TRUE(syncUntilUp(*db, cb).isOk());
  EXPECT_EQ(conflictKeys, std::vector<std::string>{"level"});
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  auto expected = std::map<std::string, std::string>{
      {"a-only", "x"}, {"b-only", "y"}, {"coins", "10"}, {"level", "12"}};
  EXPECT_EQ(*da->getAll(), expected);
  EXPECT_EQ(*db->getAll(), expected);
  // The server agrees: a fresh device of the same identity pulls exactly that.
  auto c = open("c", a->identityId());
  auto dc = ds(*c, "game");
  ASSERT_TRUE(syncUntilUp(*dc).isOk());
  EXPECT_EQ(*dc->getAll(), expected);
}

// tetherd announces conditional pushes: a device that is current pushes its edits in one
// request, without the pull first; a device that is behind is refused once, writes nothing,
// then pulls and pushes. Counted with tetherd's own /metrics.
TEST_F(IntegrationTest, CurrentDeviceSyncsInOneRequestABehindOneIsRefusedOnce) {
  auto metric = [&](const std::string& name) -> long {
    std::string text = httpGet(server_->port(), "/metrics");
    size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stol(text.substr(at + name.size() + 2));
  };
  auto a = open("a");
  auto da = ds(*a, "prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(syncUntilUp(*da).isOk());  // a new dataset: current at 0 already
  auto b = open("b", a->identityId());
  auto db = ds(*b, "prefs");
  ASSERT_TRUE(syncUntilUp(*db).isOk());  // nothing to push: a plain pull

  ASSERT_TRUE(da->put("theme", "light").isOk());
  ASSERT_TRUE(da->put("lang", "en").isOk());
  long requests = metric("tether_requests_total{protocol=\"websocket_native\"}");
  long conflicts = metric("tether_conflicts_total");
  ASSERT_GE(requests, 0);
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  EXPECT_EQ(metric("tether_requests_total{protocol=\"websocket_native\"}"), requests + 1);
  EXPECT_EQ(metric("tether_conflicts_total"), conflicts);
  EXPECT_EQ(*da->lastSyncCount(), 2);
  auto rows = da->getAllRecords();
  ASSERT_TRUE(rows.isOk());
  for (const LocalRecord& lr : *rows) {
    EXPECT_FALSE(lr.dirty) << lr.record.key;
    EXPECT_EQ(lr.record.syncCount, 2) << lr.record.key;
    EXPECT_EQ(lr.record.lastModifiedBy, a->deviceId()) << lr.record.key;
  }

  // B is at 1 and edits another key: refused (nothing written), then pull + push.
  ASSERT_TRUE(db->put("font", "mono").isOk());
  requests = metric("tether_requests_total{protocol=\"websocket_native\"}");
  ASSERT_TRUE(syncUntilUp(*db).isOk());
  EXPECT_EQ(metric("tether_requests_total{protocol=\"websocket_native\"}"), requests + 3);
  EXPECT_EQ(metric("tether_conflicts_total"), conflicts + 1);
  auto expected = std::map<std::string, std::string>{{"font", "mono"}, {"lang", "en"}, {"theme", "light"}};
  EXPECT_EQ(*db->getAll(), expected);
  EXPECT_EQ(*db->lastSyncCount(), 3);
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  EXPECT_EQ(*da->getAll(), expected);
  // A fresh device agrees with both: the server holds exactly that.
  auto c = open("c", a->identityId());
  auto dc = ds(*c, "prefs");
  ASSERT_TRUE(syncUntilUp(*dc).isOk());
  EXPECT_EQ(*dc->getAll(), expected);
}

TEST_F(IntegrationTest, ServerDownLocalWritesWorkThenSync) {
  auto a = open("a");
  auto da = ds(*a, "notes");
  ASSERT_TRUE(da->put("n1", "first").isOk());
  ASSERT_TRUE(syncUntilUp(*da).isOk());
  server_->stop();
  ASSERT_TRUE(da->put("n2", "written while the server is down").isOk());
  auto start = std::chrono::steady_clock::now();
  auto r = da->synchronizeAndWait({}, std::chrono::seconds(30));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_TRUE(*da->isChanged("n2"));
  EXPECT_EQ(*da->get("n2"), "written while the server is down");
  ASSERT_TRUE(server_->restart());
  auto again = syncUntilUp(*da);
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_FALSE(*da->isChanged("n2"));
  auto b = open("b", a->identityId());
  auto db = ds(*b, "notes");
  ASSERT_TRUE(syncUntilUp(*db).isOk());
  EXPECT_EQ(*db->getAll(), *da->getAll());
}

TEST_F(IntegrationTest, CExampleAndCliAgainstServer) {
  std::string cache = dir_ + "/c.db";
  auto r = runProcess({envOr("TETHER_C_EXAMPLE_BIN", "c_example"), server_->url(), server_->poolId(), cache,
                       "--require-sync"}, dir_);
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("sync ok"), std::string::npos);
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {envOr("TETHER_CLI_BIN", "tether"), "--server", server_->url(),
                                     "--pool", server_->poolId(), "--cache", cache};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv, dir_);
  };
  auto who = cli({"whoami"});
  ASSERT_EQ(who.exitCode, 0) << who.err;
  EXPECT_EQ(cli({"get", "prefs", "theme"}).out, "dark\n");
  auto ls = cli({"datasets"});
  EXPECT_NE(ls.out.find("prefs"), std::string::npos);
}

TEST_F(IntegrationTest, StalledServerTimesOutThenRecovers) {
  ClientOptions o;
  o.cachePath = dir_ + "/stall.db";
  o.serverUrl = server_->url();
  o.identityPoolId = server_->poolId();
  o.requestTimeout = std::chrono::milliseconds(700);
  auto c = Client::open(o);
  ASSERT_TRUE(c.isOk());
  auto d = ds(**c, "s");
  ASSERT_TRUE(d->put("k", "v").isOk());
  ASSERT_TRUE(syncUntilUp(*d).isOk());
  ASSERT_TRUE(d->put("k", "v2").isOk());
  ASSERT_EQ(kill(server_->pid(), SIGSTOP), 0);  // connected but silent
  auto r = d->synchronizeAndWait({}, std::chrono::seconds(20));
  kill(server_->pid(), SIGCONT);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_TRUE(*d->isChanged("k"));
  auto again = syncUntilUp(*d);
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_FALSE(*d->isChanged("k"));
}

// The C API end to end: two C clients of one identity resolve a conflict in on_conflict.
struct CConflictState {
  int conflicts = 0;
  std::string local, remote;
};

tether_sync_action keepLocal(void* ud, tether_dataset*, tether_conflicts* cs) {
  auto* st = static_cast<CConflictState*>(ud);
  for (size_t i = 0; i < tether_conflicts_count(cs); ++i) {
    tether_record l, r;
    EXPECT_EQ(tether_conflict_local(cs, i, &l), TETHER_OK);
    EXPECT_EQ(tether_conflict_remote(cs, i, &r), TETHER_OK);
    st->local = l.value ? l.value : "";
    st->remote = r.value ? r.value : "";
    EXPECT_EQ(tether_conflict_resolve_local(cs, i), TETHER_OK);
    ++st->conflicts;
  }
  EXPECT_EQ(tether_conflict_resolve_local(cs, 99), TETHER_INVALID_ARGUMENT);
  return TETHER_CONTINUE;
}

TEST_F(IntegrationTest, CApiConflictRoundTrip) {
  auto openC = [&](const std::string& name, const char* identity) {
    tether_client_options o;
    tether_client_options_init(&o);
    std::string cache = dir_ + "/" + name + ".db";
    std::string url = server_->url();
    o.cache_path = cache.c_str();
    o.server_url = url.c_str();
    o.identity_pool_id = server_->poolId().c_str();
    o.identity_id = identity;
    tether_client* c = nullptr;
    EXPECT_EQ(tether_client_open(&o, &c), TETHER_OK) << tether_last_error();
    return c;
  };
  tether_client* a = openC("ca", nullptr);
  ASSERT_TRUE(a);
  char* id = nullptr;
  ASSERT_EQ(tether_client_identity_id(a, 20000, &id), TETHER_OK) << tether_last_error();
  tether_client* b = openC("cb", id);
  ASSERT_TRUE(b);
  tether_dataset *da = nullptr, *db = nullptr;
  ASSERT_EQ(tether_client_open_dataset(a, "shared", &da), TETHER_OK);
  ASSERT_EQ(tether_client_open_dataset(b, "shared", &db), TETHER_OK);
  tether_dataset* bad = nullptr;
  EXPECT_EQ(tether_client_open_dataset(a, "no spaces", &bad), TETHER_INVALID_ARGUMENT);
  EXPECT_EQ(bad, nullptr);
  ASSERT_TRUE(da);
  ASSERT_EQ(tether_dataset_put(da, "k", "from-a"), TETHER_OK);
  ASSERT_EQ(tether_dataset_synchronize_wait(da, nullptr, 20000), TETHER_OK) << tether_last_error();
  ASSERT_EQ(tether_dataset_put(db, "k", "from-b"), TETHER_OK);
  CConflictState st;
  tether_sync_callbacks cb;
  std::memset(&cb, 0, sizeof cb);
  cb.user_data = &st;
  cb.on_conflict = keepLocal;
  ASSERT_EQ(tether_dataset_synchronize_wait(db, &cb, 20000), TETHER_OK) << tether_last_error();
  EXPECT_EQ(st.conflicts, 1);
  EXPECT_EQ(st.local, "from-b");
  EXPECT_EQ(st.remote, "from-a");
  ASSERT_EQ(tether_dataset_synchronize_wait(da, nullptr, 20000), TETHER_OK);
  char* v = nullptr;
  ASSERT_EQ(tether_dataset_get(da, "k", &v), TETHER_OK);
  ASSERT_TRUE(v);
  EXPECT_STREQ(v, "from-b");
  tether_free(v);
  int changed = -1;
  EXPECT_EQ(tether_dataset_is_changed(da, "k", &changed), TETHER_OK);
  EXPECT_EQ(changed, 0);
  tether_record* recs = nullptr;
  size_t n = 0;
  ASSERT_EQ(tether_dataset_get_all_records(db, &recs, &n), TETHER_OK);
  ASSERT_EQ(n, 1u);
  EXPECT_STREQ(recs[0].key, "k");
  EXPECT_GT(recs[0].sync_count, 1);
  tether_records_free(recs, n);
  tether_dataset_info* infos = nullptr;
  ASSERT_EQ(tether_client_list_datasets(a, &infos, &n), TETHER_OK);
  ASSERT_EQ(n, 1u);
  EXPECT_STREQ(infos[0].name, "shared");
  tether_dataset_infos_free(infos, n);
  tether_free(id);
  tether_dataset_release(da);
  tether_dataset_release(db);
  tether_client_close(a);
  tether_client_close(b);
}

class TlsIntegrationTest : public IntegrationTest {
 protected:
  TetherdOptions serverOptions() override {
    TetherdOptions o;
    o.tls = true;
    return o;
  }
};

TEST_F(TlsIntegrationTest, WssWithTestCa) {
  ASSERT_EQ(server_->url().rfind("wss://", 0), 0u);
  auto a = open("a", "", server_->caFile());
  auto da = ds(*a, "secure");
  ASSERT_TRUE(da->put("k", "v").isOk());
  auto r = syncUntilUp(*da);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_FALSE(a->identityId().empty());
}

TEST_F(TlsIntegrationTest, UntrustedCertificateRefused) {
  auto a = open("a");  // system CA store: the test certificate is not trusted
  auto da = ds(*a, "secure");
  ASSERT_TRUE(da->put("k", "v").isOk());
  auto r = da->synchronizeAndWait({}, std::chrono::seconds(20));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_TRUE(*da->isChanged("k"));
  EXPECT_TRUE(a->identityId().empty());
}

TEST_F(IntegrationTest, ClientKilledMidSyncLosesNothingAcknowledged) {
  std::string cli = envOr("TETHER_CLI_BIN", "tether");
  std::string cache = dir_ + "/victim.db";
  auto base = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {cli, "--server", server_->url(), "--pool", server_->poolId(),
                                     "--cache", cache, "--device", "victim"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  auto who = runProcess(base({"whoami"}), dir_);
  ASSERT_EQ(who.exitCode, 0) << who.err;
  std::string id = who.out.substr(0, who.out.find('\n'));

  std::mt19937 rng(1234);
  std::map<std::string, std::string> acknowledged;
  int killed = 0;
  for (int round = 0; round < 25; ++round) {
    for (int j = 0; j < 3; ++j) {
      std::string key = "k" + std::to_string(rng() % 20);
      std::string value = "v" + std::to_string(round) + "_" + std::to_string(j);
      auto put = runProcess(base({"put", "data", key, value}), dir_);
      ASSERT_EQ(put.exitCode, 0) << put.err;
      acknowledged[key] = value;  // put returned: durable
    }
    pid_t pid = spawnProcess(base({"sync", "data"}), dir_ + "/sync.out", dir_ + "/sync.err");
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 120));  // kill at a random point
    if (kill(pid, SIGKILL) == 0) ++killed;
    waitProcess(pid, std::chrono::seconds(10));
  }
  EXPECT_GT(killed, 0);
  // The cache reopens intact and holds every acknowledged write.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(cache.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  auto ls = runProcess(base({"ls", "data"}), dir_);
  ASSERT_EQ(ls.exitCode, 0) << ls.err;
  std::string expected;
  for (const auto& [k, v] : acknowledged) expected += k + "=" + v + "\n";
  EXPECT_EQ(ls.out, expected);
  // And converges with the server.
  auto finalSync = runProcess(base({"sync", "data"}), dir_);
  ASSERT_EQ(finalSync.exitCode, 0) << finalSync.err;
  auto other = open("checker", id);
  auto d = ds(*other, "data");
  ASSERT_TRUE(syncUntilUp(*d).isOk());
  EXPECT_EQ(*d->getAll(), acknowledged);
}

}  // namespace
}  // namespace tether::client::testing
