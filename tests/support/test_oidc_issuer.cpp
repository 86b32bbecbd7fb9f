#include "test_oidc_issuer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

namespace tether::testing {

struct TestOidcIssuer::Keys {
  EVP_PKEY* rsa = nullptr;
  EVP_PKEY* ec = nullptr;
  ~Keys() {
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
  }
};

namespace {

std::string bnParam(EVP_PKEY* key, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("get_bn_param");
  size_t n = std::max(pad, static_cast<size_t>(BN_num_bytes(bn)));
  std::string out(n, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  BN_free(bn);
  return out;
}

std::string signWith(EVP_PKEY* key, const std::string& data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string derToRaw(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  const BIGNUM *r, *s;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string out(64, '\0');
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

TestOidcIssuer::TestOidcIssuer(std::string issuer) : issuer_(std::move(issuer)) {
  generation_ = 0;
  rotate();
}

TestOidcIssuer::~TestOidcIssuer() = default;

void TestOidcIssuer::rotate() {
  ++generation_;
  keys_ = std::make_unique<Keys>();
  keys_->rsa = EVP_RSA_gen(2048);
  keys_->ec = EVP_EC_gen("P-256");
  if (!keys_->rsa || !keys_->ec) throw std::runtime_error("key generation failed");
}

std::string TestOidcIssuer::b64url(const std::string& bytes) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  while (i + 2 < bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += tbl[v >> 18]; out += tbl[(v >> 12) & 63]; out += tbl[(v >> 6) & 63]; out += tbl[v & 63];
    i += 3;
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += tbl[v >> 18]; out += tbl[(v >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += tbl[v >> 18]; out += tbl[(v >> 12) & 63]; out += tbl[(v >> 6) & 63];
  }
  return out;
}

std::string TestOidcIssuer::jwksJson() const {
  std::string g = std::to_string(generation_);
  nlohmann::json keys = nlohmann::json::array();
  keys.push_back({{"kty", "RSA"}, {"kid", "rsa-" + g}, {"alg", "RS256"}, {"use", "sig"},
                  {"n", b64url(bnParam(keys_->rsa, OSSL_PKEY_PARAM_RSA_N))},
                  {"e", b64url(bnParam(keys_->rsa, OSSL_PKEY_PARAM_RSA_E))}});
  keys.push_back({{"kty", "EC"}, {"kid", "ec-" + g}, {"alg", "ES256"}, {"use", "sig"}, {"crv", "P-256"},
                  {"x", b64url(bnParam(keys_->ec, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                  {"y", b64url(bnParam(keys_->ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}});
  return nlohmann::json{{"keys", keys}}.dump();
}

void TestOidcIssuer::writeJwks(const std::filesystem::path& file) const {
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  { std::ofstream(tmp) << jwksJson(); }
  std::filesystem::rename(tmp, file);
}

nlohmann::json TestOidcIssuer::claims(const std::string& subject, const std::string& audience) const {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"iss", issuer_}, {"sub", subject}, {"aud", audience}, {"iat", now}, {"exp", now + 600}};
}

std::string TestOidcIssuer::assemble(const nlohmann::json& header, const nlohmann::json& payload,
                                     const std::string& signature) {
  return b64url(header.dump()) + "." + b64url(payload.dump()) + "." + b64url(signature);
}

std::string TestOidcIssuer::sign(const nlohmann::json& claims, const std::string& alg, const std::string& kid) const {
  std::string g = std::to_string(generation_);
  std::string k = !kid.empty() ? kid : (alg == "ES256" ? "ec-" : "rsa-") + g;
  nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}, {"kid", k}};
  std::string input = b64url(header.dump()) + "." + b64url(claims.dump());
  std::string sig = alg == "ES256" ? derToRaw(signWith(keys_->ec, input)) : signWith(keys_->rsa, input);
  return input + "." + b64url(sig);
}

std::string TestOidcIssuer::rsaPublicKeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, keys_->rsa);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string TestOidcIssuer::hmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::vector<TestOidcIssuer::BadToken> TestOidcIssuer::badTokens(const std::string& subject,
                                                                const std::string& audience) const {
  std::vector<BadToken> out;
  nlohmann::json base = claims(subject, audience);
  const int64_t iat = base["iat"].get<int64_t>();
  auto with = [&](const char* name, const nlohmann::json& c) { out.push_back({name, sign(c), false}); };
  nlohmann::json c = base;
  c["iat"] = iat - 7200;
  c["exp"] = iat - 3600;
  with("expired", c);
  c = base;
  c["nbf"] = iat + 3600;
  with("not-yet-valid", c);
  c = base;
  c["iat"] = iat + 3600;
  c["exp"] = iat + 7200;
  with("issued-in-the-future", c);
  c = base;
  c["aud"] = "some-other-client";
  with("wrong-audience", c);
  c = base;
  c["iss"] = "https://evil.test.example";
  with("wrong-issuer", c);
  c = base;
  c.erase("sub");
  with("no-subject", c);
  std::string good = sign(base);
  std::string badSig = good.substr(0, good.rfind('.') + 1) + b64url(std::string(256, '\x5a'));
  out.push_back({"bad-signature", badSig, false});
  out.push_back({"unknown-kid", sign(base, "RS256", "no-such-kid"), false});
  out.push_back({"alg-none", assemble({{"alg", "none"}, {"typ", "JWT"}}, base, ""), false});
  nlohmann::json hsHeader = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "rsa-" + std::to_string(generation_)}};
  std::string input = b64url(hsHeader.dump()) + "." + b64url(base.dump());
  out.push_back({"hs256-with-public-key", input + "." + b64url(hmacSha256(rsaPublicKeyPem(), input)), false});
  out.push_back({"malformed", "this-is-not-a-jwt", false});
  out.push_back({"malformed-segments", "e30.e30.e30.e30", false});
  out.push_back({"oversized", "eyJ" + std::string(50001, 'A'), true});
  return out;
}

}  // namespace tether::testing
