// A tetherd user pool as the identity pool's login provider, seen from libtether (suite
// 'client-auth-e2e', spec cognito-user-pools.md 6.6): a user signs up and in over the Cognito
// User Pools API, the app passes the ID token through ClientOptions::loginsProvider, a guest's
// identity and data are kept, another device finds the same identity, and after a global
// sign-out the identity pool (ServerSideTokenCheck) refuses the old token while a fresh one from
// the provider works.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "http_test_client.h"
#include "tetherd_process.h"
#include "tether/client.h"
#include "test_util.h"

namespace tether::client::testing {
namespace {

using nlohmann::json;
using tether::testing::httpRequest;
using tether::testing::TetherdOptions;
using tether::testing::TetherdProcess;

constexpr const char* kPoolId = "local:7e57a0e1-0000-4000-8000-0000000051e7";
constexpr const char* kPassword = "Passw0rd!";

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

class UserPoolLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("client_user_pool_login");
    const std::string data = dir_ + "/data";
    // The user pool and its client exist before the server starts, so the config can name them.
    std::string out = run(std::string(std::getenv("TETHERD_BIN")) + " user-pool create --data-dir " + data +
                          " --name e2e --client app --password-auth");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("UserPoolId\\t(\\S+)"))) << out;
    userPool_ = m[1];
    ASSERT_TRUE(std::regex_search(out, m, std::regex("ClientId\\t(\\S+)"))) << out;
    client_ = m[1];
    provider_ = "cognito-idp.us-east-1.amazonaws.com/" + userPool_;
    std::ofstream cfg(dir_ + "/tetherd.toml");
    cfg << "[[pools]]\nid = \"" << kPoolId << "\"\nname = \"user pool logins\"\nallow_guests = true\n\n"
        << "[[pools.user_pool_providers]]\nprovider = \"" << provider_ << "\"\nclient_ids = [\"" << client_
        << "\"]\nserver_side_token_check = true\n\n[user_pools]\ndev_codes = true\n";
    cfg.close();
    TetherdOptions o;
    o.dataDir = data;
    o.createPool = false;
    o.extraArgs = {"--config", dir_ + "/tetherd.toml"};
    server_ = TetherdProcess::start(o);
    ASSERT_TRUE(server_) << "tetherd did not start";
  }

  json idp(const std::string& op, const json& in, int expectStatus = 200) {
    auto r = httpRequest(server_->port(), "POST", "/",
                         {{"Content-Type", "application/x-amz-json-1.1"},
                          {"X-Amz-Target", "AWSCognitoIdentityProviderService." + op}},
                         in.dump());
    EXPECT_EQ(r.status, expectStatus) << op << ": " << r.raw;
    return r.body;
  }
  // A confirmed user; returns its sub.
  std::string signUp(const std::string& name) {
    json up = idp("SignUp", {{"ClientId", client_}, {"Username", name}, {"Password", kPassword},
                             {"UserAttributes", {{{"Name", "email"}, {"Value", name + "@example.com"}}}}});
    auto code = httpRequest(server_->port(), "GET", "/_tether/cognito-idp/codes/" + userPool_ + "/" + name);
    idp("ConfirmSignUp", {{"ClientId", client_}, {"Username", name}, {"ConfirmationCode", code.body["code"]}});
    return up.value("UserSub", "");
  }
  json signIn(const std::string& name) {
    return idp("InitiateAuth", {{"ClientId", client_}, {"AuthFlow", "USER_PASSWORD_AUTH"},
                                {"AuthParameters", {{"USERNAME", name}, {"PASSWORD", kPassword}}}})["AuthenticationResult"];
  }

  std::unique_ptr<Client> open(const std::string& name, LoginsProvider provider) {
    ClientOptions o;
    o.cachePath = dir_ + "/" + name + ".db";
    o.serverUrl = server_->url();
    o.identityPoolId = kPoolId;
    o.deviceName = name;
    o.connectTimeout = std::chrono::seconds(5);
    o.requestTimeout = std::chrono::seconds(10);
    o.loginsProvider = std::move(provider);
    auto c = Client::open(o);
    EXPECT_TRUE(c.isOk()) << c.status();
    return c.isOk() ? std::move(*c) : nullptr;
  }
  static Result<std::vector<Record>> syncUntilUp(Dataset& d) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto r = d.synchronizeAndWait({}, std::chrono::seconds(15));
      if (r.isOk() || !r.status().isRetryable() || std::chrono::steady_clock::now() > end) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::string dir_, userPool_, client_, provider_;
  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(UserPoolLoginTest, GuestSignsInWithAUserPoolTokenAndKeepsItsData) {
  const std::string sub = signUp("alice");
  ASSERT_FALSE(sub.empty());
  auto phone = open("phone", {});
  auto prefs = phone->openOrCreateDataset("prefs");
  ASSERT_TRUE(prefs.isOk());
  ASSERT_TRUE((*prefs)->put("theme", "dark").isOk());
  ASSERT_TRUE(syncUntilUp(**prefs).isOk());
  const std::string guest = phone->identityId();
  ASSERT_FALSE(guest.empty());

  const std::string idToken = signIn("alice")["IdToken"];
  ASSERT_TRUE(phone->setLogins({{provider_, idToken}}).isOk());
  ASSERT_TRUE((*prefs)->put("font", "large").isOk());
  ASSERT_TRUE(syncUntilUp(**prefs).isOk());
  EXPECT_EQ(phone->identityId(), guest) << "a guest signing in keeps its identity";

  // Another device signs in with its own token of the same user: same identity, same data.
  auto laptop = open("laptop", [this](bool) -> Result<Logins> {
    return Logins{{provider_, signIn("alice")["IdToken"].get<std::string>()}};
  });
  auto lp = laptop->openOrCreateDataset("prefs");
  ASSERT_TRUE(lp.isOk());
  ASSERT_TRUE(syncUntilUp(**lp).isOk());
  EXPECT_EQ(laptop->identityId(), guest);
  auto all = (*lp)->getAll();
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(*all, (std::map<std::string, std::string>{{"font", "large"}, {"theme", "dark"}}));
}

TEST_F(UserPoolLoginTest, AfterGlobalSignOutTheOldTokenIsRefusedAndAFreshOneWorks) {
  signUp("bob");
  json first = signIn("bob");
  const std::string oldToken = first["IdToken"];
  idp("GlobalSignOut", {{"AccessToken", first["AccessToken"]}});

  // A device that only has the old token: refused, typed, nothing synced.
  auto stale = open("stale", [&](bool) -> Result<Logins> { return Logins{{provider_, oldToken}}; });
  auto id = stale->getIdentityId(std::chrono::seconds(15));
  ASSERT_FALSE(id.isOk());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated) << id.status();

  // The provider signs in again when asked to refresh: the device gets through.
  std::mutex mu;
  std::vector<bool> asked;
  auto fresh = open("fresh", [&](bool refresh) -> Result<Logins> {
    {
      std::lock_guard lock(mu);
      asked.push_back(refresh);
    }
    if (!refresh) return Logins{{provider_, oldToken}};
    return Logins{{provider_, signIn("bob")["IdToken"].get<std::string>()}};
  });
  auto ok = fresh->getIdentityId(std::chrono::seconds(15));
  ASSERT_TRUE(ok.isOk()) << ok.status();
  std::lock_guard lock(mu);
  ASSERT_GE(asked.size(), 2u);
  EXPECT_FALSE(asked.front());
  EXPECT_TRUE(asked.back()) << "the refused token made the client ask the provider for a new one";
}

}  // namespace
}  // namespace tether::client::testing
