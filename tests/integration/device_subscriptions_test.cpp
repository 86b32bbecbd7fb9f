// Cognito push-sync devices honoured by live sync, on the real tetherd: RegisterDevice and
// SubscribeToDataset over SigV4-signed HTTP (temporary credentials from GetCredentialsForIdentity),
// then a native connection presenting that DeviceId is told about writes of other connections to
// the subscribed datasets, follows Subscribe/UnsubscribeFromDataset made while it is open, and
// finds its stored subscriptions again after tetherd restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeoutMs);
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

class DeviceSubscriptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = TetherdProcess::start();
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<WsTestClient> connection(const std::string& identity) {
    auto c = WsTestClient::connect(server_->url());
    EXPECT_NE(c, nullptr);
    if (c) {
      EXPECT_TRUE(c->loginAs(identity).isOk());
    }
    return c;
  }
  std::string newIdentity() {
    auto c = WsTestClient::connect(server_->url());
    if (!c) return "";
    auto id = c->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
    EXPECT_TRUE(id.isOk());
    return id.isOk() ? id->identityId : "";
  }
  static Result<UpdateRecordsResponse> write(WsTestClient& c, const std::string& ds, const std::string& value) {
    auto p = c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, 0, 0, ""});
    if (!p.isOk()) return p.status();
    int64_t count = 0;
    for (auto& r : p->records) if (r.key == "k") count = r.syncCount;
    return c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
        ds, p->syncSessionToken, "writer", {RecordPatch{PatchOp::kReplace, "k", value, count, 1}}});
  }
  static int64_t lastPushed(const WsTestClient& c, const std::string& ds) {
    int64_t n = -1;
    for (auto& p : c.pushes()) if (p.datasetName == ds) n = p.syncCount;
    return n;
  }
  static std::vector<std::string> names(const SubscribeResponse& r) {
    std::vector<std::string> out;
    for (const auto& d : r.datasets) out.push_back(d.datasetName);
    return out;
  }

  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(DeviceSubscriptionsTest, RegisteredDeviceHearsItsStoredSubscriptionsAcrossChangesAndRestart) {
  std::string id = newIdentity();
  ASSERT_FALSE(id.empty());
  SignedSyncClient http(server_->port(), server_->poolId(), id);
  ASSERT_TRUE(http.fetchCredentials());
  HttpReply reg = http.registerDevice("GCM", "push-token-1");
  ASSERT_EQ(reg.status, 200) << reg.body.dump();
  std::string deviceId = reg.body.value("DeviceId", "");
  ASSERT_FALSE(deviceId.empty());
  HttpReply sub = http.subscribe("prefs", deviceId);
  ASSERT_EQ(sub.status, 200) << sub.body.dump();
  EXPECT_EQ(sub.body, Json::object());

  auto writer = connection(id);
  auto device = connection(id);
  ASSERT_TRUE(writer && device);
  ASSERT_TRUE(write(*writer, "prefs", "v1").isOk());  // before the device listens: in the counts
  // No names: just the device's stored subscriptions, with where they stand.
  auto s = device->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId});
  ASSERT_TRUE(s.isOk()) << s.status();
  ASSERT_EQ(names(*s), std::vector<std::string>{"prefs"});
  EXPECT_TRUE(s->datasets[0].exists);
  EXPECT_EQ(s->datasets[0].syncCount, 1);

  // Another connection's write to a stored subscription is announced; an unsubscribed dataset
  // (written first, on the same strand) is not.
  ASSERT_TRUE(write(*writer, "other", "x").isOk());
  ASSERT_TRUE(write(*writer, "prefs", "v2").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "prefs") == 2; }, 5000));
  EXPECT_EQ(lastPushed(*device, "other"), -1);

  // SubscribeToDataset while the connection is open takes effect at once, no re-subscribe.
  ASSERT_EQ(http.subscribe("other", deviceId).status, 200);
  ASSERT_TRUE(write(*writer, "other", "y").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 2; }, 5000));

  // UnsubscribeFromDataset likewise: "prefs" goes quiet while "other" still speaks.
  ASSERT_EQ(http.unsubscribe("prefs", deviceId).status, 200);
  ASSERT_TRUE(write(*writer, "prefs", "v3").isOk());
  ASSERT_TRUE(write(*writer, "other", "z").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 3; }, 5000));
  EXPECT_EQ(lastPushed(*device, "prefs"), 2);

  // The writer's own connection is never told, even when it presents the device too.
  ASSERT_TRUE(writer->callAs<SubscribeResponse>(SubscribeRequest{{"probe"}, deviceId}).isOk());
  ASSERT_TRUE(write(*writer, "other", "w").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 4; }, 5000));
  ASSERT_TRUE(write(*device, "probe", "p").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*writer, "probe") == 1; }, 5000));
  EXPECT_EQ(lastPushed(*writer, "other"), -1);

  // Another identity presenting the same DeviceId gets none of its subscriptions.
  std::string strangerId = newIdentity();
  auto stranger = connection(strangerId);
  ASSERT_TRUE(stranger);
  auto ss = stranger->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId});
  ASSERT_TRUE(ss.isOk());
  EXPECT_TRUE(ss->datasets.empty());

  // Stored subscriptions survive a restart: a new connection presenting the device hears "other".
  writer.reset();
  device.reset();
  stranger.reset();
  ASSERT_TRUE(server_->restart());
  writer = connection(id);
  device = connection(id);
  ASSERT_TRUE(writer && device);
  auto again = device->callAs<SubscribeResponse>(SubscribeRequest{{"explicit"}, deviceId});
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_EQ(names(*again), (std::vector<std::string>{"explicit", "other"}));
  EXPECT_EQ(again->datasets[1].syncCount, 4);
  ASSERT_TRUE(write(*writer, "prefs", "v4").isOk());
  ASSERT_TRUE(write(*writer, "other", "after-restart").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 5; }, 5000));
  EXPECT_EQ(lastPushed(*device, "prefs"), -1);

  // Unsubscribe with no names silences the device's datasets on this connection only; the stored
  // subscription stays for the next connection.
  ASSERT_TRUE(device->callAs<UnsubscribeResponse>(UnsubscribeRequest{{}}).isOk());
  auto third = connection(id);
  ASSERT_TRUE(third);
  ASSERT_TRUE(third->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId}).isOk());
  ASSERT_TRUE(write(*writer, "other", "later").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*third, "other") == 6; }, 5000));
  EXPECT_EQ(lastPushed(*device, "other"), 5);
}

TEST_F(DeviceSubscriptionsTest, UnknownDeviceIdIsJustALabel) {
  std::string id = newIdentity();
  auto writer = connection(id);
  auto device = connection(id);
  ASSERT_TRUE(writer && device);
  // The libtether client sends its own device ID; one never registered has no stored
  // subscriptions and the request works as before.
  auto s = device->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, "libtether-device-1"});
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_EQ(names(*s), std::vector<std::string>{"prefs"});
  ASSERT_TRUE(write(*writer, "prefs", "v").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "prefs") == 1; }, 5000));
  // An invalid device ID (over 256 chars) is refused without subscribing anything.
  EXPECT_EQ(device->callAs<SubscribeResponse>(SubscribeRequest{{"x"}, std::string(300, 'd')}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tether::testing
