// OidcVerifier against a test issuer whose keys the test generates: good RS256 and ES256
// tokens, and every bad token issue 5 lists.
#include "auth/oidc_verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "test_oidc_issuer.h"
#include "tetherd_process.h"

namespace tether::server {
namespace {

using tether::testing::TestOidcIssuer;
using nlohmann::json;

constexpr const char* kAud = "client-123";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

class OidcVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tether::testing::makeTempDir("oidc");
    jwks_ = dir_ / "jwks.json";
    issuer_.writeJwks(jwks_);
    OidcProviderConfig c{"login.test.example", issuer_.issuer(), {kAud, "other-client"}, jwks_, "", 30};
    auto v = OidcVerifier::create(c);
    ASSERT_TRUE(v.isOk()) << v.status();
    verifier_ = std::move(*v);
  }
  StatusCode codeOf(const std::string& token) { return verifier_->verify(token, nowMs()).status().code(); }

  TestOidcIssuer issuer_;
  std::filesystem::path dir_, jwks_;
  std::unique_ptr<OidcVerifier> verifier_;
};

TEST_F(OidcVerifierTest, AcceptsRs256AndEs256) {
  for (const char* alg : {"RS256", "ES256"}) {
    auto r = verifier_->verify(issuer_.sign(issuer_.claims("user-1", kAud), alg), nowMs());
    ASSERT_TRUE(r.isOk()) << alg << ": " << r.status();
    EXPECT_EQ(r->subject, "user-1");
    EXPECT_EQ(r->provider, "login.test.example");
    EXPECT_GT(r->expiresAtMs, nowMs());
  }
  // aud as an array containing an accepted client ID.
  json c = issuer_.claims("user-2", "x");
  c["aud"] = json::array({"nope", "other-client"});
  EXPECT_TRUE(verifier_->verify(issuer_.sign(c), nowMs()).isOk());
}

TEST_F(OidcVerifierTest, RejectsExpiredAndNotYetValid) {
  json c = issuer_.claims("u", kAud);
  c["exp"] = c["iat"].get<int64_t>() - 120;
  EXPECT_EQ(codeOf(issuer_.sign(c)), StatusCode::kUnauthenticated);
  // Within the leeway (30 s) it still passes.
  json slack = issuer_.claims("u", kAud);
  slack["exp"] = slack["iat"].get<int64_t>() - 10;
  EXPECT_TRUE(verifier_->verify(issuer_.sign(slack), nowMs()).isOk());
  json nbf = issuer_.claims("u", kAud);
  nbf["nbf"] = nbf["iat"].get<int64_t>() + 300;
  EXPECT_EQ(codeOf(issuer_.sign(nbf)), StatusCode::kUnauthenticated);
  json iat = issuer_.claims("u", kAud);
  iat["iat"] = iat["iat"].get<int64_t>() + 300;
  EXPECT_EQ(codeOf(issuer_.sign(iat)), StatusCode::kUnauthenticated);
}

TEST_F(OidcVerifierTest, RejectsWrongAudienceIssuerAndSubject) {
  EXPECT_EQ(codeOf(issuer_.sign(issuer_.claims("u", "someone-else"))), StatusCode::kUnauthenticated);
  json iss = issuer_.claims("u", kAud);
  iss["iss"] = "https://evil.example";
  EXPECT_EQ(codeOf(issuer_.sign(iss)), StatusCode::kUnauthenticated);
  json noSub = issuer_.claims("u", kAud);
  noSub.erase("sub");
  EXPECT_EQ(codeOf(issuer_.sign(noSub)), StatusCode::kUnauthenticated);
  json noAud = issuer_.claims("u", kAud);
  noAud.erase("aud");
  EXPECT_EQ(codeOf(issuer_.sign(noAud)), StatusCode::kUnauthenticated);
}

TEST_F(OidcVerifierTest, RejectsBadSignatureUnknownKidAndForeignKeys) {
  std::string good = issuer_.sign(issuer_.claims("u", kAud));
  std::string tampered = good;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(codeOf(tampered), StatusCode::kUnauthenticated);
  // Payload swapped under a valid signature.
  std::string other = issuer_.sign(issuer_.claims("admin", kAud));
  std::string spliced = good.substr(0, good.find('.')) + other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                        good.substr(good.rfind('.'));
  EXPECT_EQ(codeOf(spliced), StatusCode::kUnauthenticated);
  EXPECT_EQ(codeOf(issuer_.sign(issuer_.claims("u", kAud), "RS256", "no-such-kid")), StatusCode::kUnauthenticated);
  // Signed by another issuer's key that claims our kid.
  TestOidcIssuer impostor(issuer_.issuer());
  EXPECT_EQ(codeOf(impostor.sign(impostor.claims("u", kAud), "RS256", "rsa-1")), StatusCode::kUnauthenticated);
  EXPECT_EQ(codeOf(impostor.sign(impostor.claims("u", kAud), "ES256", "ec-1")), StatusCode::kUnauthenticated);
  // ES256 header over an RSA signature (alg/key confusion).
  json h = {{"alg", "ES256"}, {"kid", "rsa-1"}};
  EXPECT_EQ(codeOf(TestOidcIssuer::assemble(h, issuer_.claims("u", kAud), std::string(64, 'x'))), StatusCode::kUnauthenticated);
}

