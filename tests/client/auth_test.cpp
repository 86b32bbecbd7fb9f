// Signed-in users through the public Client API against the in-memory fake server (which
// applies the login / link / merge rules of spec 2.2 and 2.5): the logins provider, setLogins /
// clearLogins / refreshLogins, identity changes (guest upgraded in place, guest merged into the
// login's identity with onDatasetsMerged until the merged copy is deleted), an expired login
// token refreshed once, "Logins don't match", and subscriptions following the new identity.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "test_util.h"

namespace tether::client::testing {
namespace {

constexpr const char* kIdp = "https://issuer.test.example";

// A provider the test steers: returns `token` (or an error), records each call's refresh flag.
struct TestProvider {
  std::mutex mu;
  std::string token;                   // "" = not signed in
  std::string tokenAfterRefresh;       // returned when forceRefresh (if set)
  std::optional<Status> error;
  std::vector<bool> calls;

  LoginsProvider fn() {
    return [this](bool refresh) -> Result<Logins> {
      std::lock_guard lock(mu);
      calls.push_back(refresh);
      if (error) return *error;
      const std::string& t = refresh && !tokenAfterRefresh.empty() ? tokenAfterRefresh : token;
      if (t.empty()) return Logins{};
      return Logins{{kIdp, t}};
    };
  }
  std::vector<bool> callLog() {
    std::lock_guard lock(mu);
    return calls;
  }
};

struct IdentityLog {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> changes;
  IdentityChangedListener fn() {
    return [this](const std::string& o, const std::string& n) {
      std::lock_guard lock(mu);
      changes.emplace_back(o, n);
    };
  }
  std::vector<std::pair<std::string, std::string>> get() {
    std::lock_guard lock(mu);
    return changes;
  }
};

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("auth");
    server_ = std::make_shared<FakeServer>();
  }
  std::unique_ptr<TestDevice> device(const std::string& name, TestProvider* provider,
                                     IdentityLog* log = nullptr,
                                     std::function<void(ClientOptions&)> more = {}) {
    return TestDevice::open(server_, dir_ + "/" + name + ".db", clock_.fn(), "", name, {},
                            [provider, log, more](ClientOptions& o) {
                              if (provider) o.loginsProvider = provider->fn();
                              if (log) o.onIdentityChanged = log->fn();
                              if (more) more(o);
                            });
  }
  static Result<std::vector<Record>> sync(Dataset& ds, SyncCallbacks cb = {}) {
    return ds.synchronizeAndWait(std::move(cb), std::chrono::seconds(20));
  }
  static std::map<std::string, std::string> values(Dataset& ds) {
    auto all = ds.getAll();
    EXPECT_TRUE(all.isOk()) << all.status();
    return all.isOk() ? *all : std::map<std::string, std::string>{};
  }

  ManualClock clock_;
  std::string dir_;
  std::shared_ptr<FakeServer> server_;
};

TEST_F(AuthTest, FirstGetIdPresentsTheProvidersLoginsAndLinksThem) {
  TestProvider alice;
  alice.token = "alice";
  IdentityLog log;
  auto d = device("d1", &alice, &log);
  auto ds = d->dataset("prefs");
  ASSERT_TRUE(ds->put("k", "v").isOk());
  ASSERT_TRUE(sync(*ds).isOk());
  std::string id = d->client->identityId();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(server_->identityOfLogin(kIdp, "alice"), id);
  EXPECT_EQ(server_->liveValues(id, "prefs"), (std::map<std::string, std::string>{{"k", "v"}}));
  EXPECT_EQ(alice.callLog(), std::vector<bool>{false});  // asked once, not for each request
  EXPECT_EQ(log.get(), (std::vector<std::pair<std::string, std::string>>{{"", id}}));
  // Later syncs reuse the server token: the provider is not asked again.
  ASSERT_TRUE(sync(*ds).isOk());
  EXPECT_EQ(alice.callLog().size(), 1u);
}

