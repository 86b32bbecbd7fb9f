// ClusterFanout: see cluster_fanout.h.
#include "events/cluster_fanout.h"

#include "sync/sync_service.h"

namespace tether::server {

void ClusterFanout::datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                                   const std::vector<Record>* batch) {
  hub_.datasetChanged(writer, dataset, syncCount, batch);
  ChangeNotice n;
  n.kind = batch != nullptr ? ChangeNotice::Kind::kBatchWritten : ChangeNotice::Kind::kDatasetChanged;
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
    case ChangeNotice::Kind::kBatchWritten:
      if (store_ != nullptr && pool_ != nullptr) {
        if (!hub_.follows(n.poolId, n.identityId, n.dataset)) break;  // nobody here to tell
        pool_->postForIdentity(n.identityId, [this, n] { announceBatch(n); });
        break;
      }
      [[fallthrough]];
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

void ClusterFanout::announceBatch(const ChangeNotice& n) {
  Caller writer{n.poolId, n.identityId, "", 0};
  std::vector<Record> batch;
  bool whole = false;
  OwnerRef owner{n.poolId, n.identityId};
  if (Result<std::unique_ptr<StoreTransaction>> txn = store_->beginRead(); txn.isOk()) {
    Result<std::optional<DatasetRow>> row = (*txn)->getDataset(owner, n.dataset);
    // Still the newest batch: every record with its count is exactly that batch (a later
    // batch would have moved the dataset on and re-counted what it touched).
    if (row.isOk() && *row && (*row)->live && (*row)->syncCount == n.syncCount) {
      RecordQuery q;
      q.afterSyncCount = n.syncCount - 1;
      q.maxSyncCount = n.syncCount;
      q.limit = 1025;
      Result<std::vector<Record>> records = (*txn)->listRecords(owner, n.dataset, q);
      if (records.isOk() && !records->empty() && records->size() <= 1024) {
        batch = std::move(records).value();
        whole = true;
      }
    }
  }
  // Otherwise (moved on, deleted, unreadable): announce the count; subscribers pull.
  hub_.datasetChanged(writer, n.dataset, n.syncCount, whole ? &batch : nullptr);
}

}  // namespace tether::server
