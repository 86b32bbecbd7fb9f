// SyncService::updateRecords and its sync-trigger path (updateRecordsAsync); see sync_service.h
// and docs/events.md "Sync trigger" for the threading of a triggered write.
#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sync/sync_service.h"
#include "sync/sync_service_internal.h"
#include "sync/trigger_event.h"
#include "tether/limits.h"

namespace tether::server {

using namespace sync_detail;

namespace {

// Live records read per step when a triggered batch reads the whole dataset for the event.
constexpr int kEventScanChunk = 1024;

std::string writerOf(const Caller& caller, const proto::UpdateRecordsRequest& request) {
  return !request.deviceId.empty() ? request.deviceId : !caller.deviceId.empty() ? caller.deviceId : caller.identityId;
}

struct BatchCheck {
  std::optional<DatasetRow> row;
  std::vector<Record> stored;  // the stored rows (live or tombstone) of the batch's keys
  int64_t numRecords = 0;      // live records after the batch
  int64_t bytes = 0;           // their size after the batch
};

// Conditions, conflicts and limits of a batch, in a read or a write transaction: the device's
// picture of the dataset (conditional push), each patch's sync count, the dataset quota, and
// the dataset's records and bytes as the batch would leave them.
template <class Write>
Result<BatchCheck> checkBatch(StoreTransaction& txn, const Caller& caller, const proto::UpdateRecordsRequest& request,
                              const std::vector<Write>& writes, std::optional<int64_t> expectSyncCount) {
  const OwnerRef owner = ownerOf(caller);
  BatchCheck out;
  TETHER_TRY(out.row, txn.getDataset(owner, request.datasetName));
  const int64_t count = out.row ? out.row->syncCount : 0;
  if (request.ifDatasetSyncCount >= 0) {
    // The device's picture of the dataset must be current: no write, deletion or merge report
    // it has not pulled. Otherwise it pulls first (it may have records to apply or conflicts
    // to resolve), exactly as without the shortcut.
    if (count != request.ifDatasetSyncCount) {
      return Status::conflict("Dataset " + request.datasetName + " is at SyncCount " + std::to_string(count) +
                              ", not " + std::to_string(request.ifDatasetSyncCount) + "; pull first");
    }
    TETHER_TRY(std::vector<std::string> merged, txn.listMergedDatasets(owner, request.datasetName));
    if (!merged.empty())
      return Status::conflict("Dataset " + request.datasetName + " has merged datasets to report; pull first");
  }
  if (expectSyncCount && count != *expectSyncCount) {
    // Written (or deleted) by another request while the trigger ran: the trigger decided on a
    // dataset that no longer exists. The client pulls and pushes again, like any conflict.
    return Status::conflict("Dataset " + request.datasetName + " changed while its sync trigger ran (SyncCount " +
                            std::to_string(count) + ", the trigger saw " + std::to_string(*expectSyncCount) +
                            "); pull and retry");
  }
  std::vector<std::string> keys;
  keys.reserve(writes.size());
  for (const Write& w : writes) keys.push_back(w.key);
  TETHER_TRY(out.stored, txn.getRecords(owner, request.datasetName, keys));
  std::unordered_map<std::string_view, const Record*> byKey;
  for (const Record& r : out.stored) byKey.emplace(r.key, &r);
  auto stored = [&byKey](const std::string& key) -> const Record* {
    auto it = byKey.find(key);
    return it == byKey.end() ? nullptr : it->second;
  };

  // 1. Conflicts: every patch must carry the stored record's sync count (0 when none).
  for (const RecordPatch& p : request.patches) {
    const Record* cur = stored(p.key);
    const int64_t curCount = cur != nullptr ? cur->syncCount : 0;
    if (p.syncCount != curCount) {
      return Status::conflict("Current SyncCount for: " + p.key + " is: " + std::to_string(curCount) +
                              " not: " + std::to_string(p.syncCount));
    }
  }

  // 2. Limits, on the batch's result and before any write.
  const bool live = out.row && out.row->live;
  if (!live) {
    TETHER_TRY(int64_t liveDatasets, txn.countLiveDatasets(owner));
    if (liveDatasets >= kMaxDatasetsPerIdentity) {
      return Status::limitExceeded("an identity may have at most " + std::to_string(kMaxDatasetsPerIdentity) +
                                   " datasets");
    }
  }
  out.numRecords = live ? out.row->numRecords : 0;
  out.bytes = live ? out.row->dataStorage : 0;
  for (const Write& w : writes) {
    const Record* cur = stored(w.key);
    if (cur != nullptr && cur->value) {
      out.numRecords -= 1;
      out.bytes -= recordSize(cur->key, *cur->value);
    }
    if (w.value) {
      out.numRecords += 1;
      out.bytes += recordSize(w.key, *w.value);
    }
  }
  if (out.numRecords > kMaxRecordsPerDataset) {
    return Status::limitExceeded("a dataset may hold at most " + std::to_string(kMaxRecordsPerDataset) +
                                 " records; this call would make " + std::to_string(out.numRecords));
  }
  if (out.bytes > kMaxDatasetBytes) {
    return Status::limitExceeded("a dataset may hold at most " + std::to_string(kMaxDatasetBytes) +
                                 " bytes; this call would make " + std::to_string(out.bytes));
  }
  return out;
}

// A patch seen as a write (checkBatch works on either).
struct PatchWrite {
  const std::string& key;
  std::optional<std::string> value;
};

std::vector<PatchWrite> patchWrites(const std::vector<RecordPatch>& patches) {
  std::vector<PatchWrite> out;
  out.reserve(patches.size());
  for (const RecordPatch& p : patches)
    out.push_back(PatchWrite{p.key, p.op == PatchOp::kReplace ? std::optional<std::string>(p.value) : std::nullopt});
  return out;
}

}  // namespace

// Everything the second half of a triggered write needs, kept alive across the call.
struct SyncService::TriggeredBatch {
  Caller caller;
  proto::UpdateRecordsRequest request;
  UpdateDone done;
  int64_t now = 0;
  std::string functionArn;
  std::string event;
  int64_t seenSyncCount = 0;                     // the dataset's sync count the trigger saw
  std::map<std::string, std::string> liveBefore;  // the dataset's live records before the batch
};

Status SyncService::checkUpdateRequest(const Caller& caller, const proto::UpdateRecordsRequest& request,
                                       int64_t now) const {
  TETHER_RETURN_IF_ERROR(validateCaller(caller));
  TETHER_RETURN_IF_ERROR(validateDatasetName(request.datasetName));
  if (!request.deviceId.empty()) TETHER_RETURN_IF_ERROR(validateDeviceId(request.deviceId));
  const bool conditional = request.ifDatasetSyncCount >= 0;
  if (request.ifDatasetSyncCount < -1) return Status::invalidArgument("ifDatasetSyncCount must be -1 or a sync count");
  // A conditional push needs no token: its precondition (checked in the transaction) is
  // stronger than "pulled lately". A token it does carry must still be valid.
  if ((!conditional || !request.syncSessionToken.empty()) &&
      (request.syncSessionToken.empty() ||
       !tokens_.verify(request.syncSessionToken, caller.poolId, caller.identityId, request.datasetName, now).isOk())) {
    return Status::invalidArgument("SyncSessionToken not valid for these inputs");
  }
  return validatePatches(request.patches);
}

Result<proto::UpdateRecordsResponse> SyncService::updateRecords(const Caller& caller,
                                                               const proto::UpdateRecordsRequest& request) {
  const int64_t now = clock_.nowMs();
  TETHER_RETURN_IF_ERROR(checkUpdateRequest(caller, request, now));
  if (request.patches.empty()) return proto::UpdateRecordsResponse{};  // D unchanged
  std::vector<BatchWrite> writes;
  writes.reserve(request.patches.size());
  for (const RecordPatch& p : request.patches) {
    writes.push_back(BatchWrite{p.key, p.op == PatchOp::kReplace ? std::optional<std::string>(p.value) : std::nullopt,
                                p.deviceLastModifiedMs});
  }
  return writeBatch(caller, request, writes, std::nullopt, now);
}

Result<proto::UpdateRecordsResponse> SyncService::writeBatch(const Caller& caller,
                                                            const proto::UpdateRecordsRequest& request,
                                                            const std::vector<BatchWrite>& writes,
                                                            std::optional<int64_t> expectSyncCount, int64_t now) {
  const std::string writer = writerOf(caller, request);
  const OwnerRef owner = ownerOf(caller);
  // The check and the write in one transaction; run again if the database aborted it (a
  // deadlock between nodes on PostgreSQL): nothing of it was written.
  struct Applied {
    int64_t syncCount = 0;
    std::vector<Record> written;
  };
  TETHER_TRY(Applied applied, runWriteTransaction(store_, [&](StoreTransaction& txn) -> Result<Applied> {
    TETHER_RETURN_IF_ERROR(checkNotRetired(txn, caller));
    TETHER_TRY(BatchCheck check, checkBatch(txn, caller, request, writes, expectSyncCount));

    // 3. Apply: one new dataset sync count for the whole batch.
    const bool live = check.row && check.row->live;
    DatasetRow next = check.row ? *check.row : DatasetRow{};
    next.name = request.datasetName;
    if (!live) {
      next.live = true;
      next.creationMs = now;  // re-creation keeps syncCount and deletedAtSyncCount
    }
    next.syncCount += 1;
    next.lastModifiedMs = now;
    next.lastModifiedBy = writer;
    next.numRecords = check.numRecords;
    next.dataStorage = check.bytes;

    std::vector<Record> written;
    written.reserve(writes.size());
    for (const BatchWrite& w : writes) {
      Record r;
      r.key = w.key;
      r.value = w.value;
      r.syncCount = next.syncCount;
      r.lastModifiedMs = now;
      r.lastModifiedBy = writer;
      r.deviceLastModifiedMs = w.deviceLastModifiedMs;
      written.push_back(std::move(r));
    }
    TETHER_RETURN_IF_ERROR(txn.putDataset(owner, next));
    TETHER_RETURN_IF_ERROR(txn.putRecords(owner, request.datasetName, written));
    if (commitHook_) TETHER_RETURN_IF_ERROR(commitHook_->batchCommitting(txn, caller, next, written));
    TETHER_RETURN_IF_ERROR(txn.commit());
    return Applied{next.syncCount, std::move(written)};
  }));
  // Listeners see the writer's device as the request named it (Cognito's UpdateRecords DeviceId,
  // the native push's deviceId): mobile push skips that device (docs/events.md, "Mobile push").
  if (!request.deviceId.empty() && request.deviceId != caller.deviceId) {
    Caller writerCaller = caller;
    writerCaller.deviceId = request.deviceId;
    notifyChanged(writerCaller, request.datasetName, applied.syncCount, &applied.written);
  } else {
    notifyChanged(caller, request.datasetName, applied.syncCount, &applied.written);
  }
  proto::UpdateRecordsResponse out;
  // A triggered batch always answers with its records: the trigger may have changed them.
  if (!request.omitValues || expectSyncCount) out.records = std::move(applied.written);
  out.syncCount = applied.syncCount;
  out.lastModifiedMs = now;
  out.lastModifiedBy = writer;
  return out;
}

// ---- the sync trigger

Result<std::optional<std::string>> SyncService::syncTriggerOf(const std::string& poolId) {
  TETHER_TRY(std::optional<std::string> stored, store_.getMeta(cognitoEventsMetaKey(poolId)));
  if (!stored) return std::optional<std::string>();
  nlohmann::json events = nlohmann::json::parse(*stored, nullptr, false);
  if (events.is_discarded() || !events.is_object())
    return Status::corruption("stored Cognito events of pool " + poolId + " are not a JSON object");
  auto it = events.find("SyncTrigger");
  if (it == events.end() || !it->is_string() || it->get<std::string>().empty()) return std::optional<std::string>();
  return std::optional<std::string>(it->get<std::string>());
}

void SyncService::updateRecordsAsync(const Caller& caller, proto::UpdateRecordsRequest request, UpdateDone done) {
  if (trigger_ == nullptr || caller.developer) return done(updateRecords(caller, request));
  const int64_t now = clock_.nowMs();
  if (Status s = checkUpdateRequest(caller, request, now); !s.isOk()) return done(s);
  if (request.patches.empty()) return done(proto::UpdateRecordsResponse{});  // no batch, no trigger
  Result<std::optional<std::string>> arn = syncTriggerOf(caller.poolId);
  if (!arn.isOk()) return done(arn.status());
  if (!*arn) return done(updateRecords(caller, request));
  if (!trigger_->hasTarget(**arn)) {
    // Lambda fails a call to a function that does not exist; so does this write, loudly.
    spdlog::warn("pool {}: sync trigger {} has no [[sync_triggers]] entry; writes with identity credentials fail",
                 caller.poolId, **arn);
    return done(Status::triggerFailed("The sync trigger function " + **arn + " is not configured on this server."));
  }
  Result<std::shared_ptr<TriggeredBatch>> batch = prepareTriggered(caller, request, now);
  if (!batch.isOk()) return done(batch.status());
  (*batch)->request = std::move(request);
  (*batch)->done = std::move(done);
  (*batch)->functionArn = std::move(**arn);
  std::string event = (*batch)->event;
  trigger_->invoke((*batch)->functionArn, std::move(event), [this, b = *batch](Result<std::string> reply) {
    // On an invoker thread: hand the rest back to the identity's strand, never write here.
    std::string identity = b->caller.identityId;
    postToIdentity_(identity, [this, b, r = std::move(reply)]() mutable { finishTriggered(b, std::move(r)); });
  });
}

// Phase 1 (the identity's strand, a read transaction): the same checks as the write, on the
// patches alone, so a batch that cannot be written costs no call; then the event.
Result<std::shared_ptr<SyncService::TriggeredBatch>> SyncService::prepareTriggered(
    const Caller& caller, const proto::UpdateRecordsRequest& request, int64_t now) {
  auto batch = std::make_shared<TriggeredBatch>();
  batch->caller = caller;
  batch->now = now;
  const OwnerRef owner = ownerOf(caller);
  std::vector<Record> live;
  {
    TETHER_TRY(auto txn, store_.beginRead());
    TETHER_TRY(BatchCheck check, checkBatch(*txn, caller, request, patchWrites(request.patches), std::nullopt));
    batch->seenSyncCount = check.row ? check.row->syncCount : 0;
    if (check.row && check.row->live) {
      RecordQuery query;
      query.maxSyncCount = batch->seenSyncCount;
      query.limit = kEventScanChunk;
      while (true) {
        TETHER_TRY(std::vector<Record> page, txn->listRecords(owner, request.datasetName, query));
        for (Record& r : page)
          if (r.value) live.push_back(std::move(r));
        if (page.size() < static_cast<size_t>(kEventScanChunk)) break;
        query.after = RecordCursor{page.back().syncCount, page.back().key};
      }
    }
  }
  for (const Record& r : live) batch->liveBefore.emplace(r.key, *r.value);
  batch->event = buildTriggerEvent(
      TriggerEventInput{caller.poolId, caller.identityId, request.datasetName, &live, &request.patches});
  return batch;
}

// Phase 2 (the identity's strand again): the reply becomes the batch, checked and written in one
// write transaction that also re-checks the dataset is as the trigger saw it.
void SyncService::finishTriggered(const std::shared_ptr<TriggeredBatch>& b, Result<std::string> reply) {
  UpdateDone done = std::move(b->done);
  if (!reply.isOk()) return done(reply.status());
  Result<std::map<std::string, std::optional<std::string>>> changes = parseTriggerReply(*reply, b->event);
  if (!changes.isOk()) {
    trigger_->badReply();
    return done(changes.status());
  }

  // The dataset as the batch leaves it (before the trigger), then as the trigger leaves it.
  std::map<std::string, std::optional<std::string>> after(b->liveBefore.begin(), b->liveBefore.end());
  for (const RecordPatch& p : b->request.patches)
    after[p.key] = p.op == PatchOp::kReplace ? std::optional<std::string>(p.value) : std::nullopt;
  for (auto& [key, value] : *changes) after[key] = value;

  // Written: every patched key (as the trigger left it), and every key the trigger changed.
  std::vector<BatchWrite> writes;
  std::map<std::string_view, bool> patched;
  for (const RecordPatch& p : b->request.patches) {
    patched[p.key] = true;
    writes.push_back(BatchWrite{p.key, after[p.key], p.deviceLastModifiedMs});
  }
  for (auto& [key, value] : *changes) {
    if (patched.count(key) != 0) continue;
    auto was = b->liveBefore.find(key);
    std::optional<std::string> before =
        was == b->liveBefore.end() ? std::nullopt : std::optional<std::string>(was->second);
    if (before == value) continue;  // named but unchanged
    writes.push_back(BatchWrite{key, value, b->now});
  }
  for (const BatchWrite& w : writes) {
    Status s = validateRecordKey(w.key);
    if (s.isOk() && w.value) s = validateRecordValue(*w.value);
    if (!s.isOk()) {
      trigger_->badReply();
      return done(Status::triggerFailed("sync trigger reply: record " + w.key + ": " + s.message()));
    }
  }
  done(writeBatch(b->caller, b->request, writes, b->seenSyncCount, b->now));
}

}  // namespace tether::server
