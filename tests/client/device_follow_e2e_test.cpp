// ClientOptions::followDeviceSubscriptions end to end (suite 'client-device-follow'): a real
// tetherd; a Cognito DeviceId registered (RegisterDevice) and subscribed (SubscribeToDataset /
// UnsubscribeFromDataset) over SigV4-signed HTTP with temporary credentials from
// GetCredentialsForIdentity, as an AWS SDK would; a libtether Client presenting that DeviceId
// with no app subscription of its own keeps the device's datasets current; a native connection
// plays the other writer. The signed HTTP client is tests/support/signed_sync_client.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "client_impl.h"
#include "signed_sync_client.h"
#include "tcp_proxy.h"
#include "test_util.h"
#include "tether/client.h"
#include "tether/tether.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::client::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using tether::testing::TetherdProcess;
using tether::testing::WsTestClient;

using tether::testing::HttpReply;
using tether::testing::SignedSyncClient;

// What the change listener heard: (dataset, key) pairs, thread-safe. Held by shared_ptr in the
// listener: a listener call may still be running on the sync thread when the test body ends.
struct Heard : std::enable_shared_from_this<Heard> {
  std::mutex mu;
  std::set<std::pair<std::string, std::string>> keys;
  std::set<std::string> datasets;

  ChangeListener listener() {
    return [self = shared_from_this()](const std::string& ds, const std::vector<std::string>& changed) {
      Heard& h = *self;
      std::lock_guard lock(h.mu);
      h.datasets.insert(ds);
      for (const std::string& k : changed) h.keys.insert({ds, k});
    };
  }
  bool heard(const std::string& ds) {
    std::lock_guard lock(mu);
    return datasets.count(ds) > 0;
  }
  void clear() {
    std::lock_guard lock(mu);
    keys.clear();
    datasets.clear();
  }
};

class DeviceFollowE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("device_follow_e2e");
    server_ = TetherdProcess::start();
    ASSERT_TRUE(server_) << "tetherd did not start";
    writer_ = WsTestClient::connect(server_->url());
    ASSERT_TRUE(writer_);
    Result<std::string> id = writer_->loginAsNewGuest(server_->poolId());
    ASSERT_TRUE(id.isOk()) << id.status();
    identity_ = *id;
    http_ = std::make_unique<SignedSyncClient>(server_->port(), server_->poolId(), identity_);
    ASSERT_TRUE(http_->fetchCredentials());
    HttpReply reg = http_->registerDevice("GCM", "push-token-of-this-phone");
    ASSERT_EQ(reg.status, 200) << reg.raw;
    device_ = reg.body.value("DeviceId", "");
    ASSERT_FALSE(device_.empty());
  }

  std::unique_ptr<Client> open(const std::string& name, bool follow, const std::string& url = "") {
    ClientOptions o;
    o.cachePath = dir_ + "/" + name + ".db";
    o.serverUrl = url.empty() ? server_->url() : url;
    o.identityPoolId = server_->poolId();
    o.identityId = identity_;
    o.deviceName = device_;
    o.connectTimeout = 5s;
    o.requestTimeout = 10s;
    o.followDeviceSubscriptions = follow;
    auto c = Client::open(o);
    EXPECT_TRUE(c.isOk()) << c.status();
    return c.isOk() ? std::move(*c) : nullptr;
  }

  // The other device: one record "k" per dataset, written over the native protocol.
  void write(const std::string& ds, const std::string& value) {
    auto page = writer_->callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{ds, 0, 0, ""});
    ASSERT_TRUE(page.isOk()) << page.status();
    int64_t count = 0;
    for (auto& r : page->records)
      if (r.key == "k") count = r.syncCount;
    auto u = writer_->callAs<proto::UpdateRecordsResponse>(proto::UpdateRecordsRequest{
        ds, page->syncSessionToken, "writer", {RecordPatch{PatchOp::kReplace, "k", value, count, 1}}});
    ASSERT_TRUE(u.isOk()) << u.status();
  }

  // The value of "k" in `ds` in the client's local cache ("" if none), without creating `ds`.
  static std::string local(Client& c, const std::string& ds) {
    if (!hasLocal(c, ds)) return "";
    auto d = c.openOrCreateDataset(ds);
    if (!d.isOk()) return "";
    auto v = (*d)->get("k");
    return v.isOk() && v->has_value() ? **v : "";
  }
  static bool hasLocal(Client& c, const std::string& ds) {
    auto all = c.listDatasets();
    if (!all.isOk()) return false;
    return std::any_of(all->begin(), all->end(), [&](const DatasetMetadata& m) { return m.name == ds; });
  }
  static LiveSyncStats stats(Client& c) { return static_cast<ClientImpl&>(c).liveSyncStats(); }
  static std::vector<std::string> followed(Client& c) { return c.followedDatasets(); }

  std::string dir_;
  std::unique_ptr<TetherdProcess> server_;
  std::unique_ptr<WsTestClient> writer_;
  std::string identity_;
  std::unique_ptr<SignedSyncClient> http_;
  std::string device_;
};

