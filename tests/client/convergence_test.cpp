// Seeded randomized convergence: several devices of one identity do hundreds of random
// put / remove / sync operations against the fake server. Invariants checked after every sync:
// the device equals the server; every local edit that the sync replaced went through the
// conflict handler. At the end all devices and the server agree.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "test_util.h"

namespace tether::client::testing {
namespace {

void runConvergence(uint32_t seed, int devices, int ops) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::string dir = makeTempDir("convergence");
  auto server = std::make_shared<FakeServer>();
  // Coarse shared clock: ties in device-last-modified happen and exercise the tie-break.
  auto ticks = std::make_shared<std::atomic<int64_t>>(0);
  auto clock = [ticks] { return 1'700'000'000'000 + (ticks->fetch_add(1) / 3); };

  std::vector<std::unique_ptr<TestDevice>> devs;
  devs.push_back(TestDevice::open(server, dir + "/d0.db", clock));
  auto id = devs[0]->client->getIdentityId();
  ASSERT_TRUE(id.isOk());
  for (int i = 1; i < devices; ++i)
    devs.push_back(TestDevice::open(server, dir + "/d" + std::to_string(i) + ".db", clock, *id));
  std::vector<std::shared_ptr<Dataset>> ds;
  for (auto& d : devs) ds.push_back(d->dataset("game"));

  int conflictsSeen = 0;
  auto checkedSync = [&](int i) {
    Dataset& d = *ds[i];
    std::map<std::string, std::optional<std::string>> dirtyBefore;
    auto before = d.getAllRecords();
    ASSERT_TRUE(before.isOk());
    for (auto& r : *before)
      if (r.dirty) dirtyBefore[r.record.key] = r.record.value;
    std::set<std::string> handled;
    SyncCallbacks cb;
    cb.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
      for (auto& c : cs) {
        handled.insert(c.key());
        ++conflictsSeen;
        switch (rng() % 4) {
          case 0: c.resolveWithRemoteRecord(); break;
          case 1: c.resolveWithLocalRecord(); break;
          case 2: c.resolveWithValue("resolved-" + std::to_string(rng() % 5)); break;
          default: break;  // unresolved: last-writer-wins
        }
      }
      return SyncAction::kContinue;
    };
    auto r = d.synchronizeAndWait(cb, std::chrono::seconds(20));
    ASSERT_TRUE(r.isOk()) << r.status();
    auto after = d.getAllRecords();
    ASSERT_TRUE(after.isOk());
    for (auto& rec : *after) {
      EXPECT_FALSE(rec.dirty) << rec.record.key;
      auto it = dirtyBefore.find(rec.record.key);
      if (it != dirtyBefore.end() && it->second != rec.record.value) {
        EXPECT_TRUE(handled.count(rec.record.key)) << "edit to " << rec.record.key
                                                   << " replaced without the conflict handler";
      }
    }
    EXPECT_EQ(*d.getAll(), server->liveValues(*id, "game"));
  };

  for (int op = 0; op < ops; ++op) {
    int i = static_cast<int>(rng() % devs.size());
    std::string key = "k" + std::to_string(rng() % 12);
    switch (rng() % 5) {
      case 0: case 1:
        ASSERT_TRUE(ds[i]->put(key, "v" + std::to_string(rng() % 1000)).isOk());
        break;
      case 2:
        ASSERT_TRUE(ds[i]->remove(key).isOk());
        break;
      default:
        checkedSync(i);
        if (::testing::Test::HasFatalFailure()) return;
        break;
    }
  }
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < devices; ++i) {
      checkedSync(i);
      if (::testing::Test::HasFatalFailure()) return;
    }
  auto truth = server->liveValues(*id, "game");
  for (int i = 0; i < devices; ++i) EXPECT_EQ(*ds[i]->getAll(), truth) << "device " << i;
  EXPECT_GT(conflictsSeen, 0);  // the workload really produced concurrent overwrites
}

TEST(ConvergenceTest, ThreeDevicesSeed1) { runConvergence(1, 3, 400); }
TEST(ConvergenceTest, FourDevicesSeed42) { runConvergence(42, 4, 500); }
TEST(ConvergenceTest, TwoDevicesSeed7) { runConvergence(7, 2, 300); }

}  // namespace
}  // namespace tether::client::testing

namespace tether::client::testing {
namespace {

// Soak: TETHER_CONVERGENCE_EXTRA_SEEDS=N runs N more seeds (default 0, to keep CI fast).
TEST(ConvergenceTest, ExtraSeedsFromEnvironment) {
  const char* n = std::getenv("TETHER_CONVERGENCE_EXTRA_SEEDS");
  int count = n ? std::atoi(n) : 0;
  for (int i = 0; i < count && !::testing::Test::HasFailure(); ++i)
    runConvergence(1000 + static_cast<uint32_t>(i), 2 + i % 4, 250);
}

}  // namespace
}  // namespace tether::client::testing
