// Live sync on the real tetherd: subscriptions, "dataset changed" fan-out (writer excluded),
// coalescing for a subscriber that stops reading, and isolation between identities.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;
using Clock = std::chrono::steady_clock;

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

class LiveSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = TetherdProcess::start().release(); }
  static void TearDownTestSuite() { delete server_; }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  std::unique_ptr<WsTestClient> device(const std::string& identity) {
    auto c = WsTestClient::connect(server_->url());
    EXPECT_NE(c, nullptr);
    if (c) EXPECT_TRUE(c->loginAs(identity).isOk());
    return c;
  }
  std::string newIdentity() {
    auto c = WsTestClient::connect(server_->url());
    auto id = c->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
    EXPECT_TRUE(id.isOk());
    return id.isOk() ? id->identityId : "";
  }
  static Result<UpdateRecordsResponse> write(WsTestClient& c, const std::string& ds, const std::string& key,
                                             const std::string& value) {
    auto p = c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, 0, 0, ""});
    if (!p.isOk()) return p.status();
    int64_t count = 0;
    for (auto& r : p->records) if (r.key == key) count = r.syncCount;
    return c.callAs<UpdateRecordsResponse>(
        UpdateRecordsRequest{ds, p->syncSessionToken, "dev", {RecordPatch{PatchOp::kReplace, key, value, count, 1}}});
  }
  static int64_t lastPushed(const WsTestClient& c, const std::string& ds) {
    int64_t n = -1;
    for (auto& p : c.pushes()) if (p.datasetName == ds) n = p.syncCount;
    return n;
  }

  static TetherdProcess* server_;
};

TetherdProcess* LiveSyncTest::server_ = nullptr;

TEST_F(LiveSyncTest, SubscriberIsToldWriterIsNot) {
  std::string id = newIdentity();
  auto a = device(id);
  auto b = device(id);
  ASSERT_TRUE(a && b);
  auto sub = b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs", "other"}, "dev-b"});
  ASSERT_TRUE(sub.isOk()) << sub.status();
  ASSERT_EQ(sub->datasets.size(), 2u);
  EXPECT_EQ(sub->datasets[0].datasetName, "prefs");
  EXPECT_FALSE(sub->datasets[0].exists);
  EXPECT_EQ(sub->datasets[0].syncCount, 0);
  ASSERT_TRUE(a->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, "dev-a"}).isOk());

  ASSERT_TRUE(write(*a, "prefs", "theme", "dark").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == 1; }, 5000));
  auto pushes = b->pushes();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].identityId, id);
  EXPECT_EQ(pushes[0].identityPoolId, server_->poolId());
  // The writer, although subscribed, is not told of its own change.
  ASSERT_TRUE(write(*b, "prefs", "theme", "light").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*a, "prefs") == 2; }, 5000));
  EXPECT_EQ(lastPushed(*b, "prefs"), 1);
  // Subscribing again reports the current count.
  auto again = b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, "dev-b"});
  ASSERT_TRUE(again.isOk());
  EXPECT_TRUE(again->datasets[0].exists);
  EXPECT_EQ(again->datasets[0].syncCount, 2);
}

TEST_F(LiveSyncTest, DeletionNotifiesAndUnsubscribeStops) {
  std::string id = newIdentity();
  auto a = device(id);
  auto b = device(id);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->callAs<SubscribeResponse>(SubscribeRequest{{"notes"}, ""}).isOk());
  ASSERT_TRUE(write(*a, "notes", "n", "1").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "notes") == 1; }, 5000));
  ASSERT_TRUE(a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"notes"}).isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "notes") == 2; }, 5000));

  ASSERT_TRUE(b->callAs<UnsubscribeResponse>(UnsubscribeRequest{{"notes"}}).isOk());
  ASSERT_TRUE(write(*a, "notes", "n", "2").isOk());
  // A later change to a still-subscribed dataset proves the connection is live; "notes" stays quiet.
  ASSERT_TRUE(b->callAs<SubscribeResponse>(SubscribeRequest{{"probe"}, ""}).isOk());
  ASSERT_TRUE(write(*a, "probe", "p", "1").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "probe") == 1; }, 5000));
  EXPECT_EQ(lastPushed(*b, "notes"), 2);
}