using Names = std::vector<std::string>;

TEST_F(DeviceFollowE2ETest, ClientFollowsDatasetsSubscribedForItsDeviceOverHttp) {
  ASSERT_EQ(http_->subscribe("settings", device_).status, 200);
  write("settings", "v1");  // before the client connects: pulled because it is behind

  TcpProxy proxy(server_->port());
  auto c = open("phone", true, "ws://127.0.0.1:" + std::to_string(proxy.port()));
  ASSERT_TRUE(c);
  auto heardPtr = std::make_shared<Heard>();
  Heard& heard = *heardPtr;
  c->addChangeListener(heard.listener());
  ASSERT_TRUE(waitUntil([&] { return local(*c, "settings") == "v1"; }, 20s))
      << "subscribes " << stats(*c).subscribeCalls << ", syncs " << stats(*c).backgroundSyncs;
  EXPECT_TRUE(c->subscribedDatasets().empty());  // nothing subscribed by the app
  EXPECT_EQ(followed(*c), Names{"settings"});

  // Another device changes "settings": it arrives with no synchronize() and the listener hears
  // it. "other", not subscribed for the device, written first, is neither announced nor pulled.
  heard.clear();
  write("other", "x");
  write("settings", "v2");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "settings") == "v2"; }, 10s));
  ASSERT_TRUE(waitUntil([&] { return heard.heard("settings"); }, 10s));
  {
    std::lock_guard lock(heard.mu);
    EXPECT_TRUE(heard.keys.count({"settings", "k"}));
  }
  EXPECT_FALSE(hasLocal(*c, "other"));
  EXPECT_FALSE(heard.heard("other"));
  EXPECT_EQ(stats(*c).deviceRefreshes, 0u);  // no announcement of an unknown dataset came
  EXPECT_GE(stats(*c).notifications, 1u);

  // SubscribeToDataset while connected: the first announcement of "other" is acted on.
  ASSERT_EQ(http_->subscribe("other", device_).status, 200);
  write("other", "y");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "other") == "y"; }, 10s))
      << "refreshes " << stats(*c).deviceRefreshes;
  EXPECT_EQ(followed(*c), (Names{"other", "settings"}));
  EXPECT_GE(stats(*c).deviceRefreshes, 1u);

  // UnsubscribeFromDataset: the server stops announcing "settings" at once ("other", written
  // after it, arrives while "settings" stays at v2)...
  ASSERT_EQ(http_->unsubscribe("settings", device_).status, 200);
  write("settings", "v3");
  write("other", "z");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "other") == "z"; }, 10s));
  EXPECT_EQ(local(*c, "settings"), "v2");

  // ...and after a reconnection the client no longer follows it: not pulled although behind.
  uint64_t connections = stats(*c).connections;
  proxy.setOnline(false);
  proxy.setOnline(true);
  ASSERT_TRUE(waitUntil([&] { return stats(*c).connections > connections; }, 30s));
  ASSERT_TRUE(waitUntil([&] { return followed(*c) == Names{"other"}; }, 10s))
      << "followed: " << ::testing::PrintToString(followed(*c));
  write("settings", "v4");
  write("other", "w");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "other") == "w"; }, 10s));
  EXPECT_EQ(local(*c, "settings"), "v2");
}

