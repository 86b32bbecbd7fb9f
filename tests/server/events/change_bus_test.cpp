// Live sync across nodes, without PostgreSQL: the notice format, what the hub knows of sync
// counts (observe/followed), ClusterFanout's routing between the hub and a bus, and the
// catch-up against a real SQLite store. PgChangeBus itself is tested against a real
// PostgreSQL in pg_change_bus_test.cpp.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "../sync/sync_service_fixture.h"
#include "common/work_pool.h"
#include "events/change_bus.h"
#include "events/change_catch_up.h"
#include "events/change_hub.h"
#include "events/cluster_fanout.h"
#include "tether/codec.h"

namespace tether::server::testing {
namespace {

// What the hub handed to the network layer: connection -> sync counts notified, in order.
class RecordingSink final : public PushSink {
 public:
  void push(uint64_t connection, const std::string&, std::string frame) override {
    auto msg = codec::decodeServerMessage(frame);
    ASSERT_TRUE(msg.isOk()) << msg.status();
    auto* change = std::get_if<proto::DatasetChanged>(&*msg);
    ASSERT_NE(change, nullptr);
    std::lock_guard<std::mutex> lock(mu);
    counts[connection].push_back(change->syncCount);
    datasets[connection].push_back(change->datasetName);
    inline_[connection].push_back(change->hasRecords ? static_cast<int>(change->records.size()) : -1);
  }
  std::vector<int64_t> of(uint64_t c) {
    std::lock_guard<std::mutex> lock(mu);
    return counts[c];
  }
  std::mutex mu;
  std::map<uint64_t, std::vector<int64_t>> counts;
  std::map<uint64_t, std::vector<std::string>> datasets;
  std::map<uint64_t, std::vector<int>> inline_;  // records carried per notification, -1 = none
};

class RecordingBus final : public ChangeBus {
 public:
  void publish(ChangeNotice n) override { sent.push_back(std::move(n)); }
  std::vector<ChangeNotice> sent;
};

ChangeNotice sample() {
  return ChangeNotice{ChangeNotice::Kind::kDatasetChanged, "node-1", 42, kPool, kAliceId, "prefs", 7, ""};
}

TEST(ChangeNoticeTest, RoundTripsEveryKind) {
  ChangeNotice c = sample();
  EXPECT_EQ(decodeChangeNotice(encodeChangeNotice(c)), c);
  ChangeNotice s{ChangeNotice::Kind::kDeviceSubscribed, "n2", 0, kPool, kAliceId, "prefs", 0, "dev-1"};
  EXPECT_EQ(decodeChangeNotice(encodeChangeNotice(s)), s);
  ChangeNotice u = s;
  u.kind = ChangeNotice::Kind::kDeviceUnsubscribed;
  EXPECT_EQ(decodeChangeNotice(encodeChangeNotice(u)), u);
  EXPECT_LT(encodeChangeNotice(c).size(), 8000u);
}

TEST(ChangeNoticeTest, RefusesWhatIsNotAV1Notice) {
  std::string good = encodeChangeNotice(sample());
  EXPECT_FALSE(decodeChangeNotice(""));
  EXPECT_FALSE(decodeChangeNotice("hello"));
  EXPECT_FALSE(decodeChangeNotice("v2" + good.substr(2)));
  EXPECT_FALSE(decodeChangeNotice(good + "\textra"));
  EXPECT_FALSE(decodeChangeNotice(good.substr(0, good.rfind('\t'))));
  ChangeNotice bad = sample();
  bad.syncCount = -1;
  EXPECT_FALSE(decodeChangeNotice(encodeChangeNotice(bad)));
  bad = sample();
  bad.originNode = "bad node";
  EXPECT_FALSE(decodeChangeNotice(encodeChangeNotice(bad)));
  bad = sample();
  bad.dataset = "";
  EXPECT_FALSE(decodeChangeNotice(encodeChangeNotice(bad)));
  bad = sample();
  bad.kind = ChangeNotice::Kind::kDeviceSubscribed;  // without a device ID
  EXPECT_FALSE(decodeChangeNotice(encodeChangeNotice(bad)));
  std::string count = good;
  count.replace(count.find("\t7\t"), 3, "\t7x\t");
  EXPECT_FALSE(decodeChangeNotice(count));
}

TEST(ChangeNoticeTest, NodeNames) {
  EXPECT_TRUE(validNodeName("node-1"));
  EXPECT_TRUE(validNodeName("host.example:8080"));
  EXPECT_FALSE(validNodeName(""));
  EXPECT_FALSE(validNodeName("a b"));
  EXPECT_FALSE(validNodeName(std::string(65, 'a')));
}

TEST(ChangeHubKnownCountsTest, ObserveSetsABaselineThenNotifiesOnlyNewerCounts) {
  RecordingSink sink;
  ChangeHub hub(sink);
  hub.subscribe(1, kPool, kAliceId, {"prefs"});
  hub.subscribe(2, kPool, kAliceId, {"prefs"});
  EXPECT_FALSE(hub.observeSyncCount(kPool, kAliceId, "prefs", 3, 1));  // baseline: nothing sent
  EXPECT_TRUE(sink.of(2).empty());
  EXPECT_TRUE(hub.observeSyncCount(kPool, kAliceId, "prefs", 5, 1));   // newer: all but 1
  EXPECT_EQ(sink.of(2), std::vector<int64_t>{5});
  EXPECT_TRUE(sink.of(1).empty());
  EXPECT_FALSE(hub.observeSyncCount(kPool, kAliceId, "prefs", 5));     // equal: nothing
  EXPECT_FALSE(hub.observeSyncCount(kPool, kAliceId, "prefs", 4));     // older: nothing
  EXPECT_FALSE(hub.observeSyncCount(kPool, kAliceId, "other", 9));     // not followed
  EXPECT_FALSE(hub.observeSyncCount(kPool, kBobId, "prefs", 9));       // nobody follows Bob
  EXPECT_EQ(sink.of(2), std::vector<int64_t>{5});
}

TEST(ChangeHubKnownCountsTest, AnOlderChangeAfterANewerObservationIsDropped) {
  RecordingSink sink;
  ChangeHub hub(sink);
  hub.subscribe(1, kPool, kAliceId, {"prefs"});
  Caller remote{kPool, kAliceId, "", 0};
  hub.datasetChanged(remote, "prefs", 6, nullptr);
  hub.datasetChanged(remote, "prefs", 5, nullptr);  // a late cross-node notice
  hub.datasetChanged(remote, "prefs", 6, nullptr);  // equal: a merge announces this way
  hub.datasetChanged(remote, "prefs", 7, nullptr);
  EXPECT_EQ(sink.of(1), (std::vector<int64_t>{6, 6, 7}));
}

TEST(ChangeHubKnownCountsTest, FollowedListsDatasetsDevicesAndKnownCounts) {
  RecordingSink sink;
  ChangeHub hub(sink);
  hub.subscribe(1, kPool, kAliceId, {"a", "b"});
  hub.attachDevice(2, kPool, kAliceId, "dev-1", {"c"});
  hub.observeSyncCount(kPool, kAliceId, "a", 4);
  auto all = hub.followed();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].identityId, kAliceId);
  EXPECT_EQ(all[0].poolId, kPool);
  using P = std::pair<std::string, int64_t>;
  EXPECT_EQ(all[0].datasets, (std::vector<P>{{"a", 4}, {"b", -1}, {"c", -1}}));
  EXPECT_EQ(all[0].devices, std::vector<std::string>{"dev-1"});
  hub.setDeviceDatasets(kPool, kAliceId, "dev-1", {"d"});
  auto one = hub.followed(kPool, kAliceId);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->datasets, (std::vector<P>{{"a", 4}, {"b", -1}, {"d", -1}}));
  EXPECT_FALSE(hub.followed(kPool, kBobId).has_value());
}

