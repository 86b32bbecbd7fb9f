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
    forgetOwnerIfUnfollowedLocked(subs.owner);
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
  MutexLock lock(mu_);
  ConnSubs& subs = byConnection_[connection];
  std::string owner = ownerKey(poolId, identityId);
  setOwnerLocked(connection, subs, owner);
  byOwner_[owner].insert(connection);
  subs.datasets.insert(datasets.begin(), datasets.end());
}

void ChangeHub::attachDevice(uint64_t connection, const std::string& poolId, const std::string& identityId,
                             const std::string& deviceId, const std::vector<std::string>& storedDatasets) {
  MutexLock lock(mu_);
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
  MutexLock lock(mu_);
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
  MutexLock lock(mu_);
  auto it = byConnection_.find(connection);
  if (it == byConnection_.end()) return;
  auto owner = byOwner_.find(it->second.owner);
  if (owner != byOwner_.end()) {
    owner->second.erase(connection);
    if (owner->second.empty()) byOwner_.erase(owner);
  }
  forgetOwnerIfUnfollowedLocked(it->second.owner);
  detachDeviceLocked(connection, it->second);
  byConnection_.erase(it);
}

std::vector<uint64_t> ChangeHub::followersLocked(const std::string& owner, const std::string& dataset,
                                                 uint64_t exclude) const {
  std::vector<uint64_t> targets;
  auto it = byOwner_.find(owner);
  if (it == byOwner_.end()) return targets;
  for (uint64_t conn : it->second) {
    if (conn == exclude) continue;
    auto subs = byConnection_.find(conn);
    if (subs == byConnection_.end()) continue;
    bool wanted = subs->second.datasets.count(dataset) > 0;
    if (!wanted && !subs->second.device.empty()) {
      auto dev = byDevice_.find(subs->second.device);
      wanted = dev != byDevice_.end() && dev->second.datasets.count(dataset) > 0;
    }
    if (wanted) targets.push_back(conn);
  }
  return targets;
}

void ChangeHub::forgetOwnerIfUnfollowedLocked(const std::string& owner) {
  if (byOwner_.count(owner) == 0) known_.erase(owner);
}

void ChangeHub::datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                               const std::vector<Record>* batch) {
  std::vector<uint64_t> targets;
  std::string name(dataset);
  {
    MutexLock lock(mu_);
    std::string owner = ownerKey(writer.poolId, writer.identityId);
    if (byOwner_.count(owner) == 0) return;
    // Counts only grow: a notice older than what the hub already told (a cross-node notice
    // that arrives after the catch-up or a later local write) carries nothing new. An equal
    // count still goes out: a merge announces a dataset whose merged names changed under an
    // unchanged sync count.
    auto [known, inserted] = known_[owner].try_emplace(name, syncCount);
    if (!inserted) {
      if (syncCount < known->second) return;
      known->second = syncCount;
    }
    targets = followersLocked(owner, name, writer.connection);
    sent_ += static_cast<int64_t>(targets.size());
  }
  send(writer.poolId, writer.identityId, name, syncCount, batch, targets);
}

bool ChangeHub::observeSyncCount(const std::string& poolId, const std::string& identityId,
                                 const std::string& dataset, int64_t syncCount, uint64_t exclude) {
  std::vector<uint64_t> targets;
  {
    MutexLock lock(mu_);
    std::string owner = ownerKey(poolId, identityId);
    if (byOwner_.count(owner) == 0) return false;
    // The first count seen is the baseline (try_emplace stores it, and it is not newer than itself).
    auto known = known_[owner].try_emplace(dataset, syncCount).first;
    if (syncCount <= known->second) return false;
    known->second = syncCount;
    targets = followersLocked(owner, dataset, exclude);
    sent_ += static_cast<int64_t>(targets.size());
  }
  send(poolId, identityId, dataset, syncCount, nullptr, targets);
  return !targets.empty();
}