TEST_F(OidcVerifierTest, RejectsAlgNoneAndHs256WithThePublicKey) {
  json claims = issuer_.claims("u", kAud);
  EXPECT_EQ(codeOf(TestOidcIssuer::assemble({{"alg", "none"}}, claims, "")), StatusCode::kUnauthenticated);
  EXPECT_EQ(codeOf(TestOidcIssuer::assemble({{"alg", "none"}, {"kid", "rsa-1"}}, claims, "sig")), StatusCode::kUnauthenticated);
  json h = {{"alg", "HS256"}, {"kid", "rsa-1"}};
  std::string input = TestOidcIssuer::b64url(h.dump()) + "." + TestOidcIssuer::b64url(claims.dump());
  std::string forged = input + "." + TestOidcIssuer::b64url(TestOidcIssuer::hmacSha256(issuer_.rsaPublicKeyPem(), input));
  EXPECT_EQ(codeOf(forged), StatusCode::kUnauthenticated);
}

TEST_F(OidcVerifierTest, RejectsMalformedAndOversized) {
  for (std::string t : {"", "abc", "a.b", "a.b.c.d", "!!!.???.***", "eyJhbGciOiJSUzI1NiJ9..", ".."})
    EXPECT_EQ(codeOf(t), StatusCode::kUnauthenticated) << t;
  std::string notJson = TestOidcIssuer::b64url("{not json") + "." + TestOidcIssuer::b64url("{}") + ".c2ln";
  EXPECT_EQ(codeOf(notJson), StatusCode::kUnauthenticated);
  std::string big(OidcVerifier::kMaxTokenChars + 1, 'a');
  EXPECT_EQ(codeOf(big), StatusCode::kInvalidArgument);
}

TEST_F(OidcVerifierTest, RotatedKeysAreReloadedWithoutRestart) {
  std::string before = issuer_.sign(issuer_.claims("u", kAud));
  issuer_.rotate();
  std::string after = issuer_.sign(issuer_.claims("u", kAud));  // kid rsa-2
  EXPECT_EQ(codeOf(after), StatusCode::kUnauthenticated);      // file not updated yet
  issuer_.writeJwks(jwks_);
  EXPECT_TRUE(verifier_->verify(after, nowMs()).isOk());
  EXPECT_EQ(codeOf(before), StatusCode::kUnauthenticated);     // old key is gone
  // A broken file keeps the last good keys.
  { std::ofstream(jwks_) << "{garbage"; }
  EXPECT_TRUE(verifier_->verify(after, nowMs()).isOk());
}

TEST(OidcVerifierConfigTest, RefusesIncompleteConfigsAndUselessJwks) {
  EXPECT_FALSE(OidcVerifier::create({"p", "", {"a"}, std::nullopt, "{}", 30}).isOk());
  EXPECT_FALSE(OidcVerifier::create({"p", "https://i", {}, std::nullopt, "{}", 30}).isOk());
  EXPECT_FALSE(OidcVerifier::create({"p", "https://i", {"a"}, std::nullopt, "", 30}).isOk());
  EXPECT_FALSE(OidcVerifier::create({"p", "https://i", {"a"}, std::nullopt, R"({"keys":[]})", 30}).isOk());
  EXPECT_FALSE(OidcVerifier::create({"p", "https://i", {"a"}, std::nullopt, R"({"keys":[{"kty":"oct","k":"AAAA"}]})", 30}).isOk());
  TestOidcIssuer issuer;
  auto inlineOk = OidcVerifier::create({"p", issuer.issuer(), {"a"}, std::nullopt, issuer.jwksJson(), 30});
  ASSERT_TRUE(inlineOk.isOk()) << inlineOk.status();
  EXPECT_TRUE((*inlineOk)->verify(issuer.sign(issuer.claims("s", "a"), "ES256"), nowMs()).isOk());
}

}  // namespace
}  // namespace tether::server