TEST(ChangeHubKnownCountsTest, KnownCountsAreForgottenWithTheLastConnection) {
  RecordingSink sink;
  ChangeHub hub(sink);
  hub.subscribe(1, kPool, kAliceId, {"prefs"});
  hub.observeSyncCount(kPool, kAliceId, "prefs", 9);
  hub.removeConnection(1);
  EXPECT_TRUE(hub.followed().empty());
  hub.subscribe(2, kPool, kAliceId, {"prefs"});
  // A new baseline, not the old 9: a count of 3 (the dataset was recreated elsewhere?) is no
  // news, and 10 later is.
  EXPECT_FALSE(hub.observeSyncCount(kPool, kAliceId, "prefs", 3));
  EXPECT_TRUE(hub.observeSyncCount(kPool, kAliceId, "prefs", 10));
}

TEST(ClusterFanoutTest, LocalChangesGoToTheHubAndTheBus) {
  RecordingSink sink;
  ChangeHub hub(sink);
  RecordingBus bus;
  ClusterFanout fanout(hub, bus, "node-1");
  hub.subscribe(1, kPool, kAliceId, {"prefs"});
  hub.subscribe(2, kPool, kAliceId, {"prefs"});
  fanout.datasetChanged(Caller{kPool, kAliceId, "", 1}, "prefs", 3, nullptr);
  EXPECT_TRUE(sink.of(1).empty());  // the writer is not told of its own write
  EXPECT_EQ(sink.of(2), std::vector<int64_t>{3});
  ASSERT_EQ(bus.sent.size(), 1u);
  EXPECT_EQ(bus.sent[0].originNode, "node-1");
  EXPECT_EQ(bus.sent[0].originConnection, 1u);
  EXPECT_EQ(bus.sent[0].syncCount, 3);
  fanout.deviceSubscribed(kPool, kAliceId, "dev-1", "prefs");
  ASSERT_EQ(bus.sent.size(), 2u);
  EXPECT_EQ(bus.sent[1].kind, ChangeNotice::Kind::kDeviceSubscribed);
  EXPECT_EQ(bus.sent[1].deviceId, "dev-1");
}

