// Convergence under faults, Jepsen-style (issue 13, point 3), against a real tetherd: 8
// libtether devices of 3 identities do random puts, removes, dataset deletions and syncs with
// random conflict decisions (remote / local / a new value / last-writer-wins / stop), each
// through its own FaultProxy (tests/support/fault_proxy.h: delays, cuts mid-frame, dropped
// routes, requests duplicated on reconnect), while tetherd is paused (SIGSTOP/SIGCONT) and
// killed (SIGKILL) and restarted. One driver thread runs the operations one after another, so
// the history is sequential and a checker can hold the system to it:
//   - no acknowledged write lost: when a sync returns ok, the device equals the server (read
//     directly, not through a proxy); that server state is recorded, and every later look at the
//     server (after each kill and restart, and at the end) must show each recorded record at the
//     same sync count with the same value, or at a higher sync count (overwritten later), unless
//     the server says the dataset was deleted since (ListRecords' deleted-after flag);
//   - no silent overwrite: a local edit not yet pushed that a sync (ok or failed) replaced went
//     through the conflict handler;
//   - after quiescence (faults off, server up, sync rounds until every device synced ok) every
//     device of an identity equals the server.
// Knobs: TETHER_CONVERGENCE_SEEDS (seeds run after the fixed ones; `make convergence SEEDS=N`),
// TETHER_CONVERGENCE_OPS (operations per seed), TETHER_TORTURE_SEED (first extra seed).
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_proxy.h"
#include "tetherd_process.h"
#include "tether/client.h"
#include "torture_util.h"
#include "ws_test_client.h"

namespace tether::testing::torture {
namespace {

using namespace tether::proto;

constexpr int kDevices = 8;
constexpr int kIdentities = 3;
const std::vector<std::string> kDatasets = {"game", "prefs"};

struct Totals {
  int64_t seeds = 0, ops = 0, syncsOk = 0, syncsFailed = 0, conflicts = 0, checks = 0, checksSkipped = 0,
          pauses = 0, kills = 0, cuts = 0, drops = 0, duplicates = 0, delayedConnections = 0, connections = 0;
};
Totals totals;

// What the server held for a dataset when a device's sync was acknowledged.
struct Snapshot {
  bool valid = false;
  int64_t datasetSyncCount = 0;
  std::map<std::string, Record> records;
};

class SeedRun {
 public:
  SeedRun(uint32_t seed, int ops) : seed_(seed), ops_(ops), rng_(seed) {}

  void go() {
    SCOPED_TRACE("convergence seed " + std::to_string(seed_));
    server_ = TetherdProcess::start();
    ASSERT_NE(server_, nullptr);
    dir_ = makeTempDir("torture-convergence").string();
    for (int i = 0; i < kIdentities; ++i) {
      auto ws = WsTestClient::connect(server_->url());
      ASSERT_NE(ws, nullptr);
      auto id = ws->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
      ASSERT_TRUE(id.isOk()) << id.status();
      identities_.push_back(id->identityId);
    }
    for (int d = 0; d < kDevices; ++d) {
      Device dev;
      dev.identity = d % kIdentities;
      dev.proxy = std::make_unique<FaultProxy>(server_->port(), seed_ * 31 + static_cast<uint32_t>(d));
      ClientOptions o;
      o.serverUrl = "ws://127.0.0.1:" + std::to_string(dev.proxy->port());
      o.identityPoolId = server_->poolId();
      o.identityId = identities_[static_cast<size_t>(dev.identity)];
      o.cachePath = dir_ + "/device" + std::to_string(d) + ".db";
      o.deviceName = "device" + std::to_string(d);
      o.requestTimeout = std::chrono::milliseconds(1500);
      o.connectTimeout = std::chrono::milliseconds(1500);
      auto c = Client::open(o);
      ASSERT_TRUE(c.isOk()) << c.status();
      dev.client = std::move(*c);
      for (const std::string& n : kDatasets) {
        auto ds = dev.client->openOrCreateDataset(n);
        ASSERT_TRUE(ds.isOk()) << ds.status();
        dev.ds[n] = *ds;
      }
      devices_.push_back(std::move(dev));
    }
    setFaults(true);
    for (int op = 0; op < ops_; ++op) {
      step(op);
      if (::testing::Test::HasFatalFailure() || ::testing::Test::HasFailure()) {
        ADD_FAILURE() << "at op " << op << " of seed " << seed_;
        return;
      }
    }
    quiesce();
    for (Device& d : devices_) {
      const auto& c = d.proxy->counters();
      totals.cuts += c.cuts;
      totals.drops += c.drops;
      totals.duplicates += c.duplicates;
      totals.delayedConnections += c.delayed;
      totals.connections += c.connections;
    }
    totals.ops += ops_;
    ++totals.seeds;
  }

