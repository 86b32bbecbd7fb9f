// MemoryStore: an in-memory Store for the auth tests: pools, identities, logins, developer
// credentials, OIDC providers and meta are modelled; datasets and push-sync devices are not
// (auth/ reaches them only through merges, which these tests do not make), nor are the Cognito
// User Pools (their tests use the real stores), and those answer kInternal saying so. `failNext` injects one failure into the next pool or identity call (put/get/list pools,
// create/get identity) to check that errors pass through unchanged.
// Thread-safety: all methods lock one mutex, like a real Store they may be called concurrently.
#pragma once

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "storage/store.h"

namespace tether::server::testing {

class MemoryStore final : public Store {
 public:
  // ---- pools
  Status putPool(const PoolInfo& pool) override {
    std::lock_guard lock(mu_);
    TETHER_RETURN_IF_ERROR(takeFailure());
    pools_[pool.id] = pool;
    return Status::ok();
  }
  Result<std::optional<PoolInfo>> getPool(std::string_view poolId) override {
    std::lock_guard lock(mu_);
    TETHER_RETURN_IF_ERROR(takeFailure());
    auto it = pools_.find(std::string(poolId));
    if (it == pools_.end()) return std::optional<PoolInfo>();
    return std::optional<PoolInfo>(it->second);
  }
  Result<std::vector<PoolInfo>> listPools() override {
    std::lock_guard lock(mu_);
    TETHER_RETURN_IF_ERROR(takeFailure());
    std::vector<PoolInfo> out;
    for (const auto& [id, pool] : pools_) out.push_back(pool);
    return out;
  }
  Result<PoolUsage> poolUsage(std::string_view) override { return notModelled("datasets"); }