TEST(ClusterFanoutTest, NoticesFromOtherNodesReachEveryFollowerOwnOnesAreIgnored) {
  RecordingSink sink;
  ChangeHub hub(sink);
  RecordingBus bus;
  ClusterFanout fanout(hub, bus, "node-1");
  hub.subscribe(1, kPool, kAliceId, {"prefs"});
  ChangeNotice own = sample();
  own.originNode = "node-1";
  own.originConnection = 2;
  fanout.deliver(own);  // already fanned out here when it was written
  EXPECT_TRUE(sink.of(1).empty());
  ChangeNotice remote = sample();
  remote.originNode = "node-2";
  remote.originConnection = 1;  // node 2's connection 1 is not ours
  fanout.deliver(remote);
  EXPECT_EQ(sink.of(1), std::vector<int64_t>{7});
  EXPECT_EQ(fanout.noticesReceived(), 1);
  EXPECT_TRUE(bus.sent.empty());  // received notices are not sent on again

  // A device subscription made through node 2 applies here.
  hub.attachDevice(3, kPool, kAliceId, "dev-1", {});
  fanout.deliver(ChangeNotice{ChangeNotice::Kind::kDeviceSubscribed, "node-2", 0, kPool, kAliceId, "news", 0,
                              "dev-1"});
  remote.dataset = "news";
  remote.syncCount = 1;
  fanout.deliver(remote);
  EXPECT_EQ(sink.of(3), std::vector<int64_t>{1});
  fanout.deliver(ChangeNotice{ChangeNotice::Kind::kDeviceUnsubscribed, "node-2", 0, kPool, kAliceId, "news", 0,
                              "dev-1"});
  remote.syncCount = 2;
  fanout.deliver(remote);
  EXPECT_EQ(sink.of(3), std::vector<int64_t>{1});
}

// The catch-up against a real store (SQLite and PostgreSQL): writes that this node's hub never heard of (as if made on
// another node whose notice was lost) are found and notified once.
class ChangeCatchUpTest : public SyncServiceTest {};
TETHER_INSTANTIATE_BACKENDS(ChangeCatchUpTest);

