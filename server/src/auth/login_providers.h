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

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/oidc_verifier.h"
#include "common/clock.h"
#include "storage/store.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

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
  int64_t lastRefreshMs_ TETHER_GUARDED_BY(mu_) = 0;  // 0 = never
  bool refreshedOnce_ TETHER_GUARDED_BY(mu_) = false;
};

}  // namespace tether::server