  // ---- identities and logins
  Status createIdentity(const IdentityInfo& identity) override {
    std::lock_guard lock(mu_);
    TETHER_RETURN_IF_ERROR(takeFailure());
    if (!identities_.emplace(identity.id, identity).second)
      return Status::conflict("identity exists");
    return Status::ok();
  }
  Result<std::optional<IdentityInfo>> getIdentity(std::string_view identityId) override {
    std::lock_guard lock(mu_);
    TETHER_RETURN_IF_ERROR(takeFailure());
    auto it = identities_.find(std::string(identityId));
    if (it == identities_.end()) return std::optional<IdentityInfo>();
    return std::optional<IdentityInfo>(it->second);
  }
  Result<std::optional<std::string>> findLogin(std::string_view poolId, std::string_view provider,
                                               std::string_view subject) override {
    std::lock_guard lock(mu_);
    auto it = logins_.find(LoginKey{std::string(poolId), std::string(provider), std::string(subject)});
    if (it == logins_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status linkLogin(const LoginLink& login) override {
    std::lock_guard lock(mu_);
    auto [it, fresh] = logins_.emplace(LoginKey{login.poolId, login.provider, login.subject}, login.identityId);
    if (!fresh && it->second != login.identityId) return Status::conflict("login is already linked to another identity");
    return Status::ok();
  }
  Status unlinkLogin(std::string_view identityId, std::string_view provider, std::string_view subject) override {
    std::lock_guard lock(mu_);
    for (auto it = logins_.begin(); it != logins_.end(); ++it) {
      if (it->second == identityId && std::get<1>(it->first) == provider && std::get<2>(it->first) == subject) {
        logins_.erase(it);
        return Status::ok();
      }
    }
    return Status::notFound("login is not linked to this identity");
  }
  Result<std::vector<LoginLink>> listLogins(std::string_view identityId) override {
    std::lock_guard lock(mu_);
    std::vector<LoginLink> out;
    for (const auto& [key, id] : logins_)
      if (id == identityId) out.push_back(LoginLink{std::get<0>(key), std::get<1>(key), std::get<2>(key), id});
    std::sort(out.begin(), out.end(), [](const LoginLink& a, const LoginLink& b) {
      return std::tie(a.provider, a.subject) < std::tie(b.provider, b.subject);
    });
    return out;
  }
  Status moveLogins(std::string_view fromIdentity, std::string_view toIdentity) override {
    std::lock_guard lock(mu_);
    for (auto& [key, id] : logins_)
      if (id == fromIdentity) id = std::string(toIdentity);
    return Status::ok();
  }
  Result<std::vector<IdentityInfo>> listIdentities(std::string_view poolId, std::string_view afterId,
                                                   int limit) override {
    std::lock_guard lock(mu_);
    std::vector<IdentityInfo> out;
    for (const auto& [id, info] : identities_) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (info.poolId == poolId && id > afterId) out.push_back(info);
    }
    return out;
  }
  Status setIdentityDisabled(std::string_view identityId, bool disabled) override {
    std::lock_guard lock(mu_);
    auto it = identities_.find(std::string(identityId));
    if (it == identities_.end()) return Status::notFound("no such identity");
    it->second.disabled = disabled;
    return Status::ok();
  }
  Status deleteIdentity(std::string_view identityId) override {
    std::lock_guard lock(mu_);
    if (identities_.erase(std::string(identityId)) == 0) return Status::notFound("no such identity");
    for (auto it = logins_.begin(); it != logins_.end();) it = it->second == identityId ? logins_.erase(it) : std::next(it);
    return Status::ok();
  }

  // ---- push-sync devices: not modelled
  Result<std::string> registerDevice(const DeviceInfo&, int) override { return notModelled("devices"); }
  Result<std::vector<DeviceInfo>> listDevices(std::string_view, std::string_view) override {
    return notModelled("devices");
  }
  Result<std::optional<DeviceInfo>> getDevice(std::string_view, std::string_view, std::string_view) override {
    return notModelled("devices");
  }
  Status subscribeDevice(std::string_view, std::string_view, std::string_view, std::string_view, int) override {
    return notModelled("devices");
  }
  Status unsubscribeDevice(std::string_view, std::string_view, std::string_view, std::string_view) override {
    return notModelled("devices");
  }
  Result<std::vector<std::string>> listDeviceSubscriptions(std::string_view, std::string_view,
                                                           std::string_view) override {
    return notModelled("devices");
  }
  Status moveDevices(std::string_view, std::string_view, std::string_view) override { return notModelled("devices"); }
  Result<std::vector<DeviceInfo>> listSubscribedDevices(std::string_view, std::string_view, std::string_view) override {
    return notModelled("devices");
  }
  Status removeDevice(std::string_view, std::string_view, std::string_view) override { return notModelled("devices"); }

  // ---- auth configuration
  Status putOidcProvider(const OidcProviderRow& provider) override {
    std::lock_guard lock(mu_);
    oidc_[{provider.poolId, provider.name}] = provider;
    return Status::ok();
  }
  Status deleteOidcProvider(std::string_view poolId, std::string_view name) override {
    std::lock_guard lock(mu_);
    if (oidc_.erase({std::string(poolId), std::string(name)}) == 0) return Status::notFound("no such OIDC provider");
    return Status::ok();
  }
  Result<std::vector<OidcProviderRow>> listOidcProviders(std::string_view poolId) override {
    std::lock_guard lock(mu_);
    std::vector<OidcProviderRow> out;
    for (const auto& [key, row] : oidc_)
      if (poolId.empty() || key.first == poolId) out.push_back(row);
    return out;
  }
  Result<std::string> getPoolDeveloperProvider(std::string_view poolId) override {
    std::lock_guard lock(mu_);
    if (pools_.count(std::string(poolId)) == 0) return Status::notFound("no such pool");
    auto it = developerProviders_.find(std::string(poolId));
    return it == developerProviders_.end() ? std::string() : it->second;
  }
  Status setPoolDeveloperProvider(std::string_view poolId, std::string_view name) override {
    std::lock_guard lock(mu_);
    if (pools_.count(std::string(poolId)) == 0) return Status::notFound("no such pool");
    developerProviders_[std::string(poolId)] = std::string(name);
    return Status::ok();
  }
  Status createDeveloperCredential(const DeveloperCredentialRow& credential) override {
    std::lock_guard lock(mu_);
    if (!credentials_.emplace(credential.accessKeyId, credential).second) return Status::conflict("credential exists");
    return Status::ok();
  }
  Result<std::optional<DeveloperCredentialRow>> findDeveloperCredential(std::string_view accessKeyId) override {
    std::lock_guard lock(mu_);
    auto it = credentials_.find(std::string(accessKeyId));
    if (it == credentials_.end()) return std::optional<DeveloperCredentialRow>();
    return std::optional<DeveloperCredentialRow>(it->second);
  }
  Result<std::vector<DeveloperCredentialRow>> listDeveloperCredentials() override {
    std::lock_guard lock(mu_);
    std::vector<DeveloperCredentialRow> out;
    for (const auto& [id, row] : credentials_) out.push_back(row);
    return out;
  }
  Status deleteDeveloperCredential(std::string_view accessKeyId) override {
    std::lock_guard lock(mu_);
    if (credentials_.erase(std::string(accessKeyId)) == 0) return Status::notFound("no such credential");
    return Status::ok();
  }
  Result<std::optional<std::string>> getMeta(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = meta_.find(std::string(key));
    if (it == meta_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status putMeta(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    meta_[std::string(key)] = std::string(value);
    return Status::ok();
  }
  Result<std::vector<std::pair<std::string, std::string>>> listMeta(std::string_view prefix) override {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : meta_)
      if (k.compare(0, prefix.size(), prefix) == 0) out.emplace_back(k, v);
    return out;
  }
  Result<std::string> putMetaIfAbsent(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    return meta_.emplace(std::string(key), std::string(value)).first->second;
  }

  // ---- datasets: not modelled
  Result<std::unique_ptr<StoreTransaction>> begin() override { return notModelled("datasets"); }
  Result<std::unique_ptr<StoreTransaction>> beginRead() override { return notModelled("datasets"); }

  // ---- Cognito User Pools: not modelled (the user-pool tests use the real stores)
  Status createUserPool(const UserPoolRow&) override { return notModelled("user pools"); }
  Result<std::optional<UserPoolRow>> getUserPool(std::string_view) override { return notModelled("user pools"); }
  Result<std::optional<UserPoolRow>> findUserPoolByDomain(std::string_view) override {
    return notModelled("user pools");
  }
  Result<std::vector<UserPoolRow>> listUserPools(std::string_view, int) override { return notModelled("user pools"); }
  Status updateUserPool(const UserPoolRow&) override { return notModelled("user pools"); }
  Status deleteUserPool(std::string_view) override { return notModelled("user pools"); }
  Result<int64_t> countUsers(std::string_view) override { return notModelled("user pools"); }
  Status createUserPoolClient(const UserPoolClientRow&) override { return notModelled("user pools"); }
  Result<std::optional<UserPoolClientRow>> getUserPoolClient(std::string_view) override {
    return notModelled("user pools");
  }
  Result<std::vector<UserPoolClientRow>> listUserPoolClients(std::string_view, std::string_view, int) override {
    return notModelled("user pools");
  }
  Status updateUserPoolClient(const UserPoolClientRow&) override { return notModelled("user pools"); }
  Status deleteUserPoolClient(std::string_view, std::string_view) override { return notModelled("user pools"); }
  Result<UserWriteOutcome> insertUser(const UserRow&) override { return notModelled("user pools"); }
  Result<UserWriteOutcome> updateUser(const UserRow&, bool) override { return notModelled("user pools"); }
  Result<std::optional<UserRow>> getUserByUsernameKey(std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Result<std::optional<UserRow>> getUserBySub(std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Result<std::optional<UserRow>> getUserByAlias(std::string_view, std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Status deleteUser(std::string_view, std::string_view) override { return notModelled("user pools"); }
  Result<std::vector<UserRow>> listUsers(std::string_view, const UserFilter&, const UserCursor&, int) override {
    return notModelled("user pools");
  }
  Status createUserGroup(const UserGroupRow&) override { return notModelled("user pools"); }
  Result<std::optional<UserGroupRow>> getUserGroup(std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Status updateUserGroup(const UserGroupRow&) override { return notModelled("user pools"); }
  Status deleteUserGroup(std::string_view, std::string_view) override { return notModelled("user pools"); }
  Result<std::vector<UserGroupRow>> listUserGroups(std::string_view, std::string_view, int) override {
    return notModelled("user pools");
  }
  Status addUserToGroup(std::string_view, std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Status removeUserFromGroup(std::string_view, std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Result<std::vector<UserGroupRow>> listGroupsForUser(std::string_view, std::string_view) override {
    return notModelled("user pools");
  }
  Result<std::vector<UserRow>> listUsersInGroup(std::string_view, std::string_view, const UserCursor&, int) override {
    return notModelled("user pools");
  }
  Status putTicket(std::string_view, std::string_view, int64_t) override { return notModelled("user pools"); }
  Result<std::optional<std::string>> takeTicket(std::string_view, int64_t) override { return notModelled("user pools"); }
  Result<std::optional<std::string>> peekTicket(std::string_view, int64_t) override { return notModelled("user pools"); }
  Result<bool> useOnce(std::string_view, int64_t, int64_t) override { return notModelled("user pools"); }
  Result<int64_t> pruneTickets(int64_t) override { return notModelled("user pools"); }
  Status revokeOrigin(std::string_view, std::string_view, int64_t) override { return notModelled("user pools"); }
  Result<bool> isOriginRevoked(std::string_view, std::string_view) override { return notModelled("user pools"); }
  Result<std::vector<RevokedOrigin>> listRevokedOrigins(std::string_view, std::string_view, int) override {
    return notModelled("user pools");
  }

  // Test controls.
  void setDisabled(const std::string& identityId, bool disabled) {
    std::lock_guard lock(mu_);
    identities_.at(identityId).disabled = disabled;
  }
  void moveIdentity(const std::string& identityId, const std::string& poolId) {
    std::lock_guard lock(mu_);
    identities_.at(identityId).poolId = poolId;
  }
  void erasePool(const std::string& poolId) {
    std::lock_guard lock(mu_);
    pools_.erase(poolId);
  }
  size_t identityCount() {
    std::lock_guard lock(mu_);
    return identities_.size();
  }
  // ---- Console (issue 17): not modelled (the console tests use the real stores)
  Status createOperator(const OperatorRow&) override { return notModelled("the console"); }
  Result<std::optional<OperatorRow>> getOperator(std::string_view) override { return notModelled("the console"); }
  Result<std::vector<OperatorRow>> listOperators() override { return notModelled("the console"); }
  Status setOperatorPassword(std::string_view, std::string_view) override { return notModelled("the console"); }
  Status deleteOperator(std::string_view) override { return notModelled("the console"); }
  Status recordOperatorSignIn(std::string_view, int64_t) override { return notModelled("the console"); }
  Status createConsoleSession(const ConsoleSessionRow&) override { return notModelled("the console"); }
  Result<std::optional<ConsoleSessionRow>> getConsoleSession(std::string_view) override {
    return notModelled("the console");
  }
  Status touchConsoleSession(std::string_view, int64_t) override { return notModelled("the console"); }
  Status deleteConsoleSession(std::string_view) override { return notModelled("the console"); }
  Result<int64_t> pruneConsoleSessions(int64_t, int64_t) override { return notModelled("the console"); }
  Result<int64_t> appendAudit(const AuditEntry&) override { return notModelled("the console"); }
  Result<std::vector<AuditEntry>> listAudit(int64_t, int) override { return notModelled("the console"); }
  Status putUsageSample(const UsageSample&) override { return notModelled("the console"); }
  Result<std::vector<UsageSample>> listUsageSamples(std::string_view, int64_t) override {
    return notModelled("the console");
  }
  Result<int64_t> pruneUsageSamples(int64_t) override { return notModelled("the console"); }
  Result<int64_t> countPoolIdentities(std::string_view) override { return notModelled("the console"); }

  void failNext(Status s) {
    std::lock_guard lock(mu_);
    failure_ = std::move(s);
  }

 private:
  using LoginKey = std::tuple<std::string, std::string, std::string>;  // pool, provider, subject
  static Status notModelled(const char* what) {
    return Status::internal(std::string("MemoryStore does not model ") + what);
  }
  Status takeFailure() {
    if (!failure_) return Status::ok();
    Status s = std::move(*failure_);
    failure_.reset();
    return s;
  }
  std::mutex mu_;
  std::map<std::string, PoolInfo> pools_;
  std::map<std::string, std::string> developerProviders_;
  std::map<std::string, IdentityInfo> identities_;
  std::map<LoginKey, std::string> logins_;
  std::map<std::pair<std::string, std::string>, OidcProviderRow> oidc_;
  std::map<std::string, DeveloperCredentialRow> credentials_;
  std::map<std::string, std::string> meta_;
  std::optional<Status> failure_;
};

}  // namespace tether::server::testing
