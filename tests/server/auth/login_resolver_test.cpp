// LoginResolver (auth/login_resolver.h) on a real SQLite store with a test OpenID issuer whose
// keys the test generates: first login, same login, guest upgrade with data kept, "Logins don't
// match", merges (survivor, moved datasets, listener, disabled loser), one login per provider,
// every bad token changing nothing, the developer flow, and providers added to the database
// while running. Also the native developer request (IdentityService::getDeveloperToken).
#include "auth/login_resolver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "auth/developer_signature.h"
#include "auth/identity_service.h"
#include "auth/session_token_signer.h"
#include "storage/sqlite_store.h"
#include "sync/sync_service.h"
#include "store_backend.h"
#include "temp_dir.h"
#include "tether/codec.h"
#include "test_oidc_issuer.h"

namespace tether::server {
namespace {

using tether::testing::TestOidcIssuer;

constexpr const char* kPool = "local:11111111-2222-4333-8444-555555555555";
constexpr const char* kClosedPool = "local:22222222-2222-4333-8444-555555555555";
constexpr const char* kProvider = "login.test.example";
constexpr const char* kOtherProvider = "other.test.example";
constexpr const char* kAud = "client-1";

// System time plus an offset the test moves (the test issuer signs with real time).
class OffsetClock final : public Clock {
 public:
  int64_t nowMs() const override { return SystemClock().nowMs() + offset.load(); }
  std::atomic<int64_t> offset{0};
};

class RecordingListener final : public ChangeListener {
 public:
  void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                      const std::vector<Record>*) override {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(writer.identityId + "/" + std::string(dataset) + "@" + std::to_string(syncCount));
  }
  std::mutex mu;
  std::vector<std::string> events;
};

// Runs on both store backends (tests/support/store_backend.h).
class LoginResolverTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto store = tryOpenStore();
    ASSERT_TRUE(store.isOk()) << store.status();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->putPool(PoolInfo{kPool, "open", true, 1}).isOk());
    ASSERT_TRUE(store_->putPool(PoolInfo{kClosedPool, "closed", false, 1}).isOk());
    auto issuer = TokenIssuer::open(dir_.path(), "http://tetherd.test");
    ASSERT_TRUE(issuer.isOk()) << issuer.status();
    issuer_ = std::move(issuer).value();
    jwks_ = dir_.path() / "jwks.json";
    oidc_.writeJwks(jwks_);
    other_.writeJwks(dir_.path() / "other.json");
    providers_ = std::make_unique<LoginProviders>(*store_, clock_);
    for (const char* pool : {kPool, kClosedPool}) {
      ASSERT_TRUE(providers_->addConfigured(pool, {kProvider, oidc_.issuer(), {kAud}, jwks_, "", 60}).isOk());
      ASSERT_TRUE(providers_
                      ->addConfigured(pool, {kOtherProvider, other_.issuer(), {kAud}, dir_.path() / "other.json", "", 60})
                      .isOk());
    }
    identities_ = std::make_unique<IdentityService>(*store_, *issuer_, clock_, providers_.get());
    identities_->resolver().setChangeListener(&listener_);
    sync_ = std::make_unique<SyncService>(*store_, sessions_, clock_);
  }

  LoginResolver& resolver() { return identities_->resolver(); }
  Login login(const std::string& subject, const char* alg = "RS256") {
    return Login{kProvider, oidc_.sign(oidc_.claims(subject, kAud), alg)};
  }
  Login otherLogin(const std::string& subject) { return Login{kOtherProvider, other_.sign(other_.claims(subject, kAud))}; }
  // One of our own tokens for the identity (what GetOpenIdToken handed out earlier).
  Login ourToken(const std::string& identityId) {
    auto info = store_->getIdentity(identityId);
    EXPECT_TRUE(info.isOk() && *info);
    std::string pool = info.isOk() && *info ? (*info)->poolId : kPool;
    auto t = issuer_->issue(TokenClaims{pool, identityId, {"authenticated"}, 600}, clock_.nowMs());
    EXPECT_TRUE(t.isOk()) << t.status();
    return Login{kCognitoLoginProvider, t.isOk() ? t->token : ""};
  }
  std::string newGuest() {
    auto id = identities_->getId({kPool, {}});
    EXPECT_TRUE(id.isOk()) << id.status();
    return id.isOk() ? id->identityId : "";
  }
  std::string authenticatedIdentity(const Login& l) {
    auto r = resolver().resolve(kPool, {l}, "");
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? r->identity.id : "";
  }
  void write(const std::string& identity, const std::string& dataset, const std::string& key, const std::string& value) {
    Caller c{kPool, identity, "dev"};
    auto list = sync_->listRecords(c, proto::ListRecordsRequest{dataset, 0, 0, ""});
    ASSERT_TRUE(list.isOk()) << list.status();
    int64_t count = 0;
    for (const Record& r : list->records)
      if (r.key == key) count = r.syncCount;
    proto::UpdateRecordsRequest req{dataset, list->syncSessionToken, "dev",
                                    {RecordPatch{PatchOp::kReplace, key, value, count, 0}}};
    auto up = sync_->updateRecords(c, req);
    ASSERT_TRUE(up.isOk()) << up.status();
  }
  proto::ListRecordsResponse read(const std::string& identity, const std::string& dataset) {
    auto list = sync_->listRecords(Caller{kPool, identity, "dev"}, proto::ListRecordsRequest{dataset, 0, 0, ""});
    EXPECT_TRUE(list.isOk()) << list.status();
    return list.isOk() ? *list : proto::ListRecordsResponse{};
  }
  size_t identityCount(const char* pool = kPool) {
    auto ids = store_->listIdentities(pool, "", 1000);
    EXPECT_TRUE(ids.isOk());
    return ids.isOk() ? ids->size() : 0;
  }
  std::vector<LoginLink> links(const std::string& id) {
    auto l = store_->listLogins(id);
    EXPECT_TRUE(l.isOk());
    return l.isOk() ? *l : std::vector<LoginLink>{};
  }
  bool disabled(const std::string& id) {
    auto i = store_->getIdentity(id);
    return i.isOk() && *i && (*i)->disabled;
  }

  testing::TempDir dir_;
  OffsetClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<TokenIssuer> issuer_;
  TestOidcIssuer oidc_{"https://issuer.test.example"};
  TestOidcIssuer other_{"https://other.test.example"};
  std::filesystem::path jwks_;
  std::unique_ptr<LoginProviders> providers_;
  std::unique_ptr<IdentityService> identities_;
  RecordingListener listener_;
  SessionTokenSigner sessions_{std::string(32, 's')};
  std::unique_ptr<SyncService> sync_;
};