 private:
  struct Device {
    int identity = 0;
    std::unique_ptr<FaultProxy> proxy;
    std::unique_ptr<Client> client;
    std::map<std::string, std::shared_ptr<Dataset>> ds;
  };

  void setFaults(bool on) {
    for (Device& d : devices_) {
      FaultProxy::Faults f;
      f.on = on;
      if (on) {
        // Each device gets its own mix; some devices have a clean network at times.
        f.cutPercent = static_cast<int>(rng_() % 30);
        f.dropPercent = static_cast<int>(rng_() % 6);
        f.duplicatePercent = 30 + static_cast<int>(rng_() % 70);
        f.maxDelayMs = static_cast<int>(rng_() % 60);
        f.maxBytesBeforeFault = 3000;
        f.dropHoldMs = 2000;
      }
      d.proxy->setFaults(f);
    }
  }

  // The server's view of a dataset, read directly (no proxy). With `since` >= 0 also whether the
  // dataset was deleted after that sync count.
  Result<ListRecordsResponse> serverView(int identity, const std::string& dataset, int64_t since = 0) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto& ws = observers_[identity];
      if (!ws || !ws->isOpen()) {
        ws = WsTestClient::connect(server_->url());
        if (!ws) continue;
        if (!ws->loginAs(identities_[static_cast<size_t>(identity)]).isOk()) {
          ws.reset();
          continue;
        }
      }
      if (since > 0) {
        ListRecordsRequest rq{dataset, since, 0, ""};
        auto r = ws->callAs<ListRecordsResponse>(rq);
        if (r.isOk()) return r;
      } else {
        auto r = pullAll(*ws, dataset);
        if (r.isOk()) return r;
      }
      ws.reset();
    }
    return Status::unavailable("observer cannot read the server");
  }

  static std::map<std::string, std::string> live(const std::vector<Record>& records) {
    std::map<std::string, std::string> out;
    for (const Record& r : records)
      if (r.value) out[r.key] = *r.value;
    return out;
  }

  // No acknowledged write lost: the recorded state of (identity, dataset) is still there or
  // was overwritten later (higher record sync count), unless the dataset was deleted since.
  void checkNoLoss(int identity, const std::string& dataset, const char* when) {
    Snapshot& snap = acked_[{identity, dataset}];
    if (!snap.valid) return;
    auto now = serverView(identity, dataset);
    ASSERT_TRUE(now.isOk()) << now.status();
    auto delta = serverView(identity, dataset, snap.datasetSyncCount);
    ASSERT_TRUE(delta.isOk()) << delta.status();
    if (delta->datasetDeletedAfterRequestedSyncCount || !now->datasetExists) {
      snap.valid = false;  // a device deleted it since: nothing recorded before is owed
      return;
    }
    EXPECT_GE(now->datasetSyncCount, snap.datasetSyncCount) << when << ": the dataset's sync count went back";
    std::map<std::string, Record> byKey;
    for (const Record& r : now->records) byKey[r.key] = r;
    for (const auto& [key, rec] : snap.records) {
      auto it = byKey.find(key);
      if (it == byKey.end()) {
        ADD_FAILURE() << when << ": acknowledged record " << dataset << "/" << key << " lost";
        continue;
      }
      const Record& r = it->second;
      EXPECT_TRUE(r.syncCount > rec.syncCount || (r.syncCount == rec.syncCount && r.value == rec.value))
          << when << ": acknowledged " << dataset << "/" << key << " = " << rec.value.value_or("(removed)")
          << " at " << rec.syncCount << " became " << r.value.value_or("(removed)") << " at " << r.syncCount;
    }
    ++totals.checks;
  }

