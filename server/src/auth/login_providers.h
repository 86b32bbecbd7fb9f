// LoginProviders: the external OpenID Connect providers of every pool, with a verifier each.
// Two sources are merged: the config file (`[[pools.oidc_providers]]`, fixed for the process's
// life; a bad one stops the server at start) and the database (`tetherd pool
// add-oidc-provider`, re-read while running). On a name clash within a pool the config wins.
//
// Providers added with the CLI while tetherd runs take effect without a restart: a login naming
// a provider this object does not know re-reads the database (at most once per
// kUnknownRefreshMs, so a flood of bogus provider names costs one query per interval), and the
// database is re-read anyway when the cached copy is older than kMaxStaleMs (so removals and
// changes take effect within that time). A database provider whose JWKS cannot be used is
// skipped with a warning, not fatal. JWKS files themselves are re-read by OidcVerifier when
// they change.
// Thread-safety: every method may be called concurrently (one mutex around the maps; verifiers
// are shared and thread-safe). find() may block on the Store: call it on the worker pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/config.h"
#include "auth/oidc_verifier.h"
#include "common/clock.h"
#include "storage/store.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

// This server's user pools as identity-pool login providers (spec cognito-user-pools.md 6.6),
// implemented by the user-pools service (idp/idp_login_verifier.h) and set at start.
class UserPoolLoginVerifier {
 public:
  virtual ~UserPoolLoginVerifier() = default;
  // `token` as an ID token of the provider's user pool for one of its client ids (and, with
  // serverSideTokenCheck, of a user that exists, is enabled and has not signed out globally
  // since). kUnauthenticated with Cognito's message otherwise; the subject is the user's sub.
  virtual Result<VerifiedLogin> verify(const UserPoolProviderConfig& provider, std::string_view token,
                                       int64_t nowMs) = 0;
};

class LoginProviders {
 public:
  // Minimum time between database re-reads caused by unknown provider names.
  static constexpr int64_t kUnknownRefreshMs = 2000;
  // Longest time a database provider's cached copy is used without a re-read.
  static constexpr int64_t kMaxStaleMs = 30000;

  // `store` must outlive this object.
  LoginProviders(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // A provider from the config file. kInvalidArgument if the config is incomplete, its JWKS is
  // unusable, or the pool already has a configured provider of that name.
  Status addConfigured(const std::string& poolId, OidcProviderConfig config);

  // A user pool provider of an identity pool (config [[pools.user_pool_providers]]).
  // kInvalidArgument if the name is not a user pool provider name or appears twice.
  Status addUserPoolProvider(const std::string& poolId, UserPoolProviderConfig config);
  // The user pool provider `name` of the pool, or nullopt.
  std::optional<UserPoolProviderConfig> findUserPoolProvider(std::string_view poolId, std::string_view name) const;
  // Who checks user-pool tokens (null = nobody: such logins are refused). Set before serving.
  void setUserPoolVerifier(UserPoolLoginVerifier* verifier) { userPoolVerifier_.store(verifier); }
  UserPoolLoginVerifier* userPoolVerifier() const { return userPoolVerifier_.load(); }

  // Re-reads the database providers now. Store errors pass through (the old set is kept).
  Status refresh();

  // The verifier of provider `name` in the pool, or nullptr if the pool has none by that name.
  std::shared_ptr<const OidcVerifier> find(std::string_view poolId, std::string_view name);

  // Builds the verifier config of a database row (relative paths are used as stored).
  static OidcProviderConfig configOf(const OidcProviderRow& row);

 private:
  using Key = std::pair<std::string, std::string>;  // (pool, name)
  struct DbEntry {
    OidcProviderRow row;
    std::shared_ptr<const OidcVerifier> verifier;
  };
  bool lookup(const Key& key, std::shared_ptr<const OidcVerifier>* out) const TETHER_REQUIRES(mu_);

  Store& store_;
  const Clock& clock_;
  mutable Mutex mu_;
  std::map<Key, std::shared_ptr<const OidcVerifier>> configured_ TETHER_GUARDED_BY(mu_);
  std::map<Key, DbEntry> fromDb_ TETHER_GUARDED_BY(mu_);
  std::map<Key, UserPoolProviderConfig> userPools_ TETHER_GUARDED_BY(mu_);
  std::atomic<UserPoolLoginVerifier*> userPoolVerifier_{nullptr};
  int64_t lastRefreshMs_ TETHER_GUARDED_BY(mu_) = 0;  // 0 = never
  bool refreshedOnce_ TETHER_GUARDED_BY(mu_) = false;
};

}  // namespace tether::server
