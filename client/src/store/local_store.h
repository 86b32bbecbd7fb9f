// LocalStore: the client's SQLite cache of datasets and records (spec cognito-compat.md 4.1).
//
// Semantics kept from the Android reference client: every row is keyed by identity ID (the
// literal "unknown" before the first GetId); a record has a dirty flag ("modified") and the last
// server sync count seen for it; a dataset has a last sync count, -1 meaning "deleted locally,
// delete not yet pushed". Limits are those of the server (tether/limits.h) and are checked here,
// so nothing the server would refuse is ever queued.
// Durability: WAL; every mutating call commits before returning. What the app wrote (put,
// remove, createDataset, deleteDataset, resolved conflicts, identity moves) commits with
// synchronous=FULL: durable on return, even across a power loss. Data the server already holds
// durably commits without an fsync (Durability::kRelaxed): records applied from a pull, and the
// bookkeeping that marks a pushed batch clean. Each such commit is one atomic transaction with
// the dataset's sync count, so after any crash the cache is either before or after it; a power
// loss may roll it back, and the next sync repairs that (re-pull; re-push that the server's
// conflict check answers with our own values, equal, so no conflict reaches the app). A local
// write made on top of relaxed data is safe: its fsync covers the whole WAL before it, so once
// put() returns, everything it was based on is durable too. docs/client.md has the reasoning.
// Threading: thread-safe. One mutex serializes the SQLite connection; calls never block on the
// network. Nothing calls back into the app.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite_db.h"
#include "tether/dataset.h"
#include "tether/model.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {

// Test hook: with this environment variable set to N > 0 at open(), the process SIGKILLs itself
// right after the Nth fsync-free (kRelaxed) commit of that store (the cache kill test).
inline constexpr const char* kKillAfterRelaxedCommitsEnv = "TETHER_TEST_KILL_AFTER_RELAXED_COMMITS";

// Identity ID under which data written before the first GetId is kept.
inline constexpr std::string_view kUnknownIdentity = "unknown";
// last_sync_count value meaning "deleted locally; DeleteDataset not yet pushed".
inline constexpr int64_t kPendingDeleteSyncCount = -1;

struct LocalDatasetInfo {
  DatasetMetadata metadata;       // numRecords/dataStorage computed from local live records
  int64_t lastSyncCount = 0;      // kPendingDeleteSyncCount while a delete is pending
};

// A value the sync engine writes after conflict resolution.
struct ResolvedWrite {
  Record record;   // value (nullopt = tombstone) and the sync count to store
  bool dirty = false;
};

class LocalStore {
 public:
  using NowFn = std::function<int64_t()>;  // ms since epoch

  // Opens or creates the cache file. A file written by a newer schema version is refused
  // (kCorruption) rather than misread.
  static Result<std::unique_ptr<LocalStore>> open(const std::string& path, NowFn nowMs);

  // ---- identity and device
  // The cached identity ID, or kUnknownIdentity before the first GetId.
  Result<std::string> identityId();
  // Moves local data from `oldId` to `newId` and caches `newId` (spec 4.3), in one transaction
  // (all or nothing; the 20-dataset limit does not apply, as for the server's merges):
  // old == "unknown": rows are re-parented (dirty flags and sync counts kept); a dataset that
  //   exists under both becomes "<name>.unknown" under newId.
  // old == a real ID: each dataset's live records are copied to newId's same-named dataset as
  //   dirty records with sync count 0 (so they are pushed there; keys newId already holds are
  //   left alone), and the original becomes the merged dataset "<name>.<oldId>" under newId,
  //   pulled whole at its next sync (last sync count and record sync counts 0, dirty flags
  //   kept). A dataset with a delete pending is only renamed (the delete still goes out).
  // A rename target that is taken (or past 128 characters) becomes "<target>-2", "-3", ...
  Status changeIdentity(const std::string& oldId, const std::string& newId);
  // A device ID generated once per cache file (a random UUID), unless one was set.
  Result<std::string> deviceId();
  Status setDeviceId(std::string_view deviceId);