  void checkAllNoLoss(const char* when) {
    for (int i = 0; i < kIdentities; ++i)
      for (const std::string& n : kDatasets) {
        checkNoLoss(i, n, when);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }

  // One sync of one dataset on one device, with the checks. `finalRound`: conflicts resolved
  // with the remote record (so that the last rounds converge), faults are off.
  bool checkedSync(int d, const std::string& name, bool finalRound) {
    Device& dev = devices_[static_cast<size_t>(d)];
    Dataset& ds = *dev.ds[name];
    std::map<std::string, std::optional<std::string>> dirtyBefore;
    auto before = ds.getAllRecords();
    EXPECT_TRUE(before.isOk()) << before.status();
    if (!before.isOk()) return false;
    for (auto& r : *before)
      if (r.dirty) dirtyBefore[r.record.key] = r.record.value;
    std::set<std::string> handled;
    SyncCallbacks cb;
    cb.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
      for (auto& c : cs) {
        handled.insert(c.key());
        ++totals.conflicts;
        if (finalRound) {
          c.resolveWithRemoteRecord();
          continue;
        }
        switch (rng_() % 5) {
          case 0: c.resolveWithRemoteRecord(); break;
          case 1: c.resolveWithLocalRecord(); break;
          case 2: c.resolveWithValue("resolved-" + std::to_string(rng_() % 5)); break;
          case 3: c.resolveWithValue(std::nullopt); break;
          default: break;  // unresolved: last-writer-wins
        }
      }
      if (!finalRound && rng_() % 20 == 0) return SyncAction::kStop;
      return SyncAction::kContinue;
    };
    auto r = ds.synchronizeAndWait(cb, std::chrono::seconds(20));
    if (r.isOk()) ++totals.syncsOk;
    else ++totals.syncsFailed;
    lastStatus_ = r.isOk() ? Status::ok() : r.status();
    auto after = ds.getAllRecords();
    EXPECT_TRUE(after.isOk()) << after.status();
    if (!after.isOk()) return false;
    for (auto& rec : *after) {
      auto it = dirtyBefore.find(rec.record.key);
      if (it != dirtyBefore.end() && it->second != rec.record.value && !rec.dirty)
        EXPECT_TRUE(handled.count(rec.record.key))
            << "device " << d << ": local edit of " << name << "/" << rec.record.key << " ("
            << it->second.value_or("(removed)") << ") replaced by " << rec.record.value.value_or("(removed)")
            << " without the conflict handler (sync " << (r.isOk() ? "ok" : r.status().toString()) << ")";
    }
    if (!r.isOk()) {
      StatusCode c = r.status().code();
      EXPECT_TRUE(c == StatusCode::kUnavailable || c == StatusCode::kCancelled || c == StatusCode::kConflict)
          << "device " << d << ": sync failed with an unexpected status under network faults: " << r.status();
      return false;
    }
    for (auto& rec : *after) EXPECT_FALSE(rec.dirty) << "dirty after an ok sync: " << rec.record.key;
    // Acknowledged: the device equals the server, unless the server moved on since (a late
    // duplicate or a request the server read after the client gave up on it).
    auto view = serverView(dev.identity, name);
    EXPECT_TRUE(view.isOk()) << view.status();
    if (!view.isOk()) return false;
    auto last = ds.lastSyncCount();
    if (!last.isOk() || *last != view->datasetSyncCount) {
      ++totals.checksSkipped;
      return true;
    }
    auto mine = ds.getAll();
    EXPECT_TRUE(mine.isOk());
    EXPECT_EQ(*mine, live(view->records)) << "device " << d << " after an ok sync of " << name;
    checkNoLoss(dev.identity, name, "before recording a sync");
    Snapshot& snap = acked_[{dev.identity, name}];
    snap.valid = view->datasetExists;
    snap.datasetSyncCount = view->datasetSyncCount;
    snap.records.clear();
    for (const Record& rec : view->records) snap.records[rec.key] = rec;
    ++totals.checks;
    return true;
  }

  // After SIGCONT or a restart: one request per identity through the server's per-identity
  // strand, behind whatever the server still had queued.
  void barrier() {
    for (int i = 0; i < kIdentities; ++i) (void)serverView(i, kDatasets[0]);
  }

