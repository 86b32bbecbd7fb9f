// ChangeHub: live-sync subscriptions and fan-out; see change_hub.h.
#include "events/change_hub.h"

#include "sync/sync_service.h"
#include "tether/codec.h"

namespace tether::server {
namespace {

std::string ownerKey(std::string_view pool, std::string_view identity) {
  std::string k(pool);
  k += '\n';
  k += identity;
  return k;
}

std::string deviceKey(std::string_view pool, std::string_view identity, std::string_view device) {
  std::string k = ownerKey(pool, identity);
  k += '\n';
  k += device;
  return k;
}

}  // namespace

void ChangeHub::setOwnerLocked(uint64_t connection, ConnSubs& subs, const std::string& owner) {
  if (subs.owner == owner) return;
  // A connection re-authenticated as someone else: its old subscriptions don't carry over.
  if (!subs.owner.empty()) {
    auto it = byOwner_.find(subs.owner);
    if (it != byOwner_.end()) {
      it->second.erase(connection);
      if (it->second.empty()) byOwner_.erase(it);
    }
  }
  detachDeviceLocked(connection, subs);
  subs.datasets.clear();
  subs.owner = owner;
}

void ChangeHub::detachDeviceLocked(uint64_t connection, ConnSubs& subs) {
  if (subs.device.empty()) return;
  auto it = byDevice_.find(subs.device);
  if (it != byDevice_.end()) {
    it->second.connections.erase(connection);
    if (it->second.connections.empty()) byDevice_.erase(it);
  }
  subs.device.clear();
}

void ChangeHub::subscribe(uint64_t connection, const std::string& poolId,
                          const std::string& identityId, const std::vector<std::string>& datasets) {
  std::lock_guard<std::mutex> lock(mu_);
  ConnSubs& subs = byConnection_[connection];
  std::string owner = ownerKey(poolId, identityId);
  setOwnerLocked(connection, subs, owner);
  byOwner_[owner].insert(connection);
  subs.datasets.insert(datasets.begin(), datasets.end());
}

void ChangeHub::attachDevice(uint64_t connection, const std::string& poolId, const std::string& identityId,
                             const std::string& deviceId, const std::vector<std::string>& storedDatasets) {
  std::lock_guard<std::mutex> lock(mu_);
  ConnSubs& subs = byConnection_[connection];
  std::string owner = ownerKey(poolId, identityId);
  setOwnerLocked(connection, subs, owner);
  byOwner_[owner].insert(connection);
  std::string key = deviceKey(poolId, identityId, deviceId);
  if (subs.device != key) {
    detachDeviceLocked(connection, subs);
    subs.device = key;
  }
  DeviceSubs& dev = byDevice_[key];
  dev.connections.insert(connection);
  dev.datasets = std::set<std::string>(storedDatasets.begin(), storedDatasets.end());
}

void ChangeHub::unsubscribe(uint64_t connection, const std::vector<std::string>& datasets) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byConnection_.find(connection);
  if (it == byConnection_.end()) return;
  if (datasets.empty()) {
    it->second.datasets.clear();
    detachDeviceLocked(connection, it->second);
  } else {
    for (const auto& d : datasets) it->second.datasets.erase(d);
  }
}

void ChangeHub::removeConnection(uint64_t connection) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byConnection_.find(connection);
  if (it == byConnection_.end()) return;
  auto owner = byOwner_.find(it->second.owner);
  if (owner != byOwner_.end()) {
    owner->second.erase(connection);
    if (owner->second.empty()) byOwner_.erase(owner);
  }
  detachDeviceLocked(connection, it->second);
  byConnection_.erase(it);
}

void ChangeHub::datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                               const std::vector<Record>* batch) {
  std::vector<uint64_t> targets;
  std::string name(dataset);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto owner = byOwner_.find(ownerKey(writer.poolId, writer.identityId));
    if (owner == byOwner_.end()) return;
    for (uint64_t conn : owner->second) {
      if (conn == writer.connection) continue;
      auto subs = byConnection_.find(conn);
      if (subs == byConnection_.end()) continue;
      bool wanted = subs->second.datasets.count(name) > 0;
      if (!wanted && !subs->second.device.empty()) {
        auto dev = byDevice_.find(subs->second.device);
        wanted = dev != byDevice_.end() && dev->second.datasets.count(name) > 0;
      }
      if (wanted) targets.push_back(conn);
    }
    sent_ += static_cast<int64_t>(targets.size());
  }
  if (targets.empty()) return;
  proto::DatasetChanged change{writer.poolId, writer.identityId, name, syncCount};
  if (batch != nullptr) {
    size_t bytes = 0;
    for (const Record& r : *batch) bytes += r.key.size() + (r.value ? r.value->size() : 0);
    if (bytes <= kInlineChangeBytes) {
      change.records = *batch;
      change.hasRecords = true;
    }
  }
  std::string frame = codec::encode(proto::ServerMessage{std::move(change)});
  for (uint64_t conn : targets) sink_.push(conn, name, frame);
}

void ChangeHub::deviceSubscribed(const std::string& poolId, const std::string& identityId,
                                 const std::string& deviceId, const std::string& dataset) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byDevice_.find(deviceKey(poolId, identityId, deviceId));
  if (it != byDevice_.end()) it->second.datasets.insert(dataset);
}

void ChangeHub::deviceUnsubscribed(const std::string& poolId, const std::string& identityId,
                                   const std::string& deviceId, const std::string& dataset) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byDevice_.find(deviceKey(poolId, identityId, deviceId));
  if (it != byDevice_.end()) it->second.datasets.erase(dataset);
}

size_t ChangeHub::subscribedConnections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return byConnection_.size();
}

int64_t ChangeHub::notificationsSent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

size_t ChangeHub::attachedDevices() const {
  std::lock_guard<std::mutex> lock(mu_);
  return byDevice_.size();
}

}  // namespace tether::server
