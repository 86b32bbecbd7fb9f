// ChangeCatchUp: see change_catch_up.h.
#include "events/change_catch_up.h"

#include <spdlog/spdlog.h>

#include <map>

namespace tether::server {

void ChangeCatchUp::run() {
  passes_.fetch_add(1, std::memory_order_relaxed);
  for (ChangeHub::FollowedIdentity& f : hub_.followed()) {
    std::string id = f.identityId;
    pool_.postForIdentity(id, [this, f = std::move(f)] { checkIdentity(f); });
  }
}

void ChangeCatchUp::checkIdentity(const ChangeHub::FollowedIdentity& f) {
  // Devices first: a dataset a device follows since a subscription made elsewhere gets its
  // baseline count below, in the same pass.
  for (const std::string& device : f.devices) {
    Result<std::vector<std::string>> stored = store_.listDeviceSubscriptions(f.poolId, f.identityId, device);
    if (!stored.isOk()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("catch-up: cannot read subscriptions of device {}: {}", device, stored.status().message());
      return;
    }
    hub_.setDeviceDatasets(f.poolId, f.identityId, device, *stored);
  }
  std::map<std::string, int64_t> counts;
  {
    Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
    if (!txn.isOk()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("catch-up: cannot read identity {}: {}", f.identityId, txn.status().message());
      return;
    }
    // Every dataset row the identity has (deleted ones too: a deletion raises the count).
    std::string after;
    while (true) {
      Result<std::vector<DatasetRow>> rows =
          (*txn)->listDatasets(OwnerRef{f.poolId, f.identityId}, DatasetFilter::kAll, after, 256);
      if (!rows.isOk()) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("catch-up: cannot list datasets of {}: {}", f.identityId, rows.status().message());
        return;
      }
      for (const DatasetRow& r : *rows) counts[r.name] = r.syncCount;
      if (rows->size() < 256) break;
      after = rows->back().name;
    }
  }
  // What the hub follows now (a device's set may have just changed above).
  std::optional<ChangeHub::FollowedIdentity> now = hub_.followed(f.poolId, f.identityId);
  if (!now) return;
  for (const auto& [name, known] : now->datasets) {
    auto c = counts.find(name);
    int64_t count = c == counts.end() ? 0 : c->second;
    if (hub_.observeSyncCount(f.poolId, f.identityId, name, count)) sent_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace tether::server
