// SqliteTransaction: StoreTransaction over the SQLite store. Write transactions run on the one
// write connection and take part in group commit (below); read transactions run on a pooled
// read-only connection of their own (WAL: they see the last committed state and never wait for
// the writer or its fsync). Owned and used by one thread (see store_transaction.h).
//
// Group commit: with synchronous=FULL every COMMIT costs one fsync of the WAL (about 1 ms on
// the benchmark machine), which capped the server at roughly one batch per fsync. Write
// transactions of different threads therefore share one SQLite transaction: each runs inside a
// SAVEPOINT of the open outer transaction while it holds the connection mutex; commit() RELEASEs
// its savepoint and, if another writer is already waiting for the mutex, lets that writer add
// its work and waits; the last writer of the group (no one waiting, or the group is full)
// COMMITs once for all. Nobody is told "committed" before that COMMIT and the fsync of the WAL
// after it returned, so an acknowledged write is still durable; if either fails every member
// sees the failure. A failed or abandoned transaction rolls back to its own
// savepoint and leaves the others' work alone. Members only ever see the work of earlier
// members of the same group, which commits or fails as a whole, so the group behaves like
// running its members one after another.
//
// The fsync outside the lock: a group COMMITs with synchronous=NORMAL (the frames and the commit
// record are written to the WAL, not yet synced) and its closer syncs the WAL after releasing
// the connection, so the next group's work overlaps the previous group's fsync instead of
// waiting for it (bench W4: the fsync was about half of each group's time under the lock). An
// fsync started after a COMMIT returned covers that commit and every earlier one. Between the
// COMMIT and the fsync the group's data is visible to SQLite but not durable, so nothing may act
// on it: members are answered only after the fsync, every read transaction on a read connection
// waits until the commits its snapshot can contain are synced (SqliteConnection::waitDurable),
// and so does an autocommit call. Write transactions may see it: whatever they derive commits
// later in the same WAL, and WAL recovery keeps only a valid prefix of frames, so it cannot
// outlive what it was derived from. Autocommit calls still COMMIT with synchronous=FULL.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "storage/sqlite_checkpointer.h"
#include "storage/sqlite_db.h"
#include "storage/store_transaction.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

// Most write transactions one COMMIT takes. Higher: fewer fsyncs under load; lower: the first
// member of a group waits for less work of others before its acknowledgement.
constexpr int kMaxCommitGroupMembers = 64;
// Idle read connections kept open; more are opened while that many reads run at once.
constexpr size_t kMaxIdleReadConnections = 8;

// One outer SQLite transaction shared by a group of write transactions.
// `members` is read and written under SqliteConnection::mu (not expressible as an annotation:
// the group is shared by pointer, the mutex belongs to the connection). The outcome has a lock
// of its own, so members wait for it without the connection's mutex: a member woken by the
// COMMIT does not have to take the connection back from the writers of the next group.
struct CommitGroup {
  int members = 0;     // write transactions that released their work into it
  uint64_t generation = 0;  // its SqliteConnection::committed number, set at COMMIT (0: none)
  Status commitStatus;      // the COMMIT's outcome (under SqliteConnection::mu, then the closer)
  Mutex doneMu;
  std::condition_variable doneCv;  // notified (under doneMu) when the group commits or fails
  bool done TETHER_GUARDED_BY(doneMu) = false;  // COMMIT (or the failure) happened
  Status result TETHER_GUARDED_BY(doneMu);

  void finish(Status s) {
    {
      MutexLock lock(doneMu);
      done = true;
      result = std::move(s);
    }
    doneCv.notify_all();
  }
  Status wait() {
    MutexLock lock(doneMu);
    lock.wait(doneCv, [this]() TETHER_REQUIRES(doneMu) { return done; });
    return result;
  }
};

// The connections shared by SqliteStore and its transactions.
struct SqliteConnection {
  Mutex mu;
  // The write connection. The pointer is set once before any thread shares the store; the
  // connection behind it is used under mu.
  std::unique_ptr<SqliteDb> db TETHER_PT_GUARDED_BY(mu);
  // Checkpoints db's WAL in the background; declared after db so it is destroyed first.
  std::unique_ptr<SqliteCheckpointer> checkpointer;
  // The thread holding an open write transaction (default id when none), so a Store call from
  // that same thread fails fast instead of deadlocking on mu.
  std::atomic<std::thread::id> txnOwner{};

