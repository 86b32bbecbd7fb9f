// SessionTokenSigner: the SyncSessionToken that ListRecords hands out and UpdateRecords must
// present (cognito-compat.md section 7 item 11): HMAC-SHA256-signed, bound to (pool, identity,
// dataset), valid for kSessionTokenLifetimeMs, reusable within that time.
//
// Token = base64url(payload) "." base64url(HMAC-SHA256(key, context || payload)), where payload
// is a versioned, length-prefixed binary record of pool, identity, dataset, issuedAtMs,
// expiresAtMs and a 16-byte random nonce. The key is 32 random bytes kept at
// `<dataDir>/keys/session-key` (mode 0600), so tokens survive a restart and every node sharing
// the data directory accepts them.
// Thread-safety: immutable after construction; issue() and verify() may run concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "sync/session_tokens.h"
#include "tether/status.h"

namespace tether::server {
namespace auth {
class SecretStore;
}  // namespace auth


// How long a session token stays valid after ListRecords issued it. Longer lets a slow client
// (a large offline edit) push later without re-listing; shorter narrows the window in which a
// leaked token is useful. 15 minutes follows the spec's default.
constexpr int64_t kSessionTokenLifetimeMs = 15 * 60 * 1000;
// Size of the HMAC key in the key file.
constexpr size_t kSessionKeyBytes = 32;

class SessionTokenSigner final : public SessionTokens {
 public:
  static std::filesystem::path keyPath(const std::filesystem::path& dataDir);

  // Loads the key from `<dataDir>/keys/session-key`, creating it on first use.
  // kIOError if it cannot be read or created; kCorruption if it is not kSessionKeyBytes long.
  static Result<std::unique_ptr<SessionTokenSigner>> open(const std::filesystem::path& dataDir);
  // The same through any secret store (the key is "session-key" there).
  static Result<std::unique_ptr<SessionTokenSigner>> open(auth::SecretStore& secrets);

  // For tests and for callers that manage the key themselves.
  // REQUIRES: key.size() >= 16 (aborts otherwise; a short HMAC key is a bug, not input).
  explicit SessionTokenSigner(std::string key);

  // Aborts if the OpenSSL random generator or HMAC fails (no safe token can be made then).
  std::string issue(std::string_view poolId, std::string_view identityId,
                    std::string_view dataset, int64_t nowMs) const override;
  // Valid while nowMs < issuedAtMs + kSessionTokenLifetimeMs. Every failure is
  // kInvalidArgument "SyncSessionToken not valid for these inputs" (the interface contract).
  Status verify(std::string_view token, std::string_view poolId, std::string_view identityId,
                std::string_view dataset, int64_t nowMs) const override;

 private:
  std::string mac(std::string_view payload) const;
  std::string key_;
};

}  // namespace tether::server
