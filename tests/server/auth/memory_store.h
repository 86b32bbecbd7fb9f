// MemoryStore: an in-memory Store for the auth tests (pools, identities, meta). Dataset
// transactions are not needed by auth/ and report kInternal. `failNext` injects one Store
// failure to check that errors pass through unchanged.
// Thread-safety: all methods lock one mutex, like a real Store they may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "storage/store.h"

namespace tether::server::testing {

class MemoryStore final : public Store {
 public:
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
  // Guests only: no identity here has linked logins (the login resolver asks).
  Result<std::vector<LoginLink>> listLogins(std::string_view) override { return std::vector<LoginLink>{}; }

  Result<std::unique_ptr<StoreTransaction>> begin() override {
    return Status::internal("MemoryStore has no dataset transactions");
  }
  Result<std::unique_ptr<StoreTransaction>> beginRead() override {
    return Status::internal("MemoryStore has no dataset transactions");
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
  void failNext(Status s) {
    std::lock_guard lock(mu_);
    failure_ = std::move(s);
  }

 private:
  Status takeFailure() {
    if (!failure_) return Status::ok();
    Status s = std::move(*failure_);
    failure_.reset();
    return s;
  }
  std::mutex mu_;
  std::map<std::string, PoolInfo> pools_;
  std::map<std::string, IdentityInfo> identities_;
  std::map<std::string, std::string> meta_;
  std::optional<Status> failure_;
};

}  // namespace tether::server::testing
