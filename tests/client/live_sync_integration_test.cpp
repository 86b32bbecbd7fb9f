// Live sync of libtether against the real tetherd (suite 'client-integration'): a write on A
// reaches subscribed B's local store with no synchronize() call; B cut off by a proxy while A
// writes catches up on reconnect; a server restart under subscribed clients; a burst of 1,000
// writes with coalesced notifications; a stalled subscriber does not slow the others; the
// propagation latency (p50/p99 over 200 trials); the CLI's `watch`.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "client_impl.h"
#include "process_util.h"
#include "tcp_proxy.h"
#include "tetherd_process.h"
#include "test_util.h"
#include "tether/client.h"
#include "tether/tether.h"
#include "ws_test_client.h"

namespace tether::client::testing {
namespace {

using namespace std::chrono_literals;
using tether::testing::TetherdProcess;
using tether::testing::WsTestClient;
using SteadyClock = std::chrono::steady_clock;

double msSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

bool hasValue(Dataset& d, const std::string& key, const std::string& value) {
  auto v = d.get(key);
  return v.isOk() && v->has_value() && **v == value;
}

// Waits on the listener of one device for a key to hold a value in its local store.
struct Arrival {
  std::mutex mu;
  std::condition_variable cv;
  std::string want;
  bool seen = false;
  SteadyClock::time_point at;

  void expect(std::string value) {
    std::lock_guard lock(mu);
    want = std::move(value);
    seen = false;
  }
  // Called from the listener (sync thread) with the value now in the local store.
  void observe(const std::string& value) {
    std::lock_guard lock(mu);
    if (seen || value != want) return;
    seen = true;
    at = SteadyClock::now();
    cv.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [this] { return seen; });
  }
};

class LiveSyncIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("live_sync_integration");
    server_ = TetherdProcess::start();
    ASSERT_TRUE(server_) << "tetherd did not start";
  }

  std::unique_ptr<Client> open(const std::string& name, const std::string& identity, bool autoSync,
                               std::chrono::milliseconds debounce = 20ms, std::string url = "",
                               SyncCallbacks background = {}) {
    ClientOptions o;
    o.cachePath = dir_ + "/" + name + ".db";
    o.serverUrl = url.empty() ? server_->url() : url;
    o.identityPoolId = server_->poolId();
    o.identityId = identity;
    o.deviceName = name;
    o.connectTimeout = 5s;
    o.requestTimeout = 10s;
    o.autoSync = autoSync;
    o.autoSyncDebounce = debounce;
    o.backgroundSync = std::move(background);
    auto c = Client::open(o);
    EXPECT_TRUE(c.isOk()) << c.status();
    return c.isOk() ? std::move(*c) : nullptr;
  }
  static std::shared_ptr<Dataset> ds(Client& c, const std::string& name) {
    auto d = c.openOrCreateDataset(name);
    EXPECT_TRUE(d.isOk()) << d.status();
    return d.isOk() ? *d : nullptr;
  }
  static LiveSyncStats stats(Client& c) { return static_cast<ClientImpl&>(c).liveSyncStats(); }
  // A first device with an identity, which others then share.
  std::string newIdentity(Client& c) {
    auto id = c.getIdentityId(20s);
    EXPECT_TRUE(id.isOk()) << id.status();
    return id.isOk() ? *id : "";
  }
  // Propagation A -> B over `trials` writes of key "t" (B's listener sees it in B's store).
  std::vector<double> measure(Dataset& da, Dataset& db, Arrival& arrival, int trials, const std::string& tag) {
    std::vector<double> ms;
    for (int i = 0; i < trials; ++i) {
      std::string v = tag + std::to_string(i);
      arrival.expect(v);
      auto t0 = SteadyClock::now();
      EXPECT_TRUE(da.put("t", v).isOk());
      if (!arrival.wait(10s)) {
        ADD_FAILURE() << "trial " << i << " did not arrive";
        break;
      }
      std::lock_guard lock(arrival.mu);
      ms.push_back(std::chrono::duration<double, std::milli>(arrival.at - t0).count());
      EXPECT_TRUE(hasValue(db, "t", v));
    }
    return ms;
  }

  std::string dir_;
  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(LiveSyncIntegrationTest, WriteOnAReachesSubscribedBWithoutSynchronize) {
  auto a = open("a", "", true);
  std::string id = newIdentity(*a);
  auto b = open("b", id, true);
  auto da = ds(*a, "prefs");
  auto db = ds(*b, "prefs");
  ASSERT_TRUE(da->subscribe().isOk());
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(waitUntil([&] { return stats(*b).subscribeCalls >= 1 && stats(*a).subscribeCalls >= 1; }));

  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "theme", "dark"); }, 10s));
  EXPECT_FALSE(*db->isChanged("theme"));
  // And back: B's write reaches A the same way.
  ASSERT_TRUE(db->put("lang", "fr").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*da, "lang", "fr"); }, 10s));
  ASSERT_TRUE(db->remove("theme").isOk());
  ASSERT_TRUE(waitUntil([&] { auto v = da->get("theme"); return v.isOk() && !v->has_value(); }, 10s));
  ASSERT_TRUE(waitUntil([&] { return !*da->isChanged("lang") && !*db->isChanged("theme"); }, 10s));
  EXPECT_EQ(*da->getAll(), *db->getAll());
  EXPECT_EQ(*da->getAll(), (std::map<std::string, std::string>{{"lang", "fr"}}));
  EXPECT_GE(stats(*b).notifications, 1u);
}

