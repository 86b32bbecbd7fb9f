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

}  // namespace

void ChangeHub::subscribe(uint64_t connection, const std::string& poolId,
                          const std::string& identityId, const std::vector<std::string>& datasets) {
  std::lock_guard<std::mutex> lock(mu_);
  ConnSubs& subs = byConnection_[connection];
  std::string owner = ownerKey(poolId, identityId);
  if (subs.owner != owner) {
    // A connection re-authenticated as someone else: its old subscriptions don't carry over.
    if (!subs.owner.empty()) {
      auto it = byOwner_.find(subs.owner);
      if (it != byOwner_.end()) {
        it->second.erase(connection);
        if (it->second.empty()) byOwner_.erase(it);
      }
    }
    subs.datasets.clear();
    subs.owner = owner;
  }
  byOwner_[owner].insert(connection);
  subs.datasets.insert(datasets.begin(), datasets.end());
}

void ChangeHub::unsubscribe(uint64_t connection, const std::vector<std::string>& datasets) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = byConnection_.find(connection);
  if (it == byConnection_.end()) return;
  if (datasets.empty()) {
    it->second.datasets.clear();
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
  byConnection_.erase(it);
}

void ChangeHub::datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount) {
  std::vector<uint64_t> targets;
  std::string name(dataset);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto owner = byOwner_.find(ownerKey(writer.poolId, writer.identityId));
    if (owner == byOwner_.end()) return;
    for (uint64_t conn : owner->second) {
      if (conn == writer.connection) continue;
      auto subs = byConnection_.find(conn);
      if (subs != byConnection_.end() && subs->second.datasets.count(name)) targets.push_back(conn);
    }
    sent_ += static_cast<int64_t>(targets.size());
  }
  if (targets.empty()) return;
  std::string frame = codec::encode(proto::ServerMessage{
      proto::DatasetChanged{writer.poolId, writer.identityId, name, syncCount}});
  for (uint64_t conn : targets) sink_.push(conn, name, frame);
}

size_t ChangeHub::subscribedConnections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return byConnection_.size();
}

int64_t ChangeHub::notificationsSent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

}  // namespace tether::server
