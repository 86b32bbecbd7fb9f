// TokenIssuer: issues and verifies tetherd's own OpenID tokens (the GetToken / GetOpenIdToken
// JWT), and publishes the key that verifies them (JWKS + OpenID discovery document) so other
// services can check our tokens offline (DESIGN.md section 3, cognito-compat.md 2.4).
//
// Tokens are JWS compact ES256 JWTs. Header {"alg":"ES256","kid":<thumbprint>,"typ":"JWT"};
// claims iss (issuer URL), aud (pool ID), sub (identity ID), amr (e.g. ["unauthenticated"]),
// iat and exp (Unix seconds).
// Thread-safety: immutable after open(); every method may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/signing_key.h"
#include "tether/status.h"

namespace tether::server {

// Longest JWT verify() looks at; ours are about 400 bytes. Bounds the work a peer can cause.
constexpr size_t kMaxJwtBytes = 8192;
// Longest lifetime issue() accepts (Cognito's TokenDuration maximum, 1 day).
constexpr int64_t kMaxTokenTtlSeconds = 86400;

struct TokenClaims {
  std::string poolId;
  std::string identityId;
  std::vector<std::string> amr;
  int64_t ttlSeconds = 0;
};

struct IssuedToken {
  std::string token;
  int64_t expiresAtMs = 0;  // exp claim in milliseconds
};

struct VerifiedToken {
  std::string poolId;       // aud
  std::string identityId;   // sub
  std::vector<std::string> amr;
  int64_t expiresAtMs = 0;  // exp claim in milliseconds
};

class TokenIssuer {
 public:
  // Loads or creates the signing key in `dataDir` (SigningKey::loadOrCreate) and signs as
  // `issuerUrl` (e.g. "https://sync.example.com"; no trailing slash needed).
  // kInvalidArgument if issuerUrl is empty; the key's errors otherwise.
  static Result<std::unique_ptr<TokenIssuer>> open(const std::filesystem::path& dataDir,
                                                   std::string issuerUrl);
  // The same with the key from any secret store (auth/secret_store.h).
  static Result<std::unique_ptr<TokenIssuer>> open(auth::SecretStore& secrets, std::string issuerUrl);

  // A JWT for `claims`, iat = floor(nowMs / 1000), exp = iat + ttlSeconds.
  // kInvalidArgument if the pool or identity ID is malformed, ttlSeconds is outside
  // 1..kMaxTokenTtlSeconds, or an amr entry is empty, longer than 256 bytes or not UTF-8.
  Result<IssuedToken> issue(const TokenClaims& claims, int64_t nowMs) const;

  // The claims of `jwt` if it is a token this server issued and is not expired at nowMs
  // (valid while nowMs < exp * 1000). Anything else (too long, malformed, not ES256 exactly,
  // unknown kid, bad signature, wrong iss, empty aud/sub, expired) is kUnauthenticated with a
  // message saying why.
  Result<VerifiedToken> verify(std::string_view jwt, int64_t nowMs) const;

  // {"keys":[{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"alg":"ES256","use":"sig"}]}
  std::string jwksJson() const;
  // OpenID Provider metadata for /.well-known/openid-configuration.
  std::string discoveryJson() const;
  const std::string& issuer() const { return issuer_; }
  const std::string& kid() const { return key_->kid(); }

 private:
  TokenIssuer(std::unique_ptr<SigningKey> key, std::string issuer);
  std::unique_ptr<SigningKey> key_;
  std::string issuer_;
};

}  // namespace tether::server