TEST_F(AuthTest, GuestSigningInKeepsItsIdentityAndData) {
  TestProvider p;  // signed out at first
  IdentityLog log;
  auto d = device("d1", &p, &log);
  auto ds = d->dataset("prefs");
  ASSERT_TRUE(ds->put("guest", "data").isOk());
  ASSERT_TRUE(sync(*ds).isOk());
  std::string guest = d->client->identityId();
  ASSERT_TRUE(ds->put("offline", "edit").isOk());
  {
    std::lock_guard lock(p.mu);
    p.token = "alice";
  }
  ASSERT_TRUE(d->client->refreshLogins().isOk());
  auto id = d->client->getIdentityId();
  ASSERT_TRUE(id.isOk()) << id.status();
  EXPECT_EQ(*id, guest);
  EXPECT_EQ(server_->identityOfLogin(kIdp, "alice"), guest);
  ASSERT_TRUE(sync(*ds).isOk());
  EXPECT_EQ(server_->liveValues(guest, "prefs"),
            (std::map<std::string, std::string>{{"guest", "data"}, {"offline", "edit"}}));
  EXPECT_EQ(log.get().size(), 1u) << "only the first GetId changed the identity";
}

TEST_F(AuthTest, GuestMergedIntoLoginIdentityFoldsMergedDatasetUntilDeleted) {
  TestProvider alice;
  alice.token = "alice";
  auto d1 = device("d1", &alice);
  auto p1 = d1->dataset("prefs");
  ASSERT_TRUE(p1->put("shared", "from-d1").isOk());
  ASSERT_TRUE(sync(*p1).isOk());
  const std::string x = d1->client->identityId();

  IdentityLog log;
  auto d2 = device("d2", nullptr, &log);  // a guest without a provider
  auto p2 = d2->dataset("prefs");
  ASSERT_TRUE(p2->put("shared", "from-guest").isOk());
  ASSERT_TRUE(p2->put("guest-only", "g").isOk());
  ASSERT_TRUE(sync(*p2).isOk());
  const std::string g = d2->client->identityId();
  ASSERT_NE(g, x);
  ASSERT_TRUE(p2->put("unpushed", "u").isOk());  // acknowledged locally, never pushed as g

  ASSERT_TRUE(d2->client->setLogins({{kIdp, "alice"}}).isOk());
  auto id = d2->client->getIdentityId();
  ASSERT_TRUE(id.isOk()) << id.status();
  EXPECT_EQ(*id, x);
  EXPECT_TRUE(server_->isDisabled(g));
  EXPECT_EQ(log.get().back(), std::make_pair(g, x));
  const std::string merged = "prefs." + g;
  // Nothing acknowledged is lost: the merged copy holds the guest's data as it was.
  auto m = d2->dataset(merged);
  EXPECT_EQ(values(*m), (std::map<std::string, std::string>{
                            {"shared", "from-guest"}, {"guest-only", "g"}, {"unpushed", "u"}}));

  // The next sync of "prefs" reports the merged dataset first.
  std::vector<std::vector<std::string>> reports;
  SyncCallbacks cb;
  cb.onDatasetsMerged = [&](Dataset&, const std::vector<std::string>& names) {
    reports.push_back(names);
    return SyncAction::kContinue;
  };
  ASSERT_TRUE(sync(*p2, cb).isOk());
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.front(), std::vector<std::string>{merged});
  // The copied records met X's "prefs": the server's "shared" conflicted (LWW: d1 wrote it
  // first, the guest's edit is newer) and the guest-only keys were pushed.
  auto serverPrefs = server_->liveValues(x, "prefs");
  EXPECT_EQ(serverPrefs["guest-only"], "g");
  EXPECT_EQ(serverPrefs["unpushed"], "u");

  // The app folds the merged dataset in: sync it, copy what it wants, delete it.
  ASSERT_TRUE(sync(*m).isOk());
  EXPECT_EQ(server_->liveValues(x, merged).size(), 3u);
  for (auto& [k, v] : values(*m))
    if (k == "shared") ASSERT_TRUE(p2->put("shared-from-guest", v).isOk());
  ASSERT_TRUE(m->remove().isOk());
  ASSERT_TRUE(sync(*m).isOk());
  EXPECT_FALSE(server_->dataset(x, merged)->live);
  reports.clear();
  ASSERT_TRUE(sync(*p2, cb).isOk());
  EXPECT_TRUE(reports.empty()) << "the merge report stops once the merged dataset is deleted";

  // Both devices converge on X's "prefs".
  ASSERT_TRUE(sync(*p1).isOk());
  EXPECT_EQ(values(*p1), values(*p2));
  EXPECT_EQ(values(*p1), server_->liveValues(x, "prefs"));
  EXPECT_EQ(values(*p1)["shared-from-guest"], "from-guest");
}

