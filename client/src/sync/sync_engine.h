// SyncEngine: the client's synchronize() algorithm (spec cognito-compat.md 4.2, the Android
// reference, with its gaps closed as docs/client.md describes): pull (paged) -> deleted / merged
// handling -> conflict detection and resolution -> apply -> push with the session token -> on a
// stale-count conflict rewind and retry (3 retries, then onFailure(kConflict)).
//
// Guarantees: a sync never loses or overwrites a local change it did not push (rows edited
// while a sync is in flight stay dirty; see LocalStore::applyPulled/conditionallyPutRecords).
// Several datasets may sync at once; syncs of one dataset run one after another.
// Threading: synchronize()/ensureIdentity()/refreshDatasetMetadata() may be called from any
// thread; all engine state and every app callback live on the executor's thread.
// Lifetime: the owner must stop the executor (and the Remote's callbacks) before destroying
// the engine.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/local_store.h"
#include "sync/login_source.h"
#include "sync/remote.h"
#include "tether/dataset.h"
#include "tether/sync_callbacks.h"
#include "util/executor.h"

namespace tether::client {

struct SyncEngineOptions {
  int maxRetries = 3;        // extra passes after a push conflict or merge re-pull
  uint32_t pullPageSize = 1024;
};

class SyncEngine {
 public:
  // Called on the executor when a sync has written data from the server into the local store:
  // the dataset and the keys whose local value changed (pulled records, conflicts resolved with
  // another value, records dropped because the dataset was deleted on the server).
  using AppliedFn = std::function<void(const std::string& dataset, const std::vector<std::string>& keys)>;

  SyncEngine(LocalStore& store, Remote& remote, Executor& executor, std::string deviceId,
             SyncEngineOptions options = {});

  // Called on the executor after the local store moved to a new identity (old = the cached
  // one, kUnknownIdentity before the first GetId).
  using IdentityChangedFn = std::function<void(const std::string& oldId, const std::string& newId)>;

  // REQUIRES: before the first synchronize() (it is read on the executor without a lock).
  void setAppliedListener(AppliedFn fn) { applied_ = std::move(fn); }
  // Logins to present when authenticating (nullptr = none). Not owned; must outlive the engine.
  // REQUIRES: before the first synchronize().
  void setLoginSource(LoginSource* logins) { logins_ = logins; }
  // REQUIRES: before the first synchronize().
  void setIdentityChangedListener(IdentityChangedFn fn) { identityChanged_ = std::move(fn); }

  // Queues a sync of dataset->name(); exactly one of callbacks.onSuccess/onFailure runs later
  // on the executor. Returns kCancelled if the executor is shut down.
  Status synchronize(std::shared_ptr<Dataset> dataset, SyncCallbacks callbacks);
  // The same, for a "dataset changed" notification that carried its batch (hasRecords): if the
  // local store is exactly one batch behind (at change.syncCount - 1) when the sync starts,
  // those records stand in for the pull; otherwise it pulls as usual.
  Status synchronize(std::shared_ptr<Dataset> dataset, SyncCallbacks callbacks,
                     proto::DatasetChanged change);
  // The identity ID, from GetId if none is cached (local "unknown" data re-parented first),
  // authenticated with the current logins; a different identity confirmed by the server (a
  // merge) moves the local data first (LocalStore::changeIdentity). A kUnauthenticated answer
  // to presented logins is retried once with logins the provider refreshed. `done` runs on
  // the executor.
  Status ensureIdentity(std::function<void(Result<std::string>)> done);
  // ListDatasets (all pages) into the local store. `done` runs on the executor.
  Status refreshDatasetMetadata(std::function<void(Status)> done);
  // Ends every sync still queued or waiting with onFailure(kCancelled), on the calling thread.
  // Normally a no-op: the Remote fails its requests at shutdown. It matters when a Remote
  // dropped callbacks, which would leave runs (each holding a Dataset, hence the client) alive
  // forever. REQUIRES: the executor is shut down (its thread has ended).
  void cancelAfterShutdown();

 private:
  struct Run;
  using RunPtr = std::shared_ptr<Run>;

  // All below: REQUIRES: on the executor thread.
  void enqueueOnLoop(RunPtr run);
  void ensureIdentityOnLoop(std::function<void(Result<std::string>)> done);
  void authenticateOnLoop(std::string cached, uint64_t generation, bool refreshLogins);
  void finishIdentityOnLoop(Result<std::string> r);
  // False (and the run finished, retryable) if the identity changed under a running sync.
  bool identityStillCurrentOnLoop(const RunPtr& run);
  void startOnLoop(RunPtr run);
  void passOnLoop(RunPtr run);
  void pullPageOnLoop(RunPtr run, std::string nextToken);
  void afterPullOnLoop(RunPtr run);
  void pushOnLoop(RunPtr run);
  void pushRecordsOnLoop(RunPtr run, std::vector<LocalRecord> dirty);
  void finishOnLoop(RunPtr run, Status status);
  void listDatasetsPageOnLoop(std::string identity, std::string nextToken,
                              std::shared_ptr<std::vector<DatasetMetadata>> acc,
                              std::function<void(Status)> done);

  LocalStore& store_;
  Remote& remote_;
  Executor& executor_;
  std::string deviceId_;
  SyncEngineOptions options_;
  AppliedFn applied_;
  IdentityChangedFn identityChanged_;
  LoginSource* logins_ = nullptr;

  // Executor-thread state.
  std::map<std::string, std::deque<RunPtr>> queues_;  // front = running sync of that dataset
  bool identityInFlight_ = false;
  bool authedOnce_ = false;           // a token was obtained with logins of authedGeneration_
  uint64_t authedGeneration_ = 0;
  uint64_t identityEpoch_ = 0;        // bumped when the identity changes under running syncs
  std::vector<std::function<void(Result<std::string>)>> identityWaiters_;
};

}  // namespace tether::client