  // Write calls (createDataset, put, deleteDataset, resolve via applyPulled) accept an empty `id`
  // meaning "the current identity", resolved under the store's lock, so a write can never land
  // under an identity that changeIdentity() has just re-parented away.

  // ---- datasets
  // Validates the name and creates the dataset row if needed (kLimitExceeded past 20).
  Status createDataset(std::string_view id, std::string_view name);
  // Datasets of `id`, pending deletes excluded.
  Result<std::vector<DatasetMetadata>> listDatasets(std::string_view id);
  Result<std::optional<LocalDatasetInfo>> getDataset(std::string_view id, std::string_view name);
  // Stores server-side metadata (ListDatasets); creates rows for datasets not yet known locally.
  Status updateDatasetMetadata(std::string_view id, const std::vector<DatasetMetadata>& remote);
  Result<int64_t> lastSyncCount(std::string_view id, std::string_view name);  // 0 if unknown
  // Sets the dataset's last sync count unless a delete became pending meanwhile.
  Status setLastSyncCount(std::string_view id, std::string_view name, int64_t count);
  // Drops all records and marks the dataset pending-delete.
  Status deleteDataset(std::string_view id, std::string_view name);
  // Removes the dataset row and all its records.
  Status purgeDataset(std::string_view id, std::string_view name);
  // After the server confirmed a pending delete: purge, unless records were written after the
  // local delete; then the dataset restarts from sync count 0 (a re-creation). Returns true
  // if records remain to be pushed.
  Result<bool> finishRemoteDelete(std::string_view id, std::string_view name);
  // The server deleted the dataset and the app accepted it: drops the synced (clean) records,
  // keeps unpushed edits as a new dataset from sync count 0, or purges the dataset when none
  // remain. Returns true if edits remain to be pushed.
  Result<bool> acceptRemoteDelete(std::string_view id, std::string_view name);
  // Datasets of `id` with something to push: a dirty record or a pending delete (sorted).
  // Auto-sync pushes these after a reconnect or a restart (edits made offline).
  Result<std::vector<std::string>> datasetsWithLocalChanges(std::string_view id);
  // Local datasets named "<name>.<identity id>" or "<name>.unknown" (merged by an identity change).
  Result<std::vector<std::string>> localMergedDatasets(std::string_view id, std::string_view name);

  // ---- records
  Result<std::optional<LocalRecord>> getRecord(std::string_view id, std::string_view dataset,
                                               std::string_view key);
  // The rows of `keys` that exist, by key, read under one lock (the sync engine's conflict check
  // of a pulled page: one call instead of one per record).
  Result<std::map<std::string, LocalRecord>> getRecords(std::string_view id,
                                                        std::string_view dataset,
                                                        const std::vector<std::string>& keys);
  // value nullopt = remove (writes a dirty tombstone). Same value as stored: no-op. Validates key,
  // value and the dataset limits first; creates the dataset row if needed. Durable on return.
  Status put(std::string_view id, std::string_view dataset, std::string_view key,
             const std::optional<std::string>& value, std::string_view deviceId);
  Result<std::vector<LocalRecord>> records(std::string_view id, std::string_view dataset);
  Result<std::vector<LocalRecord>> dirtyRecords(std::string_view id, std::string_view dataset);
  Result<int64_t> sizeInBytes(std::string_view id, std::string_view dataset);  // live records

