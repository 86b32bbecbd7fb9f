// Tests for auth/token_issuer.h: JWT round trip, every forgery/malformation we know of, and the
// published JWKS verified independently with OpenSSL.
#include "auth/token_issuer.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "auth/base64url.h"
#include "auth/secret_store.h"
#include "temp_dir.h"

namespace tether::server {
namespace {

using nlohmann::json;
using testing::TempDir;

constexpr const char* kIssuer = "https://sync.example.test";
constexpr const char* kPool = "local:11111111-2222-4333-8444-555555555555";
constexpr const char* kIdentity = "local:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr int64_t kNowMs = 1'700'000'000'123;

std::string b64(std::string_view s) { return auth::base64UrlEncode(s); }

struct Parts { std::string header, payload, sig; };
Parts split(const std::string& jwt) {
  size_t a = jwt.find('.'), b = jwt.find('.', a + 1);
  return {jwt.substr(0, a), jwt.substr(a + 1, b - a - 1), jwt.substr(b + 1)};
}
json decodeJson(const std::string& part) { return json::parse(*auth::base64UrlDecode(part)); }

class TokenIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = TokenIssuer::open(dir_.path(), kIssuer);
    ASSERT_TRUE(opened.isOk()) << opened.status();
    issuer_ = std::move(*opened);
    auto key = SigningKey::loadOrCreate(dir_.path());  // the same key, to forge with
    ASSERT_TRUE(key.isOk()) << key.status();
    key_ = std::move(*key);
  }

  json validHeader() const { return {{"alg", "ES256"}, {"kid", issuer_->kid()}, {"typ", "JWT"}}; }
  json validPayload() const {
    return {{"iss", kIssuer}, {"aud", kPool}, {"sub", kIdentity}, {"amr", {"unauthenticated"}},
            {"iat", kNowMs / 1000}, {"exp", kNowMs / 1000 + 600}};
  }
  // A JWT signed with the real key over whatever header and payload the test wants.
  std::string craft(const json& header, const json& payload, const SigningKey* key = nullptr) const {
    std::string input = b64(header.dump()) + "." + b64(payload.dump());
    auto sig = (key ? key : key_.get())->sign(input);
    EXPECT_TRUE(sig.isOk());
    return input + "." + b64(sig.isOk() ? *sig : "");
  }
  void expectRejected(const std::string& jwt, const std::string& why) const {
    auto v = issuer_->verify(jwt, kNowMs);
    ASSERT_FALSE(v.isOk()) << why;
    EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated) << why << ": " << v.status();
  }
  IssuedToken issueDefault() const {
    auto t = issuer_->issue({kPool, kIdentity, {"unauthenticated"}, 600}, kNowMs);
    EXPECT_TRUE(t.isOk()) << t.status();
    return t.isOk() ? *t : IssuedToken{};
  }

  TempDir dir_;
  std::unique_ptr<TokenIssuer> issuer_;
  std::unique_ptr<SigningKey> key_;
};

TEST_F(TokenIssuerTest, RoundTrip) {
  IssuedToken t = issueDefault();
  EXPECT_EQ(t.expiresAtMs, (kNowMs / 1000 + 600) * 1000);
  auto v = issuer_->verify(t.token, kNowMs);
  ASSERT_TRUE(v.isOk()) << v.status();
  EXPECT_EQ(v->poolId, kPool);
  EXPECT_EQ(v->identityId, kIdentity);
  EXPECT_EQ(v->amr, std::vector<std::string>{"unauthenticated"});
  EXPECT_EQ(v->expiresAtMs, t.expiresAtMs);

  Parts p = split(t.token);
  json header = decodeJson(p.header);
  EXPECT_EQ(header, validHeader());
  json payload = decodeJson(p.payload);
  EXPECT_EQ(payload["iss"], kIssuer);
  EXPECT_EQ(payload["aud"], kPool);
  EXPECT_EQ(payload["sub"], kIdentity);
  EXPECT_EQ(payload["iat"], kNowMs / 1000);
  EXPECT_EQ(payload["exp"], kNowMs / 1000 + 600);
  EXPECT_EQ(payload["amr"], json::array({"unauthenticated"}));
}

