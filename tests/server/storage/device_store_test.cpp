// Tests of the push-sync device part of the Store (Cognito RegisterDevice, SubscribeToDataset,
// UnsubscribeFromDataset) on both backends: same token -> same DeviceId, identity
// isolation, idempotent subscribe, not-found cases, limits, eviction of the oldest devices,
// durability across reopen, identity merge (moveDevices) and deleteIdentity; and for mobile push,
// the devices subscribed to a dataset (listSubscribedDevices) and removeDevice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/sqlite_store.h"
#include "storage/store.h"
#include "store_backend.h"

namespace tether::server {
namespace {


const std::string kPool = "local:00000000-0000-0000-0000-0000000000aa";
const std::string kAlice = "local:00000000-0000-0000-0000-00000000a11c";
const std::string kBob = "local:00000000-0000-0000-0000-000000000b0b";
constexpr int kMaxDevices = 64;
constexpr int kMaxSubs = 100;

class DeviceStoreTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    reopen();
  }
  void reopen() {
    store_.reset();
    auto s = tryOpenStore();
    ASSERT_TRUE(s.isOk()) << s.status();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->putPool({kPool, "p", true, 1}).isOk());
  }
  Result<std::string> reg(const std::string& identity, const std::string& id, const std::string& platform,
                          const std::string& token, int64_t createdMs = 100, int maxDevices = kMaxDevices) {
    return store_->registerDevice(DeviceInfo{kPool, identity, id, platform, token, createdMs}, maxDevices);
  }
  std::vector<std::string> subs(const std::string& identity, const std::string& device) {
    auto r = store_->listDeviceSubscriptions(kPool, identity, device);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : std::vector<std::string>{};
  }

  std::unique_ptr<Store> store_;
};
TETHER_INSTANTIATE_BACKENDS(DeviceStoreTest);

TEST_P(DeviceStoreTest, SamePlatformAndTokenReturnsTheFirstDeviceId) {
  auto first = reg(kAlice, "dev-1", "GCM", "tok");
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_EQ(*first, "dev-1");
  auto again = reg(kAlice, "dev-2", "GCM", "tok", 200);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, "dev-1");
  // The second call changed nothing: dev-2 was never stored, dev-1 kept its creation time.
  auto d2 = store_->getDevice(kPool, kAlice, "dev-2");
  ASSERT_TRUE(d2.isOk());
  EXPECT_FALSE(d2->has_value());
  auto d1 = store_->getDevice(kPool, kAlice, "dev-1");
  ASSERT_TRUE(d1.isOk() && d1->has_value());
  EXPECT_EQ(**d1, (DeviceInfo{kPool, kAlice, "dev-1", "GCM", "tok", 100}));

  // Another platform, another token or another identity is another device.
  EXPECT_EQ(*reg(kAlice, "dev-3", "APNS", "tok"), "dev-3");
  EXPECT_EQ(*reg(kAlice, "dev-4", "GCM", "tok2"), "dev-4");
  EXPECT_EQ(*reg(kBob, "dev-5", "GCM", "tok"), "dev-5");
}

TEST_P(DeviceStoreTest, DevicesOfOneIdentityAreInvisibleToAnother) {
  ASSERT_TRUE(reg(kAlice, "dev-a", "GCM", "t").isOk());
  auto d = store_->getDevice(kPool, kBob, "dev-a");
  ASSERT_TRUE(d.isOk());
  EXPECT_FALSE(d->has_value());
  EXPECT_EQ(store_->subscribeDevice(kPool, kBob, "dev-a", "prefs", kMaxSubs).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->subscribeDevice("local:other", kAlice, "dev-a", "prefs", kMaxSubs).code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev-a", "prefs", kMaxSubs).isOk());
  EXPECT_EQ(store_->unsubscribeDevice(kPool, kBob, "dev-a", "prefs").code(), StatusCode::kNotFound);
  EXPECT_TRUE(subs(kBob, "dev-a").empty());
  EXPECT_EQ(subs(kAlice, "dev-a"), std::vector<std::string>{"prefs"});
}

TEST_P(DeviceStoreTest, SubscribeIsIdempotentAndUnsubscribeNeedsASubscription) {
  ASSERT_TRUE(reg(kAlice, "dev", "APNS_SANDBOX", "t").isOk());
  EXPECT_EQ(store_->subscribeDevice(kPool, kAlice, "nope", "prefs", kMaxSubs).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "a.b:c", kMaxSubs).isOk());
  EXPECT_EQ(subs(kAlice, "dev"), (std::vector<std::string>{"a.b:c", "prefs"}));

  ASSERT_TRUE(store_->unsubscribeDevice(kPool, kAlice, "dev", "prefs").isOk());
  EXPECT_EQ(store_->unsubscribeDevice(kPool, kAlice, "dev", "prefs").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->unsubscribeDevice(kPool, kAlice, "nope", "a.b:c").code(), StatusCode::kNotFound);
  EXPECT_EQ(subs(kAlice, "dev"), std::vector<std::string>{"a.b:c"});
  EXPECT_TRUE(subs(kAlice, "unknown-device").empty());
}