  // Group commit. `group` is the open outer transaction (null: none).
  std::shared_ptr<CommitGroup> group TETHER_GUARDED_BY(mu);
  std::atomic<int> writersWaiting{0};    // threads in begin(kWrite) waiting for mu

  // Durability of group commits (see the top of this file). `committed` counts group COMMITs; it
  // is raised (under mu) before the COMMIT starts, so a reader whose snapshot holds a commit
  // reads a number that covers it. `durable` is the highest number whose WAL sync finished (or
  // that failed and left nothing to wait for).
  std::atomic<uint64_t> committed{0};
  Mutex durableMu;
  std::condition_variable durableCv;
  uint64_t durable TETHER_GUARDED_BY(durableMu) = 0;
  // The WAL file of `db` (SQLITE_FCNTL_JOURNAL_POINTER), set under mu at the first group COMMIT;
  // synced through its VFS methods from any thread (an fsync of the file).
  std::atomic<sqlite3_file*> walFile{nullptr};

  // Read connections: opened on demand on `file`, pooled when idle.
  std::filesystem::path file;            // empty: reads use the write connection
  int busyTimeoutMs = 5000;
  Mutex readersMu;
  std::vector<std::unique_ptr<SqliteDb>> idleReaders TETHER_GUARDED_BY(readersMu);

  // The write connection for one autocommit call: locks mu and first commits an open group (its
  // members are waiting for that), so the call runs outside any group and is durable when it
  // returns, as before group commit. The analysis takes mu as held for the rest of the caller's
  // scope (the returned lock holds it until that scope ends; clang cannot follow a scoped lock
  // returned by value).
  std::unique_lock<std::mutex> lockForAutocommit() TETHER_ASSERT_CAPABILITY(mu);
  // `group` set. COMMITs the open group (or records its loss, if SQLite already rolled it back
  // after an error) and returns it: the caller syncs it with syncGroup(), which answers its
  // members, after releasing mu if it can.
  std::shared_ptr<CommitGroup> closeGroupLocked() TETHER_REQUIRES(mu);
  // closeGroupLocked() and syncGroup() in one, under mu (paths that keep the connection).
  void closeAndSyncGroupLocked() TETHER_REQUIRES(mu);
  // Leaves the open group for a waiting writer to extend, or closes it; returns the group if it
  // closed it (to be synced by the caller), null otherwise.
  std::shared_ptr<CommitGroup> handOffOrCloseLocked() TETHER_REQUIRES(mu);
  // Syncs the WAL if `g` committed, records it durable and answers its members. Any thread,
  // with or without mu.
  void syncGroup(CommitGroup& g);
  // Waits until every group COMMIT numbered up to `generation` is synced.
  void waitDurable(uint64_t generation);

 private:
  void markDurable(uint64_t generation);
};

// Moves every push-sync device of `fromIdentity` (with its subscriptions) to `toIdentity` on
// `db`, inside the caller's transaction; a device whose token `toIdentity` already has is
// dropped with its subscriptions. Shared by Store::moveDevices and
// StoreTransaction::retireIdentity.
Status moveDevicesSql(SqliteDb& db, std::string_view poolId, std::string_view fromIdentity,
                      std::string_view toIdentity);

class SqliteTransaction final : public StoreTransaction {
 public:
  // kWrite: joins the open commit group or opens one with BEGIN IMMEDIATE (takes the file's
  // write lock up front, so commit never hits SQLITE_BUSY halfway); kRead: BEGIN (deferred) on
  // a read connection.
  // kReadCommitted: a read that may see group commits before their WAL sync; only for data
  // that autocommit calls write (they are durable when they return), e.g. a pool's settings.
  enum class Mode { kRead, kWrite, kReadCommitted };
  static Result<std::unique_ptr<StoreTransaction>> begin(SqliteConnection& conn, Mode mode);