// B loses its network (a proxy cut) while A writes; B also writes offline. Back online, B
// re-subscribes, pulls what it missed and pushes its own edit, with no app call.
TEST_F(LiveSyncIntegrationTest, OfflineSubscriberCatchesUpOnReconnect) {
  TcpProxy proxy(server_->port());
  auto a = open("a", "", true);
  std::string id = newIdentity(*a);
  auto failures = std::make_shared<std::pair<std::mutex, std::vector<std::string>>>();
  SyncCallbacks background;
  background.onFailure = [failures](Dataset&, const Status& s) {
    std::lock_guard lock(failures->first);
    failures->second.push_back(s.toString());
  };
  auto b = open("b", id, true, 20ms, "ws://127.0.0.1:" + std::to_string(proxy.port()), background);
  auto failureLog = [failures] {
    std::lock_guard lock(failures->first);
    std::string all;
    for (auto& f : failures->second) all += "\n  " + f;
    return all;
  };
  auto da = ds(*a, "notes");
  auto db = ds(*b, "notes");
  ASSERT_TRUE(da->subscribe().isOk());
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(da->put("n0", "before").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "n0", "before"); }, 10s));

  proxy.setOnline(false);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(da->put("n" + std::to_string(i), "while B is away").isOk());
  ASSERT_TRUE(db->put("from-b", "written offline").isOk());
  ASSERT_TRUE(waitUntil([&] { return !*da->isChanged("n5"); }, 10s));  // A pushed them
  EXPECT_EQ(*db->get("n5"), std::nullopt);
  EXPECT_TRUE(*db->isChanged("from-b"));

  uint64_t connectionsBefore = stats(*b).connections;
  proxy.setOnline(true);
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "n5", "while B is away"); }, 30s))
      << "B: connections " << stats(*b).connections << ", subscribes " << stats(*b).subscribeCalls
      << ", background syncs " << stats(*b).backgroundSyncs << ", last sync count "
      << *db->lastSyncCount() << "; background sync failures:" << failureLog();
  ASSERT_TRUE(waitUntil([&] { return hasValue(*da, "from-b", "written offline"); }, 30s));
  ASSERT_TRUE(waitUntil([&] { return !*db->isChanged("from-b"); }, 10s));
  EXPECT_GT(stats(*b).connections, connectionsBefore);
  EXPECT_EQ(*da->getAll(), *db->getAll());
  // Subscribed again on the new connection: a later change arrives by notification.
  ASSERT_TRUE(da->put("after", "reconnect").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "after", "reconnect"); }, 10s));
}