  void step(int op) {
    const int d = static_cast<int>(rng_() % kDevices);
    Device& dev = devices_[static_cast<size_t>(d)];
    const std::string& name = kDatasets[rng_() % kDatasets.size()];
    const std::string key = "k" + std::to_string(rng_() % 6);
    const int r = static_cast<int>(rng_() % 100);
    if (r < 35) {
      Status s = dev.ds[name]->put(key, "d" + std::to_string(d) + "-" + std::to_string(op));
      ASSERT_TRUE(s.isOk()) << s;
    } else if (r < 45) {
      Status s = dev.ds[name]->remove(key);
      ASSERT_TRUE(s.isOk()) << s;
    } else if (r < 47) {
      // kNotFound: nothing local to delete (already deleted here, or by a sync that accepted
      // the server's deletion, and not written since).
      Status s = dev.ds[name]->remove();
      ASSERT_TRUE(s.isOk() || s.code() == StatusCode::kNotFound) << s;
    } else if (r < 88) {
      checkedSync(d, name, false);
    } else if (r < 92) {
      setFaults(true);  // a new mix of faults
    } else if (r < 94) {
      // Pause the server (SIGSTOP) across a sync: it times out; then SIGCONT.
      ++totals.pauses;
      ASSERT_EQ(::kill(server_->pid(), SIGSTOP), 0);
      checkedSync(d, name, false);
      ASSERT_EQ(::kill(server_->pid(), SIGCONT), 0);
      barrier();
    } else if (r < 96) {
      // Kill -9 and restart: nothing acknowledged may be missing afterwards.
      ++totals.kills;
      server_->kill9();
      checkedSync(d, name, false);  // while it is down: fails fast, nothing applied
      ASSERT_TRUE(restartServer(*server_));
      observers_.clear();
      checkAllNoLoss("after kill -9 and restart");
    } else {
      dev.proxy->cutAll();
    }
  }

  void quiesce() {
    setFaults(false);
    for (Device& d : devices_) d.proxy->cutAll();
    barrier();
    checkAllNoLoss("before quiescence");
    for (int round = 0; round < 3; ++round)
      for (int d = 0; d < kDevices; ++d)
        for (const std::string& n : kDatasets) {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (!checkedSync(d, n, true)) {
            if (::testing::Test::HasFailure()) return;
            if (std::chrono::steady_clock::now() > deadline) {
              // Whose fault: does the server answer this identity on a direct connection?
              auto direct = serverView(devices_[static_cast<size_t>(d)].identity, n);
              const auto& pc = devices_[static_cast<size_t>(d)].proxy->counters();
              const int64_t toServer = pc.bytesToServer, toClient = pc.bytesToClient;
              (void)checkedSync(d, n, true);
              FAIL() << "device " << d << " never synced " << n << ": " << lastStatus_
                     << "; the server read directly: " << (direct.isOk() ? "ok" : direct.status().toString())
                     << "; proxy: " << pc.live.load() << " live connections, " << pc.connections.load()
                     << " in all; one more sync relayed " << (pc.bytesToServer - toServer) << " bytes to the server and "
                     << (pc.bytesToClient - toClient) << " back";
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));  // retry pacing
          }
        }
    checkAllNoLoss("after quiescence");
    for (int i = 0; i < kIdentities; ++i)
      for (const std::string& n : kDatasets) {
        auto view = serverView(i, n);
        ASSERT_TRUE(view.isOk());
        auto truth = live(view->records);
        for (int d = 0; d < kDevices; ++d) {
          if (devices_[static_cast<size_t>(d)].identity != i) continue;
          auto mine = devices_[static_cast<size_t>(d)].ds[n]->getAll();
          ASSERT_TRUE(mine.isOk());
          EXPECT_EQ(*mine, truth) << "device " << d << " differs from the server on " << n << " after quiescence";
        }
      }
  }

  uint32_t seed_;
  int ops_;
  std::mt19937 rng_;
  std::unique_ptr<TetherdProcess> server_;
  std::string dir_;
  std::vector<std::string> identities_;
  std::vector<Device> devices_;
  std::map<int, std::unique_ptr<WsTestClient>> observers_;
  std::map<std::pair<int, std::string>, Snapshot> acked_;
  Status lastStatus_;
};