TEST_F(TokenIssuerTest, IssueRejectsBadClaims) {
  EXPECT_EQ(issuer_->issue({"nocolon", kIdentity, {}, 600}, kNowMs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_->issue({kPool, "", {}, 600}, kNowMs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_->issue({kPool, kIdentity, {}, 0}, kNowMs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_->issue({kPool, kIdentity, {}, 86401}, kNowMs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_->issue({kPool, kIdentity, {"bad\xff"}, 600}, kNowMs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issuer_->issue({kPool, kIdentity, {""}, 600}, kNowMs).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(issuer_->issue({kPool, kIdentity, {}, 86400}, kNowMs).isOk());
}

TEST_F(TokenIssuerTest, CraftedValidTokenVerifies) {
  // Proves the crafting helper is right, so the rejections below are about the one change each.
  auto v = issuer_->verify(craft(validHeader(), validPayload()), kNowMs);
  EXPECT_TRUE(v.isOk()) << v.status();
}

TEST_F(TokenIssuerTest, TamperedPayloadRejected) {
  Parts p = split(issueDefault().token);
  json payload = decodeJson(p.payload);
  payload["sub"] = "local:00000000-0000-4000-8000-000000000000";
  expectRejected(p.header + "." + b64(payload.dump()) + "." + p.sig, "swapped sub");
  // A single changed character anywhere in the payload part.
  for (size_t i = 0; i < p.payload.size(); i += 7) {
    std::string changed = p.payload;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    expectRejected(p.header + "." + changed + "." + p.sig, "payload char " + std::to_string(i));
  }
}

TEST_F(TokenIssuerTest, TamperedSignatureRejected) {
  Parts p = split(issueDefault().token);
  std::string sig = *auth::base64UrlDecode(p.sig);
  for (size_t i = 0; i < sig.size(); i += 5) {
    std::string flipped = sig;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    expectRejected(p.header + "." + p.payload + "." + b64(flipped), "sig byte " + std::to_string(i));
  }
  expectRejected(p.header + "." + p.payload + ".", "empty signature");
  expectRejected(p.header + "." + p.payload + "." + b64(sig.substr(0, 63)), "short signature");
  expectRejected(p.header + "." + p.payload + "." + b64(sig + "x"), "long signature");
  // The signature of another token (same key) does not fit this one.
  Parts q = split(issuer_->issue({kPool, kIdentity, {"unauthenticated"}, 601}, kNowMs)->token);
  expectRejected(p.header + "." + p.payload + "." + q.sig, "signature of another token");
}

TEST_F(TokenIssuerTest, AlgNoneRejected) {
  json header = {{"alg", "none"}, {"kid", issuer_->kid()}, {"typ", "JWT"}};
  std::string input = b64(header.dump()) + "." + b64(validPayload().dump());
  expectRejected(input + ".", "alg none, empty signature");
  expectRejected(input, "alg none, two parts");
  Parts p = split(issueDefault().token);
  expectRejected(b64(header.dump()) + "." + p.payload + "." + p.sig, "alg none with a real signature");
}

TEST_F(TokenIssuerTest, Hs256WithPublicKeyAsSecretRejected) {
  json header = {{"alg", "HS256"}, {"kid", issuer_->kid()}, {"typ", "JWT"}};
  std::string input = b64(header.dump()) + "." + b64(validPayload().dump());
  std::string x = *auth::base64UrlDecode(key_->publicJwk().x);
  std::string y = *auth::base64UrlDecode(key_->publicJwk().y);
  for (const std::string& secret : {issuer_->jwksJson(), std::string("\x04") + x + y, x + y}) {
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    expectRejected(input + "." + b64(std::string(reinterpret_cast<char*>(mac), len)), "HS256");
  }
}

TEST_F(TokenIssuerTest, WrongAlgHeaderWithValidEs256SignatureRejected) {
  for (const char* alg : {"RS256", "ES384", "PS256", "es256", "ES256 ", ""}) {
    json header = validHeader();
    header["alg"] = alg;
    expectRejected(craft(header, validPayload()), std::string("alg ") + alg);
  }
  json noAlg = validHeader();
  noAlg.erase("alg");
  expectRejected(craft(noAlg, validPayload()), "no alg");
  json numericAlg = validHeader();
  numericAlg["alg"] = 256;
  expectRejected(craft(numericAlg, validPayload()), "numeric alg");
  json crit = validHeader();
  crit["crit"] = json::array({"exp"});
  expectRejected(craft(crit, validPayload()), "crit");
}

TEST_F(TokenIssuerTest, UnknownKidRejected) {
  json header = validHeader();
  header["kid"] = "some-other-key";
  expectRejected(craft(header, validPayload()), "unknown kid");
  header.erase("kid");
  expectRejected(craft(header, validPayload()), "no kid");
}

TEST_F(TokenIssuerTest, OtherKeyClaimingOurKidRejected) {
  TempDir other;
  auto otherKey = SigningKey::loadOrCreate(other.path());
  ASSERT_TRUE(otherKey.isOk());
  expectRejected(craft(validHeader(), validPayload(), otherKey->get()), "forged with another key");
}

TEST_F(TokenIssuerTest, ExpiryBoundary) {
  IssuedToken t = issueDefault();
  EXPECT_TRUE(issuer_->verify(t.token, t.expiresAtMs - 1).isOk());
  auto atExp = issuer_->verify(t.token, t.expiresAtMs);
  ASSERT_FALSE(atExp.isOk());
  EXPECT_EQ(atExp.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(atExp.status().message().find("expired"), std::string::npos) << atExp.status();
  EXPECT_FALSE(issuer_->verify(t.token, t.expiresAtMs + 86'400'000).isOk());
}

TEST_F(TokenIssuerTest, WrongIssuerRejected) {
  auto otherIssuer = TokenIssuer::open(dir_.path(), "https://elsewhere.example.test");
  ASSERT_TRUE(otherIssuer.isOk());
  EXPECT_EQ((*otherIssuer)->kid(), issuer_->kid()) << "same data dir, same key";
  auto v = (*otherIssuer)->verify(issueDefault().token, kNowMs);
  ASSERT_FALSE(v.isOk());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);

  json payload = validPayload();
  payload["iss"] = std::string(kIssuer) + "/";
  expectRejected(craft(validHeader(), payload), "iss with trailing slash");
  payload.erase("iss");
  expectRejected(craft(validHeader(), payload), "no iss");
}

TEST_F(TokenIssuerTest, AudAndSubRequired) {
  for (const char* claim : {"aud", "sub"}) {
    json payload = validPayload();
    payload.erase(claim);
    expectRejected(craft(validHeader(), payload), std::string("absent ") + claim);
    payload[claim] = "";
    expectRejected(craft(validHeader(), payload), std::string("empty ") + claim);
    payload[claim] = 42;
    expectRejected(craft(validHeader(), payload), std::string("numeric ") + claim);
    payload[claim] = json::array({kPool});
    expectRejected(craft(validHeader(), payload), std::string("array ") + claim);
  }
}

TEST_F(TokenIssuerTest, ExpMustBeAnInteger) {
  json payload = validPayload();
  payload.erase("exp");
  expectRejected(craft(validHeader(), payload), "no exp");
  payload["exp"] = std::to_string(kNowMs / 1000 + 600);
  expectRejected(craft(validHeader(), payload), "string exp");
  payload["exp"] = static_cast<double>(kNowMs / 1000 + 600) + 0.5;
  expectRejected(craft(validHeader(), payload), "fractional exp");
  payload["exp"] = std::numeric_limits<uint64_t>::max();
  expectRejected(craft(validHeader(), payload), "huge exp");
  payload["exp"] = -1;
  expectRejected(craft(validHeader(), payload), "negative exp");
}

TEST_F(TokenIssuerTest, NotBeforeIsHonoured) {
  // We never issue nbf, but a token carrying one is not valid before it (RFC 7519 4.1.5).
  json payload = validPayload();
  payload["nbf"] = kNowMs / 1000 + 60;
  expectRejected(craft(validHeader(), payload), "nbf in the future");
  payload["nbf"] = "soon";
  expectRejected(craft(validHeader(), payload), "string nbf");
  payload["nbf"] = kNowMs / 1000;
  EXPECT_TRUE(issuer_->verify(craft(validHeader(), payload), kNowMs).isOk()) << "nbf = now";
  payload["nbf"] = kNowMs / 1000 - 60;
  EXPECT_TRUE(issuer_->verify(craft(validHeader(), payload), kNowMs).isOk()) << "nbf in the past";
}

TEST_F(TokenIssuerTest, MalformedTokensRejected) {
  Parts p = split(issueDefault().token);
  const std::vector<std::string> bad = {
      "", ".", "..", "...", "a.b.c", "abc",
      p.header + "." + p.payload,                                   // two parts
      p.header + "." + p.payload + "." + p.sig + ".",               // four parts
      p.header + "=." + p.payload + "." + p.sig,                    // padding
      p.header + "." + p.payload + "." + p.sig + "=",
      p.header + "." + p.payload + "." + p.sig + "==",
      " " + p.header + "." + p.payload + "." + p.sig,               // whitespace
      p.header + "." + p.payload + "." + p.sig + "\n",
      p.header + "." + p.payload + "+." + p.sig,                    // standard alphabet
      b64("{not json") + "." + p.payload + "." + p.sig,
      b64("[1,2]") + "." + p.payload + "." + p.sig,
      b64("\"ES256\"") + "." + p.payload + "." + p.sig,
      b64(std::string(5000, '[')) + "." + p.payload + "." + p.sig,
  };
  for (const std::string& jwt : bad) expectRejected(jwt, "malformed: " + jwt.substr(0, 40));
  expectRejected(craft(validHeader(), json::array({1, 2})), "payload array");
  std::string input = b64(validHeader().dump()) + "." + b64("{\"sub\":");
  auto sig = key_->sign(input);
  ASSERT_TRUE(sig.isOk());
  expectRejected(input + "." + b64(*sig), "payload not JSON, validly signed");
}

TEST_F(TokenIssuerTest, OversizedTokenRejected) {
  json payload = validPayload();
  payload["pad"] = std::string(kMaxJwtBytes, 'x');
  std::string big = craft(validHeader(), payload);
  ASSERT_GT(big.size(), kMaxJwtBytes);
  auto v = issuer_->verify(big, kNowMs);
  ASSERT_FALSE(v.isOk());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find("longer"), std::string::npos) << v.status();
  expectRejected(std::string(1 << 20, 'A'), "1 MB of A");
}

TEST_F(TokenIssuerTest, KeyPersistsAcrossReopen) {
  IssuedToken t = issueDefault();
  std::string kid = issuer_->kid();
  issuer_.reset();
  auto reopened = TokenIssuer::open(dir_.path(), kIssuer);
  ASSERT_TRUE(reopened.isOk());
  EXPECT_EQ((*reopened)->kid(), kid);
  EXPECT_TRUE((*reopened)->verify(t.token, kNowMs).isOk());
}

TEST_F(TokenIssuerTest, OpenRejectsEmptyIssuer) {
  EXPECT_EQ(TokenIssuer::open(dir_.path(), "").status().code(), StatusCode::kInvalidArgument);
}

// Verifies a token using nothing but the published JWKS and OpenSSL, as a third party would.
TEST_F(TokenIssuerTest, JwksVerifiesToken) {
  json jwks = json::parse(issuer_->jwksJson());
  ASSERT_EQ(jwks["keys"].size(), 1u);
  const json& jwk = jwks["keys"][0];
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(jwk["alg"], "ES256");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["kid"], issuer_->kid());
  EXPECT_FALSE(jwk.contains("d")) << "private key must never be published";
  std::string x = *auth::base64UrlDecode(jwk["x"].get<std::string>());
  std::string y = *auth::base64UrlDecode(jwk["y"].get<std::string>());
  ASSERT_EQ(x.size(), 32u);
  ASSERT_EQ(y.size(), 32u);

  // kid = RFC 7638 thumbprint, recomputed here.
  std::string canonical = json{{"crv", "P-256"}, {"kty", "EC"}, {"x", jwk["x"]}, {"y", jwk["y"]}}.dump();
  unsigned char md[32];
  unsigned int mdLen = 0;
  ASSERT_EQ(EVP_Digest(canonical.data(), canonical.size(), md, &mdLen, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(jwk["kid"], b64(std::string(reinterpret_cast<char*>(md), mdLen)));

  // Public key from x/y.
  std::string point = "\x04" + x + y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  ASSERT_NE(bld, nullptr);
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(pctx), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);

  auto verifyWithJwks = [&](const std::string& jwt) {
    Parts p = split(jwt);
    std::string sig = *auth::base64UrlDecode(p.sig);
    if (sig.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int derLen = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    std::string input = p.header + "." + p.payload;
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, pkey);
    int rc = EVP_DigestVerify(md, der, static_cast<size_t>(derLen),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return rc == 1;
  };
  IssuedToken t = issueDefault();
  EXPECT_TRUE(verifyWithJwks(t.token));
  Parts p = split(t.token);
  json tampered = decodeJson(p.payload);
  tampered["sub"] = "local:00000000-0000-4000-8000-000000000000";
  EXPECT_FALSE(verifyWithJwks(p.header + "." + b64(tampered.dump()) + "." + p.sig));

  EVP_PKEY_free(pkey);
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
}

TEST_F(TokenIssuerTest, DiscoveryDocument) {
  json doc = json::parse(issuer_->discoveryJson());
  EXPECT_EQ(doc["issuer"], kIssuer);
  EXPECT_EQ(doc["jwks_uri"], std::string(kIssuer) + "/.well-known/jwks.json");
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"], json::array({"ES256"}));
  EXPECT_EQ(doc["response_types_supported"], json::array({"id_token"}));
  EXPECT_EQ(doc["subject_types_supported"], json::array({"public"}));
  for (const char* c : {"iss", "aud", "sub", "amr", "iat", "exp"})
    EXPECT_NE(std::find(doc["claims_supported"].begin(), doc["claims_supported"].end(), c),
              doc["claims_supported"].end()) << c;

  TempDir other;
  auto slash = TokenIssuer::open(other.path(), "http://127.0.0.1:8080/");
  ASSERT_TRUE(slash.isOk());
  EXPECT_EQ(json::parse((*slash)->discoveryJson())["jwks_uri"], "http://127.0.0.1:8080/.well-known/jwks.json");
}

TEST_F(TokenIssuerTest, ConcurrentIssueAndVerify) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, &failures, t] {
      for (int i = 0; i < 50; ++i) {
        auto tok = issuer_->issue({kPool, kIdentity, {"unauthenticated"}, 60 + t}, kNowMs + i);
        if (!tok.isOk() || !issuer_->verify(tok->token, kNowMs + i).isOk()) ++failures;
        if (issuer_->verify(tok->token + "x", kNowMs).isOk()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace tether::server

namespace tether::server {
namespace {

// Key rotation with overlap: a rotated key is published before it signs, the old key keeps
// verifying what it signed for a day after the new one starts, and another node (a second
// issuer on the same secrets) learns the new key from a token's kid or its periodic re-read.
class KeyRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secrets_ = std::make_unique<auth::FileSecretStore>(dir_.path());
    auto a = TokenIssuer::open(*secrets_, kIssuer);
    auto b = TokenIssuer::open(*secrets_, kIssuer);
    ASSERT_TRUE(a.isOk() && b.isOk());
    nodeA_ = std::move(*a);
    nodeB_ = std::move(*b);
  }
  static std::set<std::string> kids(const std::string& jwks) {
    std::set<std::string> out;
    json doc = json::parse(jwks);
    for (const auto& k : doc["keys"]) out.insert(k["kid"].get<std::string>());
    return out;
  }
  Result<IssuedToken> issue(TokenIssuer& i, int64_t now) {
    return i.issue(TokenClaims{kPool, kIdentity, {"unauthenticated"}, 3600}, now);
  }
  static std::string kidOf(const std::string& jwt) {
    return json::parse(*auth::base64UrlDecode(jwt.substr(0, jwt.find('.'))))["kid"].get<std::string>();
  }

  TempDir dir_;
  std::unique_ptr<auth::FileSecretStore> secrets_;
  std::unique_ptr<TokenIssuer> nodeA_, nodeB_;
};

TEST_F(KeyRotationTest, PublishedFirstThenSignsThenRetiresAfterTheLongestTokenLifetime) {
  const int64_t t0 = kNowMs;
  std::string oldKid = nodeA_->kid(t0);
  auto oldToken = issue(*nodeA_, t0);
  ASSERT_TRUE(oldToken.isOk());
  const int64_t activate = t0 + 3600'000;
  auto newKid = TokenIssuer::addKey(*secrets_, activate);
  ASSERT_TRUE(newKid.isOk()) << newKid.status();
  ASSERT_NE(*newKid, oldKid);
  ASSERT_TRUE(nodeA_->reload(t0).isOk());
  // Pending: published, not yet signing.
  EXPECT_EQ(kids(nodeA_->jwksJson(t0)), (std::set<std::string>{oldKid, *newKid}));
  EXPECT_EQ(kidOf(issue(*nodeA_, t0 + 1000)->token), oldKid);
  // Active: signs; the old key still verifies its tokens and is still published.
  auto fresh = issue(*nodeA_, activate + 1);
  ASSERT_TRUE(fresh.isOk());
  EXPECT_EQ(kidOf(fresh->token), *newKid);
  EXPECT_TRUE(nodeA_->verify(oldToken->token, t0 + 1000).isOk());
  EXPECT_EQ(kids(nodeA_->jwksJson(activate + 1)), (std::set<std::string>{oldKid, *newKid}));
  // A day (the longest token lifetime) and a margin after the switch, the old key is gone.
  const int64_t retired = activate + kMaxTokenTtlSeconds * 1000 + 10 * 60 * 1000;
  EXPECT_EQ(kids(nodeA_->jwksJson(retired)), (std::set<std::string>{*newKid}));
  auto craftedLate = issue(*nodeA_, activate - 1);  // signed by the old key just before the switch
  ASSERT_TRUE(craftedLate.isOk());
  EXPECT_EQ(kidOf(craftedLate->token), oldKid);
  auto refused = nodeA_->verify(craftedLate->token, retired);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);

  auto listed = TokenIssuer::listKeys(*secrets_, activate + 1);
  ASSERT_TRUE(listed.isOk());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].state, "retiring");
  EXPECT_EQ((*listed)[1].state, "signing");
  EXPECT_EQ((*listed)[0].retiresAtMs, activate + kMaxTokenTtlSeconds * 1000 + 5 * 60 * 1000);
}

TEST_F(KeyRotationTest, AnotherNodeLearnsTheNewKeyFromATokensKid) {
  const int64_t t0 = kNowMs;
  auto newKid = TokenIssuer::addKey(*secrets_, t0 - 1);  // an emergency rotation: signs at once
  ASSERT_TRUE(newKid.isOk());
  ASSERT_TRUE(nodeA_->reload(t0).isOk());
  auto token = issue(*nodeA_, t0);
  ASSERT_TRUE(token.isOk());
  EXPECT_EQ(kidOf(token->token), *newKid);
  // Node B read its ring before the rotation and its periodic re-read is not due: the unknown
  // kid makes it look again.
  auto verified = nodeB_->verify(token->token, t0 + 10);
  ASSERT_TRUE(verified.isOk()) << verified.status();
  EXPECT_EQ(nodeB_->kid(t0 + 10), *newKid);
  // A kid nobody has stays unknown (and re-reading is rate limited, not per request).
  std::string forged = token->token;
  auto header = json::parse(*auth::base64UrlDecode(forged.substr(0, forged.find('.'))));
  header["kid"] = "no-such-key";
  forged = b64(header.dump()) + forged.substr(forged.find('.'));
  EXPECT_EQ(nodeB_->verify(forged, t0 + 20).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(KeyRotationTest, RotationsAreStoredInTheDatabaseToo) {
  // The same ring through meta keys (PostgreSQL deployments keep their keys there); the key
  // names sort by activation time.
  auto a = TokenIssuer::addKey(*secrets_, 5);
  auto b = TokenIssuer::addKey(*secrets_, 1'000'000'000'000);
  ASSERT_TRUE(a.isOk() && b.isOk());
  auto names = secrets_->list("signing-key.");
  ASSERT_TRUE(names.isOk());
  EXPECT_EQ(*names, (std::vector<std::string>{"signing-key.000000000000005.pem", "signing-key.001000000000000.pem",
                                              "signing-key.pem"}));
  EXPECT_FALSE(TokenIssuer::addKey(*secrets_, 0).isOk());
}

}  // namespace
}  // namespace tether::server