// A route that swallows connections (connect timeouts, again and again) must not crash or wedge
// the transport; once the route is back, B resumes on its own.
TEST_F(LiveSyncIntegrationTest, BlackholedRouteTimesOutThenSubscriberResumes) {
  TcpProxy proxy(server_->port());
  auto a = open("a", "", true);
  std::string id = newIdentity(*a);
  auto failures = std::make_shared<std::pair<std::mutex, std::vector<std::string>>>();
  SyncCallbacks background;
  background.onFailure = [failures](Dataset&, const Status& s) {
    std::lock_guard lock(failures->first);
    failures->second.push_back(s.message());
  };
  ClientOptions o;
  o.cachePath = dir_ + "/b.db";
  o.serverUrl = "ws://127.0.0.1:" + std::to_string(proxy.port());
  o.identityPoolId = server_->poolId();
  o.identityId = id;
  o.connectTimeout = 300ms;
  o.requestTimeout = 1s;
  o.autoSync = true;
  o.autoSyncDebounce = 0ms;
  o.backgroundSync = background;
  auto opened = Client::open(o);
  ASSERT_TRUE(opened.isOk()) << opened.status();
  auto& b = *opened;
  auto da = ds(*a, "route");
  auto db = ds(*b, "route");
  ASSERT_TRUE(da->subscribe().isOk());
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(da->put("k", "1").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "k", "1"); }, 10s));

  proxy.setBlackhole();
  ASSERT_TRUE(da->put("k", "2").isOk());
  ASSERT_TRUE(db->put("mine", "x").isOk());  // B keeps trying to push it
  // Each failed background sync starts a connection attempt, which the blackhole ends only by
  // B's connect timeout (the path that once used a freed lws handle).
  ASSERT_TRUE(waitUntil([&] {
    std::lock_guard lock(failures->first);
    return failures->second.size() >= 3;
  }, 30s));
  EXPECT_EQ(*db->get("k"), "1");
  proxy.setOnline(true);
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "k", "2") && hasValue(*da, "mine", "x"); }, 40s))
      << [&] {
           std::lock_guard lock(failures->first);
           std::string all = "B: connections " + std::to_string(stats(*b).connections) + ", subscribes " +
                             std::to_string(stats(*b).subscribeCalls) + ", syncs " +
                             std::to_string(stats(*b).backgroundSyncs) + "; failures:";
           for (auto& f : failures->second) all += "\n  " + f;
           return all;
         }();
}

TEST_F(LiveSyncIntegrationTest, ServerRestartedUnderSubscribedClientsTheyResume) {
  auto a = open("a", "", true);
  std::string id = newIdentity(*a);
  auto b = open("b", id, true);
  auto c = open("c", id, true);
  auto da = ds(*a, "prefs");
  auto db = ds(*b, "prefs");
  auto dc = ds(*c, "prefs");
  for (auto* d : {da.get(), db.get(), dc.get()}) ASSERT_TRUE(d->subscribe().isOk());
  ASSERT_TRUE(da->put("k", "1").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "k", "1") && hasValue(*dc, "k", "1"); }, 10s));

  ASSERT_EQ(server_->stop(), 0);
  ASSERT_TRUE(server_->restart());
  ASSERT_TRUE(da->put("k", "2").isOk());  // may first fail offline: auto-sync retries
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "k", "2") && hasValue(*dc, "k", "2"); }, 40s))
      << "b has " << db->get("k")->value_or("-") << ", c has " << dc->get("k")->value_or("-");
  // Subscriptions were renewed (not just a catch-up sync): a change from C reaches A and B.
  ASSERT_TRUE(dc->put("k", "3").isOk());
  ASSERT_TRUE(waitUntil([&] { return hasValue(*da, "k", "3") && hasValue(*db, "k", "3"); }, 10s));
}

