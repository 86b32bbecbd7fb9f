// LiveSync through the public Client/Dataset API against the in-memory fake server (which fans
// out "dataset changed" like tetherd): subscription pulls, change listeners, debounced
// auto-sync, coalescing (one running + one pending), edits during a background sync,
// reconnection (re-subscribe, catch up, push offline edits), the auto-sync conflict handler.
#include "sync/live_sync.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "test_util.h"

namespace tether::client::testing {
namespace {

using namespace std::chrono_literals;

// A gate a FakeRemote hook can wait on (on the device's executor) until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  bool reached = false;
  void arriveAndWait() {
    std::unique_lock lock(mu);
    reached = true;
    cv.notify_all();
    cv.wait_for(lock, 30s, [this] { return open; });
  }
  bool waitReached() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 20s, [this] { return reached; });
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

// Records what change listeners hear (from the sync thread).
struct Heard {
  std::mutex mu;
  std::vector<std::pair<std::string, std::vector<std::string>>> events;
  ChangeListener listener() {
    return [this](const std::string& ds, const std::vector<std::string>& keys) {
      std::lock_guard lock(mu);
      events.emplace_back(ds, keys);
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return events.size();
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> all() {
    std::lock_guard lock(mu);
    return events;
  }
};

// Every case runs against a server with conditional pushes (notifications carry small batches,
// which a subscriber one batch behind applies without pulling) and one without.
class LiveSyncTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("live_sync");
    server_ = std::make_shared<FakeServer>();
    server_->setConditionalPush(GetParam());
    a_ = TestDevice::open(server_, dir_ + "/a.db", clock_.fn(), "", "device-a");
    ASSERT_TRUE(a_);
    auto id = a_->client->getIdentityId();
    ASSERT_TRUE(id.isOk()) << id.status();
    id_ = *id;
  }

  std::unique_ptr<TestDevice> device(const std::string& name, bool autoSync,
                                     std::chrono::milliseconds debounce = 20ms,
                                     SyncCallbacks background = {}) {
    LiveSyncOptions tuning;
    tuning.retryBase = 50ms;
    tuning.maxDelay = 200ms;
    return TestDevice::open(server_, dir_ + "/" + name + ".db", clock_.fn(), id_, name, {},
                            [&](ClientOptions& o) {
                              o.autoSync = autoSync;
                              o.autoSyncDebounce = debounce;
                              o.backgroundSync = background;
                            },
                            &tuning);
  }

  ManualClock clock_;
  std::string dir_;
  std::shared_ptr<FakeServer> server_;
  std::unique_ptr<TestDevice> a_;
  std::string id_;
};

TEST_P(LiveSyncTest, SubscriberPullsChangeIntoLocalStoreWithoutSynchronize) {
  auto b = device("b", false);
  Heard heard, removedHeard;
  b->client->addChangeListener(heard.listener());
  ChangeListenerId gone = b->client->addChangeListener(removedHeard.listener());
  b->client->removeChangeListener(gone);
  auto db = b->dataset("prefs");
  ASSERT_TRUE(db->subscribe().isOk());
  EXPECT_TRUE(db->isSubscribed());
  EXPECT_EQ(b->client->subscribedDatasets(), std::vector<std::string>{"prefs"});
  ASSERT_TRUE(waitUntil([&] { return b->remote->subscribeCalls() >= 1; }));

  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(da->put("lang", "en").isOk());
  ASSERT_TRUE(da->synchronizeAndWait().isOk());

  ASSERT_TRUE(waitUntil([&] { return db->get("lang").isOk() && *db->get("lang") == "en"; }));
  EXPECT_EQ(*db->getAll(), (std::map<std::string, std::string>{{"lang", "en"}, {"theme", "dark"}}));
  EXPECT_EQ(*db->lastSyncCount(), 1);
  EXPECT_FALSE(*db->isChanged("theme"));
  ASSERT_TRUE(waitUntil([&] { return heard.size() >= 1; }));
  auto events = heard.all();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "prefs");
  EXPECT_EQ(events[0].second, (std::vector<std::string>{"lang", "theme"}));
  EXPECT_EQ(removedHeard.size(), 0u);
  // The writer is not notified of its own change (the fake server excludes it like tetherd).
  EXPECT_EQ(a_->liveStats().notifications, 0u);
}

