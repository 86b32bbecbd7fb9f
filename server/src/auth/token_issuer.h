// TokenIssuer: issues and verifies tetherd's own OpenID tokens (the GetToken / GetOpenIdToken
// JWT), and publishes the key that verifies them (JWKS + OpenID discovery document) so other
// services can check our tokens offline (DESIGN.md section 3, cognito-compat.md 2.4).
//
// Tokens are JWS compact ES256 JWTs. Header {"alg":"ES256","kid":<thumbprint>,"typ":"JWT"};
// claims iss (issuer URL), aud (pool ID), sub (identity ID), amr (e.g. ["unauthenticated"]),
// iat and exp (Unix seconds).
// Keys rotate with overlap (docs/authentication.md, "Rotating the signing key"): the secret store
// holds a ring of keys, `signing-key.pem` (the first, active since forever) and
// `signing-key.<activateAtMs>.pem` added by `tetherd keys rotate`. At any time the newest key
// whose activation time has passed signs; a key not yet active is already published in the JWKS
// (so verifiers that cache it know the key before any token carries it); an older key stays
// published and accepted until its successor has been active for the longest token lifetime
// (plus a margin), so every token it signed can still be verified. Every node reloads the ring
// from the store every 30 s and at once when a token carries a kid it does not know.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/signing_key.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

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

// One key of the ring, for `tetherd keys list`.
struct SigningKeyInfo {
  std::string kid;
  int64_t activateAtMs = 0;   // 0 = the first key
  int64_t retiresAtMs = 0;    // 0 = no successor yet; else no longer published or accepted then
  std::string state;          // "pending", "signing", "retiring" (published, verifies), "retired"
};

class TokenIssuer {
 public:
  // Loads or creates the signing key in `dataDir` (SigningKey::loadOrCreate) and signs as
  // `issuerUrl` (e.g. "https://sync.example.com"; no trailing slash needed).
  // kInvalidArgument if issuerUrl is empty; the key's errors otherwise.
  static Result<std::unique_ptr<TokenIssuer>> open(const std::filesystem::path& dataDir,
                                                   std::string issuerUrl);
  // The same with the keys in any secret store (auth/secret_store.h), which must outlive the
  // issuer (rotated keys are re-read from it).
  static Result<std::unique_ptr<TokenIssuer>> open(auth::SecretStore& secrets, std::string issuerUrl);
  ~TokenIssuer();

  // A JWT for `claims`, iat = floor(nowMs / 1000), exp = iat + ttlSeconds.
  // kInvalidArgument if the pool or identity ID is malformed, ttlSeconds is outside
  // 1..kMaxTokenTtlSeconds, or an amr entry is empty, longer than 256 bytes or not UTF-8.
  Result<IssuedToken> issue(const TokenClaims& claims, int64_t nowMs) const;
  // The claims of `jwt` if it is a token this server issued and is not expired at nowMs
  // (valid while nowMs < exp * 1000). Anything else (too long, malformed, not ES256 exactly,
  // unknown or retired kid, bad signature, wrong iss, empty aud/sub, expired) is
  // kUnauthenticated with a message saying why.
  Result<VerifiedToken> verify(std::string_view jwt, int64_t nowMs) const;
  // {"keys":[{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"alg":"ES256","use":"sig"}, ...]}:
  // every key published at nowMs (pending, signing, retiring). No argument: the system clock.
  // From memory: never touches the store (the network thread serves it).
  std::string jwksJson(int64_t nowMs) const;
  std::string jwksJson() const;
  // OpenID Provider metadata for /.well-known/openid-configuration.
  std::string discoveryJson() const;

  const std::string& issuer() const { return issuer_; }
  // The kid that signs at nowMs (no argument: the system clock).
  std::string kid(int64_t nowMs) const;
  std::string kid() const;
  // Re-reads the key ring from the store now (normally every 30 s and on an unknown kid).
  Status reload(int64_t nowMs) const;

  // ---- rotation (tetherd keys rotate / list)
  // Adds a new key that starts signing at activateAtMs; returns its kid.
  static Result<std::string> addKey(auth::SecretStore& secrets, int64_t activateAtMs);
  static Result<std::vector<SigningKeyInfo>> listKeys(auth::SecretStore& secrets, int64_t nowMs);

  struct RingKey {
    int64_t activateAtMs = 0;
    std::shared_ptr<const SigningKey> key;
  };

 private:
  TokenIssuer(std::unique_ptr<auth::SecretStore> owned, auth::SecretStore& secrets, std::string issuer);
  std::shared_ptr<const std::vector<RingKey>> ring() const;
  void reloadIfDue(int64_t nowMs, bool unknownKid) const;

  std::unique_ptr<auth::SecretStore> ownedSecrets_;  // set when opened from a data directory
  auth::SecretStore& secrets_;
  std::string issuer_;
  mutable Mutex ringMu_;
  // By activateAtMs.
  mutable std::shared_ptr<const std::vector<RingKey>> ring_ TETHER_GUARDED_BY(ringMu_);
  mutable Mutex reloadMu_;  // one reload at a time
  mutable int64_t lastReloadMs_ TETHER_GUARDED_BY(reloadMu_) = 0;
};

}  // namespace tether::server