TEST_F(LiveSyncIntegrationTest, BurstOfThousandWritesEndsEqualWithCoalescedNotifications) {
  auto a = open("a", "", true, 50ms);
  std::string id = newIdentity(*a);
  auto b = open("b", id, false);
  auto da = ds(*a, "burst");
  auto db = ds(*b, "burst");
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(waitUntil([&] { return stats(*b).subscribeCalls >= 1; }));
  constexpr int kWrites = 1000;
  auto t0 = SteadyClock::now();
  for (int i = 0; i < kWrites; ++i)
    ASSERT_TRUE(da->put("k" + std::to_string(i % 200), "v" + std::to_string(i)).isOk());
  double writeMs = msSince(t0);
  ASSERT_TRUE(waitUntil([&] { return hasValue(*db, "k199", "v999") && !*da->isChanged("k199"); }, 60s));
  ASSERT_TRUE(waitUntil([&] { return *db->getAll() == *da->getAll(); }, 20s));
  double totalMs = msSince(t0);
  EXPECT_EQ(db->getAll()->size(), 200u);
  EXPECT_EQ(*db->lastSyncCount(), *da->lastSyncCount());
  LiveSyncStats sa = stats(*a), sb = stats(*b);
  std::printf("[ metric ] %d writes on A (%.0f ms local): A pushed in %llu background syncs; B got %llu "
              "notifications, ran %llu syncs; equal after %.0f ms\n",
              kWrites, writeMs, static_cast<unsigned long long>(sa.backgroundSyncs),
              static_cast<unsigned long long>(sb.notifications),
              static_cast<unsigned long long>(sb.backgroundSyncs), totalMs);
  EXPECT_LT(sa.backgroundSyncs, static_cast<uint64_t>(kWrites) / 5);
  EXPECT_LE(sb.notifications, sa.backgroundSyncs);
  EXPECT_LE(sb.backgroundSyncs, sb.notifications + 1);
}

// A subscriber of the same identity that stops reading its socket (its queue full of pulls)
// must not slow propagation to the other devices.
TEST_F(LiveSyncIntegrationTest, StalledSubscriberDoesNotSlowOtherClients) {
  auto a = open("a", "", true, 0ms);
  std::string id = newIdentity(*a);
  auto b = open("b", id, false);
  auto da = ds(*a, "hot");
  auto db = ds(*b, "hot");
  Arrival arrival;
  b->addChangeListener([&](const std::string& name, const std::vector<std::string>& keys) {
    if (name != "hot" || std::find(keys.begin(), keys.end(), "t") == keys.end()) return;
    auto v = db->get("t");
    if (v.isOk() && *v) arrival.observe(**v);
  });
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(waitUntil([&] { return stats(*b).subscribeCalls >= 1; }));
  constexpr int kTrials = 30;
  std::vector<double> base = measure(*da, *db, arrival, kTrials, "base");

  // ~1 MB dataset whose pulls fill the stalled reader's socket buffers.
  {
    auto bulk = ds(*a, "bulk");
    for (int i = 0; i < 15; ++i) ASSERT_TRUE(bulk->put("b" + std::to_string(i), std::string(65000, 'x')).isOk());
    ASSERT_TRUE(waitUntil([&] { return !*bulk->isChanged("b14"); }, 20s));
  }
  auto stalled = WsTestClient::connect(server_->url());
  ASSERT_TRUE(stalled);
  ASSERT_TRUE(stalled->loginAs(id).isOk());
  ASSERT_TRUE(stalled->callAs<proto::SubscribeResponse>(proto::SubscribeRequest{{"hot"}, "stalled"}).isOk());
  stalled->setReading(false);
  for (int i = 0; i < 10; ++i) stalled->sendRequest(proto::ListRecordsRequest{"bulk", 0, 0, ""});

  std::vector<double> withStalled = measure(*da, *db, arrival, kTrials, "stalled");
  double p50Base = percentile(base, 0.5), p50Stalled = percentile(withStalled, 0.5);
  std::printf("[ metric ] A->B propagation p50 %.2f ms alone, %.2f ms with a stalled subscriber "
              "(p99 %.2f / %.2f ms)\n", p50Base, p50Stalled, percentile(base, 0.99),
              percentile(withStalled, 0.99));
  ASSERT_EQ(withStalled.size(), static_cast<size_t>(kTrials));
  EXPECT_LT(p50Stalled, p50Base * 5 + 50.0);
  stalled->setReading(true);
  EXPECT_TRUE(stalled->isOpen());
}

