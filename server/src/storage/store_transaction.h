// StoreTransaction: one atomic unit of dataset/record work against a Store (store.h). The sync
// service reads, checks and writes inside one of these so that a batch is all-or-nothing and no
// other writer slips in between its conflict check and its write.
//
// Ownership and threading: the caller owns the object (a unique_ptr from Store::begin) and uses
// and destroys it on the thread that created it; the Store must outlive it. While it is open the
// creating thread must not call other Store methods (the SQLite store reports kInternal instead
// of deadlocking). Destroying it without commit() rolls everything back.
//
// Every dataset/record call names its owner (pool, identity): data of one identity is never
// visible through another's OwnerRef.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/outbox.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether::server {

// Whose data a call touches. Views: valid for the duration of the call only.
struct OwnerRef {
  std::string_view poolId;
  std::string_view identityId;
};

// One dataset's stored row. The row outlives DeleteDataset (live = false) so that its sync count
// stays monotonic across delete + re-create (spec cognito-compat.md 7.5).
struct DatasetRow {
  std::string name;
  int64_t syncCount = 0;                     // D: +1 per accepted batch and per deletion
  bool live = false;                         // false: deleted and not re-created
  std::optional<int64_t> deletedAtSyncCount; // D consumed by the most recent deletion
  int64_t creationMs = 0;
  int64_t lastModifiedMs = 0;
  std::string lastModifiedBy;
  int64_t dataStorage = 0;                   // UTF-8 bytes of live keys + values
  int64_t numRecords = 0;                    // live records (tombstones excluded)

  DatasetMetadata metadata() const {
    return DatasetMetadata{name, creationMs, lastModifiedMs, lastModifiedBy, dataStorage,
                           numRecords, syncCount};
  }
  friend bool operator==(const DatasetRow&, const DatasetRow&) = default;
};

// Position in the (syncCount, key) order of a dataset's records.
struct RecordCursor {
  int64_t syncCount = 0;
  std::string key;
  friend bool operator==(const RecordCursor&, const RecordCursor&) = default;
};

// Records with afterSyncCount < syncCount <= maxSyncCount, strictly after `after` (if set),
// ordered by (syncCount, key), at most `limit` of them.
struct RecordQuery {
  int64_t afterSyncCount = 0;
  int64_t maxSyncCount = std::numeric_limits<int64_t>::max();
  std::optional<RecordCursor> after;
  int limit = 1024;
};

enum class DatasetFilter { kLiveOnly, kAll };