// A small batch travels inside the notification (so a subscriber one batch behind needs no
// pull); a batch over 64 KiB and a deletion do not carry records.
TEST_F(LiveSyncTest, SmallBatchesTravelInTheNotification) {
  std::string id = newIdentity();
  auto a = device(id);
  auto b = device(id);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  ASSERT_TRUE(write(*a, "prefs", "theme", "dark").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == 1; }, 5000));
  auto first = b->pushes().back();
  ASSERT_TRUE(first.hasRecords);
  ASSERT_EQ(first.records.size(), 1u);
  EXPECT_EQ(first.records[0].key, "theme");
  EXPECT_EQ(first.records[0].value, "dark");
  EXPECT_EQ(first.records[0].syncCount, 1);
  EXPECT_EQ(first.records[0].lastModifiedBy, "dev");
  // The same as a pull from count 0 returns.
  auto pulled = b->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(pulled.isOk());
  EXPECT_EQ(pulled->records, first.records);

  // 70 KiB in one batch: only the count.
  std::vector<RecordPatch> big;
  for (int i = 0; i < 7; ++i)
    big.push_back(RecordPatch{PatchOp::kReplace, "blob" + std::to_string(i), std::string(10 * 1024, 'x'), 0, 1});
  auto p = a->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(p.isOk());
  ASSERT_TRUE(a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"prefs", p->syncSessionToken, "dev", big}).isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == 2; }, 5000));
  EXPECT_FALSE(b->pushes().back().hasRecords);
  EXPECT_TRUE(b->pushes().back().records.empty());

  ASSERT_TRUE(a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"prefs"}).isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == 3; }, 5000));
  EXPECT_FALSE(b->pushes().back().hasRecords);
}

TEST_F(LiveSyncTest, OtherIdentitiesHearNothing) {
  std::string id1 = newIdentity(), id2 = newIdentity();
  auto a = device(id1);
  auto stranger = device(id2);
  auto b = device(id1);
  ASSERT_TRUE(a && stranger && b);
  ASSERT_TRUE(stranger->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  ASSERT_TRUE(b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  ASSERT_TRUE(write(*a, "prefs", "k", "v").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*b, "prefs") == 1; }, 5000));
  EXPECT_TRUE(stranger->pushes().empty());
}

TEST_F(LiveSyncTest, SubscribeRequiresAuthenticationAndValidNames) {
  auto c = WsTestClient::connect(server_->url());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(c->loginAsNewGuest(server_->poolId()).isOk());
  EXPECT_EQ(c->callAs<SubscribeResponse>(SubscribeRequest{{"bad name"}, ""}).status().code(), StatusCode::kInvalidArgument);
}

// A subscriber that stops reading gets one pending notification per dataset (the newest), and
// the writer is not slowed down by it.
TEST_F(LiveSyncTest, StalledSubscriberIsCoalescedAndDoesNotSlowTheWriter) {
  std::string id = newIdentity();
  auto a = device(id);
  auto stalled = device(id);
  ASSERT_TRUE(a && stalled);
  // A dataset of ~1 MB whose pulls fill the stalled reader's socket buffers.
  {
    auto p = a->callAs<ListRecordsResponse>(ListRecordsRequest{"bulk", 0, 0, ""});
    ASSERT_TRUE(p.isOk());
    std::vector<RecordPatch> patches;
    for (int i = 0; i < 15; ++i)
      patches.push_back(RecordPatch{PatchOp::kReplace, "b" + std::to_string(i), std::string(65536, 'x'), 0, 1});
    ASSERT_TRUE(a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"bulk", p->syncSessionToken, "d", patches}).isOk());
  }
  ASSERT_TRUE(stalled->callAs<SubscribeResponse>(SubscribeRequest{{"hot"}, ""}).isOk());
  stalled->setReading(false);
  for (int i = 0; i < 10; ++i) stalled->sendRequest(ListRecordsRequest{"bulk", 0, 0, ""});  // ~10 MB queued

  constexpr int kWrites = 200;
  auto t0 = Clock::now();
  auto p = a->callAs<ListRecordsResponse>(ListRecordsRequest{"hot", 0, 0, ""});
  ASSERT_TRUE(p.isOk());
  int64_t count = 0;
  for (int i = 0; i < kWrites; ++i) {
    auto u = a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
        "hot", p->syncSessionToken, "d", {RecordPatch{PatchOp::kReplace, "k", std::to_string(i), count, 1}}});
    ASSERT_TRUE(u.isOk()) << u.status();
    count = u->records[0].syncCount;
  }
  double writerMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::printf("[ metric ] %d writes with a stalled subscriber: %.1f ms (%.2f ms/write)\n", kWrites, writerMs,
              writerMs / kWrites);
  EXPECT_LT(writerMs, 20000.0);

  stalled->setReading(true);
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*stalled, "hot") == count; }, 20000))
      << "last push " << lastPushed(*stalled, "hot") << " want " << count;
  size_t received = 0;
  for (auto& push : stalled->pushes()) if (push.datasetName == "hot") ++received;
  std::printf("[ metric ] stalled subscriber received %zu notifications for %d writes\n", received, kWrites);
  EXPECT_LT(received, static_cast<size_t>(kWrites));
  EXPECT_TRUE(stalled->isOpen());
}

}  // namespace
}  // namespace tether::testing