TEST_F(AuthTest, ExpiredLoginTokenIsRefreshedOnceThroughTheProvider) {
  TestProvider p;
  p.token = "expired:alice";
  p.tokenAfterRefresh = "alice";
  auto d = device("d1", &p);
  auto ds = d->dataset("prefs");
  ASSERT_TRUE(ds->put("k", "v").isOk());
  auto r = sync(*ds);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(p.callLog(), (std::vector<bool>{false, true}));
  EXPECT_EQ(server_->identityOfLogin(kIdp, "alice"), d->client->identityId());

  // A provider that cannot produce a valid token: kUnauthenticated after one retry.
  TestProvider stale;
  stale.token = "expired:bob";
  auto d2 = device("d2", &stale);
  auto ds2 = d2->dataset("prefs");
  ASSERT_TRUE(ds2->put("k", "v").isOk());
  auto r2 = sync(*ds2);
  EXPECT_EQ(r2.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(stale.callLog(), (std::vector<bool>{false, true}));
  EXPECT_EQ(d2->client->identityId(), "");
  EXPECT_TRUE((*ds2->isChanged("k")));
}

TEST_F(AuthTest, LoginsOfAnotherUserAreRefusedAndNothingChangesLocally) {
  TestProvider alice, bob;
  alice.token = "alice";
  bob.token = "bob";
  auto dBob = device("bob", &bob);
  ASSERT_TRUE(dBob->client->getIdentityId().isOk());
  auto d = device("alice", &alice);
  auto ds = d->dataset("prefs");
  ASSERT_TRUE(ds->put("k", "v").isOk());
  ASSERT_TRUE(sync(*ds).isOk());
  const std::string x = d->client->identityId();
  ASSERT_TRUE(ds->put("k2", "pending").isOk());
  auto before = ds->getAllRecords();
  auto datasetsBefore = d->client->listDatasets();

  ASSERT_TRUE(d->client->setLogins({{kIdp, "bob"}}).isOk());
  auto id = d->client->getIdentityId();
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("Logins don't match"), std::string::npos) << id.status();
  auto r = sync(*ds);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(d->client->identityId(), x);
  EXPECT_EQ(*ds->getAllRecords(), *before);
  EXPECT_EQ(d->client->listDatasets()->size(), datasetsBefore->size());
  EXPECT_EQ(server_->liveValues(x, "prefs"), (std::map<std::string, std::string>{{"k", "v"}}));

  // Signing back in as alice works again, and the pending edit goes out.
  ASSERT_TRUE(d->client->setLogins({{kIdp, "alice"}}).isOk());
  ASSERT_TRUE(sync(*ds).isOk());
  EXPECT_EQ(server_->liveValues(x, "prefs")["k2"], "pending");
}

