// Signed-in users end to end (suite 'client-auth-e2e'): libtether devices against a real
// tetherd whose pool trusts a TestOidcIssuer (keys generated here, JWKS written to a file the
// config names). (a) a guest writes offline, signs in on the same device: same identity, data
// kept and pushed; (b) a guest with data signs in with a login another device already uses:
// the identities merge, the surviving device is told through onDatasetsMerged, folds the
// merged dataset in and deletes it, the report stops, both devices converge; (c) an expired ID
// token: the provider is asked again (forceRefresh) and the sync succeeds; (d) logins of
// another user: typed kUnauthenticated, nothing written locally; plus live sync following the
// identity switch.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "test_oidc_issuer.h"
#include "tetherd_process.h"
#include "tether/client.h"
#include "tether/tether.h"
#include "test_util.h"

namespace tether::client::testing {
namespace {

using tether::testing::TestOidcIssuer;
using tether::testing::TetherdOptions;
using tether::testing::TetherdProcess;

constexpr const char* kProvider = "test-idp";
constexpr const char* kAudience = "tether-test-app";
constexpr const char* kPoolId = "local:7e57a0e1-0000-4000-8000-00000000a07c";

// Hands out ID tokens of the test issuer for one user; can start with an expired one.
struct IdpUser {
  TestOidcIssuer* issuer = nullptr;
  std::string subject;
  bool expiredFirst = false;
  std::mutex mu;
  std::vector<bool> calls;

  std::string token(bool expired) const {
    auto c = issuer->claims(subject, kAudience);
    if (expired) {
      int64_t iat = c["iat"].get<int64_t>();
      c["iat"] = iat - 7200;
      c["exp"] = iat - 3600;
    }
    return issuer->sign(c);
  }
  LoginsProvider provider() {
    return [this](bool refresh) -> Result<Logins> {
      bool expired;
      {
        std::lock_guard lock(mu);
        calls.push_back(refresh);
        expired = expiredFirst && !refresh;
      }
      return Logins{{kProvider, token(expired)}};
    };
  }
  std::vector<bool> callLog() {
    std::lock_guard lock(mu);
    return calls;
  }
};

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("client_auth_e2e");
    issuer_.writeJwks(dir_ + "/jwks.json");
    std::ofstream cfg(dir_ + "/tetherd.toml");
    cfg << "[[pools]]\n"
        << "id = \"" << kPoolId << "\"\n"
        << "name = \"auth e2e\"\n"
        << "allow_guests = true\n\n"
        << "[[pools.oidc_providers]]\n"
        << "name = \"" << kProvider << "\"\n"
        << "issuer = \"" << issuer_.issuer() << "\"\n"
        << "audiences = [\"" << kAudience << "\"]\n"
        << "jwks_file = \"" << dir_ << "/jwks.json\"\n";
    cfg.close();
    TetherdOptions o;
    o.createPool = false;
    o.extraArgs = {"--config", dir_ + "/tetherd.toml"};
    server_ = TetherdProcess::start(o);
    ASSERT_TRUE(server_) << "tetherd did not start";
  }