void report() {
  std::printf("convergence under faults: %lld seeds x ops = %lld ops (8 devices, 3 identities); syncs %lld ok "
              "/ %lld failed; %lld conflicts through the handler; %lld no-loss checks (%lld skipped: server "
              "moved on); faults: %lld connections, %lld cut, %lld dropped, %lld duplicated requests, %lld "
              "delayed; %lld server pauses, %lld kill -9s\n",
              static_cast<long long>(totals.seeds), static_cast<long long>(totals.ops),
              static_cast<long long>(totals.syncsOk), static_cast<long long>(totals.syncsFailed),
              static_cast<long long>(totals.conflicts), static_cast<long long>(totals.checks),
              static_cast<long long>(totals.checksSkipped), static_cast<long long>(totals.connections),
              static_cast<long long>(totals.cuts), static_cast<long long>(totals.drops),
              static_cast<long long>(totals.duplicates), static_cast<long long>(totals.delayedConnections),
              static_cast<long long>(totals.pauses), static_cast<long long>(totals.kills));
  std::fflush(stdout);
}

// Found by the seeds above: a connection that went silent (here: the proxy swallows everything
// without closing; in the runs, a connection lws had retired) kept the client "connected", so
// every later request timed out on it forever. A request timeout with nothing received on the
// connection meanwhile now drops the connection, and the next sync connects again.
TEST(ConvergenceUnderFaults, SilentConnectionIsDroppedAfterARequestTimeout) {
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  FaultProxy proxy(server->port(), 7);
  ClientOptions o;
  o.serverUrl = "ws://127.0.0.1:" + std::to_string(proxy.port());
  o.identityPoolId = server->poolId();
  o.cachePath = makeTempDir("torture-silent").string() + "/device.db";
  o.requestTimeout = std::chrono::milliseconds(1000);
  auto c = Client::open(o);
  ASSERT_TRUE(c.isOk()) << c.status();
  auto ds = (*c)->openOrCreateDataset("d");
  ASSERT_TRUE(ds.isOk());
  ASSERT_TRUE((*ds)->put("k", "v1").isOk());
  auto first = (*ds)->synchronizeAndWait({}, std::chrono::seconds(30));
  ASSERT_TRUE(first.isOk()) << first.status();
  proxy.silenceAll(10 * 60 * 1000);  // the open connection goes silent for 10 minutes
  ASSERT_TRUE((*ds)->put("k", "v2").isOk());
  auto silent = (*ds)->synchronizeAndWait({}, std::chrono::seconds(30));
  EXPECT_EQ(silent.status().code(), StatusCode::kUnavailable) << "the silent connection answers nothing";
  bool synced = waitUntil([&] { return (*ds)->synchronizeAndWait({}, std::chrono::seconds(5)).isOk(); },
                          std::chrono::seconds(20));
  EXPECT_TRUE(synced) << "the client kept the silent connection instead of connecting again";
  EXPECT_GE(proxy.counters().connections.load(), 2);
}

TEST(ConvergenceUnderFaults, FixedSeeds) {
  const int ops = static_cast<int>(envInt("TETHER_CONVERGENCE_OPS", 150));
  for (uint32_t seed : {1u, 2u}) {
    SeedRun(seed, ops).go();
    if (HasFailure()) break;
  }
  report();
  EXPECT_GT(totals.syncsOk, 0);
  EXPECT_GT(totals.conflicts, 0) << "the workload really made concurrent edits";
  EXPECT_GT(totals.cuts, 0) << "faults were really injected";
}

TEST(ConvergenceUnderFaults, MoreSeedsFromEnvironment) {
  const int64_t n = envInt("TETHER_CONVERGENCE_SEEDS", 0);
  if (n == 0) GTEST_SKIP() << "TETHER_CONVERGENCE_SEEDS=N runs N more seeds (make convergence / make torture)";
  const int ops = static_cast<int>(envInt("TETHER_CONVERGENCE_OPS", 150));
  const uint32_t first = static_cast<uint32_t>(envInt("TETHER_TORTURE_SEED", 1000));
  totals = Totals{};
  for (int64_t i = 0; i < n && !HasFailure(); ++i) {
    SeedRun(first + static_cast<uint32_t>(i), ops).go();
    if (i % 10 == 9) report();
  }
  report();
}

}  // namespace
}  // namespace tether::testing::torture