TEST_F(AuthTest, ProviderErrorFailsTheSyncWithItsStatus) {
  TestProvider p;
  p.error = Status::unavailable("identity provider unreachable");
  auto d = device("d1", &p);
  auto ds = d->dataset("prefs");
  ASSERT_TRUE(ds->put("k", "v").isOk());
  auto r = sync(*ds);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(d->remote->getIdCalls(), 0) << "nothing was sent without the logins";
  EXPECT_EQ(d->client->identityId(), "");
  EXPECT_TRUE(*ds->isChanged("k"));
  // A malformed answer is a typed error too.
  {
    std::lock_guard lock(p.mu);
    p.error.reset();
    p.token = "";
  }
  auto bad = device("d2", nullptr, nullptr, [](ClientOptions& o) {
    o.loginsProvider = [](bool) -> Result<Logins> { return Logins{{"", "token"}}; };
  });
  auto r2 = sync(*bad->dataset("prefs"));
  EXPECT_EQ(r2.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AuthTest, SetLoginsValidatesAndRenewsTheToken) {
  auto d = device("d1", nullptr);
  EXPECT_EQ(d->client->setLogins({}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d->client->setLogins({{"", "t"}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d->client->setLogins({{kIdp, ""}}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(d->client->getIdentityId().isOk());
  int renewBefore = d->remote->renewCalls();
  auto again = d->client->getIdentityId();
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(d->remote->renewCalls(), renewBefore) << "an unchanged login state reuses the token";
  ASSERT_TRUE(d->client->setLogins({{kIdp, "carol"}}).isOk());
  ASSERT_TRUE(d->client->getIdentityId().isOk());
  EXPECT_EQ(d->remote->renewCalls(), renewBefore + 1);
  EXPECT_EQ(d->remote->lastLogins(), (std::vector<Login>{{kIdp, "carol"}}));
  EXPECT_EQ(server_->identityOfLogin(kIdp, "carol"), *again);
}

TEST_F(AuthTest, SignOutIsClearLoginsPlusWipe) {
  TestProvider alice;
  alice.token = "alice";
  auto d = device("d1", &alice);
  auto ds = d->dataset("prefs");
  ASSERT_TRUE(ds->put("secret", "s").isOk());
  ASSERT_TRUE(sync(*ds).isOk());
  const std::string x = d->client->identityId();
  ASSERT_TRUE(d->client->clearLogins().isOk());
  // An authenticated identity cannot sync without its logins; local data stays readable.
  EXPECT_EQ(sync(*ds).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(*ds->get("secret"), "s");
  EXPECT_EQ(alice.callLog().size(), 1u) << "the provider is forgotten by clearLogins";
  ASSERT_TRUE(d->client->wipeData().isOk());
  EXPECT_EQ(d->client->identityId(), "");
  auto fresh = d->dataset("prefs");
  EXPECT_FALSE(*fresh->get("secret"));
  ASSERT_TRUE(fresh->put("guest", "g").isOk());
  ASSERT_TRUE(sync(*fresh).isOk());
  EXPECT_NE(d->client->identityId(), x);
  EXPECT_TRUE(d->remote->lastLogins().empty());
}

TEST_F(AuthTest, SubscriptionsAndAutoSyncFollowTheNewIdentity) {
  TestProvider alice;
  alice.token = "alice";
  auto d1 = device("d1", &alice);
  auto p1 = d1->dataset("prefs");
  ASSERT_TRUE(p1->put("a", "1").isOk());
  ASSERT_TRUE(sync(*p1).isOk());
  const std::string x = d1->client->identityId();

  auto d2 = device("d2", nullptr, nullptr, [](ClientOptions& o) {
    o.autoSync = true;
    o.autoSyncDebounce = std::chrono::milliseconds(0);
  });
  auto p2 = d2->dataset("prefs");
  ASSERT_TRUE(p2->subscribe().isOk());
  ASSERT_TRUE(p2->put("guest", "g").isOk());
  ASSERT_TRUE(waitUntil([&] { return !d2->client->identityId().empty() && !*p2->isChanged("guest"); }));
  ASSERT_TRUE(d2->client->setLogins({{kIdp, "alice"}}).isOk());
  ASSERT_EQ(*d2->client->getIdentityId(), x);
  // Auto-sync pushes the carried-over records into X without a synchronize() call.
  ASSERT_TRUE(waitUntil([&] { return server_->liveValues(x, "prefs").count("guest") == 1; }));
  // The subscription now belongs to X: a write by d1 reaches d2 on its own.
  ASSERT_TRUE(p1->put("from-d1", "hello").isOk());
  ASSERT_TRUE(sync(*p1).isOk());
  EXPECT_TRUE(waitUntil([&] {
    auto v = p2->get("from-d1");
    return v.isOk() && *v == std::optional<std::string>("hello");
  }));
}

}  // namespace
}  // namespace tether::client::testing