  std::unique_ptr<Client> open(const std::string& name, LoginsProvider provider = {},
                               std::function<void(ClientOptions&)> more = {}) {
    ClientOptions o;
    o.cachePath = dir_ + "/" + name + ".db";
    o.serverUrl = server_->url();
    o.identityPoolId = kPoolId;
    o.deviceName = name;
    o.connectTimeout = std::chrono::seconds(5);
    o.requestTimeout = std::chrono::seconds(10);
    o.loginsProvider = std::move(provider);
    if (more) more(o);
    auto c = Client::open(o);
    EXPECT_TRUE(c.isOk()) << c.status();
    return c.isOk() ? std::move(*c) : nullptr;
  }
  static std::shared_ptr<Dataset> ds(Client& c, const std::string& name) {
    auto d = c.openOrCreateDataset(name);
    EXPECT_TRUE(d.isOk()) << d.status();
    return d.isOk() ? *d : nullptr;
  }
  // Retries while the connection (re)establishes: waiting on a condition with a deadline.
  static Result<std::vector<Record>> syncUntilUp(Dataset& d, SyncCallbacks cb = {}) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto r = d.synchronizeAndWait(cb, std::chrono::seconds(15));
      if (r.isOk() || !r.status().isRetryable() || std::chrono::steady_clock::now() > end) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // backoff between attempts
    }
  }
  static Result<std::string> identityUntilUp(Client& c) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto r = c.getIdentityId(std::chrono::seconds(15));
      if (r.isOk() || !r.status().isRetryable() || std::chrono::steady_clock::now() > end) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  static std::map<std::string, std::string> values(Dataset& d) {
    auto all = d.getAll();
    EXPECT_TRUE(all.isOk()) << all.status();
    return all.isOk() ? *all : std::map<std::string, std::string>{};
  }

  std::string dir_;
  TestOidcIssuer issuer_;
  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(AuthE2eTest, GuestWritesOfflineThenSignsInKeepingIdentityAndData) {
  IdpUser alice{&issuer_, "alice"};
  auto c = open("phone");
  auto id = identityUntilUp(*c);
  ASSERT_TRUE(id.isOk()) << id.status();
  const std::string guest = *id;
  ASSERT_EQ(server_->stop(), 0);
  auto prefs = ds(*c, "prefs");
  ASSERT_TRUE(prefs->put("theme", "dark").isOk());  // offline: durable locally
  ASSERT_EQ(prefs->synchronizeAndWait().status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(server_->restart());

  ASSERT_TRUE(c->setLogins({{kProvider, alice.token(false)}}).isOk());
  auto r = syncUntilUp(*prefs);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(c->identityId(), guest) << "a guest signing in keeps its identity";
  EXPECT_FALSE(*prefs->isChanged("theme"));

  // The login now leads to that identity from any device.
  auto other = open("laptop", alice.provider());
  auto otherId = identityUntilUp(*other);
  ASSERT_TRUE(otherId.isOk()) << otherId.status();
  EXPECT_EQ(*otherId, guest);
  auto otherPrefs = ds(*other, "prefs");
  ASSERT_TRUE(syncUntilUp(*otherPrefs).isOk());
  EXPECT_EQ(values(*otherPrefs), (std::map<std::string, std::string>{{"theme", "dark"}}));
}

TEST_F(AuthE2eTest, GuestMergedIntoSignedInIdentityFoldsMergedDatasetAndConverges) {
  IdpUser alice{&issuer_, "alice"};
  auto d1 = open("d1", alice.provider());
  auto p1 = ds(*d1, "prefs");
  ASSERT_TRUE(p1->put("from-d1", "1").isOk());
  ASSERT_TRUE(syncUntilUp(*p1).isOk());
  const std::string x = d1->identityId();
  ASSERT_FALSE(x.empty());

  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> changes;
  auto d2 = open("d2", {}, [&](ClientOptions& o) {
    o.onIdentityChanged = [&](const std::string& from, const std::string& to) {
      std::lock_guard lock(mu);
      changes.emplace_back(from, to);
    };
  });
  auto p2 = ds(*d2, "prefs");
  ASSERT_TRUE(p2->put("from-guest", "g").isOk());
  ASSERT_TRUE(syncUntilUp(*p2).isOk());
  const std::string g = d2->identityId();
  ASSERT_NE(g, x);
  ASSERT_TRUE(p2->put("guest-unpushed", "u").isOk());

  ASSERT_TRUE(d2->setLogins({{kProvider, alice.token(false)}}).isOk());
  auto id = identityUntilUp(*d2);
  ASSERT_TRUE(id.isOk()) << id.status();
  // Spec 7 item 14: the identity that already owns the login survives.
  ASSERT_EQ(*id, x);
  {
    std::lock_guard lock(mu);
    ASSERT_FALSE(changes.empty());
    EXPECT_EQ(changes.back(), std::make_pair(g, x));
  }

  std::vector<std::string> reported;
  SyncCallbacks cb;
  cb.onDatasetsMerged = [&](Dataset&, const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (std::find(reported.begin(), reported.end(), n) == reported.end()) reported.push_back(n);
    return SyncAction::kContinue;
  };
  auto r = syncUntilUp(*p2, cb);
  ASSERT_TRUE(r.isOk()) << r.status();
  const std::string merged = "prefs." + g;
  ASSERT_EQ(reported, std::vector<std::string>{merged});

  // Fold the merged dataset in, then delete it.
  auto m = ds(*d2, merged);
  ASSERT_TRUE(syncUntilUp(*m).isOk());
  auto old = values(*m);
  EXPECT_EQ(old["from-guest"], "g");
  EXPECT_EQ(old["guest-unpushed"], "u");
  for (const auto& [k, v] : old) ASSERT_TRUE(p2->put("merged-" + k, v).isOk());
  ASSERT_TRUE(m->remove().isOk());
  ASSERT_TRUE(syncUntilUp(*m).isOk());
  reported.clear();
  ASSERT_TRUE(syncUntilUp(*p2, cb).isOk());
  EXPECT_TRUE(reported.empty()) << "no merge report once the merged dataset is deleted";

  // Both devices converge on X's data.
  ASSERT_TRUE(syncUntilUp(*p1).isOk());
  EXPECT_EQ(values(*p1), values(*p2));
  EXPECT_EQ(values(*p1)["from-d1"], "1");
  EXPECT_EQ(values(*p1)["from-guest"], "g");
  EXPECT_EQ(values(*p1)["merged-guest-unpushed"], "u");
  EXPECT_FALSE(*p2->isChanged("from-guest"));
}

TEST_F(AuthE2eTest, ExpiredIdTokenIsRefreshedThroughTheProvider) {
  IdpUser alice{&issuer_, "alice"};
  alice.expiredFirst = true;
  auto c = open("phone", alice.provider());
  auto prefs = ds(*c, "prefs");
  ASSERT_TRUE(prefs->put("k", "v").isOk());
  auto r = syncUntilUp(*prefs);
  ASSERT_TRUE(r.isOk()) << r.status();
  auto calls = alice.callLog();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_FALSE(calls.front());
  EXPECT_TRUE(calls.back()) << "the provider was asked to refresh";
  EXPECT_FALSE(*prefs->isChanged("k"));
}

TEST_F(AuthE2eTest, LoginsOfAnotherUserAreRefusedAndNothingIsWrittenLocally) {
  IdpUser alice{&issuer_, "alice"}, bob{&issuer_, "bob"};
  auto bobDevice = open("bob", bob.provider());
  ASSERT_TRUE(identityUntilUp(*bobDevice).isOk());
  auto c = open("alice", alice.provider());
  auto prefs = ds(*c, "prefs");
  ASSERT_TRUE(prefs->put("k", "v").isOk());
  ASSERT_TRUE(syncUntilUp(*prefs).isOk());
  const std::string x = c->identityId();
  ASSERT_TRUE(prefs->put("pending", "p").isOk());
  auto before = prefs->getAllRecords();
  ASSERT_TRUE(before.isOk());

  ASSERT_TRUE(c->setLogins({{kProvider, bob.token(false)}}).isOk());
  auto r = syncUntilUp(*prefs);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status();
  auto id = c->getIdentityId(std::chrono::seconds(15));
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated) << id.status();
  EXPECT_EQ(c->identityId(), x);
  EXPECT_EQ(*prefs->getAllRecords(), *before);
  auto list = c->listDatasets();
  ASSERT_TRUE(list.isOk());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(AuthE2eTest, SubscriptionFollowsTheIdentityAfterAMerge) {
  IdpUser alice{&issuer_, "alice"};
  auto d1 = open("d1", alice.provider());
  auto p1 = ds(*d1, "prefs");
  ASSERT_TRUE(p1->put("a", "1").isOk());
  ASSERT_TRUE(syncUntilUp(*p1).isOk());
  const std::string x = d1->identityId();

  auto d2 = open("d2");
  auto p2 = ds(*d2, "prefs");
  ASSERT_TRUE(identityUntilUp(*d2).isOk());
  ASSERT_TRUE(p2->subscribe().isOk());
  ASSERT_TRUE(d2->setLogins({{kProvider, alice.token(false)}}).isOk());
  auto id = identityUntilUp(*d2);
  ASSERT_TRUE(id.isOk()) << id.status();
  ASSERT_EQ(*id, x);
  ASSERT_TRUE(syncUntilUp(*p2).isOk());
  // d1 writes; d2 hears of it through its (renewed) subscription, without synchronize().
  ASSERT_TRUE(p1->put("live", "yes").isOk());
  ASSERT_TRUE(syncUntilUp(*p1).isOk());
  EXPECT_TRUE(waitUntil([&] {
    auto v = p2->get("live");
    return v.isOk() && *v == std::optional<std::string>("yes");
  }, std::chrono::seconds(20)));
}

// The C API: a logins provider callback and tether_client_set_logins reach the same identity as
// the C++ API, and the identity-changed listener fires.
struct CLoginState {
  std::string token;
  int calls = 0;
  std::vector<std::pair<std::string, std::string>> changes;
};

tether_status_code cProvider(void* ud, int, tether_logins* logins) {
  auto* st = static_cast<CLoginState*>(ud);
  ++st->calls;
  return tether_logins_add(logins, kProvider, st->token.c_str());
}

void cIdentityChanged(void* ud, const char* from, const char* to) {
  static_cast<CLoginState*>(ud)->changes.emplace_back(from, to);
}

TEST_F(AuthE2eTest, CApiSignsInThroughProviderAndSetLogins) {
  IdpUser alice{&issuer_, "alice"};
  auto cpp = open("cpp", alice.provider());
  auto x = identityUntilUp(*cpp);
  ASSERT_TRUE(x.isOk()) << x.status();

  CLoginState st;
  st.token = alice.token(false);
  std::string cache = dir_ + "/c.db", url = server_->url();
  tether_client_options o;
  tether_client_options_init(&o);
  o.cache_path = cache.c_str();
  o.server_url = url.c_str();
  o.identity_pool_id = kPoolId;
  o.logins_provider = cProvider;
  o.logins_provider_user_data = &st;
  o.on_identity_changed = cIdentityChanged;
  o.identity_changed_user_data = &st;
  tether_client* c = nullptr;
  ASSERT_EQ(tether_client_open(&o, &c), TETHER_OK) << tether_last_error();
  char* id = nullptr;
  tether_status_code code = TETHER_UNAVAILABLE;
  for (int i = 0; i < 100 && code == TETHER_UNAVAILABLE; ++i) {
    code = tether_client_identity_id(c, 15000, &id);
    if (code == TETHER_UNAVAILABLE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(code, TETHER_OK) << tether_last_error();
  EXPECT_EQ(std::string(id), *x);
  tether_free(id);
  EXPECT_GE(st.calls, 1);
  tether_client_close(c);  // joins the sync thread: `st` is no longer touched
  ASSERT_EQ(st.changes.size(), 1u);
  EXPECT_EQ(st.changes[0], std::make_pair(std::string(), *x));

  // set_logins with another user's token on that identity: refused, typed.
  IdpUser bob{&issuer_, "bob"};
  auto bobDevice = open("bob", bob.provider());
  ASSERT_TRUE(identityUntilUp(*bobDevice).isOk());
  o.logins_provider = nullptr;
  o.on_identity_changed = nullptr;
  ASSERT_EQ(tether_client_open(&o, &c), TETHER_OK) << tether_last_error();
  const char* providers[] = {kProvider};
  std::string bobToken = bob.token(false);
  const char* tokens[] = {bobToken.c_str()};
  EXPECT_EQ(tether_client_set_logins(c, providers, tokens, 0), TETHER_INVALID_ARGUMENT);
  ASSERT_EQ(tether_client_set_logins(c, providers, tokens, 1), TETHER_OK);
  EXPECT_EQ(tether_client_identity_id(c, 15000, &id), TETHER_UNAUTHENTICATED);
  EXPECT_EQ(tether_client_clear_logins(c), TETHER_OK);
  EXPECT_EQ(tether_client_refresh_logins(c), TETHER_OK);
  tether_client_close(c);
}

}  // namespace
}  // namespace tether::client::testing
