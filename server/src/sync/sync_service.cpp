#include "sync/sync_service.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sync/page_token.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

// Rows fetched per step when DescribeIdentityUsage walks every dataset row.
constexpr int kUsageScanChunk = 256;

OwnerRef ownerOf(const Caller& caller) { return OwnerRef{caller.poolId, caller.identityId}; }

// A caller authenticated before its identity was merged away may still hold a valid token (up
// to its expiry); its writes are refused here, inside the write transaction, so none can land in
// the retired identity after the merge committed. The client keeps its unpushed edits.
Status checkNotRetired(StoreTransaction& txn, const Caller& caller) {
  TETHER_TRY(bool disabled, txn.identityDisabled(caller.identityId));
  if (disabled)
    return Status::unauthenticated("Identity " + caller.identityId +
                                   " is disabled (merged into another identity)");
  return Status::ok();
}

Status validateCaller(const Caller& caller) {
  TETHER_RETURN_IF_ERROR(validatePoolId(caller.poolId));
  TETHER_RETURN_IF_ERROR(validateIdentityId(caller.identityId));
  if (!caller.deviceId.empty()) TETHER_RETURN_IF_ERROR(validateDeviceId(caller.deviceId));
  return Status::ok();
}

Status withPrefix(const std::string& prefix, const Status& s) {
  return Status(s.code(), prefix + s.message());
}

Status validatePatches(const std::vector<RecordPatch>& patches) {
  if (patches.size() > static_cast<size_t>(kMaxPatchesPerBatch)) {
    return Status::invalidArgument("at most " + std::to_string(kMaxPatchesPerBatch) +
                                   " record patches per call, got " +
                                   std::to_string(patches.size()));
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(patches.size());
  for (size_t i = 0; i < patches.size(); ++i) {
    const RecordPatch& p = patches[i];
    const std::string where = "RecordPatches[" + std::to_string(i) + "]: ";
    if (p.op != PatchOp::kReplace && p.op != PatchOp::kRemove)
      return Status::invalidArgument(where + "Op must be replace or remove");
    if (Status s = validateRecordKey(p.key); !s.isOk()) return withPrefix(where, s);
    if (p.op == PatchOp::kReplace) {
      if (Status s = validateRecordValue(p.value); !s.isOk()) return withPrefix(where, s);
    }
    if (p.syncCount < 0)
      return Status::invalidArgument(where + "SyncCount must not be negative");
    if (!seen.insert(p.key).second)
      return Status::invalidArgument(where + "duplicate key in one call: " + p.key);
  }
  return Status::ok();
}

// Page size from a request's maxResults: 0 = default, above the maximum = the maximum.
int pageSize(uint32_t requested, uint32_t fallback, uint32_t maximum) {
  return static_cast<int>(requested == 0 ? fallback : std::min(requested, maximum));
}

}  // namespace

SyncService::SyncService(Store& store, const SessionTokens& tokens, const Clock& clock)
    : store_(store), tokens_(tokens), clock_(clock) {}

Result<proto::ListDatasetsResponse> SyncService::listDatasets(
    const Caller& caller, const proto::ListDatasetsRequest& request) {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  const OwnerRef owner = ownerOf(caller);
  std::string after;
  if (!request.nextToken.empty()) {
    TETHER_TRY(after, decodeDatasetsPageToken(owner, request.nextToken));
  }
  const int limit = pageSize(request.maxResults, kDefaultDatasetsPageSize, kMaxDatasetsPageSize);

  TETHER_TRY(auto txn, store_.beginRead());
  // One extra row tells whether another page exists.
  TETHER_TRY(std::vector<DatasetRow> rows,
             txn->listDatasets(owner, DatasetFilter::kLiveOnly, after, limit + 1));
  proto::ListDatasetsResponse out;
  if (rows.size() > static_cast<size_t>(limit)) {
    rows.resize(static_cast<size_t>(limit));
    out.nextToken = encodeDatasetsPageToken(owner, rows.back().name);
  }
  out.datasets.reserve(rows.size());
  for (const DatasetRow& row : rows) out.datasets.push_back(row.metadata());
  return out;
}

Result<proto::DescribeDatasetResponse> SyncService::describeDataset(
    const Caller& caller, const proto::DescribeDatasetRequest& request) {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  TETHER_RETURN_IF_ERROR(validateDatasetName(request.datasetName));
  TETHER_TRY(auto txn, store_.beginRead());
  TETHER_TRY(std::optional<DatasetRow> row, txn->getDataset(ownerOf(caller), request.datasetName));
  if (!row || !row->live) return Status::notFound("Dataset " + request.datasetName + " not found");
  return proto::DescribeDatasetResponse{row->metadata()};
}