void ChangeHub::send(std::string_view poolId, std::string_view identityId, const std::string& dataset,
                     int64_t syncCount, const std::vector<Record>* batch, const std::vector<uint64_t>& targets) {
  if (targets.empty()) return;
  proto::DatasetChanged change{std::string(poolId), std::string(identityId), dataset, syncCount, {}, false};
  if (batch != nullptr) {
    size_t bytes = 0;
    for (const Record& r : *batch) bytes += r.key.size() + (r.value ? r.value->size() : 0);
    if (bytes <= kInlineChangeBytes) {
      change.records = *batch;
      change.hasRecords = true;
    }
  }
  std::string frame = codec::encode(proto::ServerMessage{std::move(change)});
  for (uint64_t conn : targets) sink_.push(conn, dataset, frame);
}

ChangeHub::FollowedIdentity ChangeHub::followedLocked(const std::string& owner,
                                                     const std::set<uint64_t>& conns) const {
  size_t nl = owner.find('\n');
  FollowedIdentity f{owner.substr(0, nl), owner.substr(nl + 1), {}, {}};
  std::map<std::string, int64_t> names;
  auto known = known_.find(owner);
  auto countOf = [&](const std::string& d) {
    mu_.assertHeld();  // called below, in this function (which holds mu_)
    if (known == known_.end()) return int64_t{-1};
    auto k = known->second.find(d);
    return k == known->second.end() ? int64_t{-1} : k->second;
  };
  std::set<std::string> devices;
  for (uint64_t conn : conns) {
    auto subs = byConnection_.find(conn);
    if (subs == byConnection_.end()) continue;
    for (const auto& d : subs->second.datasets) names.emplace(d, countOf(d));
    if (subs->second.device.empty()) continue;
    devices.insert(subs->second.device.substr(subs->second.device.rfind('\n') + 1));
    auto dev = byDevice_.find(subs->second.device);
    if (dev == byDevice_.end()) continue;
    for (const auto& d : dev->second.datasets) names.emplace(d, countOf(d));
  }
  f.datasets.assign(names.begin(), names.end());
  f.devices.assign(devices.begin(), devices.end());
  return f;
}

bool ChangeHub::follows(const std::string& poolId, const std::string& identityId, const std::string& dataset) const {
  MutexLock lock(mu_);
  return !followersLocked(ownerKey(poolId, identityId), dataset, 0).empty();
}

std::vector<ChangeHub::FollowedIdentity> ChangeHub::followed() const {
  MutexLock lock(mu_);
  std::vector<FollowedIdentity> out;
  out.reserve(byOwner_.size());
  for (const auto& [owner, conns] : byOwner_) out.push_back(followedLocked(owner, conns));
  return out;
}

std::optional<ChangeHub::FollowedIdentity> ChangeHub::followed(const std::string& poolId,
                                                               const std::string& identityId) const {
  MutexLock lock(mu_);
  std::string owner = ownerKey(poolId, identityId);
  auto it = byOwner_.find(owner);
  if (it == byOwner_.end()) return std::nullopt;
  return followedLocked(owner, it->second);
}

void ChangeHub::setDeviceDatasets(const std::string& poolId, const std::string& identityId,
                                  const std::string& deviceId, const std::vector<std::string>& storedDatasets) {
  MutexLock lock(mu_);
  auto it = byDevice_.find(deviceKey(poolId, identityId, deviceId));
  if (it != byDevice_.end()) it->second.datasets = std::set<std::string>(storedDatasets.begin(), storedDatasets.end());
}

void ChangeHub::deviceSubscribed(const std::string& poolId, const std::string& identityId,
                                 const std::string& deviceId, const std::string& dataset) {
  MutexLock lock(mu_);
  auto it = byDevice_.find(deviceKey(poolId, identityId, deviceId));
  if (it != byDevice_.end()) it->second.datasets.insert(dataset);
}

void ChangeHub::deviceUnsubscribed(const std::string& poolId, const std::string& identityId,
                                   const std::string& deviceId, const std::string& dataset) {
  MutexLock lock(mu_);
  auto it = byDevice_.find(deviceKey(poolId, identityId, deviceId));
  if (it != byDevice_.end()) it->second.datasets.erase(dataset);
}

size_t ChangeHub::subscribedConnections() const {
  MutexLock lock(mu_);
  return byConnection_.size();
}

int64_t ChangeHub::notificationsSent() const {
  MutexLock lock(mu_);
  return sent_;
}

size_t ChangeHub::attachedDevices() const {
  MutexLock lock(mu_);
  return byDevice_.size();
}

}  // namespace tether::server
