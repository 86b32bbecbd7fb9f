// Configured + database login providers; see login_providers.h.
#include "auth/login_providers.h"

#include <spdlog/spdlog.h>

namespace tether::server {

OidcProviderConfig LoginProviders::configOf(const OidcProviderRow& row) {
  OidcProviderConfig c;
  c.name = row.name;
  c.issuer = row.issuer;
  c.audiences = row.audiences;
  if (!row.jwksFile.empty()) c.jwksFile = std::filesystem::path(row.jwksFile);
  c.jwksInline = row.jwks;
  c.leewaySeconds = row.leewaySeconds;
  return c;
}

Status LoginProviders::addUserPoolProvider(const std::string& poolId, UserPoolProviderConfig config) {
  TETHER_RETURN_IF_ERROR(userPoolIdOfProvider(config.providerName).status());
  if (config.clientIds.empty())
    return Status::invalidArgument("user pool provider " + config.providerName + " has no client ids");
  MutexLock lock(mu_);
  Key key{poolId, config.providerName};
  if (!userPools_.emplace(key, std::move(config)).second)
    return Status::invalidArgument("pool " + poolId + " has user pool provider " + key.second + " twice");
  return Status::ok();
}

std::optional<UserPoolProviderConfig> LoginProviders::findUserPoolProvider(std::string_view poolId,
                                                                          std::string_view name) const {
  MutexLock lock(mu_);
  auto it = userPools_.find(Key{std::string(poolId), std::string(name)});
  if (it == userPools_.end()) return std::nullopt;
  return it->second;
}

Status LoginProviders::addConfigured(const std::string& poolId, OidcProviderConfig config) {
  std::string name = config.name;
  TETHER_TRY(std::unique_ptr<OidcVerifier> verifier, OidcVerifier::create(std::move(config)));
  MutexLock lock(mu_);
  auto [it, inserted] = configured_.emplace(Key{poolId, name}, std::shared_ptr<const OidcVerifier>(std::move(verifier)));
  (void)it;
  if (!inserted) return Status::invalidArgument("pool " + poolId + " has two OIDC providers named " + name);
  return Status::ok();
}

Status LoginProviders::refresh() {
  // Read outside the lock (the Store may block); build verifiers only for new or changed rows.
  TETHER_TRY(std::vector<OidcProviderRow> rows, store_.listOidcProviders(""));
  std::map<Key, DbEntry> old;
  {
    MutexLock lock(mu_);
    old = fromDb_;
  }
  std::map<Key, DbEntry> next;
  for (OidcProviderRow& row : rows) {
    Key key{row.poolId, row.name};
    if (auto it = old.find(key); it != old.end() && it->second.row == row) {
      next.emplace(key, it->second);
      continue;
    }
    Result<std::unique_ptr<OidcVerifier>> v = OidcVerifier::create(configOf(row));
    if (!v.isOk()) {
      spdlog::warn("OIDC provider {} of pool {} is not usable and is ignored: {}", row.name, row.poolId,
                   v.status().message());
      continue;
    }
    next.emplace(key, DbEntry{std::move(row), std::shared_ptr<const OidcVerifier>(std::move(v).value())});
  }
  MutexLock lock(mu_);
  fromDb_ = std::move(next);
  lastRefreshMs_ = clock_.nowMs();
  refreshedOnce_ = true;
  return Status::ok();
}

bool LoginProviders::lookup(const Key& key, std::shared_ptr<const OidcVerifier>* out) const {
  if (auto it = configured_.find(key); it != configured_.end()) {
    *out = it->second;
    return true;
  }
  if (auto it = fromDb_.find(key); it != fromDb_.end()) {
    *out = it->second.verifier;
    return true;
  }
  return false;
}

std::shared_ptr<const OidcVerifier> LoginProviders::find(std::string_view poolId, std::string_view name) {
  Key key{std::string(poolId), std::string(name)};
  std::shared_ptr<const OidcVerifier> found;
  bool known;
  bool refreshNow;
  {
    MutexLock lock(mu_);
    known = lookup(key, &found);
    int64_t age = clock_.nowMs() - lastRefreshMs_;
    refreshNow = !refreshedOnce_ || age >= kMaxStaleMs || (!known && age >= kUnknownRefreshMs);
  }
  if (!refreshNow) return found;
  if (Status s = refresh(); !s.isOk()) {
    spdlog::warn("cannot re-read OIDC providers from the database: {}", s.message());
    return found;
  }
  MutexLock lock(mu_);
  found.reset();
  lookup(key, &found);
  return found;
}

}  // namespace tether::server
