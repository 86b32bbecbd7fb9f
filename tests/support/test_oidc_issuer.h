// TestOidcIssuer: a stand-in OpenID Connect provider for tests. It generates its own keys
// (RSA-2048 for RS256, P-256 for ES256), publishes them as a JWKS document, and signs ID tokens
// with any claims — including broken ones, for the bad-token tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tether::testing {

class TestOidcIssuer {
 public:
  explicit TestOidcIssuer(std::string issuer = "https://issuer.test.example");
  ~TestOidcIssuer();

  const std::string& issuer() const { return issuer_; }
  std::string jwksJson() const;                   // both keys, kids "rsa-1" and "ec-1"
  void writeJwks(const std::filesystem::path& file) const;
  void rotate();                                  // new keys and kids ("rsa-2", "ec-2", ...)

  // Claims with iss, sub, aud, iat, exp (now + 600 s) filled in; override as needed.
  nlohmann::json claims(const std::string& subject, const std::string& audience) const;
  // alg "RS256" or "ES256" signs for real; `kid` empty = the current key's kid.
  std::string sign(const nlohmann::json& claims, const std::string& alg = "RS256",
                   const std::string& kid = "") const;
  // Builds header.payload.signature from raw parts (for alg none / HS256 tricks).
  static std::string assemble(const nlohmann::json& header, const nlohmann::json& payload,
                              const std::string& signature);
  static std::string b64url(const std::string& bytes);
  std::string rsaPublicKeyPem() const;            // for the "HS256 with the public key" attack
  static std::string hmacSha256(const std::string& key, const std::string& data);

  // Every bad token of issue 5 for `subject` at `audience` (now = the system clock): expired,
  // not yet valid (nbf), issued in the future, wrong audience, wrong issuer, bad signature,
  // unknown kid, alg none, HS256 keyed with the RSA public key, malformed, no subject, and
  // oversized (> 50,000 characters: the one that is malformed input, `invalidParameter`).
  struct BadToken {
    std::string name;
    std::string token;
    bool invalidParameter = false;  // false: the answer is NotAuthorized (kUnauthenticated)
  };
  std::vector<BadToken> badTokens(const std::string& subject, const std::string& audience) const;

 private:
  struct Keys;
  std::string issuer_;
  int generation_ = 1;
  std::unique_ptr<Keys> keys_;
};

}  // namespace tether::testing