TEST_P(LiveSyncTest, AutoSyncPushesABurstOfWritesInFewBatches) {
  auto b = device("b", true, 30ms);
  auto db = b->dataset("notes");
  int before = server_->updateCalls();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(db->put("k" + std::to_string(i), std::to_string(i)).isOk());
  ASSERT_TRUE(waitUntil([&] { return server_->liveValues(id_, "notes").size() == 100; }));
  ASSERT_TRUE(waitUntil([&] { return !*db->isChanged("k99"); }));
  int pushes = server_->updateCalls() - before;
  EXPECT_GE(pushes, 1);
  EXPECT_LE(pushes, 10) << "debounce should batch a burst of 100 writes";
  EXPECT_EQ(server_->liveValues(id_, "notes").at("k57"), "57");
}

TEST_P(LiveSyncTest, DebounceZeroPushesAtOnceAndCoalescesTheRest) {
  auto b = device("b", true, 0ms);
  auto db = b->dataset("notes");
  ASSERT_TRUE(db->put("only", "1").isOk());
  ASSERT_TRUE(waitUntil([&] { return server_->liveValues(id_, "notes").count("only") == 1; }));
  // The server holds the value before the client has read its answer and marked the record
  // clean: wait for that too (the sanitizer build once looked in between).
  EXPECT_TRUE(waitUntil([&] { return !*db->isChanged("only"); }));
}

// Many notifications while a background sync runs start at most one more sync afterwards.
TEST_P(LiveSyncTest, NotificationsDuringASyncCoalesceIntoOnePending) {
  auto b = device("b", false);
  auto db = b->dataset("hot");
  auto gate = std::make_shared<Gate>();
  std::atomic<int> pulls{0};
  b->remote->setHook([gate, &pulls](const std::string& op, FakeRemote::Phase phase) {
    if (op == "listRecords" && phase == FakeRemote::Phase::kBefore && pulls++ == 0) gate->arriveAndWait();
  });
  // Written before B subscribes: B catches up with a pull (a notification's batch would spare
  // it the pull, and there would be nothing to hold).
  server_->remoteWrite(id_, "hot", "k", "0", 1);
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(gate->waitReached());  // B's first background sync is pulling, its thread held
  for (int i = 1; i < 200; ++i) server_->remoteWrite(id_, "hot", "k", std::to_string(i), 1);
  gate->release();
  ASSERT_TRUE(waitUntil([&] { return db->get("k").isOk() && *db->get("k") == "199"; }));
  ASSERT_TRUE(waitUntil([&] { return *db->lastSyncCount() == 200; }));
  // Every notification was handled (late ones at or below the local count are ignored).
  ASSERT_TRUE(waitUntil([&] { return b->liveStats().notifications == 199u; }));
  LiveSyncStats st = b->liveStats();
  EXPECT_LE(st.backgroundSyncs, 3u) << "one running + one pending, not one per notification";
  b->remote->setHook({});
}

// A write that lands while a background sync is pushing stays dirty and goes out next.
TEST_P(LiveSyncTest, EditDuringBackgroundPushIsNotLost) {
  auto b = device("b", true, 10ms);
  auto db = b->dataset("doc");
  auto gate = std::make_shared<Gate>();
  std::atomic<int> pushes{0};
  b->remote->setHook([gate, &pushes](const std::string& op, FakeRemote::Phase phase) {
    if (op == "updateRecords" && phase == FakeRemote::Phase::kBefore && pushes++ == 0) gate->arriveAndWait();
  });
  ASSERT_TRUE(db->put("title", "draft 1").isOk());
  ASSERT_TRUE(gate->waitReached());               // the push of "draft 1" is in flight
  ASSERT_TRUE(db->put("title", "draft 2").isOk());  // edited meanwhile
  gate->release();
  ASSERT_TRUE(waitUntil([&] {
    auto v = server_->liveValues(id_, "doc");
    return v.count("title") && v["title"] == "draft 2";
  }));
  ASSERT_TRUE(waitUntil([&] { return !*db->isChanged("title"); }));
  EXPECT_EQ(*db->get("title"), "draft 2");
  b->remote->setHook({});
}

