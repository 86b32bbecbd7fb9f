// RS256 token keys (idp/crypto/rs256_key.h): PKCS#8 generation and loading, the kid (checked
// against an independent computation), the exact header and JWK, sign/verify round trips, every
// tampering case (payload, signature, kid, alg, crit, form), and verification of our tokens by
// the existing JwkSet class from our own JWK (interop with the code that checks external
// issuers).
#include "idp/crypto/rs256_key.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwk_set.h"
#include "idp/crypto/crypto_util.h"

namespace tether::server::idp {
namespace {

using nlohmann::json;

std::string b64url(std::string_view s) { return auth::base64UrlEncode(s); }

struct Parts {
  std::string header, payload, sig;
};
Parts split(const std::string& jwt) {
  size_t a = jwt.find('.'), b = jwt.find('.', a + 1);
  return {jwt.substr(0, a), jwt.substr(a + 1, b - a - 1), jwt.substr(b + 1)};
}

// Generated once: RSA key generation takes a noticeable fraction of a second.
const std::string& pemA() {
  static const std::string pem = *Rs256Key::newPem();
  return pem;
}
const std::string& pemB() {
  static const std::string pem = *Rs256Key::newPem();
  return pem;
}

std::unique_ptr<Rs256Key> load(const std::string& pem) {
  auto key = Rs256Key::fromPem(pem, "test");
  EXPECT_TRUE(key.isOk()) << key.status();
  return key.isOk() ? std::move(*key) : nullptr;
}

// Signs any header and payload text with the PEM's key, bypassing Rs256Key (to forge with).
std::string craft(const std::string& pem, std::string_view headerJson, std::string_view payloadJson) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  std::string input = b64url(headerJson) + "." + b64url(payloadJson);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return input + "." + b64url(sig);
}

// base64(SHA-256(DER SPKI)) by another route: the public key PEM, its base64 body decoded.
std::string independentKid(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<size_t>(n));
  BIO_free(out);
  EVP_PKEY_free(key);
  std::string body;
  size_t start = text.find('\n') + 1, end = text.find("-----END");
  for (char c : text.substr(start, end - start))
    if (c != '\n') body += c;
  return auth::base64Encode(detail::sha256(*auth::base64Decode(body)));
}

const json kPayload = {{"sub", "6f1c2a0e-1111-4222-8333-444455556666"}, {"token_use", "id"}, {"exp", 1893456000},
                       {"email_verified", true}, {"custom:tier", "gold"}, {"cognito:groups", {"admins", "users"}}};

TEST(Rs256KeyTest, Pkcs8PemAndKid) {
  EXPECT_EQ(pemA().rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << "PKCS#8";
  auto a = load(pemA());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kid().size(), 44u);
  EXPECT_EQ(a->kid().back(), '=');
  EXPECT_EQ(a->kid(), independentKid(pemA()));
  EXPECT_EQ(load(pemA())->kid(), a->kid()) << "the same key, the same kid";
  EXPECT_NE(load(pemB())->kid(), a->kid());
}

TEST(Rs256KeyTest, PublicJwkShape) {
  auto a = load(pemA());
  ASSERT_NE(a, nullptr);
  const json& jwk = a->publicJwk();
  EXPECT_EQ(jwk.dump().rfind(R"({"alg":"RS256","e":"AQAB","kid":")" + a->kid() + R"(","kty":"RSA","n":")", 0), 0u)
      << jwk.dump();
  EXPECT_EQ(jwk.size(), 6u);
  EXPECT_EQ(jwk["use"], "sig");
  auto n = auth::base64UrlDecode(jwk["n"].get<std::string>());
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->size(), 256u);
  EXPECT_NE((*n)[0], '\0') << "minimal big-endian";
}