  // ---- sync
  // Applies pulled records (clean) and resolutions, then sets last sync count, in one
  // transaction. A row that is dirty with a different value at apply time is left alone
  // (edited while the sync ran); a resolution for a row that changed since `resolvedFrom` keeps
  // the newer local value but adopts the resolved sync count. Nothing happens if a dataset
  // delete became pending.
  Status applyPulled(std::string_view id, std::string_view dataset,
                     const std::vector<Record>& records, const std::vector<ResolvedWrite>& resolved,
                     const std::map<std::string, LocalRecord>& resolvedFrom, int64_t newLastSyncCount);
  // Dataset::resolve: writes resolved conflicts as given (sync counts and dirty flags included).
  Status writeResolved(std::string_view id, std::string_view dataset,
                       const std::vector<ResolvedWrite>& writes);
  // Writes the server's copy of pushed records (clean) where the local row is unchanged since
  // `pushed` was taken; where it changed during the push, keeps the new local value dirty but
  // adopts the new server sync count (the edit is based on what we just pushed).
  // `newLastSyncCount`, if given, is stored in the same transaction (as setLastSyncCount
  // would: not while a delete is pending), saving a second commit and fsync per push.
  Status conditionallyPutRecords(std::string_view id, std::string_view dataset,
                                 const std::vector<Record>& serverRecords,
                                 const std::map<std::string, LocalRecord>& pushed,
                                 std::optional<int64_t> newLastSyncCount = std::nullopt);

  // Deletes every dataset, record and the cached identity (the device ID is kept).
  Status wipe();

 private:
  LocalStore(SqliteDb db, NowFn nowMs) : db_(std::move(db)), nowMs_(std::move(nowMs)) {}
  Status migrate();
  Result<std::string> resolveIdLocked(std::string_view id) TETHER_REQUIRES(mu_);
  Result<std::optional<std::string>> getMetaLocked(std::string_view key) TETHER_REQUIRES(mu_);
  Status setMetaLocked(std::string_view key, std::string_view value) TETHER_REQUIRES(mu_);
  Result<std::optional<LocalRecord>> getRecordLocked(std::string_view id, std::string_view dataset,
                                                     std::string_view key) TETHER_REQUIRES(mu_);
  Result<std::optional<LocalDatasetInfo>> getDatasetLocked(std::string_view id,
                                                           std::string_view name)
      TETHER_REQUIRES(mu_);
  // The dataset row's last sync count, nullopt if there is no row. Unlike getDatasetLocked it
  // does not sum the records (which reads every value of the dataset).
  Result<std::optional<int64_t>> datasetSyncCountLocked(std::string_view id,
                                                        std::string_view name) TETHER_REQUIRES(mu_);
  Status ensureDatasetLocked(std::string_view id, std::string_view name) TETHER_REQUIRES(mu_);
  // Inserts an empty dataset row created now, without the 20-dataset check (callers decide).
  Status insertDatasetRowLocked(std::string_view id, std::string_view name) TETHER_REQUIRES(mu_);
  // `base` (cut to 128 characters) if no dataset of `id` has that name, else "<base>-2", ...
  Result<std::string> unusedDatasetNameLocked(std::string_view id, std::string base)
      TETHER_REQUIRES(mu_);
  Status upsertRecordLocked(std::string_view id, std::string_view dataset, const Record& r,
                            bool dirty) TETHER_REQUIRES(mu_);
  // The rid of a record row, nullopt if none.
  Result<std::optional<int64_t>> ridLocked(std::string_view id, std::string_view dataset,
                                           std::string_view key) TETHER_REQUIRES(mu_);
  // Inserts the row and its value if the key is new; false (nothing written) if it exists.
  Result<bool> insertRecordRowLocked(std::string_view id, std::string_view dataset,
                                     const Record& r, bool dirty) TETHER_REQUIRES(mu_);
  // Writes a record's value (record_values) unless it is already that.
  Status setValueLocked(int64_t rid, const std::optional<std::string>& value) TETHER_REQUIRES(mu_);
  // txn.commit(), plus the kill-test hook after relaxed commits.
  Status commitLocked(Transaction& txn, Durability durability) TETHER_REQUIRES(mu_);
  Result<std::vector<LocalRecord>> queryRecordsLocked(std::string_view id,
                                                      std::string_view dataset, bool dirtyOnly)
      TETHER_REQUIRES(mu_);

  Mutex mu_;
  SqliteDb db_ TETHER_GUARDED_BY(mu_);
  NowFn nowMs_;
  int64_t killAfterRelaxedCommits_ = 0;                  // test hook, 0 = off; set at open()
  int64_t relaxedCommits_ TETHER_GUARDED_BY(mu_) = 0;
};

}  // namespace tether::client
