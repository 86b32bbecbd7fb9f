// ClusterFanout: see cluster_fanout.h.
#include "events/cluster_fanout.h"

#include "sync/sync_service.h"

namespace tether::server {

void ClusterFanout::datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                                   const std::vector<Record>* batch) {
  hub_.datasetChanged(writer, dataset, syncCount, batch);
  ChangeNotice n;
  n.kind = ChangeNotice::Kind::kDatasetChanged;
  n.originNode = node_;
  n.originConnection = writer.connection;
  n.poolId = writer.poolId;
  n.identityId = writer.identityId;
  n.dataset = std::string(dataset);
  n.syncCount = syncCount;
  bus_.publish(std::move(n));
}

void ClusterFanout::deviceSubscribed(const std::string& poolId, const std::string& identityId,
                                     const std::string& deviceId, const std::string& dataset) {
  hub_.deviceSubscribed(poolId, identityId, deviceId, dataset);
  bus_.publish(ChangeNotice{ChangeNotice::Kind::kDeviceSubscribed, node_, 0, poolId, identityId, dataset, 0, deviceId});
}

void ClusterFanout::deviceUnsubscribed(const std::string& poolId, const std::string& identityId,
                                       const std::string& deviceId, const std::string& dataset) {
  hub_.deviceUnsubscribed(poolId, identityId, deviceId, dataset);
  bus_.publish(ChangeNotice{ChangeNotice::Kind::kDeviceUnsubscribed, node_, 0, poolId, identityId, dataset, 0, deviceId});
}

void ClusterFanout::deliver(const ChangeNotice& n) {
  if (n.originNode == node_) return;
  received_.fetch_add(1, std::memory_order_relaxed);
  switch (n.kind) {
    case ChangeNotice::Kind::kDatasetChanged:
      // connection 0: the writer's connection is on another node, so nobody here is excluded.
      hub_.datasetChanged(Caller{n.poolId, n.identityId, "", 0}, n.dataset, n.syncCount, nullptr);
      break;
    case ChangeNotice::Kind::kDeviceSubscribed:
      hub_.deviceSubscribed(n.poolId, n.identityId, n.deviceId, n.dataset);
      break;
    case ChangeNotice::Kind::kDeviceUnsubscribed:
      hub_.deviceUnsubscribed(n.poolId, n.identityId, n.deviceId, n.dataset);
      break;
  }
}

}  // namespace tether::server