TEST(Rs256KeyTest, SignAndVerifyRoundTrip) {
  auto a = load(pemA());
  ASSERT_NE(a, nullptr);
  auto token = a->sign(kPayload);
  ASSERT_TRUE(token.isOk()) << token.status();
  Parts p = split(*token);
  EXPECT_EQ(*auth::base64UrlDecode(p.header), R"({"kid":")" + a->kid() + R"(","alg":"RS256"})");
  EXPECT_EQ(json::parse(*auth::base64UrlDecode(p.payload)), kPayload);
  EXPECT_EQ(auth::base64UrlDecode(p.sig)->size(), 256u);
  auto payload = a->verify(*token);
  ASSERT_TRUE(payload.isOk()) << payload.status();
  EXPECT_EQ(*payload, kPayload);
  EXPECT_EQ(a->sign(json::array({1, 2})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a->sign(json("text")).status().code(), StatusCode::kInvalidArgument);
  // Invalid UTF-8 in a claim is replaced, not thrown.
  auto odd = a->sign(json{{"name", std::string("a\xff")}});
  ASSERT_TRUE(odd.isOk());
  EXPECT_TRUE(a->verify(*odd).isOk());
}

TEST(Rs256KeyTest, OurJwkVerifiesWithJwkSet) {
  auto a = load(pemA());
  auto b = load(pemB());
  ASSERT_TRUE(a && b);
  json jwks = {{"keys", {a->publicJwk(), b->publicJwk()}}};
  auto set = JwkSet::parse(jwks.dump());
  ASSERT_TRUE(set.isOk()) << set.status();
  EXPECT_EQ((*set)->size(), 2u);
  for (const Rs256Key* key : {a.get(), b.get()}) {
    Parts p = split(*key->sign(kPayload));
    bool found = false;
    EXPECT_TRUE((*set)->verify("RS256", key->kid(), p.header + "." + p.payload, *auth::base64UrlDecode(p.sig), &found));
    EXPECT_TRUE(found);
    std::string tampered = p.payload;
    tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
    EXPECT_FALSE((*set)->verify("RS256", key->kid(), p.header + "." + tampered, *auth::base64UrlDecode(p.sig), &found));
  }
}

TEST(Rs256KeyTest, TamperedTokensAreRejected) {
  auto a = load(pemA());
  auto b = load(pemB());
  ASSERT_TRUE(a && b);
  const std::string token = *a->sign(kPayload);
  const Parts p = split(token);
  auto rejected = [&](const std::string& t) {
    auto r = a->verify(t);
    return !r.isOk() && r.status().code() == StatusCode::kUnauthenticated;
  };
  ASSERT_FALSE(rejected(token));
  json changed = kPayload;
  changed["custom:tier"] = "platinum";
  EXPECT_TRUE(rejected(p.header + "." + b64url(changed.dump()) + "." + p.sig)) << "payload";
  std::string sig = *auth::base64UrlDecode(p.sig);
  sig[100] = static_cast<char>(sig[100] ^ 0x01);
  EXPECT_TRUE(rejected(p.header + "." + p.payload + "." + b64url(sig))) << "signature";
  EXPECT_TRUE(rejected(p.header + "." + p.payload + "." + b64url(sig.substr(1)))) << "short signature";
  EXPECT_TRUE(rejected(p.header + "." + p.payload + ".")) << "no signature";
  // Header members, signed properly with the right key, are still checked.
  const std::string body = kPayload.dump();
  EXPECT_TRUE(rejected(craft(pemA(), R"({"kid":")" + b->kid() + R"(","alg":"RS256"})", body))) << "other kid";
  EXPECT_TRUE(rejected(craft(pemA(), R"({"alg":"RS256"})", body))) << "no kid";
  EXPECT_TRUE(rejected(craft(pemA(), R"({"kid":")" + a->kid() + R"(","alg":"RS512"})", body))) << "alg";
  EXPECT_TRUE(rejected(craft(pemA(), R"({"kid":")" + a->kid() + R"(","alg":"none"})", body)));
  EXPECT_TRUE(rejected(craft(pemA(), R"({"kid":")" + a->kid() + R"(","alg":"RS256","crit":["exp"]})", body)));
  EXPECT_TRUE(rejected(craft(pemA(), R"({"kid":")" + a->kid() + R"(","alg":"RS256"})", "[1,2]"))) << "not an object";
  EXPECT_FALSE(rejected(craft(pemA(), R"({"alg":"RS256","kid":")" + a->kid() + R"(","typ":"JWT"})", body)))
      << "member order and extra members are fine";
  // Another key's token, and another key's signature under our header.
  EXPECT_TRUE(rejected(*b->sign(kPayload)));
  EXPECT_TRUE(rejected(craft(pemB(), R"({"kid":")" + a->kid() + R"(","alg":"RS256"})", body)));
  // Form.
  for (const std::string& bad : {std::string(), std::string("a.b"), token + ".x", std::string("..."),
                                 "e30." + p.payload + "." + p.sig, "!!." + p.payload + "." + p.sig})
    EXPECT_TRUE(rejected(bad)) << bad.substr(0, 20);
  EXPECT_TRUE(rejected(p.header + "." + std::string(Rs256Key::kMaxJwtBytes, 'A') + "." + p.sig)) << "too long";
  EXPECT_TRUE(rejected(b64url(std::string(2000, '[')) + "." + p.payload + "." + p.sig)) << "huge header";
}

TEST(Rs256KeyTest, FromPemRejectsWhatIsNotAnRsaKeyOfTheRightSize) {
  auto code = [](std::string_view pem) { return Rs256Key::fromPem(pem, "test").status().code(); };
  EXPECT_EQ(code(""), StatusCode::kCorruption);
  EXPECT_EQ(code("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), StatusCode::kCorruption);
  EXPECT_EQ(code(std::string(Rs256Key::kMaxPemBytes + 1, 'x')), StatusCode::kCorruption);
  auto pemOf = [](EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return out;
  };
  EXPECT_EQ(code(pemOf(EVP_EC_gen("P-256"))), StatusCode::kCorruption) << "EC";
  EXPECT_EQ(code(pemOf(EVP_RSA_gen(1024))), StatusCode::kCorruption) << "RSA-1024";
}

TEST(Rs256KeyTest, ConcurrentSignAndVerify) {
  auto a = load(pemA());
  ASSERT_NE(a, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        json payload = {{"n", t * 100 + i}};
        auto token = a->sign(payload);
        if (!token.isOk() || !a->verify(*token).isOk() || *a->verify(*token) != payload) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace tether::server::idp
