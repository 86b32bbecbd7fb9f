// A node killed under load (kill -9), with real libtether devices connected through HAProxy to a
// 3-node deployment on PostgreSQL: every batch a device had acknowledged is on the server after
// the failover, the dataset sync counts rise strictly with no gap (each round writes a new key, so
// every accepted batch leaves a record with its count), the devices' resends through the
// surviving nodes never surface a conflict to the app (each identity has one device, so any
// conflict would be false), and device and server agree at the end.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "pg_test_cluster.h"
#include "test_util.h"
#include "tether/client.h"
#include "tetherd_cluster.h"
#include "ws_test_client.h"

namespace tether::client::testing {
namespace {

using tether::testing::PgTestCluster;
using tether::testing::TetherdCluster;
using tether::testing::WsTestClient;

TEST(MultiNodeFailoverTest, KillingANodeUnderLoadLosesNoAcknowledgedBatchAndSurfacesNoConflict) {
  PG_TEST_OR_SKIP(pg);
  auto started = TetherdCluster::start(*pg, {});
  ASSERT_TRUE(started.isOk()) << started.status();
  TetherdCluster& cluster = **started;
  const std::string dir = makeTempDir("failover");
  constexpr int kDevices = 6;
  constexpr auto kRun = std::chrono::seconds(4);

  struct DeviceState {
    std::string identity;
    std::map<std::string, std::string> acked;  // every key/value a successful sync covered
    int syncsOk = 0, syncsFailed = 0, conflicts = 0;
  };
  std::vector<DeviceState> states(kDevices);
  std::atomic<bool> stop{false};
  std::vector<std::thread> devices;
  for (int d = 0; d < kDevices; ++d) {
    devices.emplace_back([&, d] {
      ClientOptions o;
      o.cachePath = dir + "/device" + std::to_string(d) + ".db";
      o.serverUrl = cluster.balancer().url();
      o.identityPoolId = cluster.poolId();
      o.requestTimeout = std::chrono::milliseconds(3000);
      o.connectTimeout = std::chrono::milliseconds(3000);
      auto client = Client::open(o);
      ASSERT_TRUE(client.isOk()) << client.status();
      auto id = (*client)->getIdentityId();
      ASSERT_TRUE(id.isOk()) << id.status();
      DeviceState& st = states[static_cast<size_t>(d)];
      st.identity = *id;
      auto ds = (*client)->openOrCreateDataset("log");
      ASSERT_TRUE(ds.isOk());
      SyncCallbacks cb;
      cb.onConflict = [&st](Dataset&, std::vector<SyncConflict>& conflicts) {
        st.conflicts += static_cast<int>(conflicts.size());
        return SyncAction::kContinue;
      };
      std::map<std::string, std::string> local;
      for (int round = 0; !stop.load(); ++round) {
        std::string key = "r" + std::to_string(round);
        std::string value = "d" + std::to_string(d) + "-" + std::to_string(round);
        ASSERT_TRUE((*ds)->put(key, value).isOk());
        local[key] = value;
        auto r = (*ds)->synchronizeAndWait(cb, std::chrono::seconds(20));
        if (r.isOk()) {
          st.syncsOk++;
          st.acked = local;  // everything written so far is on the server
        } else {
          st.syncsFailed++;  // a node died mid-sync: the edit stays dirty and goes with the next
        }
      }
      // Quiescence: the last edits go through whichever nodes are up.
      for (int i = 0; i < 20; ++i) {
        if ((*ds)->synchronizeAndWait(cb, std::chrono::seconds(20)).isOk()) {
          st.acked = local;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      EXPECT_EQ(st.acked.size(), local.size()) << "device " << d << " never synced its last edits";
    });
  }
  // Kill node 2 in the middle of the load, and bring it back.
  std::this_thread::sleep_for(kRun / 3);
  cluster.node(1).kill9();
  std::this_thread::sleep_for(kRun / 3);
  ASSERT_TRUE(cluster.node(1).restart());
  std::this_thread::sleep_for(kRun / 3);
  stop = true;
  for (auto& t : devices) t.join();

  int failedSyncs = 0;
  for (int d = 0; d < kDevices; ++d) {
    const DeviceState& st = states[static_cast<size_t>(d)];
    SCOPED_TRACE("device " + std::to_string(d));
    failedSyncs += st.syncsFailed;
    EXPECT_GT(st.syncsOk, 3);
    EXPECT_EQ(st.conflicts, 0);  // one device per identity: any conflict would be a false one
    // The server holds every acknowledged value, and each accepted batch left its own count.
    auto c = WsTestClient::connect(cluster.node(0).url());
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->loginAs(st.identity).isOk());
    auto pulled = c->callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{"log", 0, 0, ""});
    ASSERT_TRUE(pulled.isOk()) << pulled.status();
    std::map<std::string, std::string> server;
    std::set<int64_t> counts;
    for (const Record& r : pulled->records) {
      server[r.key] = r.value.value_or("<deleted>");
      counts.insert(r.syncCount);
    }
    EXPECT_EQ(server, st.acked);
    ASSERT_FALSE(counts.empty());
    EXPECT_EQ(*counts.begin(), 1);
    EXPECT_EQ(*counts.rbegin(), pulled->datasetSyncCount);
    EXPECT_EQ(counts.size(), static_cast<size_t>(pulled->datasetSyncCount)) << "a sync count was skipped";
  }
  // The kill did happen under load (some syncs failed over); reported for the note.
  std::cout << "failover: " << failedSyncs << " syncs interrupted by the kill, all recovered\n";
}

}  // namespace
}  // namespace tether::client::testing