// Issue 6's figure: A put -> B's listener sees the value in B's local store, on loopback.
TEST_F(LiveSyncIntegrationTest, PropagationLatencyP50P99Over200Trials) {
  auto a = open("a", "", true, 0ms);
  std::string id = newIdentity(*a);
  auto b = open("b", id, false);
  auto da = ds(*a, "lat");
  auto db = ds(*b, "lat");
  Arrival arrival;
  b->addChangeListener([&](const std::string& name, const std::vector<std::string>& keys) {
    if (name != "lat" || std::find(keys.begin(), keys.end(), "t") == keys.end()) return;
    auto v = db->get("t");
    if (v.isOk() && *v) arrival.observe(**v);
  });
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(waitUntil([&] { return stats(*b).subscribeCalls >= 1; }));
  measure(*da, *db, arrival, 5, "warm");  // connection, identity and first sync out of the way
  std::vector<double> ms = measure(*da, *db, arrival, 200, "v");
  ASSERT_EQ(ms.size(), 200u);
  double p50 = percentile(ms, 0.5), p99 = percentile(ms, 0.99);
  std::printf("[ metric ] propagation A put -> B listener (value in B's store), 200 trials: "
              "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", p50, p99, *std::max_element(ms.begin(), ms.end()));
  EXPECT_LT(p50, 500.0);  // generous: loopback, but machines in CI are shared
  EXPECT_LT(p99, 3000.0);
}

// The C API: auto_sync on A, tether_dataset_subscribe + a change listener with user data on B.
struct CHeard {
  std::mutex mu;
  std::vector<std::string> keys;
  std::string dataset;
};

void cListener(void* ud, const char* dataset, const char* const* keys, size_t count) {
  auto* h = static_cast<CHeard*>(ud);
  std::lock_guard lock(h->mu);
  h->dataset = dataset;
  for (size_t i = 0; i < count; ++i) h->keys.emplace_back(keys[i]);
}