Result<proto::ListRecordsResponse> SyncService::listRecords(
    const Caller& caller, const proto::ListRecordsRequest& request) {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  TETHER_RETURN_IF_ERROR(validateDatasetName(request.datasetName));
  if (request.lastSyncCount < 0)
    return Status::invalidArgument("lastSyncCount must not be negative");
  const OwnerRef owner = ownerOf(caller);
  std::optional<RecordsPageToken> page;
  if (!request.nextToken.empty()) {
    TETHER_TRY(RecordsPageToken t,
               decodeRecordsPageToken(owner, request.datasetName, request.nextToken));
    if (t.lastSyncCount != request.lastSyncCount)
      return Status::invalidArgument("nextToken not valid for these inputs");
    page = std::move(t);
  }
  const int limit = pageSize(request.maxResults, kDefaultRecordsPageSize, kMaxRecordsPageSize);

  TETHER_TRY(auto txn, store_.beginRead());
  TETHER_TRY(std::optional<DatasetRow> row, txn->getDataset(owner, request.datasetName));
  TETHER_TRY(std::vector<std::string> merged,
             txn->listMergedDatasets(owner, request.datasetName));

  // Page 1 pins the dataset sync count; later pages stay at or below it, so records written
  // meanwhile neither shift the cursor nor get half-reported: the client's next pull (from the
  // pinned count) gets them.
  const int64_t pinned = page ? page->pinnedSyncCount : (row ? row->syncCount : 0);
  RecordQuery query;
  query.afterSyncCount = request.lastSyncCount;
  query.maxSyncCount = pinned;
  if (page) query.after = page->cursor;
  query.limit = limit + 1;
  TETHER_TRY(std::vector<Record> records, txn->listRecords(owner, request.datasetName, query));
  txn.reset();  // done reading: hand the connection back before minting the token

  proto::ListRecordsResponse out;
  if (records.size() > static_cast<size_t>(limit)) {
    records.resize(static_cast<size_t>(limit));
    RecordsPageToken next{request.lastSyncCount, pinned,
                          RecordCursor{records.back().syncCount, records.back().key}};
    out.nextToken = encodeRecordsPageToken(owner, request.datasetName, next);
  }
  out.records = std::move(records);
  out.datasetSyncCount = pinned;
  out.lastModifiedBy = row ? row->lastModifiedBy : std::string();
  out.mergedDatasetNames = std::move(merged);
  out.datasetExists = row && row->live;
  out.datasetDeletedAfterRequestedSyncCount = request.lastSyncCount > 0 && row &&
                                              row->deletedAtSyncCount &&
                                              *row->deletedAtSyncCount > request.lastSyncCount;
  out.syncSessionToken =
      tokens_.issue(caller.poolId, caller.identityId, request.datasetName, clock_.nowMs());
  return out;
}

