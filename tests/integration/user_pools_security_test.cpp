// Cognito User Pools: every operation of IdpApi::operations() called the ways it must refuse
// (spec cognito-user-pools.md 2.1), and no secret of a whole user's life in the trace-level log
// (spec 9.6). One tetherd per store (SQLite, PostgreSQL); codes reach the test through the
// operator's delivery hook (a command writing them to a file), not dev mode.
//   - SigV4 operations: unsigned -> MissingAuthenticationTokenException, a wrong secret ->
//     InvalidSignatureException, an identity's temporary credentials -> NotAuthorizedException,
//     the developer credential -> past the authorization check;
//   - public operations: a signature, even a bad one, is ignored; an unknown ClientId ->
//     ResourceNotFoundException;
//   - token operations: no token, an ID token, a tampered or another pool's... access token ->
//     NotAuthorizedException;
//   - no answer is a 5xx.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "auth/base64url.h"
#include "idp/crypto/srp.h"
#include "idp/crypto/srp_client.h"
#include "idp/crypto/srp_timestamp.h"
#include "idp/crypto/totp.h"
#include "idp/idp_api.h"
#include "pg_test_cluster.h"
#include "security_matrix_support.h"
#include "tetherd_process.h"

namespace tether::testing::matrix {
namespace {

using nlohmann::json;
using server::idp::IdpApi;

constexpr const char* kPool = "us-east-1:5ec0e1d0-0000-4000-8000-0000000000aa";
constexpr const char* kDevKey = "AKIAUSERPOOLSMATRIX1";
constexpr const char* kDevSecret = "user-pools-matrix-secret-0123456789abcdef";
constexpr const char* kDelivery = "arn:aws:lambda:us-east-1:123456789012:function:send-code";

std::string makeDir() {
  const char* root = std::getenv("TETHER_TEST_TMP");
  std::filesystem::path base = root && *root ? root : "/tmp";
  std::filesystem::create_directories(base);
  std::string pattern = (base / "idp-security-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

class UserPoolsSecurityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = makeDir();
    std::ofstream cfg(dir_ + "/tetherd.toml");
    cfg << "[[pools]]\nid = \"" << kPool << "\"\nname = \"guests\"\nallow_guests = true\n\n"
        << "[[developer_credentials]]\naccess_key_id = \"" << kDevKey << "\"\nsecret_access_key = \"" << kDevSecret
        << "\"\n\n[[sync_triggers]]\nfunction = \"" << kDelivery << "\"\n"
        << "command = [\"/bin/sh\", \"-c\", \"cat >> '" << dir_ << "/codes.jsonl'; echo >> '" << dir_
        << "/codes.jsonl'; echo '{}'\"]\n\n[user_pools]\ncode_delivery = \"" << kDelivery << "\"\n\n[limits]\n";
    for (const char* kind : {"identity_creation", "token_issuance", "sign_in", "writes"})
      cfg << "[limits." << kind << "]\nper_address_per_second = 0\nper_pool_per_second = 0\n";
    cfg.close();
    TetherdOptions o;
    o.createPool = false;
    o.extraArgs = {"--config", dir_ + "/tetherd.toml"};
    o.logLevel = "trace";
    if (GetParam() == "postgresql") {
      PG_TEST_OR_SKIP(cluster);
      auto schema = cluster->freshSchema("idp_security");
      ASSERT_TRUE(schema.isOk()) << schema.status();
      o.store = cluster->url(*schema);
      o.extraArgs.insert(o.extraArgs.end(), {"--issuer", "http://idp-security.test"});
    }
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  HttpReply idp(const std::string& op, const json& body, const SigV4Key* key = nullptr,
                Forgery forgery = Forgery::kNone) {
    HttpCall call;
    call.target = op;
    call.userPools = true;
    call.body = body.dump();
    HttpReply r = sendCognito(server_->port(), call, key, forgery);
    EXPECT_LT(r.status, 500) << op << " answered " << r.status << ": " << r.raw;
    return r;
  }
  json ok(const std::string& op, const json& body, const SigV4Key* key = nullptr) {
    HttpReply r = idp(op, body, key);
    EXPECT_EQ(r.status, 200) << op << ": " << r.raw;
    remember(r.raw);
    return r.body;
  }
  // The last code the delivery hook got for `user` (the hook writes one JSON object per line).
  std::string lastCode(const std::string& user) {
    std::ifstream in(dir_ + "/codes.jsonl");
    std::string line, code;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("userName", "") == user) code = j.value("code", "");
    }
    EXPECT_FALSE(code.empty()) << "no code delivered to " << user;
    secrets_.insert(code);
    return code;
  }
  // Every token-like value in a response is a secret the log must not hold.
  void remember(const std::string& raw) {
    static const std::regex kValue("\"(AccessToken|IdToken|RefreshToken|Session|SECRET_BLOCK|SRP_B|SecretCode|ClientSecret)\":\"([^\"]+)\"");
    for (std::sregex_iterator it(raw.begin(), raw.end(), kValue), end; it != end; ++it) secrets_.insert((*it)[2]);
  }