  ~SqliteTransaction() override;

  Result<std::optional<DatasetRow>> getDataset(const OwnerRef& owner,
                                               std::string_view name) override;
  Result<std::vector<DatasetRow>> listDatasets(const OwnerRef& owner, DatasetFilter filter,
                                               std::string_view afterName, int limit) override;
  Result<int64_t> countLiveDatasets(const OwnerRef& owner) override;
  Status putDataset(const OwnerRef& owner, const DatasetRow& row) override;
  Result<std::vector<Record>> getRecords(const OwnerRef& owner, std::string_view dataset,
                                         std::span<const std::string> keys) override;
  Result<std::vector<Record>> listRecords(const OwnerRef& owner, std::string_view dataset,
                                          const RecordQuery& query) override;
  Status putRecords(const OwnerRef& owner, std::string_view dataset,
                    std::span<const Record> records) override;
  Status deleteRecords(const OwnerRef& owner, std::string_view dataset) override;
  Result<std::vector<std::string>> listMergedDatasets(const OwnerRef& owner,
                                                      std::string_view dataset) override;
  Status addMergedDataset(const OwnerRef& owner, std::string_view dataset,
                          std::string_view mergedName) override;
  Status removeMergedDataset(const OwnerRef& owner, std::string_view mergedName) override;
  Result<bool> identityDisabled(std::string_view identityId) override;
  // Write transactions run one at a time on the one write connection: nothing to lock.
  Status lockIdentities(std::vector<std::string_view>) override { return checkOpen(); }
  bool failedRetryably() const override { return false; }
  Status retireIdentity(std::string_view poolId, std::string_view loserId,
                        std::string_view winnerId) override;
  // sqlite_outbox.cpp
  Result<std::optional<std::string>> getMeta(std::string_view key) override;
  Result<std::optional<std::string>> getMetaForUpdate(std::string_view key) override { return getMeta(key); }
  // Every meta key that starts with `prefix`, ordered by key (SqliteStore::listMeta).
  Result<std::vector<std::pair<std::string, std::string>>> listMeta(std::string_view prefix);
  Status putMeta(std::string_view key, std::string_view value) override;
  Status appendOutbox(const OutboxEntry& entry, int64_t maxDepth) override;
  Result<std::vector<OutboxEntry>> listOutbox(std::string_view stream, int limit) override;
  Result<std::vector<std::string>> outboxStreams() override;
  Status deleteOutbox(std::span<const int64_t> seqs) override;
  Result<OutboxStats> outboxStats() override;
  Status appendFeed(std::span<const OutboxEntry> entries) override;
  Result<std::vector<OutboxEntry>> listFeed(std::string_view stream, int64_t afterPosition, int limit) override;
  Result<int64_t> lastFeedPosition(std::string_view stream) override;
  Result<int64_t> pruneFeed(std::string_view stream, int64_t beforeMs) override;
  Status commit() override;  // timed into tether_store_transaction_duration_seconds

 private:
  SqliteTransaction(SqliteConnection& conn, Mode mode)
      : conn_(conn), mode_(mode), timer_("sqlite", mode == Mode::kWrite) {}
  Status commitInner();
  static Result<std::unique_ptr<StoreTransaction>> beginWrite(SqliteConnection& conn);
  static Result<std::unique_ptr<StoreTransaction>> beginRead(SqliteConnection& conn, bool waitDurable);
  Status checkOpen() const;
  // Ends the transaction without committing (rolls back its own work) and hands back its
  // connection. No-op when already finished.
  void abandon();
  void releaseReader();

  SqliteConnection& conn_;
  const Mode mode_;
  SqliteDb* db_ = nullptr;                 // the connection in use
  // kWrite: conn_.mu while open (native(): held across calls, so the methods that touch the
  // connection's guarded state say conn_.mu.assertHeld()).
  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<SqliteDb> reader_;       // kRead: the borrowed read connection
  bool open_ = false;  // begun and neither committed nor rolled back
  metrics::TransactionTimer timer_;        // begin (lock wait included) to commit or rollback
};

}  // namespace tether::server
