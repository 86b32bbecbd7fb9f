// The user-pools service in process, on both store backends, with a clock the test moves: what the
// end-to-end suites cannot wait for (token, code, session and temporary-password expiry; lockout
// timing; the identity-pool "Token expired" message) and what they cannot race (concurrent
// failed sign-ins all counted).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/secret_store.h"
#include "cognito/request_auth.h"
#include "cognito/temporary_credentials.h"
#include "idp/code_delivery.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/sealer.h"
#include "idp/idp_api.h"
#include "idp/idp_login_verifier.h"
#include "store_backend.h"

namespace tether::server::idp {
namespace {

using cognito::Json;
using ::tether::testing::StoreBackendFixture;

class FakeClock final : public Clock {
 public:
  int64_t nowMs() const override { return now_.load(); }
  void advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_{1'800'000'000'000};
};

constexpr const char* kPassword = "Passw0rd!";

class IdpServiceTest : public StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (::testing::Test::IsSkipped() || HasFatalFailure()) return;
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
    secrets_ = std::make_unique<auth::DatabaseSecretStore>(*store_);
    auto creds = cognito::TemporaryCredentials::open(*secrets_);
    ASSERT_TRUE(creds.isOk()) << creds.status();
    credentials_ = std::move(creds).value();
    authenticator_ = std::make_unique<cognito::RequestAuthenticator>(*credentials_, std::map<std::string, std::string>{},
                                                                     clock_, store_.get());
    keys_ = std::make_unique<IdpKeyring>(*secrets_, *secrets_);
    auto tokenSealer = keys_->tokenSealer();
    auto atRest = keys_->atRestSealer();
    auto hasher = keys_->codeHasher();
    ASSERT_TRUE(tokenSealer.isOk() && atRest.isOk() && hasher.isOk());
    delivery_ = std::make_unique<CodeDelivery>(nullptr, "", true);
    IdpSettings settings;
    settings.issuerBase = "http://idp.test";
    ctx_ = std::make_unique<IdpContext>(IdpContext{*store_, *keys_, *tokenSealer, *atRest, *hasher, *authenticator_,
                                                   clock_, *delivery_, settings});
    api_ = std::make_unique<IdpApi>(*ctx_);
    auto pool = admin("CreateUserPool", {{"PoolName", "p"}, {"AutoVerifiedAttributes", {"email"}}});
    poolId_ = pool["UserPool"]["Id"];
    auto client = admin("CreateUserPoolClient",
                        {{"UserPoolId", poolId_},
                         {"ClientName", "c"},
                         {"ExplicitAuthFlows", {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}}});
    clientId_ = client["UserPoolClient"]["ClientId"];
  }

  Json admin(const std::string& op, const Json& in) {
    cognito::ApiResult<Json> r = api_->callAsAdministrator(op, in);
    EXPECT_TRUE(r.isOk()) << op << ": " << (r.isOk() ? "" : r.error().type + " " + r.error().message);
    return r.isOk() ? *r : Json();
  }
  cognito::ApiResult<Json> call(const std::string& op, Json in) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/";
    req.peer = "127.0.0.1";
    req.body = in.dump();
    return api_->call(op, req);
  }
  static std::string errorOf(const cognito::ApiResult<Json>& r) {
    return r.isOk() ? "ok" : r.error().type + ": " + r.error().message;
  }

  // A confirmed user with kPassword.
  void makeUser(const std::string& name) {
    admin("AdminCreateUser", {{"UserPoolId", poolId_},
                              {"Username", name},
                              {"MessageAction", "SUPPRESS"},
                              {"UserAttributes", {{{"Name", "email"}, {"Value", name + "@example.com"}},
                                                  {{"Name", "email_verified"}, {"Value", "true"}}}}});
    admin("AdminSetUserPassword", {{"UserPoolId", poolId_}, {"Username", name}, {"Password", kPassword}, {"Permanent", true}});
  }
  cognito::ApiResult<Json> signIn(const std::string& name, const std::string& password = kPassword) {
    return call("InitiateAuth", {{"ClientId", clientId_},
                                 {"AuthFlow", "USER_PASSWORD_AUTH"},
                                 {"AuthParameters", {{"USERNAME", name}, {"PASSWORD", password}}}});
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<auth::DatabaseSecretStore> secrets_;
  std::unique_ptr<cognito::TemporaryCredentials> credentials_;
  std::unique_ptr<cognito::RequestAuthenticator> authenticator_;
  std::unique_ptr<IdpKeyring> keys_;
  std::unique_ptr<CodeDelivery> delivery_;
  std::unique_ptr<IdpContext> ctx_;
  std::unique_ptr<IdpApi> api_;
  std::string poolId_, clientId_;
};

