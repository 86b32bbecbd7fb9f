// OidcVerifier: checks ID tokens of one external OpenID Connect provider that a pool trusts
// (Google, Apple, a company's own IdP...): signature against the provider's JWKS (RS256 or
// ES256, the key chosen by `kid`), `iss`, `aud` (one of the accepted client IDs), `exp`, and
// `nbf`/`iat` with a small leeway. The JWKS comes from a file or inline JSON; a file is re-read
// whenever it changes (modification time or size), so rotated keys take effect without a
// restart.
// Thread-safety: verify() and reload() may run concurrently from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwk_set.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

struct OidcProviderConfig {
  std::string name;                         // the Logins key apps send, e.g. "accounts.google.com"
  std::string issuer;                       // exact `iss`, e.g. "https://accounts.google.com"
  std::vector<std::string> audiences;       // accepted `aud` values (client IDs); at least one
  std::optional<std::filesystem::path> jwksFile;
  std::string jwksInline;                   // used when jwksFile is not set
  int leewaySeconds = 60;                   // clock skew allowed on exp / nbf / iat
  friend bool operator==(const OidcProviderConfig&, const OidcProviderConfig&) = default;
};

struct VerifiedLogin {
  std::string provider;   // config name
  std::string subject;    // `sub`: the user at that provider
  int64_t expiresAtMs = 0;
};

class OidcVerifier {
 public:
  // Most characters a login token may have (Cognito's IdentityProviderToken limit).
  static constexpr size_t kMaxTokenChars = 50000;

  // kInvalidArgument for an incomplete config or unreadable/unusable JWKS.
  static Result<std::unique_ptr<OidcVerifier>> create(OidcProviderConfig config);

  // kInvalidArgument for an oversized token; kUnauthenticated (with the reason) for anything
  // else that is not a valid, current token of this provider for one of its audiences.
  Result<VerifiedLogin> verify(std::string_view token, int64_t nowMs) const;

  // Re-reads the JWKS file now. Keeps the old keys if the new file is unusable.
  Status reload() const;

  const OidcProviderConfig& config() const { return config_; }

 private:
  explicit OidcVerifier(OidcProviderConfig config) : config_(std::move(config)) {}
  std::shared_ptr<const JwkSet> currentKeys() const;

  OidcProviderConfig config_;
  mutable Mutex mu_;
  mutable std::shared_ptr<const JwkSet> keys_ TETHER_GUARDED_BY(mu_);
  mutable std::filesystem::file_time_type fileTime_ TETHER_GUARDED_BY(mu_) = {};
  mutable uintmax_t fileSize_ TETHER_GUARDED_BY(mu_) = 0;
};

}  // namespace tether::server