// Offline: B misses the notification and writes locally; back online it re-subscribes, pulls
// what it missed and pushes what it wrote, without any app call.
TEST_P(LiveSyncTest, ReconnectResubscribesCatchesUpAndPushesOfflineEdits) {
  auto b = device("b", true, 10ms);
  auto db = b->dataset("prefs");
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(waitUntil([&] { return b->remote->subscribeCalls() >= 1; }));
  b->remote->setOnline(false);
  server_->remoteWrite(id_, "prefs", "from-a", "1", 1);
  ASSERT_TRUE(db->put("from-b", "2").isOk());
  EXPECT_EQ(*db->get("from-a"), std::nullopt);
  b->remote->setOnline(true);
  ASSERT_TRUE(waitUntil([&] { return db->get("from-a").isOk() && *db->get("from-a") == "1"; }));
  ASSERT_TRUE(waitUntil([&] { return server_->liveValues(id_, "prefs").count("from-b") == 1; }));
  ASSERT_TRUE(waitUntil([&] { return !*db->isChanged("from-b"); }));
  EXPECT_GE(b->remote->subscribeCalls(), 2);
  // Subscribed again: a later change arrives by notification.
  server_->remoteWrite(id_, "prefs", "later", "3", 1);
  ASSERT_TRUE(waitUntil([&] { return db->get("later").isOk() && *db->get("later") == "3"; }));
}

TEST_P(LiveSyncTest, AutoSyncConflictGoesToTheBackgroundHandler) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> seen;  // local, remote
  SyncCallbacks background;
  background.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
    for (auto& c : cs) {
      std::lock_guard lock(mu);
      seen.emplace_back(*c.local().value, *c.remote().value);
      c.resolveWithValue(*c.local().value + "+" + *c.remote().value);
    }
    return SyncAction::kContinue;
  };
  auto b = device("b", true, 10ms, background);
  auto db = b->dataset("game");
  ASSERT_TRUE(db->put("score", "b").isOk());
  ASSERT_TRUE(waitUntil([&] { return server_->liveValues(id_, "game").count("score") == 1; }));
  ASSERT_TRUE(waitUntil([&] { return !*db->isChanged("score"); }));
  b->remote->setOnline(false);
  ASSERT_TRUE(db->put("score", "b2").isOk());
  server_->remoteWrite(id_, "game", "score", "a2", 5);  // meanwhile on another device
  b->remote->setOnline(true);
  ASSERT_TRUE(waitUntil([&] {
    auto v = server_->liveValues(id_, "game");
    return v.count("score") && v["score"] == "b2+a2";
  }));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("b2"), std::string("a2")));
}

TEST_P(LiveSyncTest, UnsubscribedDatasetIsNotPulled) {
  auto b = device("b", false);
  auto notes = b->dataset("notes");
  auto probe = b->dataset("probe");
  ASSERT_TRUE(notes->subscribe().isOk());
  ASSERT_TRUE(probe->subscribe().isOk());
  ASSERT_TRUE(notes->unsubscribe().isOk());
  EXPECT_FALSE(notes->isSubscribed());
  EXPECT_EQ(b->client->subscribedDatasets(), std::vector<std::string>{"probe"});
  ASSERT_TRUE(waitUntil([&] { return b->remote->subscribeCalls() >= 1; }));
  server_->remoteWrite(id_, "notes", "n", "1", 1);
  server_->remoteWrite(id_, "probe", "p", "1", 1);
  // The probe proves notifications flow; "notes" stays untouched.
  ASSERT_TRUE(waitUntil([&] { return probe->get("p").isOk() && *probe->get("p") == "1"; }));
  EXPECT_EQ(*notes->get("n"), std::nullopt);
  EXPECT_EQ(*notes->lastSyncCount(), 0);
}

TEST_P(LiveSyncTest, RemoteDeletionReachesSubscriberAndListener) {
  auto b = device("b", false);
  Heard heard;
  b->client->addChangeListener(heard.listener());
  auto db = b->dataset("tmp");
  ASSERT_TRUE(db->subscribe().isOk());
  ASSERT_TRUE(waitUntil([&] { return b->remote->subscribeCalls() >= 1; }));
  auto da = a_->dataset("tmp");
  ASSERT_TRUE(da->put("x", "1").isOk());
  ASSERT_TRUE(da->synchronizeAndWait().isOk());
  ASSERT_TRUE(waitUntil([&] { return db->get("x").isOk() && *db->get("x") == "1"; }));
  ASSERT_TRUE(da->remove().isOk());
  ASSERT_TRUE(da->synchronizeAndWait().isOk());
  ASSERT_TRUE(waitUntil([&] { return db->get("x").isOk() && !db->get("x")->has_value(); }));
  ASSERT_TRUE(waitUntil([&] { return heard.size() >= 2; }));
  auto events = heard.all();
  EXPECT_EQ(events.back().second, std::vector<std::string>{"x"});
}