TETHER_INSTANTIATE_BACKENDS(LoginResolverTest);

TEST_P(LoginResolverTest, FirstLoginCreatesSameLoginReturnsSame) {
  auto first = resolver().resolve(kPool, {login("alice")}, "");
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(first->authenticated);
  EXPECT_EQ(first->amr, (std::vector<std::string>{"authenticated", kProvider}));
  EXPECT_EQ(links(first->identity.id), (std::vector<LoginLink>{{kPool, kProvider, "alice", first->identity.id}}));
  // The same user later, with an ES256 token: the same identity, nothing created.
  auto again = resolver().resolve(kPool, {login("alice", "ES256")}, "");
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->identity.id, first->identity.id);
  // Native GetId / GetToken agree; the token carries the authenticated amr.
  auto nativeId = identities_->getId({kPool, {login("alice")}});
  ASSERT_TRUE(nativeId.isOk()) << nativeId.status();
  EXPECT_EQ(nativeId->identityId, first->identity.id);
  auto token = identities_->getToken({first->identity.id, {login("alice")}});
  ASSERT_TRUE(token.isOk()) << token.status();
  auto v = identities_->authenticate(token->token);
  ASSERT_TRUE(v.isOk()) << v.status();
  EXPECT_EQ(v->amr, (std::vector<std::string>{"authenticated", kProvider}));
  EXPECT_EQ(identityCount(), 1u);
}