Result<proto::UpdateRecordsResponse> SyncService::updateRecords(
    const Caller& caller, const proto::UpdateRecordsRequest& request) {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  TETHER_RETURN_IF_ERROR(validateDatasetName(request.datasetName));
  if (!request.deviceId.empty()) TETHER_RETURN_IF_ERROR(validateDeviceId(request.deviceId));
  const int64_t now = clock_.nowMs();
  const bool conditional = request.ifDatasetSyncCount >= 0;
  if (request.ifDatasetSyncCount < -1)
    return Status::invalidArgument("ifDatasetSyncCount must be -1 or a sync count");
  // A conditional push needs no token: its precondition (checked below, in the transaction) is
  // stronger than "pulled lately". A token it does carry must still be valid.
  if ((!conditional || !request.syncSessionToken.empty()) &&
      (request.syncSessionToken.empty() ||
       !tokens_.verify(request.syncSessionToken, caller.poolId, caller.identityId,
                       request.datasetName, now).isOk())) {
    return Status::invalidArgument("SyncSessionToken not valid for these inputs");
  }
  TETHER_RETURN_IF_ERROR(validatePatches(request.patches));
  if (request.patches.empty()) return proto::UpdateRecordsResponse{};  // D unchanged

  const std::string& writer = !request.deviceId.empty() ? request.deviceId
                              : !caller.deviceId.empty() ? caller.deviceId
                                                         : caller.identityId;
  const OwnerRef owner = ownerOf(caller);
  std::vector<std::string> keys;
  keys.reserve(request.patches.size());
  for (const RecordPatch& p : request.patches) keys.push_back(p.key);

  // The check and the write in one transaction; run again if the database aborted it (a
  // deadlock between nodes on PostgreSQL): nothing of it was written.
  struct Applied {
    int64_t syncCount = 0;
    std::vector<Record> written;
  };
  TETHER_TRY(Applied applied, runWriteTransaction(store_, [&](StoreTransaction& tx) -> Result<Applied> {
    StoreTransaction* txn = &tx;
    TETHER_RETURN_IF_ERROR(checkNotRetired(*txn, caller));
    TETHER_TRY(std::optional<DatasetRow> row, txn->getDataset(owner, request.datasetName));
    if (conditional) {
      // The device's picture of the dataset must be current: no write, deletion or merge report
      // it has not pulled. Otherwise it pulls first (it may have records to apply or conflicts
      // to resolve), exactly as without the shortcut.
      const int64_t count = row ? row->syncCount : 0;
      if (count != request.ifDatasetSyncCount) {
        return Status::conflict("Dataset " + request.datasetName + " is at SyncCount " +
                                std::to_string(count) + ", not " +
                                std::to_string(request.ifDatasetSyncCount) + "; pull first");
      }
      TETHER_TRY(std::vector<std::string> merged, txn->listMergedDatasets(owner, request.datasetName));
      if (!merged.empty())
        return Status::conflict("Dataset " + request.datasetName + " has merged datasets to report; pull first");
    }
    TETHER_TRY(std::vector<Record> current, txn->getRecords(owner, request.datasetName, keys));
    std::unordered_map<std::string_view, const Record*> byKey;
    for (const Record& r : current) byKey.emplace(r.key, &r);
    auto stored = [&byKey](const std::string& key) -> const Record* {
      auto it = byKey.find(key);
      return it == byKey.end() ? nullptr : it->second;
    };

    // 1. Conflicts: every patch must carry the stored record's sync count (0 when none).
    for (const RecordPatch& p : request.patches) {
      const Record* cur = stored(p.key);
      const int64_t curCount = cur != nullptr ? cur->syncCount : 0;
      if (p.syncCount != curCount) {
        return Status::conflict("Current SyncCount for: " + p.key + " is: " +
                                std::to_string(curCount) + " not: " + std::to_string(p.syncCount));
      }
    }

    // 2. Limits, on the batch's result and before any write.
    const bool live = row && row->live;
    if (!live) {
      TETHER_TRY(int64_t liveDatasets, txn->countLiveDatasets(owner));
      if (liveDatasets >= kMaxDatasetsPerIdentity) {
        return Status::limitExceeded("an identity may have at most " +
                                     std::to_string(kMaxDatasetsPerIdentity) + " datasets");
      }
    }
    int64_t numRecords = live ? row->numRecords : 0;
    int64_t bytes = live ? row->dataStorage : 0;
    for (const RecordPatch& p : request.patches) {
      const Record* cur = stored(p.key);
      if (cur != nullptr && cur->value) {
        numRecords -= 1;
        bytes -= recordSize(cur->key, *cur->value);
      }
      if (p.op == PatchOp::kReplace) {
        numRecords += 1;
        bytes += recordSize(p.key, p.value);
      }
    }
    if (numRecords > kMaxRecordsPerDataset) {
      return Status::limitExceeded("a dataset may hold at most " +
                                   std::to_string(kMaxRecordsPerDataset) + " records; this call " +
                                   "would make " + std::to_string(numRecords));
    }
    if (bytes > kMaxDatasetBytes) {
      return Status::limitExceeded("a dataset may hold at most " + std::to_string(kMaxDatasetBytes) +
                                   " bytes; this call would make " + std::to_string(bytes));
    }

    // 3. Apply: one new dataset sync count for the whole batch.
    DatasetRow next = row ? *row : DatasetRow{};
    next.name = request.datasetName;
    if (!live) {
      next.live = true;
      next.creationMs = now;  // re-creation keeps syncCount and deletedAtSyncCount
    }
    next.syncCount += 1;
    next.lastModifiedMs = now;
    next.lastModifiedBy = writer;
    next.numRecords = numRecords;
    next.dataStorage = bytes;

    std::vector<Record> written;
    written.reserve(request.patches.size());
    for (const RecordPatch& p : request.patches) {
      Record r;
      r.key = p.key;
      if (p.op == PatchOp::kReplace) r.value = p.value;
      r.syncCount = next.syncCount;
      r.lastModifiedMs = now;
      r.lastModifiedBy = writer;
      r.deviceLastModifiedMs = p.deviceLastModifiedMs;
      written.push_back(std::move(r));
    }
    TETHER_RETURN_IF_ERROR(txn->putDataset(owner, next));
    TETHER_RETURN_IF_ERROR(txn->putRecords(owner, request.datasetName, written));
    if (commitHook_) TETHER_RETURN_IF_ERROR(commitHook_->batchCommitting(*txn, caller, next, written));
    TETHER_RETURN_IF_ERROR(txn->commit());
    return Applied{next.syncCount, std::move(written)};
  }));
  std::vector<Record>& written = applied.written;
  // Listeners see the writer's device as the request named it (Cognito's UpdateRecords DeviceId,
  // the native push's deviceId): mobile push skips that device (docs/events.md, "Mobile push").
  if (!request.deviceId.empty() && request.deviceId != caller.deviceId) {
    Caller writerCaller = caller;
    writerCaller.deviceId = request.deviceId;
    notifyChanged(writerCaller, request.datasetName, applied.syncCount, &written);
  } else {
    notifyChanged(caller, request.datasetName, applied.syncCount, &written);
  }
  proto::UpdateRecordsResponse out;
  if (!request.omitValues) out.records = std::move(written);
  out.syncCount = applied.syncCount;
  out.lastModifiedMs = now;
  out.lastModifiedBy = writer;
  return out;
}