TEST_P(DeviceStoreTest, SubscriptionLimitRejectsWithoutWriting) {
  ASSERT_TRUE(reg(kAlice, "dev", "GCM", "t").isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "d1", 2).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "d2", 2).isOk());
  EXPECT_EQ(store_->subscribeDevice(kPool, kAlice, "dev", "d3", 2).code(), StatusCode::kLimitExceeded);
  // Re-subscribing to one it already has is not a new subscription.
  EXPECT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "d2", 2).isOk());
  EXPECT_EQ(subs(kAlice, "dev"), (std::vector<std::string>{"d1", "d2"}));
}

TEST_P(DeviceStoreTest, OldestDevicesAreDroppedPastTheLimitWithTheirSubscriptions) {
  ASSERT_TRUE(reg(kAlice, "old", "GCM", "t1", 10, 2).isOk());
  ASSERT_TRUE(reg(kAlice, "mid", "GCM", "t2", 20, 2).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "old", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(reg(kBob, "bobs", "GCM", "t0", 1, 2).isOk());  // another identity: not counted
  // The new one has an older clock reading than both, but the one just registered always stays.
  ASSERT_TRUE(reg(kAlice, "new", "GCM", "t3", 5, 2).isOk());
  auto old = store_->getDevice(kPool, kAlice, "old");
  ASSERT_TRUE(old.isOk());
  EXPECT_FALSE(old->has_value());
  EXPECT_TRUE(subs(kAlice, "old").empty());
  EXPECT_TRUE(store_->getDevice(kPool, kAlice, "mid")->has_value());
  EXPECT_TRUE(store_->getDevice(kPool, kAlice, "new")->has_value());
  EXPECT_TRUE(store_->getDevice(kPool, kBob, "bobs")->has_value());
}

TEST_P(DeviceStoreTest, DevicesAndSubscriptionsSurviveReopen) {
  ASSERT_TRUE(reg(kAlice, "dev", "ADM", "t").isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev", "prefs", kMaxSubs).isOk());
  reopen();
  EXPECT_EQ(subs(kAlice, "dev"), std::vector<std::string>{"prefs"});
  EXPECT_EQ(*reg(kAlice, "other", "ADM", "t"), "dev");
}

TEST_P(DeviceStoreTest, MoveDevicesCarriesSubscriptionsAndDropsDuplicateTokens) {
  ASSERT_TRUE(reg(kBob, "bob-own", "GCM", "shared", 1).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kBob, "bob-own", "b", kMaxSubs).isOk());
  ASSERT_TRUE(reg(kAlice, "a-unique", "GCM", "only-alice").isOk());
  ASSERT_TRUE(reg(kAlice, "a-dup", "GCM", "shared").isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "a-unique", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "a-dup", "x", kMaxSubs).isOk());

  Status moved = store_->moveDevices(kPool, kAlice, kBob);
  ASSERT_TRUE(moved.isOk()) << moved;
  EXPECT_EQ(subs(kBob, "a-unique"), std::vector<std::string>{"prefs"});
  EXPECT_FALSE(store_->getDevice(kPool, kBob, "a-dup")->has_value());  // Bob already had that token
  EXPECT_TRUE(subs(kBob, "a-dup").empty());
  EXPECT_EQ(subs(kBob, "bob-own"), std::vector<std::string>{"b"});
  EXPECT_FALSE(store_->getDevice(kPool, kAlice, "a-unique")->has_value());
  EXPECT_TRUE(subs(kAlice, "a-unique").empty());
  EXPECT_TRUE(subs(kAlice, "a-dup").empty());
  // The survivor's registration of that token is the one RegisterDevice now returns.
  EXPECT_EQ(*reg(kBob, "again", "GCM", "shared"), "bob-own");
}

