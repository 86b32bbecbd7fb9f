// Tests of the console's identity section (console/console_identities.h) on both backends:
// search by each key, odd identity IDs, the identity page, disable/enable/unlink/delete and
// their effect on the identity's access through the IdentityService.
#include "console_fixture.h"

#include "auth/identity_merge.h"
#include "tether/limits.h"

namespace tether::server::console::testing {
namespace {

using Json = nlohmann::json;

constexpr const char* kAlice = "eu-west-1:11111111-1111-4111-8111-111111111111";
constexpr const char* kBob = "eu-west-1:22222222-2222-4222-8222-222222222222";
constexpr const char* kCarol = "eu-west-1:33333333-3333-4333-8333-333333333333";

class ConsoleIdentitiesTest : public ConsoleSectionTest {};
TETHER_INSTANTIATE_BACKENDS(ConsoleIdentitiesTest);

std::vector<std::string> idsOf(const ApiResult& r) {
  std::vector<std::string> out;
  for (const Json& i : r.body.at("identities")) out.push_back(i.at("identityId").get<std::string>());
  return out;
}

TEST_P(ConsoleIdentitiesTest, SearchByIdentityId) {
  newIdentity(kAlice);
  newIdentity(kBob);
  ApiResult r = call("GET", {"identities"}, {{"q", kAlice}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(idsOf(r), std::vector<std::string>{kAlice});
  EXPECT_EQ(r.body["identities"][0]["matchedBy"], "identityId");
  EXPECT_EQ(r.body["identities"][0]["poolId"], kPool);
  EXPECT_EQ(r.body["identities"][0]["disabled"], false);
  // Restricted to another pool: not found there.
  r = call("GET", {"identities"}, {{"q", kAlice}, {"pool", kOtherPool}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(idsOf(r).empty());
  // An unknown, well-formed ID: an empty result, not an error.
  r = call("GET", {"identities"}, {{"q", kCarol}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(idsOf(r).empty());
}

TEST_P(ConsoleIdentitiesTest, SearchByLogin) {
  newIdentity(kAlice);
  newIdentity(kBob);
  link(kAlice, "accounts.google.com", "1234567890");
  link(kBob, "login.example.com", "urn:user:7");  // a subject with colons
  ApiResult r = call("GET", {"identities"}, {{"q", "accounts.google.com:1234567890"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(idsOf(r), std::vector<std::string>{kAlice});
  EXPECT_EQ(r.body["identities"][0]["matchedBy"], "login");
  EXPECT_EQ(r.body["identities"][0]["logins"][0]["provider"], "accounts.google.com");
  EXPECT_EQ(r.body["identities"][0]["logins"][0]["subject"], "1234567890");

  r = call("GET", {"identities"}, {{"q", "login.example.com:urn:user:7"}, {"pool", kPool}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(idsOf(r), std::vector<std::string>{kBob});

  r = call("GET", {"identities"}, {{"provider", "login.example.com"}, {"subject", "urn:user:7"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(idsOf(r), std::vector<std::string>{kBob});
  // The wrong subject, or the login in another pool: nothing.
  r = call("GET", {"identities"}, {{"provider", "login.example.com"}, {"subject", "urn:user:8"}});
  EXPECT_TRUE(idsOf(r).empty());
  r = call("GET", {"identities"}, {{"q", "accounts.google.com:1234567890"}, {"pool", kOtherPool}});
  EXPECT_TRUE(idsOf(r).empty());
  // provider without subject is a malformed search.
  r = call("GET", {"identities"}, {{"provider", "login.example.com"}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_P(ConsoleIdentitiesTest, SearchByDeveloperUserId) {
  newIdentity(kAlice);
  ASSERT_TRUE(store_->setPoolDeveloperProvider(kPool, "login.myapp").isOk());
  link(kAlice, "login.myapp", "user-42");
  ApiResult r = call("GET", {"identities"}, {{"q", "user-42"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(idsOf(r), std::vector<std::string>{kAlice});
  EXPECT_EQ(r.body["identities"][0]["matchedBy"], "developerUserId");
  r = call("GET", {"identities"}, {{"q", "user-43"}});
  EXPECT_TRUE(idsOf(r).empty());
}

TEST_P(ConsoleIdentitiesTest, ListsAPoolByPages) {
  newIdentity(kAlice);
  newIdentity(kBob);
  newIdentity(kCarol);
  newIdentity("eu-west-1:44444444-4444-4444-8444-444444444444", kOtherPool);
  ApiResult r = call("GET", {"identities"}, {{"pool", kPool}, {"limit", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(idsOf(r), (std::vector<std::string>{kAlice, kBob}));
  ASSERT_EQ(r.body["next"], kBob);
  r = call("GET", {"identities"}, {{"pool", kPool}, {"limit", "2"}, {"after", kBob}});
  EXPECT_EQ(idsOf(r), std::vector<std::string>{kCarol});
  EXPECT_TRUE(r.body["next"].is_null());
  // Neither a search nor a pool: refused.
  EXPECT_EQ(call("GET", {"identities"}).status, 400);
  EXPECT_EQ(call("GET", {"identities"}, {{"pool", kPool}, {"limit", "61"}}).status, 400);
  EXPECT_EQ(call("GET", {"identities"}, {{"pool", "eu-west-1:00000000-0000-4000-8000-0000000000cc"}}).status, 404);
}

TEST_P(ConsoleIdentitiesTest, OddIdentityIdsAreRefusedWith400) {
  newIdentity(kAlice);
  const std::vector<std::string> odd = {
      "eu-west-1:<script>alert(1)</script>", "../../etc/passwd", "eu-west-1:1111'; DROP TABLE identities;--",
      "eu-west-1:11111111-1111-4111-8111-11111111111\xff", std::string("eu-west-1:1111\0", 15),
      std::string(300, 'a') + ":" + std::string(300, '1'), "", ":", "eu-west-1:", "%2e%2e"};
  for (const std::string& id : odd) {
    for (auto [method, extra] : {std::pair{"GET", ""}, std::pair{"POST", "disable"}, std::pair{"DELETE", ""}}) {
      std::vector<std::string> path{"identities", id};
      if (*extra != '\0') path.push_back(extra);
      ApiResult r = call(method, path, {}, Json{{"confirm", id}});
      EXPECT_EQ(r.status, 400) << method << " " << r.body;
      EXPECT_EQ(r.body["error"], "InvalidParameter");
    }
    ApiResult r = call("GET", recordsPath(id, "settings"));
    EXPECT_EQ(r.status, 400) << r.body;
    r = call("PUT", recordPath(id, "settings", "k"), {}, Json{{"value", "v"}, {"syncCount", 0}});
    EXPECT_EQ(r.status, 400) << r.body;
  }
  // Odd search text and pool IDs: 400 too, never a crash.
  EXPECT_EQ(call("GET", {"identities"}, {{"q", std::string("a\0b", 3)}}).status, 400);
  EXPECT_EQ(call("GET", {"identities"}, {{"q", "\xff\xfe"}}).status, 400);
  EXPECT_EQ(call("GET", {"identities"}, {{"q", std::string(5000, 'x')}}).status, 400);
  EXPECT_EQ(call("GET", {"identities"}, {{"pool", "<script>"}, {"q", "x"}}).status, 400);
  // A well-formed ID nobody has: 404.
  EXPECT_EQ(call("GET", {"identities", kBob}).status, 404);
  // Nothing was disabled or deleted by any of it.
  auto alice = store_->getIdentity(kAlice);
  ASSERT_TRUE(alice.isOk() && alice->has_value());
  EXPECT_FALSE((*alice)->disabled);
}

TEST_P(ConsoleIdentitiesTest, IdentityPageShowsLoginsDevicesAndDatasets) {
  newIdentity(kAlice);
  link(kAlice, "accounts.google.com", "g-1");
  auto device = store_->registerDevice(DeviceInfo{kPool, kAlice, "dev-a", "GCM", "token-secret", clock_.nowMs()}, 10);
  ASSERT_TRUE(device.isOk()) << device.status();
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, *device, "settings", 10).isOk());
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("theme", "dark", 0), put("lang", "fr", 0)}).isOk());
  ASSERT_TRUE(devicePush(kAlice, "scores", {put("level", "12", 0)}, "device-2").isOk());

  ApiResult r = call("GET", {"identities", kAlice});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json& b = r.body;
  EXPECT_EQ(b["identityId"], kAlice);
  EXPECT_EQ(b["poolId"], kPool);
  EXPECT_EQ(b["disabled"], false);
  EXPECT_EQ(b["created"], clock_.nowMs());
  ASSERT_EQ(b["logins"].size(), 1u);
  EXPECT_EQ(b["logins"][0]["subject"], "g-1");
  ASSERT_EQ(b["devices"].size(), 1u);
  EXPECT_EQ(b["devices"][0]["deviceId"], *device);
  EXPECT_EQ(b["devices"][0]["platform"], "GCM");
  EXPECT_EQ(b["devices"][0]["subscriptions"], Json::array({"settings"}));
  EXPECT_EQ(b.dump().find("token-secret"), std::string::npos) << "push tokens are not shown";
  ASSERT_EQ(b["datasets"].size(), 2u);
  // Sizes as Cognito counts them: the numbers DescribeDataset reports.
  for (const Json& d : b["datasets"]) {
    auto described = sync_->describeDataset(Caller{kPool, kAlice, ""}, {d["name"].get<std::string>()});
    ASSERT_TRUE(described.isOk());
    EXPECT_EQ(d["bytes"], described->dataset.dataStorage) << d;
    EXPECT_EQ(d["records"], described->dataset.numRecords) << d;
    EXPECT_EQ(d["syncCount"], described->dataset.syncCount) << d;
    EXPECT_EQ(d["lastModifiedBy"], described->dataset.lastModifiedBy) << d;
  }
  EXPECT_EQ(b["datasets"][0]["name"], "scores");
  EXPECT_EQ(b["datasets"][0]["lastModifiedBy"], "device-2");
  EXPECT_EQ(b["datasets"][1]["bytes"], static_cast<int64_t>(std::string("themedarklangfr").size()));
  EXPECT_EQ(b["usage"]["datasets"], 2);
  EXPECT_EQ(b["usage"]["bytes"], static_cast<int64_t>(std::string("themedarklangfrlevel12").size()));
  EXPECT_EQ(b["limits"]["datasetBytes"], 1048576);
  EXPECT_EQ(b["limits"]["datasetRecords"], 1024);
  EXPECT_EQ(b["limits"]["datasets"], 20);
  EXPECT_EQ(b["lastModified"], clock_.nowMs());
}

TEST_P(ConsoleIdentitiesTest, DisableAndEnableGateTheIdentitysAccess) {
  newIdentity(kAlice);
  link(kAlice, "accounts.google.com", "g-1");
  const std::string token = tokenFor(kAlice, {"authenticated", "accounts.google.com"});
  ASSERT_TRUE(identities_->authenticate(token).isOk());

  ApiResult r = call("POST", {"identities", kAlice, "disable"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["disabled"], true);
  EXPECT_EQ(r.body["canEnable"], true);
  EXPECT_EQ(r.auditTarget, std::string("identity ") + kAlice);
  EXPECT_EQ(r.auditDetail, "disabled");
  EXPECT_EQ(identities_->authenticate(token).status().code(), StatusCode::kUnauthenticated);
  // Its devices cannot write either (the sync service's own check).
  EXPECT_EQ(devicePush(kAlice, "settings", {put("k", "v", 0)}).status().code(), StatusCode::kUnauthenticated);

  r = call("POST", {"identities", kAlice, "enable"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["disabled"], false);
  EXPECT_TRUE(identities_->authenticate(token).isOk());
  EXPECT_TRUE(devicePush(kAlice, "settings", {put("k", "v", 0)}).isOk());
}

TEST_P(ConsoleIdentitiesTest, DisabledGuestIsRefusedTokens) {
  newIdentity(kAlice);  // a guest: no logins
  ASSERT_TRUE(identities_->getToken({kAlice, {}}).isOk());
  ASSERT_EQ(call("POST", {"identities", kAlice, "disable"}).status, 200);
  EXPECT_EQ(identities_->getToken({kAlice, {}}).status().code(), StatusCode::kUnauthenticated);
  // A disabled guest cannot be told from a merged-away identity: it stays disabled.
  ApiResult r = call("POST", {"identities", kAlice, "enable"});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(identities_->getToken({kAlice, {}}).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(ConsoleIdentitiesTest, EnablingAMergedAwayIdentityIsRefused) {
  newIdentity(kAlice);
  newIdentity(kBob);
  link(kAlice, "accounts.google.com", "g-1");
  link(kBob, "graph.facebook.com", "f-1");
  ASSERT_TRUE(devicePush(kBob, "settings", {put("k", "v", 0)}).isOk());
  ASSERT_TRUE(mergeIdentities(*store_, kPool, kAlice, kBob, clock_.nowMs()).isOk());
  ApiResult page = call("GET", {"identities", kBob});
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.body["disabled"], true);
  EXPECT_EQ(page.body["canEnable"], false);

  ApiResult r = call("POST", {"identities", kBob, "enable"});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.body["error"], "Conflict");
  EXPECT_NE(r.body["message"].get<std::string>().find("merged"), std::string::npos) << r.body;
  EXPECT_EQ(r.auditTarget, std::string("identity ") + kBob) << "a refused change is audited with its target";
  auto bob = store_->getIdentity(kBob);
  ASSERT_TRUE(bob.isOk() && bob->has_value());
  EXPECT_TRUE((*bob)->disabled) << "a refused enable writes nothing";
  EXPECT_EQ(identities_->authenticate(tokenFor(kBob, {"authenticated"})).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(ConsoleIdentitiesTest, UnlinkAsUnlinkIdentityDoes) {
  newIdentity(kAlice);
  link(kAlice, "accounts.google.com", "g-1");
  link(kAlice, "graph.facebook.com", "f-1");
  const std::string token = tokenFor(kAlice, {"authenticated"});

  EXPECT_EQ(call("DELETE", {"identities", kAlice, "logins"}, {{"provider", "graph.facebook.com"}}).status, 400);
  ApiResult r = call("DELETE", {"identities", kAlice, "logins"}, {{"provider", "graph.facebook.com"}, {"subject", "f-2"}});
  EXPECT_EQ(r.status, 404) << r.body;

  r = call("DELETE", {"identities", kAlice, "logins"}, {{"provider", "graph.facebook.com"}, {"subject", "f-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["logins"].size(), 1u);
  EXPECT_EQ(r.body["disabled"], false);
  auto found = store_->findLogin(kPool, "graph.facebook.com", "f-1");
  ASSERT_TRUE(found.isOk());
  EXPECT_FALSE(found->has_value());
  EXPECT_TRUE(identities_->authenticate(token).isOk());

  // The last login: the identity is disabled (spec 7.16), and cannot be enabled again.
  r = call("DELETE", {"identities", kAlice, "logins"}, {{"provider", "accounts.google.com"}, {"subject", "g-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["disabled"], true);
  EXPECT_NE(r.auditDetail.find("last login"), std::string::npos) << r.auditDetail;
  EXPECT_EQ(identities_->authenticate(token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(call("POST", {"identities", kAlice, "enable"}).status, 409);
}

TEST_P(ConsoleIdentitiesTest, DeleteNeedsTheConfirmation) {
  newIdentity(kAlice);
  link(kAlice, "accounts.google.com", "g-1");
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("k", "v", 0)}).isOk());
  const std::string token = tokenFor(kAlice, {"authenticated"});

  for (const Json& body : {Json(nullptr), Json::object(), Json{{"confirm", kBob}}, Json{{"confirm", true}},
                           Json{{"confirm", std::string(kAlice) + " "}}, Json::array({kAlice})}) {
    ApiResult r = call("DELETE", {"identities", kAlice}, {}, body);
    EXPECT_EQ(r.status, 400) << body;
    auto still = store_->getIdentity(kAlice);
    ASSERT_TRUE(still.isOk());
    EXPECT_TRUE(still->has_value()) << "deleted without the confirmation: " << body;
  }
  ApiResult r = call("DELETE", {"identities", kAlice}, {}, Json{{"confirm", kAlice}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["deleted"], kAlice);
  auto gone = store_->getIdentity(kAlice);
  ASSERT_TRUE(gone.isOk());
  EXPECT_FALSE(gone->has_value());
  auto login = store_->findLogin(kPool, "accounts.google.com", "g-1");
  ASSERT_TRUE(login.isOk());
  EXPECT_FALSE(login->has_value());
  EXPECT_EQ(identities_->authenticate(token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(call("GET", {"identities", kAlice}).status, 404);
  EXPECT_EQ(call("DELETE", {"identities", kAlice}, {}, Json{{"confirm", kAlice}}).status, 404);
}

}  // namespace
}  // namespace tether::server::console::testing