TEST_P(IdpServiceTest, TokensExpireWithAwsMessages) {
  makeUser("alice");
  auto res = signIn("alice");
  ASSERT_TRUE(res.isOk()) << errorOf(res);
  const Json tokens = (*res)["AuthenticationResult"];
  ASSERT_TRUE(call("GetUser", {{"AccessToken", tokens["AccessToken"]}}).isOk());
  // The identity-pool provider check of an ID token, then an hour later.
  IdpLoginVerifier verifier(*ctx_, api_->tokens());
  UserPoolProviderConfig provider{"cognito-idp.us-east-1.amazonaws.com/" + poolId_, {clientId_}, true};
  auto login = verifier.verify(provider, tokens["IdToken"].get<std::string>(), clock_.nowMs());
  ASSERT_TRUE(login.isOk()) << login.status();
  clock_.advance(3600 * 1000);
  const int64_t now = clock_.nowMs() / 1000;
  EXPECT_EQ(errorOf(call("GetUser", {{"AccessToken", tokens["AccessToken"]}})),
            "NotAuthorizedException: Access Token has expired");
  login = verifier.verify(provider, tokens["IdToken"].get<std::string>(), clock_.nowMs());
  ASSERT_FALSE(login.isOk());
  EXPECT_EQ(login.status().message(),
            "Invalid login token. Token expired: " + std::to_string(now) + " >= " + std::to_string(now));
  // The refresh token still works (30 days), then not.
  auto refreshed = call("InitiateAuth", {{"ClientId", clientId_},
                                         {"AuthFlow", "REFRESH_TOKEN_AUTH"},
                                         {"AuthParameters", {{"REFRESH_TOKEN", tokens["RefreshToken"]}}}});
  EXPECT_TRUE(refreshed.isOk()) << errorOf(refreshed);
  clock_.advance(int64_t{30} * 86400 * 1000);
  refreshed = call("InitiateAuth", {{"ClientId", clientId_},
                                    {"AuthFlow", "REFRESH_TOKEN_AUTH"},
                                    {"AuthParameters", {{"REFRESH_TOKEN", tokens["RefreshToken"]}}}});
  EXPECT_EQ(errorOf(refreshed), "NotAuthorizedException: Refresh Token has expired");
}

TEST_P(IdpServiceTest, CodesSessionsAndTemporaryPasswordsExpire) {
  auto up = call("SignUp", {{"ClientId", clientId_},
                            {"Username", "bob"},
                            {"Password", kPassword},
                            {"UserAttributes", {{{"Name", "email"}, {"Value", "bob@example.com"}}}}});
  ASSERT_TRUE(up.isOk()) << errorOf(up);
  auto code = delivery_->lastCode(poolId_, "bob");
  ASSERT_TRUE(code);
  clock_.advance(24 * 3600 * 1000 + 1);
  EXPECT_EQ(errorOf(call("ConfirmSignUp", {{"ClientId", clientId_}, {"Username", "bob"}, {"ConfirmationCode", code->first}})),
            "ExpiredCodeException: Invalid code provided, please request a code again.");

  admin("AdminCreateUser", {{"UserPoolId", poolId_}, {"Username", "carol"}, {"TemporaryPassword", "Temp0rary!"},
                            {"MessageAction", "SUPPRESS"}});
  auto challenge = signIn("carol", "Temp0rary!");
  ASSERT_TRUE(challenge.isOk()) << errorOf(challenge);
  ASSERT_EQ((*challenge)["ChallengeName"], "NEW_PASSWORD_REQUIRED");
  clock_.advance(3 * 60 * 1000 + 1);  // AuthSessionValidity: 3 minutes
  EXPECT_EQ(errorOf(call("RespondToAuthChallenge",
                         {{"ClientId", clientId_},
                          {"ChallengeName", "NEW_PASSWORD_REQUIRED"},
                          {"Session", (*challenge)["Session"]},
                          {"ChallengeResponses", {{"USERNAME", "carol"}, {"NEW_PASSWORD", "N3w-Passw0rd"}}}})),
            "NotAuthorizedException: Invalid session for the user, session is expired.");
  clock_.advance(int64_t{7} * 86400 * 1000);  // TemporaryPasswordValidityDays: 7
  EXPECT_EQ(errorOf(signIn("carol", "Temp0rary!")),
            "NotAuthorizedException: Temporary password has expired and must be reset by an administrator.");
}

TEST_P(IdpServiceTest, LockoutBacksOffAndForgets) {
  makeUser("dave");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(errorOf(signIn("dave", "Wrong0ne!")), "NotAuthorizedException: Incorrect username or password.");
  EXPECT_EQ(errorOf(signIn("dave")), "NotAuthorizedException: Password attempts exceeded");
  clock_.advance(1001);
  EXPECT_EQ(errorOf(signIn("dave", "Wrong0ne!")), "NotAuthorizedException: Incorrect username or password.");
  clock_.advance(1001);  // the 6th failure locked for 2 s
  EXPECT_EQ(errorOf(signIn("dave")), "NotAuthorizedException: Password attempts exceeded");
  clock_.advance(1000);
  EXPECT_TRUE(signIn("dave").isOk());
  // A success resets the count: five more failures before the next lockout.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(errorOf(signIn("dave", "Wrong0ne!")), "NotAuthorizedException: Incorrect username or password.");
  EXPECT_TRUE(signIn("dave").isOk());
}