TEST_P(LoginResolverTest, LoginCreatesIdentityInPoolWithoutGuests) {
  auto r = resolver().resolve(kClosedPool, {login("carol")}, "");
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->identity.poolId, kClosedPool);
  EXPECT_EQ(identityCount(kClosedPool), 1u);
  // Its token authenticates although the pool refuses guests.
  auto token = identities_->getToken({r->identity.id, {login("carol")}});
  ASSERT_TRUE(token.isOk()) << token.status();
  EXPECT_TRUE(identities_->authenticate(token->token).isOk());
}

TEST_P(LoginResolverTest, GuestUpgradedInPlaceKeepsData) {
  std::string guest = newGuest();
  write(guest, "prefs", "theme", "dark");
  auto r = resolver().resolve("", {login("bob")}, guest);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->identity.id, guest);
  EXPECT_TRUE(r->authenticated);
  EXPECT_FALSE(r->created);
  EXPECT_TRUE(r->mergedAway.empty());
  auto records = read(guest, "prefs");
  ASSERT_EQ(records.records.size(), 1u);
  EXPECT_EQ(records.records[0].value, "dark");
  // From now on the login finds it, and it needs the login.
  EXPECT_EQ(authenticatedIdentity(login("bob")), guest);
  auto bare = resolver().resolve("", {}, guest);
  EXPECT_EQ(bare.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(bare.status().message(), "Access to Identity '" + guest + "' is forbidden.");
  EXPECT_EQ(identityCount(), 1u);
}

TEST_P(LoginResolverTest, LoginsThatDontMatchAreRefusedAndChangeNothing) {
  std::string a = authenticatedIdentity(login("alice"));
  std::string b = authenticatedIdentity(otherLogin("bob"));
  auto r = resolver().resolve("", {otherLogin("bob")}, a);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(),
            "Logins don't match. Please include at least one valid login for this identity or identity pool.");
  // A new login alone does not prove an authenticated identity either.
  EXPECT_EQ(resolver().resolve("", {otherLogin("carol")}, a).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(links(a).size(), 1u);
  EXPECT_EQ(links(b).size(), 1u);
  EXPECT_FALSE(disabled(a));
  EXPECT_FALSE(disabled(b));
  auto carol = store_->findLogin(kPool, kOtherProvider, "carol");
  ASSERT_TRUE(carol.isOk());
  EXPECT_FALSE(carol->has_value());
}

