// Identity merge; see identity_merge.h.
#include "auth/identity_merge.h"

#include <spdlog/spdlog.h>

#include "tether/limits.h"

namespace tether::server {

Result<MergeReport> mergeIdentities(Store& store, const std::string& poolId, const std::string& winnerId,
                                    const std::string& loserId, int64_t nowMs) {
  if (winnerId == loserId) return MergeReport{};
  return runWriteTransaction(store, [&](StoreTransaction& tx) -> Result<MergeReport> {
    MergeReport report;
    StoreTransaction* txn = &tx;
    // Both identities exclusively, before anything is read: no write of either (on any node)
    // runs between our reads and our commit, and writes that waited see the loser disabled.
    TETHER_RETURN_IF_ERROR(txn->lockIdentities({winnerId, loserId}));
    OwnerRef winner{poolId, winnerId};
    OwnerRef loser{poolId, loserId};
    TETHER_TRY(std::vector<DatasetRow> rows, txn->listDatasets(loser, DatasetFilter::kLiveOnly, "", 1000));
    for (DatasetRow& row : rows) {
      std::string mergedName = row.name + "." + loserId;
      if (!validateDatasetName(mergedName).isOk()) {
        spdlog::warn("merge {} -> {}: dataset {} cannot be renamed (name too long); left behind", loserId, winnerId,
                     row.name);
        continue;
      }
      RecordQuery all;
      all.limit = 1 << 20;
      TETHER_TRY(std::vector<Record> records, txn->listRecords(loser, row.name, all));
      std::vector<Record> live;
      for (Record& r : records) {
        if (r.isDeleted()) continue;
        live.push_back(std::move(r));
      }
      TETHER_TRY(std::optional<DatasetRow> existing, txn->getDataset(winner, mergedName));
      DatasetRow merged = row;
      merged.name = mergedName;
      merged.live = true;
      merged.syncCount = existing ? existing->syncCount + 1 : 1;
      for (Record& r : live) r.syncCount = merged.syncCount;
      merged.deletedAtSyncCount = existing ? existing->deletedAtSyncCount : std::nullopt;
      merged.lastModifiedMs = nowMs;
      if (existing) TETHER_RETURN_IF_ERROR(txn->deleteRecords(winner, mergedName));
      TETHER_RETURN_IF_ERROR(txn->putDataset(winner, merged));
      TETHER_RETURN_IF_ERROR(txn->putRecords(winner, mergedName, live));
      TETHER_RETURN_IF_ERROR(txn->addMergedDataset(winner, row.name, mergedName));
      // The loser's copy is deleted the way DeleteDataset deletes (the count moves on).
      TETHER_RETURN_IF_ERROR(txn->deleteRecords(loser, row.name));
      DatasetRow gone = row;
      gone.syncCount = row.syncCount + 1;
      gone.live = false;
      gone.deletedAtSyncCount = gone.syncCount;
      gone.dataStorage = 0;
      gone.numRecords = 0;
      gone.lastModifiedMs = nowMs;
      TETHER_RETURN_IF_ERROR(txn->putDataset(loser, gone));
      report.datasets.push_back(MergedDataset{row.name, mergedName, merged.syncCount});
    }
    // Disabling the loser and moving its logins and devices commit with the moved data: a
    // crash leaves either no merge or all of it, and no later write can reach the loser
    // (SyncService checks identityDisabled inside each write transaction).
    TETHER_RETURN_IF_ERROR(txn->retireIdentity(poolId, loserId, winnerId));
    TETHER_RETURN_IF_ERROR(txn->commit());
    return report;
  });
}

}  // namespace tether::server
