#include "sync/sync_engine.h"

#include <algorithm>
#include <optional>
#include <set>

#include "tether/limits.h"

namespace tether::client {

struct SyncEngine::Run {
  std::shared_ptr<Dataset> dataset;
  std::string name;
  SyncCallbacks callbacks;
  std::string identity;
  uint64_t identityEpoch = 0;              // SyncEngine::identityEpoch_ when it started
  int retriesLeft = 0;
  int64_t lastSyncCount = 0;               // N of the current pass
  proto::ListRecordsResponse pulled;       // dataset-level fields of the last page
  std::map<std::string, Record> pulledRecords;  // all pages of this pass, by key
  std::set<std::string> mergedNames;
  std::vector<Record> updated;             // applied from the server, all passes
  int pages = 0;
  std::optional<proto::DatasetChanged> change;  // a notification's batch, used at most once
  bool conditional = false;  // this pass pushes without pulling first (ifDatasetSyncCount)
  bool pullFirst = false;    // a conditional push was refused: pull before pushing from now on
};

namespace {

constexpr int kMaxPagesPerPull = 4096;  // a server handing out endless pages is broken

Status stopped(const char* by) {
  return Status::cancelled(std::string("sync stopped by ") + by + " callback");
}

}  // namespace

SyncEngine::SyncEngine(LocalStore& store, Remote& remote, Executor& executor, std::string deviceId,
                       SyncEngineOptions options)
    : store_(store), remote_(remote), executor_(executor), deviceId_(std::move(deviceId)),
      options_(options) {}

Status SyncEngine::synchronize(std::shared_ptr<Dataset> dataset, SyncCallbacks callbacks) {
  return synchronize(std::move(dataset), std::move(callbacks), proto::DatasetChanged{});
}

Status SyncEngine::synchronize(std::shared_ptr<Dataset> dataset, SyncCallbacks callbacks,
                               proto::DatasetChanged change) {
  auto run = std::make_shared<Run>();
  run->name = dataset->name();
  run->dataset = std::move(dataset);
  run->callbacks = std::move(callbacks);
  run->retriesLeft = options_.maxRetries;
  if (change.hasRecords) run->change = std::move(change);
  if (!executor_.post([this, run] { enqueueOnLoop(run); }))
    return Status::cancelled("client is closed");
  return Status::ok();
}

Status SyncEngine::ensureIdentity(std::function<void(Result<std::string>)> done) {
  if (!executor_.post([this, done = std::move(done)]() mutable { ensureIdentityOnLoop(std::move(done)); }))
    return Status::cancelled("client is closed");
  return Status::ok();
}

Status SyncEngine::refreshDatasetMetadata(std::function<void(Status)> done) {
  auto start = [this, done = std::move(done)]() mutable {
    ensureIdentityOnLoop([this, done = std::move(done)](Result<std::string> id) mutable {
      if (!id.isOk()) return done(id.status());
      listDatasetsPageOnLoop(*id, "", std::make_shared<std::vector<DatasetMetadata>>(),
                             std::move(done));
    });
  };
  if (!executor_.post(std::move(start))) return Status::cancelled("client is closed");
  return Status::ok();
}

void SyncEngine::cancelAfterShutdown() {
  const Status cancelled = Status::cancelled("client is closed");
  auto waiters = std::move(identityWaiters_);
  identityWaiters_.clear();
  identityInFlight_ = false;
  for (auto& w : waiters) w(cancelled);  // ends runs waiting for an identity
  while (!queues_.empty()) {
    auto it = queues_.begin();
    if (it->second.empty()) {
      queues_.erase(it);
      continue;
    }
    // Pops the front and, the executor being stopped, cancels the rest of that queue too.
    finishOnLoop(it->second.front(), cancelled);
  }
}

void SyncEngine::listDatasetsPageOnLoop(std::string identity, std::string nextToken,
                                        std::shared_ptr<std::vector<DatasetMetadata>> acc,
                                        std::function<void(Status)> done) {
  proto::ListDatasetsRequest req;
  req.maxResults = 64;
  req.nextToken = std::move(nextToken);
  remote_.listDatasets(std::move(req), [this, identity, acc, done = std::move(done)](
                                           Result<proto::ListDatasetsResponse> r) mutable {
    if (!r.isOk()) return done(r.status());
    for (DatasetMetadata& m : r->datasets) acc->push_back(std::move(m));
    if (!r->nextToken.empty() && acc->size() < 10000)
      return listDatasetsPageOnLoop(identity, r->nextToken, acc, std::move(done));
    done(store_.updateDatasetMetadata(identity, *acc));
  });
}

void SyncEngine::ensureIdentityOnLoop(std::function<void(Result<std::string>)> done) {
  identityWaiters_.push_back(std::move(done));
  if (identityInFlight_) return;  // one GetId at a time: two would mint two identities
  identityInFlight_ = true;
  Result<std::string> cached = store_.identityId();
  if (!cached.isOk()) return finishIdentityOnLoop(cached.status());
  authenticateOnLoop(*cached, logins_ ? logins_->generation() : 0, false);
}

void SyncEngine::finishIdentityOnLoop(Result<std::string> r) {
  identityInFlight_ = false;
  auto waiters = std::move(identityWaiters_);
  identityWaiters_.clear();
  for (auto& w : waiters) w(r);
}

void SyncEngine::authenticateOnLoop(std::string old, uint64_t generation, bool refreshLogins) {
  // One attempt asks for the logins once: GetId and GetToken present the same ones.
  auto asked = std::make_shared<std::optional<Result<std::vector<Login>>>>();
  Remote::LoginsFn loginsFn;
  if (logins_) {
    loginsFn = [this, asked, refreshLogins]() -> Result<std::vector<Login>> {
      if (!*asked) *asked = logins_->current(refreshLogins);
      return **asked;
    };
  }
  // Logins changed since the held token was obtained: it must not be reused.
  bool renew = refreshLogins || !authedOnce_ || generation != authedGeneration_;
  remote_.authenticate(
      old == kUnknownIdentity ? std::string() : old, std::move(loginsFn), renew,
      [this, old, generation, refreshLogins, asked](Result<std::string> r) {
        if (!r.isOk()) {
          bool presented = *asked && (*asked)->isOk() && !(**asked)->empty();
          // Most often an expired ID token: ask the provider for fresh ones, once.
          if (r.status().code() == StatusCode::kUnauthenticated && presented && !refreshLogins)
            return authenticateOnLoop(old, generation, true);
          return finishIdentityOnLoop(r.status());
        }
        authedOnce_ = true;
        authedGeneration_ = generation;
        if (*r != old) {
          // First identity (re-parent "unknown" rows), or the server merged us into another.
          Status s = store_.changeIdentity(old, *r);
          if (!s.isOk()) return finishIdentityOnLoop(s);
          ++identityEpoch_;
          if (identityChanged_) identityChanged_(old, *r);
        }
        finishIdentityOnLoop(std::move(r));
      });
}

bool SyncEngine::identityStillCurrentOnLoop(const RunPtr& run) {
  if (run->identityEpoch == identityEpoch_) return true;
  // Its pulled state and session token belong to the old identity: start over (retryable).
  finishOnLoop(run, Status::unavailable("the identity changed during the sync; synchronize again"));
  return false;
}

void SyncEngine::enqueueOnLoop(RunPtr run) {
  auto& q = queues_[run->name];
  q.push_back(run);
  if (q.size() == 1) startOnLoop(run);  // otherwise it starts when the one ahead finishes
}

void SyncEngine::startOnLoop(RunPtr run) {
  ensureIdentityOnLoop([this, run](Result<std::string> id) {
    if (!id.isOk()) return finishOnLoop(run, id.status());
    run->identity = *id;
    run->identityEpoch = identityEpoch_;
    Result<std::vector<std::string>> merged = store_.localMergedDatasets(run->identity, run->name);
    if (!merged.isOk()) return finishOnLoop(run, merged.status());
    if (!merged->empty() && run->callbacks.onDatasetsMerged &&
        run->callbacks.onDatasetsMerged(*run->dataset, *merged) == SyncAction::kStop)
      return finishOnLoop(run, stopped("onDatasetsMerged"));
    passOnLoop(run);
  });
}

void SyncEngine::passOnLoop(RunPtr run) {
  if (run->retriesLeft < 0)
    return finishOnLoop(run, Status::conflict("synchronize failed: still conflicting after " +
                                              std::to_string(options_.maxRetries) + " retries"));
  Result<int64_t> n = store_.lastSyncCount(run->identity, run->name);
  if (!n.isOk()) return finishOnLoop(run, n.status());
  run->lastSyncCount = *n;
  if (*n == kPendingDeleteSyncCount) {
    proto::DeleteDatasetRequest req;
    req.datasetName = run->name;
    remote_.deleteDataset(std::move(req), [this, run](Result<proto::DeleteDatasetResponse> r) {
      // NotFound: the dataset only ever existed here. Either way it is gone on the server.
      if (!r.isOk() && r.status().code() != StatusCode::kNotFound)
        return finishOnLoop(run, r.status());
      Result<bool> more = store_.finishRemoteDelete(run->identity, run->name);
      if (!more.isOk()) return finishOnLoop(run, more.status());
      if (*more) return passOnLoop(run);  // records written after the delete: a new dataset
      finishOnLoop(run, Status::ok());
    });
    return;
  }
  run->pulledRecords.clear();
  run->mergedNames.clear();
  run->pages = 0;
  run->conditional = false;
  if (run->change) {
    proto::DatasetChanged change = std::move(*run->change);
    run->change.reset();
    // Exactly one batch behind: the notification holds everything the pull would return.
    // (Its own push, if any, is then conditional on that count: there is no session token.)
    // (syncCount > 0 first: a server's nonsense count must not overflow the subtraction.)
    if (change.syncCount > 0 && *n == change.syncCount - 1 && remote_.conditionalPush() &&
        std::all_of(change.records.begin(), change.records.end(),
                    [](const Record& r) { return validateRecordKey(r.key).isOk(); })) {
      run->pulled = proto::ListRecordsResponse{};
      run->pulled.datasetSyncCount = change.syncCount;
      run->pulled.datasetExists = true;
      for (Record& r : change.records) {
        std::string key = r.key;
        run->pulledRecords[key] = std::move(r);
      }
      run->conditional = true;
      return afterPullOnLoop(run);
    }
  }
  if (!run->pullFirst && remote_.conditionalPush()) {
    // Push first, on the condition that the server is still at our last synced count: when
    // no other device wrote meanwhile (the common case) the sync is one round trip. If it did,
    // the server refuses and writes nothing, and this sync pulls first as usual.
    Result<std::vector<LocalRecord>> dirty = store_.dirtyRecords(run->identity, run->name);
    if (!dirty.isOk()) return finishOnLoop(run, dirty.status());
    if (!dirty->empty()) {
      run->conditional = true;
      run->pulled = proto::ListRecordsResponse{};
      run->pulled.datasetSyncCount = run->lastSyncCount;
      return pushRecordsOnLoop(run, std::move(*dirty));
    }
  }
  pullPageOnLoop(run, "");
}

void SyncEngine::pullPageOnLoop(RunPtr run, std::string nextToken) {
  proto::ListRecordsRequest req;
  req.datasetName = run->name;
  req.lastSyncCount = run->lastSyncCount;
  req.maxResults = options_.pullPageSize;
  req.nextToken = std::move(nextToken);
  remote_.listRecords(std::move(req), [this, run](Result<proto::ListRecordsResponse> r) {
    if (!r.isOk()) return finishOnLoop(run, r.status());
    if (r->datasetSyncCount < 0)
      return finishOnLoop(run, Status::protocolError("negative dataset sync count"));
    for (Record& rec : r->records) {
      if (!validateRecordKey(rec.key).isOk())
        return finishOnLoop(run, Status::protocolError("server sent an invalid record key"));
      std::string key = rec.key;
      run->pulledRecords[key] = std::move(rec);
    }
    for (std::string& m : r->mergedDatasetNames) run->mergedNames.insert(std::move(m));
    r->records.clear();
    r->mergedDatasetNames.clear();
    std::string next = r->nextToken;
    run->pulled = std::move(*r);
    if (!next.empty()) {
      if (++run->pages >= kMaxPagesPerPull)
        return finishOnLoop(run, Status::protocolError("too many pages in one pull"));
      return pullPageOnLoop(run, std::move(next));
    }
    afterPullOnLoop(run);
  });
}

void SyncEngine::afterPullOnLoop(RunPtr run) {
  if (!identityStillCurrentOnLoop(run)) return;
  const proto::ListRecordsResponse& u = run->pulled;
  Dataset& ds = *run->dataset;
  if (!run->mergedNames.empty()) {
    std::vector<std::string> names(run->mergedNames.begin(), run->mergedNames.end());
    if (run->callbacks.onDatasetsMerged &&
        run->callbacks.onDatasetsMerged(ds, names) == SyncAction::kStop)
      return finishOnLoop(run, stopped("onDatasetsMerged"));
  }
  if ((run->lastSyncCount != 0 && !u.datasetExists) || u.datasetDeletedAfterRequestedSyncCount) {
    if (run->callbacks.onDatasetDeleted &&
        run->callbacks.onDatasetDeleted(ds, run->name) == SyncAction::kStop)
      return finishOnLoop(run, stopped("onDatasetDeleted"));
    // Synced records go; edits not yet pushed stay and re-create the dataset (an edit is never
    // dropped silently).
    std::vector<std::string> dropped;
    if (applied_) {
      Result<std::vector<LocalRecord>> before = store_.records(run->identity, run->name);
      if (!before.isOk()) return finishOnLoop(run, before.status());
      for (const LocalRecord& lr : *before)
        if (!lr.dirty && lr.record.value) dropped.push_back(lr.record.key);
    }
    Result<bool> more = store_.acceptRemoteDelete(run->identity, run->name);
    if (!more.isOk()) return finishOnLoop(run, more.status());
    if (applied_ && !dropped.empty()) applied_(run->name, dropped);
    if (*more) {
      --run->retriesLeft;  // bounds a delete/re-create ping-pong with another device
      return passOnLoop(run);
    }
    return finishOnLoop(run, Status::ok());
  }

  // Conflict detection: a dirty local row with a different value and a different sync count.
  std::vector<Record> apply;
  std::vector<SyncConflict> conflicts;
  std::map<std::string, LocalRecord> conflictFrom;
  std::vector<std::string> changedKeys;  // local value differs from what we apply
  Result<std::map<std::string, LocalRecord>> localRows = [&] {
    std::vector<std::string> keys;
    keys.reserve(run->pulledRecords.size());
    for (const auto& [key, remote] : run->pulledRecords) keys.push_back(key);
    return store_.getRecords(run->identity, run->name, keys);  // one lock for the whole page
  }();
  if (!localRows.isOk()) return finishOnLoop(run, localRows.status());
  apply.reserve(run->pulledRecords.size());
  for (auto& [key, remote] : run->pulledRecords) {
    auto found = localRows->find(key);
    const LocalRecord* local = found == localRows->end() ? nullptr : &found->second;
    if (local && local->dirty && local->record.value != remote.value) {
      if (local->record.syncCount == remote.syncCount) continue;  // our edit is based on it
      conflicts.emplace_back(remote, local->record);
      conflictFrom[key] = *local;
      continue;
    }
    if (local ? local->record.value != remote.value : remote.value.has_value())
      changedKeys.push_back(key);
    apply.push_back(std::move(remote));  // pulledRecords is not read after this
  }

  std::vector<ResolvedWrite> resolved;
  if (!conflicts.empty()) {
    if (run->callbacks.onConflict) {
      if (run->callbacks.onConflict(ds, conflicts) == SyncAction::kStop)
        return finishOnLoop(run, stopped("onConflict"));
    }
    for (const SyncConflict& c : conflicts) {
      if (!c.isResolved()) {
        // The handler may have resolved it through Dataset::resolve (Android style): the row
        // then carries the remote sync count already.
        Result<std::optional<LocalRecord>> now = store_.getRecord(run->identity, run->name, c.key());
        if (!now.isOk()) return finishOnLoop(run, now.status());
        if (*now && (*now)->record.syncCount == c.remote().syncCount) continue;
      }
      ResolvedWrite w;
      w.record = c.resolvedRecord();
      w.dirty = c.resolvedNeedsPush();
      if (!w.dirty) run->updated.push_back(w.record);
      if (w.record.value != c.local().value) changedKeys.push_back(c.key());
      resolved.push_back(std::move(w));
    }
  }
  Status s = store_.applyPulled(run->identity, run->name, apply, resolved, conflictFrom,
                                u.datasetSyncCount);
  if (!s.isOk()) return finishOnLoop(run, s);
  for (Record& r : apply) run->updated.push_back(std::move(r));
  if (applied_ && !changedKeys.empty()) {
    std::sort(changedKeys.begin(), changedKeys.end());
    applied_(run->name, changedKeys);
  }
  pushOnLoop(run);
}

void SyncEngine::pushOnLoop(RunPtr run) {
  if (!identityStillCurrentOnLoop(run)) return;
  Result<std::vector<LocalRecord>> dirty = store_.dirtyRecords(run->identity, run->name);
  if (!dirty.isOk()) return finishOnLoop(run, dirty.status());
  if (dirty->empty()) return finishOnLoop(run, Status::ok());
  pushRecordsOnLoop(std::move(run), std::move(*dirty));
}

void SyncEngine::pushRecordsOnLoop(RunPtr run, std::vector<LocalRecord> dirty) {
  if (dirty.size() > static_cast<size_t>(kMaxPatchesPerBatch)) dirty.resize(kMaxPatchesPerBatch);

  proto::UpdateRecordsRequest req;
  req.datasetName = run->name;
  req.deviceId = deviceId_;
  if (run->conditional) req.ifDatasetSyncCount = run->pulled.datasetSyncCount;
  else req.syncSessionToken = run->pulled.syncSessionToken;
  // The server stores what we send or nothing: its echo of our values would only cost time.
  const bool omitValues = remote_.conditionalPush();
  req.omitValues = omitValues;
  auto snapshot = std::make_shared<std::map<std::string, LocalRecord>>();
  int64_t maxPatch = 0;
  for (const LocalRecord& lr : dirty) {
    RecordPatch p;
    p.op = lr.record.value ? PatchOp::kReplace : PatchOp::kRemove;
    p.key = lr.record.key;
    if (lr.record.value) p.value = *lr.record.value;
    p.syncCount = lr.record.syncCount;
    p.deviceLastModifiedMs = lr.record.deviceLastModifiedMs;
    maxPatch = std::max(maxPatch, p.syncCount);
    req.patches.push_back(std::move(p));
    (*snapshot)[lr.record.key] = lr;
  }
  const int64_t base = run->pulled.datasetSyncCount;
  const bool fullBatch = req.patches.size() == static_cast<size_t>(kMaxPatchesPerBatch);
  remote_.updateRecords(std::move(req), [this, run, snapshot, base, maxPatch, fullBatch, omitValues](
                                            Result<proto::UpdateRecordsResponse> r) {
    if (!r.isOk() && run->conditional &&
        (r.status().code() == StatusCode::kConflict ||
         r.status().code() == StatusCode::kInvalidArgument)) {
      // Someone wrote since our last sync (or the server we reconnected to does not know
      // conditional pushes): nothing was written. Pull, resolve, push, as without it.
      run->pullFirst = true;
      return passOnLoop(run);
    }
    if (!r.isOk()) {
      if (r.status().code() != StatusCode::kConflict) return finishOnLoop(run, r.status());
      // Someone else wrote first: rewind so the next pull returns the keys we are stale on.
      if (base > maxPatch) {
        Status s = store_.setLastSyncCount(run->identity, run->name, maxPatch);
        if (!s.isOk()) return finishOnLoop(run, s);
      }
      --run->retriesLeft;
      return passOnLoop(run);
    }
    if (omitValues && r->records.empty()) {
      if (r->syncCount <= 0)
        return finishOnLoop(run, Status::protocolError("push reply without a sync count"));
      // Every record was stored as sent, with the batch's common fields.
      r->records.reserve(snapshot->size());
      for (const auto& [key, lr] : *snapshot) {
        Record rec = lr.record;
        rec.syncCount = r->syncCount;
        rec.lastModifiedMs = r->lastModifiedMs;
        rec.lastModifiedBy = r->lastModifiedBy;
        r->records.push_back(std::move(rec));
      }
    }
    int64_t maxReturned = 0;
    for (const Record& rec : r->records) maxReturned = std::max(maxReturned, rec.syncCount);
    // Only our batch was written since the pull: nothing new to fetch below base + 1. The new
    // count is stored in the same transaction as the records (one commit, one fsync).
    std::optional<int64_t> newCount;
    if (maxReturned == base + 1) newCount = base + 1;
    Status s = store_.conditionallyPutRecords(run->identity, run->name, r->records, *snapshot,
                                              newCount);
    if (!s.isOk()) return finishOnLoop(run, s);
    if (newCount) run->pulled.datasetSyncCount = *newCount;
    if (fullBatch && maxReturned == base + 1) return pushOnLoop(run);  // more than one batch
    finishOnLoop(run, Status::ok());
  });
}

void SyncEngine::finishOnLoop(RunPtr run, Status status) {
  if (status.isOk()) {
    if (run->callbacks.onSuccess) run->callbacks.onSuccess(*run->dataset, run->updated);
  } else if (run->callbacks.onFailure) {
    run->callbacks.onFailure(*run->dataset, status);
  }
  auto it = queues_.find(run->name);
  if (it == queues_.end()) return;
  auto& q = it->second;
  if (!q.empty() && q.front() == run) q.pop_front();
  if (q.empty()) {
    queues_.erase(it);
    return;
  }
  RunPtr next = q.front();
  // Start the next one from a fresh task so a long queue never deepens the stack.
  if (!executor_.post([this, next] { startOnLoop(next); })) {
    // Shutting down: nothing will run them; tell their owners.
    auto rest = std::move(q);
    queues_.erase(it);
    for (RunPtr& r : rest)
      if (r->callbacks.onFailure) r->callbacks.onFailure(*r->dataset, Status::cancelled("client is closed"));
  }
}

}  // namespace tether::client