class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;  // rolls back unless commit() succeeded

  // nullopt when the identity never had a dataset of that name (a deleted one has live=false).
  virtual Result<std::optional<DatasetRow>> getDataset(const OwnerRef& owner,
                                                       std::string_view name) = 0;
  // Ordered by name, names strictly greater than afterName, at most `limit`.
  virtual Result<std::vector<DatasetRow>> listDatasets(const OwnerRef& owner, DatasetFilter filter,
                                                       std::string_view afterName, int limit) = 0;
  virtual Result<int64_t> countLiveDatasets(const OwnerRef& owner) = 0;
  // Insert or replace the row (keyed by owner + row.name).
  virtual Status putDataset(const OwnerRef& owner, const DatasetRow& row) = 0;

  // The stored records (live or tombstone) among `keys`; absent keys are simply missing.
  // Order unspecified.
  virtual Result<std::vector<Record>> getRecords(const OwnerRef& owner, std::string_view dataset,
                                                 std::span<const std::string> keys) = 0;
  virtual Result<std::vector<Record>> listRecords(const OwnerRef& owner, std::string_view dataset,
                                                  const RecordQuery& query) = 0;
  // Insert or replace each record (keyed by owner + dataset + key). The dataset row must exist
  // (kInternal otherwise: a bug in the caller).
  virtual Status putRecords(const OwnerRef& owner, std::string_view dataset,
                            std::span<const Record> records) = 0;
  // Removes every record (tombstones included) of the dataset.
  virtual Status deleteRecords(const OwnerRef& owner, std::string_view dataset) = 0;

  // Merged-dataset relation: `dataset` was merged with `mergedName` (`<dataset>.<oldId>`), which
  // ListRecords(dataset) reports until `mergedName` is deleted. Sorted by merged name.
  virtual Result<std::vector<std::string>> listMergedDatasets(const OwnerRef& owner,
                                                              std::string_view dataset) = 0;
  // Idempotent.
  virtual Status addMergedDataset(const OwnerRef& owner, std::string_view dataset,
                                  std::string_view mergedName) = 0;
  // Drops every relation whose merged name is `mergedName`.
  virtual Status removeMergedDataset(const OwnerRef& owner, std::string_view mergedName) = 0;

  // ---- identities
  // True if the identity exists and is disabled (merged away). A write checks this first inside
  // its own transaction, so once a merge has committed no write can land in the loser's
  // datasets. In a write transaction this also takes the identity's shared lock (PostgreSQL:
  // merges, which take it exclusively, wait for the write and vice versa).
  virtual Result<bool> identityDisabled(std::string_view identityId) = 0;
  // Takes the exclusive lock of each identity until commit: no other write transaction of
  // these identities runs meanwhile, on any node (identity merge). Locks in ascending id order
  // whatever the order given, so two merges of overlapping identities cannot deadlock.
  // SQLite: a no-op (its write transactions already run one at a time).
  virtual Status lockIdentities(std::vector<std::string_view> identityIds) = 0;
  // The loser's side of a merge, in this transaction (so it commits atomically with the moved
  // data): the loser is disabled and its logins, push-sync devices and their subscriptions move
  // to the winner (a device whose token the winner already has is dropped).
  virtual Status retireIdentity(std::string_view poolId, std::string_view loserId,
                                std::string_view winnerId) = 0;

  // ---- meta and the Cognito Streams outbox (storage/outbox.h, docs/events.md)
  // A meta value (AuthConfigStore::getMeta) read inside this transaction: how the CommitHook
  // sees the pool's CognitoStreams setting as committed when the write runs, on any node.
  virtual Result<std::optional<std::string>> getMeta(std::string_view key) = 0;
  // getMeta that also locks the row until commit (PostgreSQL: FOR UPDATE), so two nodes cannot
  // both read the old value and both write theirs (BulkPublish state). The row must exist
  // (AuthConfigStore::putMetaIfAbsent first); SQLite's write transactions are serial already.
  virtual Result<std::optional<std::string>> getMetaForUpdate(std::string_view key) = 0;
  virtual Status putMeta(std::string_view key, std::string_view value) = 0;
  // Appends `entry` (its seq is assigned) unless the outbox already holds `maxDepth` or more
  // undelivered records: then kTooManyRequests and nothing is written. SQLite keeps the depth
  // in a trigger-maintained counter; PostgreSQL reads the seq range (two index ends) and only
  // when that reaches the bound counts at most maxDepth index entries (no hot counter row for
  // every writer of every node to queue on), so concurrent writers there may overshoot the
  // bound by at most their number.
  virtual Status appendOutbox(const OutboxEntry& entry, int64_t maxDepth) = 0;
  // The oldest undelivered records of `stream`, by seq, at most `limit`.
  virtual Result<std::vector<OutboxEntry>> listOutbox(std::string_view stream, int limit) = 0;
  // The stream names that have undelivered records.
  virtual Result<std::vector<std::string>> outboxStreams() = 0;
  // Marks delivered: the rows go. Unknown seqs are ignored.
  virtual Status deleteOutbox(std::span<const int64_t> seqs) = 0;
  virtual Result<OutboxStats> outboxStats() = 0;
  // The changes feed (streams/feed_sink.h). Appends `entries` (all of one stream) at the next
  // positions of their stream, in order: only the one publisher calls it, so positions follow
  // delivery order without gaps, whatever the commit order of the outbox rows was.
  virtual Status appendFeed(std::span<const OutboxEntry> entries) = 0;
  // Feed records of `stream` with position > afterPosition, ascending, at most `limit`; each
  // entry's seq is its position.
  virtual Result<std::vector<OutboxEntry>> listFeed(std::string_view stream, int64_t afterPosition,
                                                    int limit) = 0;
  // The last position of `stream` (0 = none yet).
  virtual Result<int64_t> lastFeedPosition(std::string_view stream) = 0;
  // Removes the feed records created before `beforeMs`; returns the highest position removed
  // (0 = none).
  virtual Result<int64_t> pruneFeed(std::string_view stream, int64_t beforeMs) = 0;

  // True once a call of this transaction failed because the database aborted the transaction
  // (PostgreSQL deadlock or serialization failure, SQLSTATE 40P01/40001): nothing of it is
  // written, and running the same logic again in a new transaction may succeed. Never true for
  // any other failure (a lost connection during COMMIT leaves the outcome unknown: kUnavailable,
  // not retried here). Always false on SQLite.
  virtual bool failedRetryably() const = 0;

  // Durable when it returns ok. After commit (ok or not) the transaction is finished: every
  // further call returns kInternal.
  virtual Status commit() = 0;
};

// How often runWriteTransaction() runs a transaction the database aborted.
constexpr int kMaxWriteTransactionAttempts = 5;

// Begins a write transaction on `store`, runs `body(txn)` (which commits), and when the
// transaction failed retryably (failedRetryably()) runs it again in a new one, at most
// kMaxWriteTransactionAttempts times with a short growing pause. Returns body's result, or the
// failure of begin(). The body must have no effect outside the transaction before it commits.
template <class Store_, class Fn>
auto runWriteTransaction(Store_& store, Fn&& body) -> decltype(body(std::declval<StoreTransaction&>())) {
  for (int attempt = 1;; ++attempt) {
    auto txn = store.begin();
    if (!txn.isOk()) return txn.status();
    auto result = body(**txn);
    if (result.isOk() || !(*txn)->failedRetryably() || attempt >= kMaxWriteTransactionAttempts)
      return result;
    txn->reset();  // roll back before pausing: its locks must not make the others wait
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt * attempt));
  }
}

}  // namespace tether::server