  std::string dir_;
  std::unique_ptr<TetherdProcess> server_;
  std::set<std::string> secrets_;
};

TEST_P(UserPoolsSecurityTest, EveryOperationIsAuthorizedByItsClassAndNoSecretIsLogged) {
  const SigV4Key dev{kDevKey, kDevSecret, ""};
  // ---- a user's whole life, collecting every secret that passes
  json pool = ok("CreateUserPool", {{"PoolName", "sec"}, {"AutoVerifiedAttributes", {"email"}}}, &dev);
  const std::string poolId = pool["UserPool"]["Id"];
  ok("SetUserPoolMfaConfig", {{"UserPoolId", poolId}, {"MfaConfiguration", "OPTIONAL"},
                              {"SoftwareTokenMfaConfiguration", {{"Enabled", true}}}}, &dev);
  json client = ok("CreateUserPoolClient", {{"UserPoolId", poolId}, {"ClientName", "app"},
                                            {"ExplicitAuthFlows", {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                                                   "ALLOW_REFRESH_TOKEN_AUTH"}}}, &dev);
  const std::string clientId = client["UserPoolClient"]["ClientId"];
  const std::string password = "S3cret-Pa55word-" + std::to_string(::getpid());
  const std::string newPassword = "N3w-S3cret-Pa55word-" + std::to_string(::getpid());
  secrets_.insert(password);
  secrets_.insert(newPassword);
  ok("SignUp", {{"ClientId", clientId}, {"Username", "alice"}, {"Password", password},
                {"UserAttributes", {{{"Name", "email"}, {"Value", "alice@example.com"}}}}});
  ok("ConfirmSignUp", {{"ClientId", clientId}, {"Username", "alice"}, {"ConfirmationCode", lastCode("alice")}});

  // SRP sign-in with the library's client half.
  const std::string a = server::idp::srp::newClientSecret();
  auto srpA = server::idp::srp::clientPublicHex(a);
  ASSERT_TRUE(srpA.isOk());
  secrets_.insert(*srpA);
  json challenge = ok("InitiateAuth", {{"ClientId", clientId}, {"AuthFlow", "USER_SRP_AUTH"},
                                       {"AuthParameters", {{"USERNAME", "alice"}, {"SRP_A", *srpA}}}});
  const json params = challenge["ChallengeParameters"];
  std::string poolName = poolId.substr(poolId.find('_') + 1);
  auto key = server::idp::srp::deriveClientKey(a, params["SRP_B"].get<std::string>(), params["SALT"].get<std::string>(),
                                               poolName, "alice", password);
  ASSERT_TRUE(key.isOk()) << key.status();
  const std::string ts = server::idp::srp::formatTimestamp(nowMs() / 1000);
  auto block = server::auth::base64Decode(params["SECRET_BLOCK"].get<std::string>());
  ASSERT_TRUE(block);
  const std::string signature = server::idp::srp::claimSignature(key->key, poolName, "alice", *block, ts);
  secrets_.insert(signature);
  json tokens = ok("RespondToAuthChallenge",
                   {{"ClientId", clientId}, {"ChallengeName", "PASSWORD_VERIFIER"},
                    {"ChallengeResponses", {{"USERNAME", "alice"}, {"PASSWORD_CLAIM_SECRET_BLOCK", params["SECRET_BLOCK"]},
                                            {"TIMESTAMP", ts}, {"PASSWORD_CLAIM_SIGNATURE", signature}}}})["AuthenticationResult"];
  const std::string access = tokens["AccessToken"], idToken = tokens["IdToken"];
  ok("InitiateAuth", {{"ClientId", clientId}, {"AuthFlow", "REFRESH_TOKEN_AUTH"},
                      {"AuthParameters", {{"REFRESH_TOKEN", tokens["RefreshToken"]}}}});
  // TOTP.
  json assoc = ok("AssociateSoftwareToken", {{"AccessToken", access}});
  auto secret = server::idp::totp::base32Decode(assoc["SecretCode"].get<std::string>());
  ASSERT_TRUE(secret);
  const std::string totpCode = server::idp::totp::code(*secret, server::idp::totp::stepAt(nowMs() / 1000));
  secrets_.insert(totpCode);
  ok("VerifySoftwareToken", {{"AccessToken", access}, {"UserCode", totpCode}});
  // Password changes and reset.
  ok("ChangePassword", {{"AccessToken", access}, {"PreviousPassword", password}, {"ProposedPassword", newPassword}});
  ok("ForgotPassword", {{"ClientId", clientId}, {"Username", "alice"}});
  ok("ConfirmForgotPassword", {{"ClientId", clientId}, {"Username", "alice"}, {"ConfirmationCode", lastCode("alice")},
                               {"Password", password + "-2"}});
  secrets_.insert(password + "-2");
  ok("AdminCreateUser", {{"UserPoolId", poolId}, {"Username", "bob"}, {"TemporaryPassword", "Temp0rary-" + password},
                         {"MessageAction", "SUPPRESS"}}, &dev);
  secrets_.insert("Temp0rary-" + password);
  // A wrong password and a wrong code go through the failure paths too.
  idp("InitiateAuth", {{"ClientId", clientId}, {"AuthFlow", "USER_PASSWORD_AUTH"},
                       {"AuthParameters", {{"USERNAME", "alice"}, {"PASSWORD", "Wr0ng-" + password}}}});
  secrets_.insert("Wr0ng-" + password);

  // ---- an identity's temporary credentials, for the "not a developer" column
  HttpCall getId;
  getId.target = "GetId";
  getId.body = json{{"IdentityPoolId", kPool}}.dump();
  HttpReply id = sendCognito(server_->port(), getId, nullptr);
  ASSERT_EQ(id.status, 200) << id.raw;
  HttpCall getCreds;
  getCreds.target = "GetCredentialsForIdentity";
  getCreds.body = json{{"IdentityId", id.body["IdentityId"]}}.dump();
  HttpReply creds = sendCognito(server_->port(), getCreds, nullptr);
  ASSERT_EQ(creds.status, 200) << creds.raw;
  const SigV4Key identityKey{creds.body["Credentials"]["AccessKeyId"], creds.body["Credentials"]["SecretKey"],
                             creds.body["Credentials"]["SessionToken"]};
  const SigV4Key stranger{"AKIANOBODY0000000000", "not-the-secret-of-anyone-0123456789", ""};

  // ---- every operation x the ways it must refuse
  const std::set<std::string> authErrors = {"MissingAuthenticationTokenException", "InvalidSignatureException",
                                            "UnrecognizedClientException", "IncompleteSignatureException"};
  int cells = 0;
  for (const IdpApi::OperationInfo& op : IdpApi::operations()) {
    const std::string name(op.name);
    SCOPED_TRACE(name);
    if (op.auth == IdpApi::AuthClass::kSigned) {
      json body = {{"UserPoolId", poolId}};
      EXPECT_EQ(errorType(idp(name, body)), "MissingAuthenticationTokenException");
      EXPECT_EQ(errorType(idp(name, body, &dev, Forgery::kWrongSecret)), "InvalidSignatureException");
      EXPECT_EQ(errorType(idp(name, body, &stranger)), "UnrecognizedClientException");
      EXPECT_EQ(errorType(idp(name, body, &identityKey)), "NotAuthorizedException");
      HttpReply asDeveloper = idp(name, body, &dev);
      EXPECT_EQ(authErrors.count(errorType(asDeveloper)), 0u) << asDeveloper.raw;
      cells += 5;
      continue;
    }
    if (op.auth == IdpApi::AuthClass::kPublic) {
      json body = {{"ClientId", "nosuchclient0000000000000a"}, {"Username", "alice"}, {"Password", "Passw0rd!x"},
                   {"ConfirmationCode", "123456"}, {"AuthFlow", "USER_PASSWORD_AUTH"},
                   {"AuthParameters", {{"USERNAME", "alice"}, {"PASSWORD", "Passw0rd!x"}}},
                   {"ChallengeName", "SOFTWARE_TOKEN_MFA"}, {"Session", std::string(40, 'x')},
                   {"ChallengeResponses", {{"USERNAME", "alice"}}}, {"Token", "x.y.z.w.v"}};
      EXPECT_EQ(errorType(idp(name, body)), "ResourceNotFoundException");
      // A signature, even one that does not verify, is ignored on public operations.
      EXPECT_EQ(errorType(idp(name, body, &stranger)), "ResourceNotFoundException");
      cells += 2;
      continue;
    }
    // Token-authorized: nothing, an ID token, a tampered access token, garbage.
    std::string tampered = access;
    tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
    const bool sessionAlso = name == "AssociateSoftwareToken" || name == "VerifySoftwareToken";
    for (const json& body : {json{{"AccessToken", idToken}, {"UserCode", "123456"}},
                             json{{"AccessToken", tampered}, {"UserCode", "123456"}},
                             json{{"AccessToken", "not-a-token"}, {"UserCode", "123456"}}}) {
      json full = body;
      full["AttributeName"] = "email";
      full["Code"] = "123456";
      full["ProposedPassword"] = "Passw0rd!x";
      full["UserAttributes"] = json::array();
      full["UserAttributeNames"] = {"name"};
      HttpReply r = idp(name, full, &stranger);
      EXPECT_EQ(errorType(r), "NotAuthorizedException") << r.raw;
      ++cells;
    }
    HttpReply none = idp(name, json{{"UserCode", "123456"}});
    EXPECT_EQ(errorType(none), sessionAlso ? "InvalidParameterException" : "InvalidParameterException") << none.raw;
    ++cells;
  }
  std::printf("user pools security (%s): %zu operations, %d refusals checked\n", GetParam().c_str(),
              IdpApi::operations().size(), cells);
  EXPECT_GT(cells, 150);

  // ---- the trace-level log holds none of the secrets
  server_->stop();
  std::ifstream in(server_->logFile());
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(log.size(), 1000u);
  int searched = 0;
  for (const std::string& s : secrets_) {
    if (s.size() < 6) continue;
    ++searched;
    EXPECT_EQ(log.find(s), std::string::npos) << "a secret is in the log: " << s.substr(0, 40);
  }
  std::printf("user pools security: %d secrets searched in %zu bytes of trace log\n", searched, log.size());
  EXPECT_GT(searched, 15);
}

INSTANTIATE_TEST_SUITE_P(Stores, UserPoolsSecurityTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tether::testing::matrix