TEST_P(LiveSyncTest, ClosedClientRefusesSubscribe) {
  auto b = device("b", false);
  auto db = b->dataset("fine");
  b->client.reset();
  EXPECT_EQ(db->subscribe().code(), StatusCode::kCancelled);
  EXPECT_EQ(db->unsubscribe().code(), StatusCode::kCancelled);
}

// Notifications that carry their batch (tetherd, conditional pushes on).
class InlineChangeTest : public LiveSyncTest {
 protected:
  // B's pulls, counted at the remote.
  std::unique_ptr<TestDevice> subscribedB(std::atomic<int>& pulls) {
    auto b = device("b", false);
    b->remote->setHook([&pulls](const std::string& op, FakeRemote::Phase phase) {
      if (op == "listRecords" && phase == FakeRemote::Phase::kBefore) ++pulls;
    });
    EXPECT_TRUE(b->dataset("prefs")->subscribe().isOk());
    EXPECT_TRUE(waitUntil([&] { return b->remote->subscribeCalls() >= 1; }));
    return b;
  }
};

TEST_P(InlineChangeTest, OneBatchBehindAppliesTheNotificationWithoutPulling) {
  std::atomic<int> pulls{0};
  auto b = subscribedB(pulls);
  Heard heard;
  b->client->addChangeListener(heard.listener());
  auto db = b->dataset("prefs");
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(da->put("lang", "en").isOk());
  ASSERT_TRUE(da->synchronizeAndWait().isOk());
  ASSERT_TRUE(waitUntil([&] { return *db->lastSyncCount() == 1; }));
  EXPECT_EQ(*db->getAll(), (std::map<std::string, std::string>{{"lang", "en"}, {"theme", "dark"}}));
  EXPECT_FALSE(*db->isChanged("theme"));
  EXPECT_EQ(pulls.load(), 0);
  ASSERT_TRUE(waitUntil([&] { return heard.size() >= 1; }));
  EXPECT_EQ(heard.all()[0].second, (std::vector<std::string>{"lang", "theme"}));
  // The applied rows are the server's: a later edit on B pushes against their sync count.
  ASSERT_TRUE(db->put("theme", "light").isOk());
  ASSERT_TRUE(db->synchronizeAndWait().isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs")["theme"], "light");
  EXPECT_EQ(pulls.load(), 0);
  EXPECT_EQ(server_->conditionalRefusals(), 0);
}

TEST_P(InlineChangeTest, MissedBatchMeansAPull) {
  std::atomic<int> pulls{0};
  auto b = subscribedB(pulls);
  auto db = b->dataset("prefs");
  server_->setNotifications(false);
  server_->remoteWrite(id_, "prefs", "a", std::string("1"), 1);  // B never hears of count 1
  server_->setNotifications(true);
  server_->remoteWrite(id_, "prefs", "b", std::string("2"), 1);  // count 2 carries only "b"
  ASSERT_TRUE(waitUntil([&] { return *db->lastSyncCount() == 2; }));
  EXPECT_EQ(*db->getAll(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(pulls.load(), 1);
}

TEST_P(InlineChangeTest, LocalEditConflictingWithTheBatchIsResolvedThenPushed) {
  std::atomic<int> pulls{0};
  auto b = subscribedB(pulls);
  auto db = b->dataset("prefs");
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  clock_.advance(10);
  ASSERT_TRUE(db->put("theme", "light").isOk());  // later, not pushed: wins last-writer-wins
  ASSERT_TRUE(da->synchronizeAndWait().isOk());
  ASSERT_TRUE(waitUntil([&] { return *db->lastSyncCount() == 2; }));
  EXPECT_EQ(*db->get("theme"), "light");
  EXPECT_FALSE(*db->isChanged("theme"));
  EXPECT_EQ(server_->liveValues(id_, "prefs")["theme"], "light");
  EXPECT_EQ(pulls.load(), 0);  // the batch stood in for the pull; the push was conditional
}

INSTANTIATE_TEST_SUITE_P(Push, InlineChangeTest, ::testing::Values(true),
                         [](const auto&) { return "Conditional"; });
INSTANTIATE_TEST_SUITE_P(Push, LiveSyncTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Conditional" : "AfterPull"; });

}  // namespace
}  // namespace tether::client::testing