TEST_P(LoginResolverTest, GuestPresentingAnotherIdentitysLoginIsMergedIntoIt) {
  std::string a = authenticatedIdentity(login("alice"));
  write(a, "prefs", "theme", "light");
  std::string guest = newGuest();
  write(guest, "prefs", "theme", "dark");
  write(guest, "scores", "level", "7");
  std::string guestToken = ourToken(guest).token;

  auto r = resolver().resolve("", {login("alice")}, guest);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->identity.id, a) << "the identity that owns the login survives (spec 7.14)";
  EXPECT_EQ(r->mergedAway, std::vector<std::string>{guest});
  EXPECT_TRUE(disabled(guest));
  // The guest's datasets are in the survivor as <name>.<guestId>, reported as merged names.
  auto merged = read(a, "prefs." + guest);
  ASSERT_EQ(merged.records.size(), 1u);
  EXPECT_EQ(merged.records[0].value, "dark");
  EXPECT_EQ(read(a, "scores." + guest).records.size(), 1u);
  auto prefs = read(a, "prefs");
  EXPECT_EQ(prefs.records[0].value, "light");
  EXPECT_EQ(prefs.mergedDatasetNames, std::vector<std::string>{"prefs." + guest});
  {
    std::lock_guard<std::mutex> lock(listener_.mu);
    EXPECT_NE(std::find(listener_.events.begin(), listener_.events.end(), a + "/prefs." + guest + "@1"),
              listener_.events.end());
    EXPECT_NE(std::find_if(listener_.events.begin(), listener_.events.end(),
                           [&](const std::string& e) { return e.starts_with(a + "/prefs@"); }),
              listener_.events.end());
  }
  // The loser is disabled: its token and any further request for it are refused.
  EXPECT_EQ(identities_->authenticate(guestToken).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(identities_->getToken({guest, {}}).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(resolver().resolve("", {login("alice")}, guest).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(LoginResolverTest, TwoAuthenticatedIdentitiesMergeIntoTheOlder) {
  std::string a = authenticatedIdentity(login("alice"));
  clock_.offset += 1000;  // b is strictly younger
  std::string b = authenticatedIdentity(otherLogin("alice-elsewhere"));
  write(b, "notes", "n1", "hello");
  auto r = resolver().resolve(kPool, {otherLogin("alice-elsewhere"), login("alice")}, "");
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->identity.id, a);
  EXPECT_TRUE(disabled(b));
  EXPECT_EQ(links(a).size(), 2u);
  EXPECT_EQ(r->amr, (std::vector<std::string>{"authenticated", kProvider, kOtherProvider}));
  EXPECT_EQ(read(a, "notes." + b).records.size(), 1u);
  // Both logins now name the survivor.
  EXPECT_EQ(authenticatedIdentity(otherLogin("alice-elsewhere")), a);
}

TEST_P(LoginResolverTest, ConcurrentFirstLoginsOfOneUserAgreeOnOneIdentity) {
  std::vector<Login> tokens;
  for (int i = 0; i < 8; ++i) tokens.push_back(login("zed"));
  std::vector<Result<ResolvedIdentity>> results(tokens.size(), Status::internal("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < tokens.size(); ++i)
    threads.emplace_back([this, &tokens, &results, i]() { results[i] = resolver().resolve(kPool, {tokens[i]}, ""); });
  for (std::thread& t : threads) t.join();
  std::set<std::string> ids;
  for (const auto& r : results) {
    // A call that lost the race twice may ask to retry; none may fail otherwise or disagree.
    if (!r.isOk()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
      continue;
    }
    ids.insert(r->identity.id);
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(identityCount(), 1u) << "the losers' half-made identities were removed";
}

TEST_P(LoginResolverTest, OneLoginPerProviderPerIdentity) {
  std::string a = authenticatedIdentity(login("alice"));
  auto r = resolver().resolve("", {ourToken(a), login("mallory")}, a);
  EXPECT_EQ(r.status().code(), StatusCode::kConflict) << r.status();
  std::string m = authenticatedIdentity(login("mallory"));
  // Merging two identities with different users of one provider is refused as well.
  auto merge = resolver().resolve(kPool, {ourToken(a), login("mallory")}, "");
  EXPECT_EQ(merge.status().code(), StatusCode::kConflict) << merge.status();
  EXPECT_FALSE(disabled(a));
  EXPECT_FALSE(disabled(m));
  EXPECT_EQ(links(a).size(), 1u);
}

TEST_P(LoginResolverTest, OurOwnTokenIsALogin) {
  std::string a = authenticatedIdentity(login("alice"));
  auto r = resolver().resolve(kPool, {ourToken(a)}, "");
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->identity.id, a);
  auto t = identities_->getToken({a, {ourToken(a)}});
  ASSERT_TRUE(t.isOk()) << t.status();
  EXPECT_EQ(t->identityId, a);
}

TEST_P(LoginResolverTest, EveryBadTokenIsRefusedAndChangesNothing) {
  std::string guest = newGuest();
  std::string a = authenticatedIdentity(login("alice"));
  size_t before = identityCount();
  for (const auto& bad : oidc_.badTokens("eve", kAud)) {
    SCOPED_TRACE(bad.name);
    StatusCode want = bad.invalidParameter ? StatusCode::kInvalidArgument : StatusCode::kUnauthenticated;
    EXPECT_EQ(resolver().resolve(kPool, {Login{kProvider, bad.token}}, "").status().code(), want);
    EXPECT_EQ(resolver().resolve("", {Login{kProvider, bad.token}}, guest).status().code(), want);
    // A bad login next to a good one fails the whole call.
    EXPECT_EQ(resolver().resolve("", {login("alice"), Login{kOtherProvider, bad.token}}, a).status().code(), want);
    EXPECT_EQ(identities_->getId({kPool, {Login{kProvider, bad.token}}}).status().code(), want);
    EXPECT_EQ(identities_->getToken({guest, {Login{kProvider, bad.token}}}).status().code(), want);
  }
  EXPECT_EQ(identityCount(), before);
  EXPECT_TRUE(links(guest).empty());
  EXPECT_EQ(links(a).size(), 1u);
  auto eve = store_->findLogin(kPool, kProvider, "eve");
  ASSERT_TRUE(eve.isOk());
  EXPECT_FALSE(eve->has_value());
}

TEST_P(LoginResolverTest, BadRequestsAreRefused) {
  std::string guest = newGuest();
  size_t before = identityCount();
  auto unknown = resolver().resolve(kPool, {Login{"accounts.google.com", oidc_.sign(oidc_.claims("u", kAud))}}, "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().message(), "Token is not from a supported provider of this identity pool.");
  // The developer provider is not a device login.
  ASSERT_TRUE(store_->setPoolDeveloperProvider(kPool, "login.dev").isOk());
  EXPECT_EQ(resolver().resolve(kPool, {Login{"login.dev", "user-1"}}, "").status().code(), StatusCode::kUnauthenticated);
  // Too many logins (Cognito LoginsMap: 10 entries), duplicates, empty tokens: malformed input.
  std::vector<Login> eleven;
  for (int i = 0; i < 11; ++i) {
    std::string name = "p";
    name.append(std::to_string(i)).append(".example");
    eleven.push_back(Login{name, "t"});
  }
  EXPECT_EQ(resolver().resolve(kPool, eleven, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver().resolve(kPool, {login("a"), login("b")}, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver().resolve(kPool, {Login{kProvider, ""}}, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver().resolve("nope", {login("a")}, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver().resolve("local:99999999-2222-4333-8444-555555555555", {login("a")}, "").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(resolver().resolve("", {login("a")}, "local:99999999-2222-4333-8444-555555555555").status().code(),
            StatusCode::kNotFound);
  // Our own token for another pool, and an expired one.
  auto closed = resolver().resolve(kClosedPool, {login("closed-user")}, "");
  ASSERT_TRUE(closed.isOk());
  EXPECT_EQ(resolver().resolve(kPool, {ourToken(closed->identity.id)}, "").status().code(), StatusCode::kUnauthenticated);
  Login old = ourToken(guest);
  clock_.offset += 3600 * 1000;
  EXPECT_EQ(resolver().resolve(kPool, {old}, "").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(identityCount(), before);
}

TEST_P(LoginResolverTest, DeveloperFlow) {
  ASSERT_TRUE(store_->setPoolDeveloperProvider(kPool, "login.dev").isOk());
  auto first = resolver().resolveDeveloper(kPool, "", "login.dev", "user-1");
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->amr, (std::vector<std::string>{"authenticated", "login.dev"}));
  auto again = resolver().resolveDeveloper(kPool, "", "login.dev", "user-1");
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->identity.id, first->identity.id);
  // A guest given with a new developer user is upgraded in place.
  std::string guest = newGuest();
  auto up = resolver().resolveDeveloper(kPool, guest, "login.dev", "user-2");
  ASSERT_TRUE(up.isOk()) << up.status();
  EXPECT_EQ(up->identity.id, guest);
  // A guest given with a user who has an identity is folded into it.
  std::string guest2 = newGuest();
  write(guest2, "prefs", "k", "v");
  auto fold = resolver().resolveDeveloper(kPool, guest2, "login.dev", "user-1");
  ASSERT_TRUE(fold.isOk()) << fold.status();
  EXPECT_EQ(fold->identity.id, first->identity.id);
  EXPECT_TRUE(disabled(guest2));
  EXPECT_EQ(read(first->identity.id, "prefs." + guest2).records.size(), 1u);
  // An authenticated identity given with another identity's user: DeveloperUserAlreadyRegistered.
  DeveloperRefusal refusal = DeveloperRefusal::kNone;
  auto taken = resolver().resolveDeveloper(kPool, guest, "login.dev", "user-1", &refusal);
  EXPECT_EQ(taken.status().code(), StatusCode::kConflict);
  EXPECT_EQ(refusal, DeveloperRefusal::kAlreadyRegistered);  // typed, not in the message
  DeveloperRefusal none = DeveloperRefusal::kAlreadyRegistered;
  EXPECT_TRUE(resolver().resolveDeveloper(kPool, "", "login.dev", "user-1", &none).isOk());
  EXPECT_EQ(none, DeveloperRefusal::kNone);
  EXPECT_EQ(resolver().resolveDeveloper(kPool, "", "", "user-1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resolver().resolveDeveloper(kPool, "", "login.dev", std::string(1025, 'u')).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(LoginResolverTest, NativeDeveloperTokenRequest) {
  ASSERT_TRUE(store_->setPoolDeveloperProvider(kPool, "login.dev").isOk());
  ASSERT_TRUE(store_->createDeveloperCredential({"AKIADBKEY0000000001", "db-secret-0123456789", "test", 1}).isOk());
  identities_->setDeveloperKeys({{"AKIACONFIGKEY000001", "config-secret-0123456789"}});
  proto::GetDeveloperTokenRequest rq{kPool, "", "user-7", 600, "AKIADBKEY0000000001", clock_.nowMs(), ""};
  rq.signature = signDeveloperRequest("db-secret-0123456789", rq);
  auto r = identities_->getDeveloperToken(rq);
  ASSERT_TRUE(r.isOk()) << r.status();
  auto v = identities_->authenticate(r->token);
  ASSERT_TRUE(v.isOk()) << v.status();
  EXPECT_EQ(v->identityId, r->identityId);
  EXPECT_EQ(v->amr, (std::vector<std::string>{"authenticated", "login.dev"}));
  EXPECT_EQ(r->expiresAtMs, (clock_.nowMs() / 1000 + 600) * 1000);
  // The config key works too; same user, same identity.
  proto::GetDeveloperTokenRequest rc = rq;
  rc.accessKeyId = "AKIACONFIGKEY000001";
  rc.signature = signDeveloperRequest("config-secret-0123456789", rc);
  auto rcOk = identities_->getDeveloperToken(rc);
  ASSERT_TRUE(rcOk.isOk()) << rcOk.status();
  EXPECT_EQ(rcOk->identityId, r->identityId);
  // Tampering, a wrong secret, an unknown key and clock skew are refused; nothing is created.
  size_t before = identityCount();
  proto::GetDeveloperTokenRequest bad = rq;
  bad.developerUserId = "user-8";
  EXPECT_EQ(identities_->getDeveloperToken(bad).status().code(), StatusCode::kUnauthenticated);
  bad = rq;
  bad.signature = signDeveloperRequest("wrong", bad);
  EXPECT_EQ(identities_->getDeveloperToken(bad).status().code(), StatusCode::kUnauthenticated);
  bad = rq;
  bad.accessKeyId = "AKIAUNKNOWN00000000";
  EXPECT_EQ(identities_->getDeveloperToken(bad).status().code(), StatusCode::kUnauthenticated);
  bad = rq;
  bad.timestampMs -= 6 * 60 * 1000;
  bad.signature = signDeveloperRequest("db-secret-0123456789", bad);
  EXPECT_EQ(identities_->getDeveloperToken(bad).status().code(), StatusCode::kUnauthenticated);
  bad = rq;
  bad.tokenDurationSeconds = 86401;
  bad.signature = signDeveloperRequest("db-secret-0123456789", bad);
  EXPECT_EQ(identities_->getDeveloperToken(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(identityCount(), before);
  // Deleting the credential revokes it at once.
  ASSERT_TRUE(store_->deleteDeveloperCredential("AKIADBKEY0000000001").isOk());
  rq.signature = signDeveloperRequest("db-secret-0123456789", rq);
  EXPECT_EQ(identities_->getDeveloperToken(rq).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(LoginResolverTest, DeveloperSignatureCanonicalStringIsUnambiguous) {
  proto::GetDeveloperTokenRequest a{kPool, "", "u\n1", 60, "AKIA", 5, ""};
  proto::GetDeveloperTokenRequest b{kPool, "", "u", 160, "AKIA", 5, ""};
  EXPECT_NE(developerCanonicalString(a), developerCanonicalString(b));
  EXPECT_EQ(developerCanonicalString(b), "TETHER-DEV-HMAC-SHA256\n4:AKIA\n1:5\n" + std::to_string(std::string(kPool).size()) +
                                             ":" + kPool + "\n0:\n1:u\n3:160\n");
}

TEST(DeveloperTokenRequestTest, RoundTripsThroughTheCodec) {
  proto::GetDeveloperTokenRequest rq{kPool, "local:aaaaaaaa-0000-4000-8000-000000000001", "user\n7", 600,
                                     "AKIAEXAMPLE000000001", 1700000000123, std::string(64, 'a')};
  std::string frame = codec::encode(proto::ClientMessage{proto::Request{42, rq}});
  auto back = codec::decodeClientMessage(frame);
  ASSERT_TRUE(back.isOk()) << back.status();
  auto* req = std::get_if<proto::Request>(&*back);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->id, 42u);
  auto* got = std::get_if<proto::GetDeveloperTokenRequest>(&req->body);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->identityPoolId, rq.identityPoolId);
  EXPECT_EQ(got->identityId, rq.identityId);
  EXPECT_EQ(got->developerUserId, rq.developerUserId);
  EXPECT_EQ(got->tokenDurationSeconds, rq.tokenDurationSeconds);
  EXPECT_EQ(got->accessKeyId, rq.accessKeyId);
  EXPECT_EQ(got->timestampMs, rq.timestampMs);
  EXPECT_EQ(got->signature, rq.signature);
}

TEST_P(LoginResolverTest, ProvidersAddedToTheDatabaseWorkWithoutRestart) {
  TestOidcIssuer late("https://late.test.example");
  late.writeJwks(dir_.path() / "late.json");
  Login l{"late.test.example", late.sign(late.claims("dora", "late-client"))};
  EXPECT_EQ(resolver().resolve(kPool, {l}, "").status().code(), StatusCode::kUnauthenticated);
  OidcProviderRow row{kPool, "late.test.example", late.issuer(), {"late-client"},
                      (dir_.path() / "late.json").string(), "", 60, 1};
  ASSERT_TRUE(store_->putOidcProvider(row).isOk());
  // Right after a refresh an unknown name does not hit the database again...
  EXPECT_EQ(resolver().resolve(kPool, {l}, "").status().code(), StatusCode::kUnauthenticated);
  // ...but once the short interval has passed it does.
  clock_.offset += LoginProviders::kUnknownRefreshMs;
  auto r = resolver().resolve(kPool, {l}, "");
  ASSERT_TRUE(r.isOk()) << r.status();
  // Removed: gone after at most kMaxStaleMs.
  ASSERT_TRUE(store_->deleteOidcProvider(kPool, "late.test.example").isOk());
  clock_.offset += LoginProviders::kMaxStaleMs;
  EXPECT_EQ(resolver().resolve(kPool, {l}, "").status().code(), StatusCode::kUnauthenticated);
}

TEST_P(LoginResolverTest, StoreRowsRoundTrip) {
  OidcProviderRow row{kPool, "p.example", "https://p.example", {"a", "b"}, "", R"({"keys":[]})", 5, 7};
  ASSERT_TRUE(store_->putOidcProvider(row).isOk());
  auto rows = store_->listOidcProviders(kPool);
  ASSERT_TRUE(rows.isOk());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0], row);
  EXPECT_EQ(store_->deleteOidcProvider(kPool, "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->getPoolDeveloperProvider(kPool).value(), "");
  EXPECT_EQ(store_->getPoolDeveloperProvider("local:99999999-2222-4333-8444-555555555555").status().code(),
            StatusCode::kNotFound);
  DeveloperCredentialRow c{"AKIAXXXXXXXXXXXXXXXX", "secret", "d", 3};
  ASSERT_TRUE(store_->createDeveloperCredential(c).isOk());
  EXPECT_EQ(store_->createDeveloperCredential(c).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->findDeveloperCredential(c.accessKeyId).value(), std::optional<DeveloperCredentialRow>(c));
  EXPECT_EQ(store_->listDeveloperCredentials().value(), std::vector<DeveloperCredentialRow>{c});
  EXPECT_TRUE(store_->deleteDeveloperCredential(c.accessKeyId).isOk());
  EXPECT_EQ(store_->deleteDeveloperCredential(c.accessKeyId).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tether::server