TEST_P(DeviceStoreTest, DeleteIdentityRemovesItsDevices) {
  ASSERT_TRUE(store_->createIdentity({kAlice, kPool, 1, false}).isOk());
  ASSERT_TRUE(store_->createIdentity({kBob, kPool, 1, false}).isOk());
  ASSERT_TRUE(reg(kAlice, "a", "GCM", "t").isOk());
  ASSERT_TRUE(reg(kBob, "b", "GCM", "t").isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "a", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kBob, "b", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->deleteIdentity(kAlice).isOk());
  EXPECT_FALSE(store_->getDevice(kPool, kAlice, "a")->has_value());
  EXPECT_TRUE(subs(kAlice, "a").empty());
  EXPECT_EQ(subs(kBob, "b"), std::vector<std::string>{"prefs"});
  // A new identity with the same ID (not possible in practice) would start without devices.
  EXPECT_EQ(*reg(kAlice, "a2", "GCM", "t"), "a2");
}

TEST_P(DeviceStoreTest, ListSubscribedDevicesNamesExactlyTheIdentitysSubscribers) {
  ASSERT_TRUE(reg(kAlice, "a2", "APNS", "apns-tok").isOk());
  ASSERT_TRUE(reg(kAlice, "a1", "GCM", "gcm-tok", 50).isOk());
  ASSERT_TRUE(reg(kAlice, "a3", "GCM", "other").isOk());
  ASSERT_TRUE(reg(kBob, "b1", "GCM", "bob-tok").isOk());
  for (const char* d : {"a1", "a2"}) ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, d, "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "a3", "other", kMaxSubs).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kBob, "b1", "prefs", kMaxSubs).isOk());
  auto devices = store_->listSubscribedDevices(kPool, kAlice, "prefs");
  ASSERT_TRUE(devices.isOk()) << devices.status();
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0], (DeviceInfo{kPool, kAlice, "a1", "GCM", "gcm-tok", 50}));
  EXPECT_EQ((*devices)[1], (DeviceInfo{kPool, kAlice, "a2", "APNS", "apns-tok", 100}));
  EXPECT_TRUE(store_->listSubscribedDevices(kPool, kAlice, "nobody")->empty());
  EXPECT_TRUE(store_->listSubscribedDevices("local:00000000-0000-0000-0000-0000000000bb", kAlice, "prefs")->empty());
}

TEST_P(DeviceStoreTest, RemoveDeviceTakesItsSubscriptionsAndNothingElse) {
  ASSERT_TRUE(reg(kAlice, "gone", "GCM", "dead-token").isOk());
  ASSERT_TRUE(reg(kAlice, "kept", "GCM", "live-token").isOk());
  ASSERT_TRUE(reg(kBob, "gone", "GCM", "dead-token").isOk());  // same ID and token, other identity
  for (const char* ds : {"prefs", "other"}) {
    ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "gone", ds, kMaxSubs).isOk());
    ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "kept", ds, kMaxSubs).isOk());
  }
  ASSERT_TRUE(store_->subscribeDevice(kPool, kBob, "gone", "prefs", kMaxSubs).isOk());
  ASSERT_TRUE(store_->removeDevice(kPool, kAlice, "gone").isOk());
  EXPECT_FALSE(store_->getDevice(kPool, kAlice, "gone")->has_value());
  EXPECT_TRUE(subs(kAlice, "gone").empty());
  EXPECT_EQ(subs(kAlice, "kept"), (std::vector<std::string>{"other", "prefs"}));
  EXPECT_EQ(subs(kBob, "gone"), std::vector<std::string>{"prefs"});
  EXPECT_EQ(store_->removeDevice(kPool, kAlice, "gone").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->removeDevice(kPool, kAlice, "never").code(), StatusCode::kNotFound);
  // Durable, and the token can register again (a new DeviceId, as for a new install).
  reopen();
  EXPECT_FALSE(store_->getDevice(kPool, kAlice, "gone")->has_value());
  EXPECT_EQ(*reg(kAlice, "fresh", "GCM", "dead-token"), "fresh");
}

}  // namespace
}  // namespace tether::server