TEST_F(LiveSyncIntegrationTest, CApiSubscribeAutoSyncAndChangeListener) {
  auto openC = [&](const std::string& name, const char* identity, int autoSync) {
    tether_client_options o;
    tether_client_options_init(&o);
    EXPECT_EQ(o.auto_sync_debounce_ms, -1);  // "default", not "at once"
    std::string cache = dir_ + "/" + name + ".db";
    std::string url = server_->url(), pool = server_->poolId();
    o.cache_path = cache.c_str();
    o.server_url = url.c_str();
    o.identity_pool_id = pool.c_str();
    o.identity_id = identity;
    o.auto_sync = autoSync;
    tether_client* c = nullptr;
    EXPECT_EQ(tether_client_open(&o, &c), TETHER_OK) << tether_last_error();
    return c;
  };
  tether_client* a = openC("ca", nullptr, 1);
  ASSERT_NE(a, nullptr);
  char* id = nullptr;
  ASSERT_EQ(tether_client_identity_id(a, 20000, &id), TETHER_OK) << tether_last_error();
  tether_client* b = openC("cb", id, 0);
  tether_free(id);
  ASSERT_NE(b, nullptr);
  CHeard heard;
  uint64_t listenerId = 0;
  ASSERT_EQ(tether_client_add_change_listener(b, cListener, &heard, &listenerId), TETHER_OK);
  EXPECT_NE(listenerId, 0u);
  EXPECT_EQ(tether_client_add_change_listener(b, nullptr, nullptr, &listenerId), TETHER_INVALID_ARGUMENT);
  tether_dataset *da = nullptr, *db = nullptr;
  ASSERT_EQ(tether_client_open_dataset(a, "cprefs", &da), TETHER_OK);
  ASSERT_EQ(tether_client_open_dataset(b, "cprefs", &db), TETHER_OK);
  ASSERT_EQ(tether_dataset_subscribe(db), TETHER_OK);
  EXPECT_EQ(tether_dataset_subscribe(nullptr), TETHER_INVALID_ARGUMENT);
  ASSERT_EQ(tether_dataset_put(da, "color", "blue"), TETHER_OK);  // no synchronize anywhere
  auto bHas = [&] {
    char* v = nullptr;
    bool ok = tether_dataset_get(db, "color", &v) == TETHER_OK && v && std::string(v) == "blue";
    tether_free(v);
    return ok;
  };
  ASSERT_TRUE(waitUntil(bHas, 15s));
  ASSERT_TRUE(waitUntil([&] { std::lock_guard l(heard.mu); return !heard.keys.empty(); }, 5s));
  {
    std::lock_guard lock(heard.mu);
    EXPECT_EQ(heard.dataset, "cprefs");
    EXPECT_EQ(heard.keys, std::vector<std::string>{"color"});
  }
  EXPECT_EQ(tether_client_remove_change_listener(b, listenerId), TETHER_OK);
  EXPECT_EQ(tether_dataset_unsubscribe(db), TETHER_OK);
  tether_dataset_release(da);
  tether_dataset_release(db);
  tether_client_close(a);
  tether_client_close(b);
}

// docs/live-sync.md as a test: `tether watch` prints what `tether put` + `tether sync` on
// another device wrote, then exits 0 on SIGINT.
TEST_F(LiveSyncIntegrationTest, CliWatchPrintsChangesFromAnotherDevice) {
  const std::string cli = envOr("TETHER_CLI_BIN", "tether");
  auto base = [&](const std::string& cache) {
    return std::vector<std::string>{cli, "--server", server_->url(), "--pool", server_->poolId(),
                                    "--cache", dir_ + "/" + cache};
  };
  auto whoami = base("a.db");
  whoami.push_back("whoami");
  auto who = runProcess(whoami, dir_);
  ASSERT_EQ(who.exitCode, 0) << who.err;
  std::string id = who.out.substr(0, who.out.find('\n'));

  auto watchArgs = base("b.db");
  for (const char* s : {"--identity", id.c_str(), "watch", "prefs"}) watchArgs.emplace_back(s);
  std::string outFile = dir_ + "/watch.out", errFile = dir_ + "/watch.err";
  pid_t pid = spawnProcess(watchArgs, outFile, errFile);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(waitUntil([&] { return slurp(errFile).find("watching prefs") != std::string::npos; }, 10s))
      << slurp(errFile);

  auto put = base("a.db");
  for (const char* s : {"put", "prefs", "theme", "dark"}) put.emplace_back(s);
  ASSERT_EQ(runProcess(put, dir_).exitCode, 0);
  auto sync = base("a.db");
  for (const char* s : {"sync", "prefs"}) sync.emplace_back(s);
  auto synced = runProcess(sync, dir_);
  ASSERT_EQ(synced.exitCode, 0) << synced.err;
  bool printed = waitUntil([&] { return slurp(outFile).find("prefs theme=dark syncCount=1") != std::string::npos; }, 15s);
  kill(pid, SIGINT);
  int rc = waitProcess(pid, 10s);
  ASSERT_TRUE(printed) << "watch printed: " << slurp(outFile) << slurp(errFile);
  EXPECT_EQ(rc, 0) << slurp(errFile);
}

}  // namespace
}  // namespace tether::client::testing