TEST_P(IdpServiceTest, ConcurrentFailuresAreAllCounted) {
  makeUser("erin");
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] { (void)signIn("erin", "Wrong0ne!"); });
  for (auto& t : threads) t.join();
  // Four failures recorded despite the races (version-checked writes retried): one more locks.
  EXPECT_EQ(errorOf(signIn("erin", "Wrong0ne!")), "NotAuthorizedException: Incorrect username or password.");
  EXPECT_EQ(errorOf(signIn("erin")), "NotAuthorizedException: Password attempts exceeded");
}

TEST_P(IdpServiceTest, RefusedPasswordResetChangesNothing) {
  makeUser("frank");
  ASSERT_TRUE(call("ForgotPassword", {{"ClientId", clientId_}, {"Username", "frank"}}).isOk());
  auto code = delivery_->lastCode(poolId_, "frank");
  ASSERT_TRUE(code);
  EXPECT_EQ(errorOf(call("ConfirmForgotPassword", {{"ClientId", clientId_}, {"Username", "frank"},
                                                   {"ConfirmationCode", code->first}, {"Password", "weak"}})),
            "InvalidPasswordException: Password did not conform with policy: Password not long enough");
  EXPECT_TRUE(signIn("frank").isOk());  // the old password still works, the code is still good
  EXPECT_TRUE(call("ConfirmForgotPassword", {{"ClientId", clientId_}, {"Username", "frank"},
                                             {"ConfirmationCode", code->first}, {"Password", "N3w-Passw0rd"}})
                  .isOk());
  EXPECT_EQ(errorOf(signIn("frank")), "NotAuthorizedException: Incorrect username or password.");
  EXPECT_TRUE(signIn("frank", "N3w-Passw0rd").isOk());
}

TEST_P(IdpServiceTest, ACodeIsVoidAfterFiveWrongGuesses) {
  auto up = call("SignUp", {{"ClientId", clientId_},
                            {"Username", "gina"},
                            {"Password", kPassword},
                            {"UserAttributes", {{{"Name", "email"}, {"Value", "gina@example.com"}}}}});
  ASSERT_TRUE(up.isOk()) << errorOf(up);
  auto code = delivery_->lastCode(poolId_, "gina");
  ASSERT_TRUE(code);
  const std::string wrong = code->first == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(errorOf(call("ConfirmSignUp", {{"ClientId", clientId_}, {"Username", "gina"}, {"ConfirmationCode", wrong}})),
              "CodeMismatchException: Invalid verification code provided, please try again.");
  // The right code no longer works: 10^6 codes cannot be walked through; a new one is needed.
  EXPECT_EQ(errorOf(call("ConfirmSignUp", {{"ClientId", clientId_}, {"Username", "gina"}, {"ConfirmationCode", code->first}})),
            "ExpiredCodeException: Invalid code provided, please request a code again.");
  ASSERT_TRUE(call("ResendConfirmationCode", {{"ClientId", clientId_}, {"Username", "gina"}}).isOk());
  auto fresh = delivery_->lastCode(poolId_, "gina");
  EXPECT_TRUE(call("ConfirmSignUp", {{"ClientId", clientId_}, {"Username", "gina"}, {"ConfirmationCode", fresh->first}}).isOk());
}

// Where the client hides existence, a wrong password for a missing user takes as long as one for
// a real user (the same modexp and a durable write): medians of interleaved attempts within 2x.
TEST_P(IdpServiceTest, HiddenMissingUsersTakeAsLongAsRealOnes) {
  auto hidden = admin("CreateUserPoolClient", {{"UserPoolId", poolId_}, {"ClientName", "hidden"},
                                               {"PreventUserExistenceErrors", "ENABLED"},
                                               {"ExplicitAuthFlows", {"ALLOW_USER_PASSWORD_AUTH"}}});
  const std::string hiddenClient = hidden["UserPoolClient"]["ClientId"];
  for (int u = 0; u < 8; ++u) makeUser("real" + std::to_string(u));
  auto attempt = [&](const std::string& name) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = call("InitiateAuth", {{"ClientId", hiddenClient}, {"AuthFlow", "USER_PASSWORD_AUTH"},
                                   {"AuthParameters", {{"USERNAME", name}, {"PASSWORD", "Wrong0ne!"}}}});
    EXPECT_EQ(errorOf(r), "NotAuthorizedException: Incorrect username or password.");
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> real, missing;
  for (int i = 0; i < 32; ++i) {  // 4 failures per real user: below the lockout
    real.push_back(attempt("real" + std::to_string(i % 8)));
    missing.push_back(attempt("ghost" + std::to_string(i)));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double r = median(real), m = median(missing);
  EXPECT_LT(r, 2 * m) << "real " << r << " us, missing " << m << " us";
  EXPECT_LT(m, 2 * r) << "real " << r << " us, missing " << m << " us";
}

TETHER_INSTANTIATE_BACKENDS(IdpServiceTest);

}  // namespace
}  // namespace tether::server::idp