TEST_P(ChangeCatchUpTest, NotifiesWhatTheHubMissedOnce) {
  RecordingSink sink;
  ChangeHub hub(sink);
  WorkPool pool(1);
  ChangeCatchUp catchUp(*store_, hub, pool);
  mustPush("prefs", {put("k", "v1", 0)});  // sync count 1; no listener: the hub hears nothing
  hub.subscribe(1, kPool, kAliceId, {"prefs", "later"});
  hub.observeSyncCount(kPool, kAliceId, "prefs", 1, 1);  // what the subscribe response said
  hub.observeSyncCount(kPool, kAliceId, "later", 0, 1);

  auto check = [&] {
    auto f = hub.followed(kPool, kAliceId);
    ASSERT_TRUE(f.has_value());
    catchUp.checkIdentity(*f);
  };
  check();
  EXPECT_TRUE(sink.of(1).empty());  // nothing new
  mustPush("prefs", {put("k", "v2", 1)});  // 2
  mustPush("later", {put("x", "1", 0)});   // 1
  check();
  EXPECT_EQ(sink.of(1), (std::vector<int64_t>{1, 2}));  // by dataset name: later, prefs
  EXPECT_EQ(sink.datasets[1], (std::vector<std::string>{"later", "prefs"}));
  EXPECT_EQ(catchUp.noticesSent(), 2);
  check();
  EXPECT_EQ(sink.of(1).size(), 2u);  // told once
  ASSERT_TRUE(remove("prefs").isOk());  // a deletion raises the count too
  check();
  EXPECT_EQ(sink.of(1), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(catchUp.readErrors(), 0);
}

TEST_P(ChangeCatchUpTest, ReReadsPresentedDevicesSubscriptionsAndRunsOnTheWorkPool) {
  RecordingSink sink;
  ChangeHub hub(sink);
  WorkPool syncPool(1);
  ChangeCatchUp catchUp(*store_, hub, syncPool);
  DeviceInfo dev{kPool, kAliceId, "dev-1", "GCM", "token-1", 1};
  ASSERT_TRUE(store_->registerDevice(dev, 10).isOk());
  hub.attachDevice(1, kPool, kAliceId, "dev-1", {});
  // Subscribed through another node: this hub was not told.
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAliceId, "dev-1", "news", 10).isOk());
  WorkPool pool(1);
  ChangeCatchUp async(*store_, hub, pool);
  async.run();
  pool.join();
  EXPECT_EQ(async.passes(), 1);
  auto f = hub.followed(kPool, kAliceId);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->datasets.size(), 1u);
  EXPECT_EQ(f->datasets[0].first, "news");
  EXPECT_EQ(f->datasets[0].second, 0);  // baseline taken in the same pass
  mustPush("news", {put("h", "1", 0)});
  auto g = hub.followed(kPool, kAliceId);
  catchUp.checkIdentity(*g);
  EXPECT_EQ(sink.of(1), std::vector<int64_t>{1});
}

// A remote batch is re-read from the store so that subscribers here get its records inline (no
// pull), but only while it is still the dataset's newest; a deletion or a later batch is
// announced without records.
TEST_P(ChangeCatchUpTest, RemoteBatchesAreReReadForInlineDelivery) {
  RecordingSink sink;
  ChangeHub hub(sink);
  RecordingBus bus;
  WorkPool pool(1);
  ClusterFanout fanout(hub, bus, "node-2", store_.get(), &pool);
  hub.subscribe(1, kPool, kAliceId, {"prefs"});
  mustPush("prefs", {put("a", "1", 0), put("b", "2", 0)});  // count 1, written "on node 1"
  auto notice = [&](int64_t count) {
    return ChangeNotice{ChangeNotice::Kind::kBatchWritten, "node-1", 7, kPool, kAliceId, "prefs", count, ""};
  };
  fanout.deliver(notice(1));
  // Not followed here: nothing is read or sent.
  fanout.deliver(ChangeNotice{ChangeNotice::Kind::kBatchWritten, "node-1", 7, kPool, kBobId, "prefs", 1, ""});
  pool.join();
  EXPECT_EQ(sink.of(1), std::vector<int64_t>{1});
  EXPECT_EQ(sink.inline_[1], std::vector<int>{2});  // both records of the batch, inline
  WorkPool pool2(1);
  ClusterFanout later(hub, bus, "node-2", store_.get(), &pool2);
  mustPush("prefs", {put("a", "3", 1)});  // count 2
  mustPush("prefs", {put("b", "4", 1)});  // count 3
  later.deliver(notice(2));               // no longer the newest: its records are not all count 2
  pool2.join();
  EXPECT_EQ(sink.of(1), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(sink.inline_[1], (std::vector<int>{2, -1}));
}

}  // namespace
}  // namespace tether::server::testing
