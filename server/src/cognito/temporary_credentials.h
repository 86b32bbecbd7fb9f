// TemporaryCredentials: the AWS-style credentials GetCredentialsForIdentity hands out, and their
// verification when a signed Cognito Sync request presents them (cognito-compat.md 6.1).
//
// Stateless by design (nothing is stored per credential, so any node sharing the data directory
// accepts them and a restart keeps them valid):
//   SessionToken = "TQ1." base64url(payload) "." base64url(HMAC-SHA256(key, ctx || payload))
//   payload      = "AKID\npoolId\nidentityId\nexpiresAtMs\nauthenticated(0|1)"
//   SecretKey    = the first 40 chars of base64(HMAC-SHA256(key, secretCtx || payload))
// The access key ID ("ASIA" + 16 random [A-Z0-9]) is inside the sealed payload, so a request
// must present the token it was issued with: the token binds key ID, identity and expiry, and
// the secret is re-derived from it on every request. Changing any byte breaks the MAC.
// The key (32 random bytes) lives at `<dataDir>/keys/credentials-key` (mode 0600).
// Revocation before expiry is not possible (the price of statelessness); the lifetime is one
// hour, as Cognito's, and a disabled/deleted identity is refused by request_auth anyway.
// Thread-safety: immutable after construction; every method may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "auth/secret_store.h"
#include "tether/status.h"

namespace tether::server::cognito {

// Credential lifetime. Longer: fewer GetCredentialsForIdentity calls; shorter: a leaked
// credential is useful for less time. One hour is what Cognito issues and what the SDKs expect.
constexpr int64_t kCredentialLifetimeMs = 3600 * 1000;
constexpr size_t kCredentialKeyBytes = 32;

struct IssuedCredentials {
  std::string accessKeyId;
  std::string secretKey;
  std::string sessionToken;
  int64_t expiresAtMs = 0;
};

// What a valid session token says.
struct CredentialScope {
  std::string accessKeyId;
  std::string poolId;
  std::string identityId;
  bool authenticated = false;
  int64_t expiresAtMs = 0;
  std::string secretKey;
};

enum class CredentialCheck { kValid, kInvalid, kExpired };

class TemporaryCredentials {
 public:
  static std::filesystem::path keyPath(const std::filesystem::path& dataDir);
  // Loads the key, creating it on first use. kIOError / kCorruption from the key file.
  static Result<std::unique_ptr<TemporaryCredentials>> open(const std::filesystem::path& dataDir);
  // The same through any secret store (the key is "credentials-key" there).
  static Result<std::unique_ptr<TemporaryCredentials>> open(auth::SecretStore& secrets);
  // REQUIRES: key.size() >= 16.
  explicit TemporaryCredentials(std::string key);

  IssuedCredentials issue(std::string_view poolId, std::string_view identityId, bool authenticated,
                          int64_t nowMs) const;

  // kValid fills `out`; kInvalid when the token is malformed, forged or was issued for another
  // access key ID; kExpired when it is genuine but nowMs >= its expiry.
  CredentialCheck check(std::string_view accessKeyId, std::string_view sessionToken, int64_t nowMs,
                        CredentialScope& out) const;

 private:
  std::string mac(std::string_view context, std::string_view payload) const;
  std::string key_;
};

}  // namespace tether::server::cognito