Result<proto::DeleteDatasetResponse> SyncService::deleteDataset(
    const Caller& caller, const proto::DeleteDatasetRequest& request) {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  TETHER_RETURN_IF_ERROR(validateDatasetName(request.datasetName));
  const OwnerRef owner = ownerOf(caller);
  using Deleted = std::pair<proto::DeleteDatasetResponse, int64_t>;  // response, new sync count
  TETHER_TRY(Deleted deleted, runWriteTransaction(store_, [&](StoreTransaction& tx) -> Result<Deleted> {
    StoreTransaction* txn = &tx;
    TETHER_RETURN_IF_ERROR(checkNotRetired(*txn, caller));
    TETHER_TRY(std::optional<DatasetRow> row, txn->getDataset(owner, request.datasetName));
    if (!row || !row->live) return Status::notFound("Dataset " + request.datasetName + " not found");

    proto::DeleteDatasetResponse out{row->metadata()};
    DatasetRow next = *row;
    next.live = false;
    next.syncCount += 1;  // the deletion consumes a count: D stays monotonic across re-creation
    next.deletedAtSyncCount = next.syncCount;
    next.lastModifiedMs = clock_.nowMs();
    next.lastModifiedBy = !caller.deviceId.empty() ? caller.deviceId : caller.identityId;
    next.numRecords = 0;
    next.dataStorage = 0;
    TETHER_RETURN_IF_ERROR(txn->deleteRecords(owner, request.datasetName));
    // "Datasets that this dataset was merged with will no longer report the merge."
    TETHER_RETURN_IF_ERROR(txn->removeMergedDataset(owner, request.datasetName));
    TETHER_RETURN_IF_ERROR(txn->putDataset(owner, next));
    if (commitHook_) TETHER_RETURN_IF_ERROR(commitHook_->deletionCommitting(*txn, caller, next));
    TETHER_RETURN_IF_ERROR(txn->commit());
    return std::make_pair(std::move(out), next.syncCount);
  }));
  notifyChanged(caller, request.datasetName, deleted.second, nullptr);
  return std::move(deleted.first);
}

void SyncService::notifyChanged(const Caller& caller, std::string_view dataset, int64_t syncCount,
                                const std::vector<Record>* batch) {
  for (ChangeListener* l : listeners_) l->datasetChanged(caller, dataset, syncCount, batch);
}

Result<proto::DescribeIdentityUsageResponse> SyncService::describeIdentityUsage(
    const Caller& caller) {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  const OwnerRef owner = ownerOf(caller);
  proto::DescribeIdentityUsageResponse out;
  out.identityId = caller.identityId;
  out.identityPoolId = caller.poolId;
  TETHER_TRY(auto txn, store_.beginRead());
  // Deleted rows count for lastModified (a deletion is a change) but not for the totals.
  std::string after;
  while (true) {
    TETHER_TRY(std::vector<DatasetRow> rows,
               txn->listDatasets(owner, DatasetFilter::kAll, after, kUsageScanChunk));
    for (const DatasetRow& row : rows) {
      out.lastModifiedMs = std::max(out.lastModifiedMs, row.lastModifiedMs);
      if (!row.live) continue;
      out.datasetCount += 1;
      out.dataStorage += row.dataStorage;
    }
    if (rows.size() < static_cast<size_t>(kUsageScanChunk)) break;
    after = rows.back().name;
  }
  return out;
}

}  // namespace tether::server