// Dataset::subscribe/unsubscribe keep working beside the device's datasets; unsubscribing a
// dataset that is only the device's changes nothing; one the app and the device both had stays
// followed after the app unsubscribes.
TEST_F(DeviceFollowE2ETest, AppSubscriptionsWorkBesideDeviceSubscriptions) {
  ASSERT_EQ(http_->subscribe("settings", device_).status, 200);
  ASSERT_EQ(http_->subscribe("shared", device_).status, 200);
  auto c = open("phone", true);
  ASSERT_TRUE(c);
  ASSERT_TRUE(waitUntil([&] { return followed(*c) == Names{"settings", "shared"}; }, 20s))
      << ::testing::PrintToString(followed(*c));

  auto notes = c->openOrCreateDataset("notes");
  auto shared = c->openOrCreateDataset("shared");
  auto settings = c->openOrCreateDataset("settings");
  ASSERT_TRUE(notes.isOk() && shared.isOk() && settings.isOk());
  ASSERT_TRUE((*notes)->subscribe().isOk());
  ASSERT_TRUE((*shared)->subscribe().isOk());
  EXPECT_EQ(c->subscribedDatasets(), (Names{"notes", "shared"}));
  EXPECT_EQ(followed(*c), (Names{"notes", "settings", "shared"}));
  // Announced, or (if written before the Subscribe landed) pulled from the reply's counts.
  write("notes", "n1");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "notes") == "n1"; }, 10s));

  // Not app-subscribed: a no-op, "settings" is still the device's.
  ASSERT_TRUE((*settings)->unsubscribe().isOk());
  EXPECT_FALSE((*settings)->isSubscribed());
  write("settings", "s1");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "settings") == "s1"; }, 10s));

  // The app drops "notes" and "shared": "notes" goes quiet, "shared" (stored for the device)
  // is still pulled.
  ASSERT_TRUE((*notes)->unsubscribe().isOk());
  ASSERT_TRUE((*shared)->unsubscribe().isOk());
  EXPECT_TRUE(c->subscribedDatasets().empty());
  ASSERT_TRUE(waitUntil([&] { return followed(*c) == Names{"settings", "shared"}; }, 10s))
      << ::testing::PrintToString(followed(*c));
  write("notes", "n2");
  write("shared", "h1");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "shared") == "h1"; }, 10s));
  EXPECT_EQ(local(*c, "notes"), "n1");
}

// Option off (the default): the same registered DeviceId as deviceName follows nothing of the
// device's; only Dataset::subscribe()d datasets are kept current.
TEST_F(DeviceFollowE2ETest, WithTheOptionOffNothingOfTheDeviceIsFollowed) {
  ASSERT_EQ(http_->subscribe("settings", device_).status, 200);
  write("settings", "v1");
  auto c = open("phone", false);
  ASSERT_TRUE(c);
  auto marker = c->openOrCreateDataset("marker");
  ASSERT_TRUE(marker.isOk());
  ASSERT_TRUE((*marker)->subscribe().isOk());
  write("marker", "m1");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "marker") == "m1"; }, 20s));
  // "settings" is announced to device followers before "marker" on the connection.
  write("settings", "v2");
  write("marker", "m2");
  ASSERT_TRUE(waitUntil([&] { return local(*c, "marker") == "m2"; }, 10s));
  EXPECT_FALSE(hasLocal(*c, "settings"));
  EXPECT_EQ(followed(*c), Names{"marker"});
  EXPECT_EQ(stats(*c).deviceRefreshes, 0u);
}

// The C API carries the option (follow_device_subscriptions).
TEST_F(DeviceFollowE2ETest, CApiOptionFollowsTheDevice) {
  ASSERT_EQ(http_->subscribe("settings", device_).status, 200);
  write("settings", "c1");
  std::string cache = dir_ + "/c.db";
  std::string url = server_->url();
  std::string pool = server_->poolId();
  tether_client_options o;
  tether_client_options_init(&o);
  EXPECT_EQ(o.follow_device_subscriptions, 0);
  o.cache_path = cache.c_str();
  o.server_url = url.c_str();
  o.identity_pool_id = pool.c_str();
  o.identity_id = identity_.c_str();
  o.device_name = device_.c_str();
  o.follow_device_subscriptions = 1;
  tether_client* c = nullptr;
  ASSERT_EQ(tether_client_open(&o, &c), TETHER_OK);
  tether_dataset* d = nullptr;
  ASSERT_EQ(tether_client_open_dataset(c, "settings", &d), TETHER_OK);
  auto value = [&] {
    char* v = nullptr;
    std::string out;
    if (tether_dataset_get(d, "k", &v) == TETHER_OK && v) out = v;
    tether_free(v);
    return out;
  };
  EXPECT_TRUE(waitUntil([&] { return value() == "c1"; }, 20s));
  write("settings", "c2");
  EXPECT_TRUE(waitUntil([&] { return value() == "c2"; }, 10s));
  tether_dataset_release(d);
  tether_client_close(c);
}

}  // namespace
}  // namespace tether::client::testing
