#include "storage/sqlite_transaction.h"

#include <string>
#include <utility>

namespace tether::server {
namespace {

constexpr const char* kRecordColumns =
    "key, value, sync_count, last_modified_ms, last_modified_by, device_last_modified_ms";
constexpr const char* kDatasetColumns =
    "name, sync_count, live, deleted_at, creation_ms, last_modified_ms, last_modified_by, "
    "data_storage, num_records";

Record readRecord(const Statement& st) {
  Record r;
  r.key = st.columnText(0);
  if (!st.columnIsNull(1)) r.value = st.columnText(1);
  r.syncCount = st.columnInt64(2);
  r.lastModifiedMs = st.columnInt64(3);
  r.lastModifiedBy = st.columnText(4);
  r.deviceLastModifiedMs = st.columnInt64(5);
  return r;
}

DatasetRow readDataset(const Statement& st) {
  DatasetRow d;
  d.name = st.columnText(0);
  d.syncCount = st.columnInt64(1);
  d.live = st.columnInt64(2) != 0;
  if (!st.columnIsNull(3)) d.deletedAtSyncCount = st.columnInt64(3);
  d.creationMs = st.columnInt64(4);
  d.lastModifiedMs = st.columnInt64(5);
  d.lastModifiedBy = st.columnText(6);
  d.dataStorage = st.columnInt64(7);
  d.numRecords = st.columnInt64(8);
  return d;
}

std::string sql(std::string_view a, std::string_view b = {}, std::string_view c = {}) {
  std::string s(a);
  s += b;
  s += c;
  return s;
}

}  // namespace

// ---- SqliteConnection: group commit

std::unique_lock<std::mutex> SqliteConnection::lockForAutocommit() {
  std::unique_lock<std::mutex> lock(mu.native());
  mu.assertHeld();  // by `lock`, which the caller keeps
  if (group) closeAndSyncGroupLocked();  // its members hear the outcome; ours starts afresh
  // A group closed by another thread may still be syncing: what this call reads must be durable.
  waitDurable(committed.load());
  return lock;
}

std::shared_ptr<CommitGroup> SqliteConnection::closeGroupLocked() {
  std::shared_ptr<CommitGroup> g = std::move(group);
  group.reset();
  Status s;
  if (db->inTransaction()) {
    g->generation = committed.fetch_add(1) + 1;  // before the COMMIT makes it visible
    s = db->exec("COMMIT");
    // On failure SQLite may or may not have rolled back already; make sure nothing is left open.
    if (!s.isOk() && db->inTransaction()) (void)db->exec("ROLLBACK");
    if (s.isOk() && walFile.load() == nullptr) {
      sqlite3_file* wal = nullptr;
      if (sqlite3_file_control(db->raw(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
          wal != nullptr && wal->pMethods != nullptr)
        walFile.store(wal);
    }
  } else {
    // SQLite rolls the whole transaction back on some errors (disk full, I/O error) of any
    // member; the work the others released into it is gone, and they must not hear success.
    s = Status::unavailable("the batch was rolled back with its commit group after a storage "
                            "error; nothing was written");
  }
  // Autocommit calls on this connection commit with FULL (each is durable when it returns).
  (void)db->exec("PRAGMA synchronous = FULL");
  if (g->members > 0) metrics::StoreMetrics::get().commitGroupSize.with({"sqlite"}).observe(g->members);
  g->commitStatus = s;
  if (g->generation == 0) g->finish(s);  // no COMMIT: answered now, nothing to sync
  return g;
}

void SqliteConnection::closeAndSyncGroupLocked() {
  if (std::shared_ptr<CommitGroup> g = closeGroupLocked()) syncGroup(*g);
}

std::shared_ptr<CommitGroup> SqliteConnection::handOffOrCloseLocked() {
  if (!group) return nullptr;
  const bool extend = writersWaiting.load() > 0 && group->members < kMaxCommitGroupMembers &&
                      db->inTransaction();
  if (extend) return nullptr;
  return closeGroupLocked();
}

void SqliteConnection::syncGroup(CommitGroup& g) {
  if (g.generation == 0) return;  // no COMMIT: already answered
  // Synced even when the COMMIT failed: `durable` may only move past this number once every
  // earlier COMMIT is synced too, and this fsync is what covers them.
  Status s = g.commitStatus;
  sqlite3_file* wal = walFile.load();
  if (wal == nullptr) {
    if (s.isOk()) s = Status::ioError("cannot sync the WAL: SQLite gave no WAL file");
  } else if (int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL); rc != SQLITE_OK && s.isOk()) {
    s = sqliteStatus(rc, "syncing the WAL after a group commit");
    // The group is committed but the disk did not confirm it: its members are not told it is
    // saved (they log it and answer an internal error; a client retries, and the conflict
    // check sees what is stored).
  }
  markDurable(g.generation);
  g.finish(s);
}

void SqliteConnection::markDurable(uint64_t generation) {
  {
    MutexLock lock(durableMu);
    if (generation <= durable) return;
    durable = generation;
  }
  durableCv.notify_all();
}

void SqliteConnection::waitDurable(uint64_t generation) {
  MutexLock lock(durableMu);
  lock.wait(durableCv, [&]() TETHER_REQUIRES(durableMu) { return durable >= generation; });
}

// ---- SqliteTransaction

Result<std::unique_ptr<StoreTransaction>> SqliteTransaction::begin(SqliteConnection& conn,
                                                                    Mode mode) {
  if (conn.txnOwner.load() == std::this_thread::get_id())
    return Status::internal("a second transaction was begun on a thread that holds one open");
  return mode == Mode::kWrite ? beginWrite(conn) : beginRead(conn, mode == Mode::kRead);
}

Result<std::unique_ptr<StoreTransaction>> SqliteTransaction::beginWrite(SqliteConnection& conn) {
  std::unique_ptr<SqliteTransaction> txn(new SqliteTransaction(conn, Mode::kWrite));
  conn.writersWaiting.fetch_add(1);
  txn->lock_ = std::unique_lock<std::mutex>(conn.mu.native());
  conn.mu.assertHeld();  // held by txn->lock_ until commit or abandon
  conn.writersWaiting.fetch_sub(1);
  txn->db_ = conn.db.get();
  // The group's outer transaction vanished (SQLite rolled it back after an error): settle it.
  if (conn.group && !conn.db->inTransaction()) conn.closeAndSyncGroupLocked();
  if (!conn.group) {
    // The group COMMITs without an fsync; its closer syncs the WAL after releasing mu (top of
    // sqlite_transaction.h). closeGroupLocked() sets FULL back for autocommit calls.
    TETHER_RETURN_IF_ERROR(conn.db->exec("PRAGMA synchronous = NORMAL"));
    if (Status s = conn.db->exec("BEGIN IMMEDIATE"); !s.isOk()) {
      (void)conn.db->exec("PRAGMA synchronous = FULL");
      return s;
    }
    conn.group = std::make_shared<CommitGroup>();
  }
  if (Status s = conn.db->exec("SAVEPOINT batch"); !s.isOk()) {
    if (std::shared_ptr<CommitGroup> g = conn.handOffOrCloseLocked()) conn.syncGroup(*g);
    return s;
  }
  txn->open_ = true;
  conn.txnOwner.store(std::this_thread::get_id());
  return std::unique_ptr<StoreTransaction>(std::move(txn));
}

Result<std::unique_ptr<StoreTransaction>> SqliteTransaction::beginRead(SqliteConnection& conn, bool waitDurable) {
  std::unique_ptr<SqliteTransaction> txn(new SqliteTransaction(conn, Mode::kRead));
  if (conn.file.empty()) {
    txn->lock_ = conn.lockForAutocommit();
    txn->db_ = conn.db.get();
  } else {
    {
      MutexLock lock(conn.readersMu);
      if (!conn.idleReaders.empty()) {
        txn->reader_ = std::move(conn.idleReaders.back());
        conn.idleReaders.pop_back();
      }
    }
    if (!txn->reader_) {
      TETHER_TRY(txn->reader_,
                 SqliteDb::open(conn.file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX));
      if (int rc = sqlite3_busy_timeout(txn->reader_->raw(), conn.busyTimeoutMs); rc != SQLITE_OK)
        return txn->reader_->error(rc, "setting busy_timeout");
      TETHER_RETURN_IF_ERROR(txn->reader_->exec("PRAGMA query_only = ON"));
    }
    txn->db_ = txn->reader_.get();
  }
  if (Status s = txn->db_->exec("BEGIN"); !s.isOk()) {
    txn->releaseReader();
    return s;
  }
  txn->open_ = true;
  if (txn->reader_ && waitDurable) {
    // Take the snapshot now (BEGIN is deferred; any read of the file takes it), then wait until
    // every group COMMIT it can contain is synced: a read must not return what a power cut
    // could still take back (top of sqlite_transaction.h). `committed` is raised before each
    // COMMIT, so a number read after the snapshot covers every commit in it.
    TETHER_RETURN_IF_ERROR(txn->db_->queryInt("PRAGMA schema_version").status());
    conn.waitDurable(conn.committed.load());
  }
  return std::unique_ptr<StoreTransaction>(std::move(txn));
}

SqliteTransaction::~SqliteTransaction() { abandon(); }

void SqliteTransaction::releaseReader() {
  if (!reader_) return;
  if (reader_->inTransaction()) (void)reader_->exec("ROLLBACK");
  MutexLock lock(conn_.readersMu);
  if (conn_.idleReaders.size() < kMaxIdleReadConnections)
    conn_.idleReaders.push_back(std::move(reader_));
  reader_.reset();
}

void SqliteTransaction::abandon() {
  if (!open_) return;
  open_ = false;
  if (mode_ == Mode::kRead) {
    if (db_->inTransaction()) (void)db_->exec("ROLLBACK");
    releaseReader();
    if (lock_.owns_lock()) lock_.unlock();
    return;
  }
  conn_.mu.assertHeld();  // kWrite: lock_ holds it while open
  conn_.txnOwner.store(std::thread::id());
  // Undo only this transaction's work; earlier members of the group keep theirs.
  if (conn_.db->inTransaction()) {
    if (!conn_.db->exec("ROLLBACK TO batch").isOk() || !conn_.db->exec("RELEASE batch").isOk())
      (void)conn_.db->exec("ROLLBACK");  // cannot isolate it: the group fails as a whole
  }
  // An abandoned write is usually a conflict with a batch waiting in this group: commit the
  // group now rather than extend it, so the loser's retry can see what it lost to. (Extending
  // here let racing writers of one key livelock on reads that never saw the pending winner.)
  if (conn_.group) conn_.closeAndSyncGroupLocked();
  lock_.unlock();
}

Status SqliteTransaction::checkOpen() const {
  if (!open_) return Status::internal("transaction already finished");
  return Status::ok();
}

Status SqliteTransaction::commit() {
  TETHER_RETURN_IF_ERROR(checkOpen());
  Status s = commitInner();
  timer_.finish(s.isOk() ? "commit" : "error");
  return s;
}

Status SqliteTransaction::commitInner() {
  if (mode_ == Mode::kRead) {
    Status s = db_->exec("COMMIT");
    abandon();
    return s;
  }
  conn_.mu.assertHeld();  // kWrite: lock_ holds it while open
  if (Status s = conn_.db->exec("RELEASE batch"); !s.isOk()) {
    abandon();
    return s;
  }
  open_ = false;
  conn_.txnOwner.store(std::thread::id());
  std::shared_ptr<CommitGroup> g = conn_.group;
  g->members += 1;
  std::shared_ptr<CommitGroup> closed = conn_.handOffOrCloseLocked();
  // Our work is in the group: the connection is free for the next writer while we wait (and,
  // if we closed the group, while we sync it).
  lock_.unlock();
  if (closed) conn_.syncGroup(*closed);
  // Acknowledged only once the group's COMMIT and the WAL sync after it returned, or failed.
  return g->wait();
}

Result<std::optional<DatasetRow>> SqliteTransaction::getDataset(const OwnerRef& owner,
                                                                std::string_view name) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  static const std::string kSql = sql("SELECT ", kDatasetColumns,
      " FROM datasets WHERE pool_id = ?1 AND identity_id = ?2 AND name = ?3");
  TETHER_TRY(Statement st, db_->prepare(kSql));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, name);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<DatasetRow>();
  return std::optional<DatasetRow>(readDataset(st));
}

Result<std::vector<DatasetRow>> SqliteTransaction::listDatasets(const OwnerRef& owner,
                                                                DatasetFilter filter,
                                                                std::string_view afterName,
                                                                int limit) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(sql("SELECT ", kDatasetColumns,
      " FROM datasets WHERE pool_id = ?1 AND identity_id = ?2 AND name > ?3"
      " AND (live = 1 OR ?4 = 0) ORDER BY name LIMIT ?5")));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, afterName)
      .bind(4, int64_t{filter == DatasetFilter::kLiveOnly ? 1 : 0})
      .bind(5, int64_t{limit < 0 ? 0 : limit});
  std::vector<DatasetRow> out;
  while (true) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(readDataset(st));
  }
  return out;
}

Result<int64_t> SqliteTransaction::countLiveDatasets(const OwnerRef& owner) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "SELECT count(*) FROM datasets WHERE pool_id = ?1 AND identity_id = ?2 AND live = 1"));
  st.bind(1, owner.poolId).bind(2, owner.identityId);
  TETHER_TRY(bool row, st.step());
  if (!row) return Status::internal("count(*) returned no row");
  return st.columnInt64(0);
}

Status SqliteTransaction::putDataset(const OwnerRef& owner, const DatasetRow& d) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  // An UPSERT, not INSERT OR REPLACE: REPLACE deletes the old row first, and the records'
  // ON DELETE CASCADE would take them with it.
  TETHER_TRY(Statement st, db_->prepare(
      "INSERT INTO datasets (pool_id, identity_id, name, sync_count, live, deleted_at,"
      " creation_ms, last_modified_ms, last_modified_by, data_storage, num_records)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
      " ON CONFLICT (pool_id, identity_id, name) DO UPDATE SET"
      " sync_count = excluded.sync_count, live = excluded.live, deleted_at = excluded.deleted_at,"
      " creation_ms = excluded.creation_ms, last_modified_ms = excluded.last_modified_ms,"
      " last_modified_by = excluded.last_modified_by, data_storage = excluded.data_storage,"
      " num_records = excluded.num_records"));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, d.name).bind(4, d.syncCount)
      .bind(5, int64_t{d.live ? 1 : 0});
  if (d.deletedAtSyncCount) st.bind(6, *d.deletedAtSyncCount); else st.bindNull(6);
  st.bind(7, d.creationMs).bind(8, d.lastModifiedMs).bind(9, d.lastModifiedBy)
      .bind(10, d.dataStorage).bind(11, d.numRecords);
  return st.run();
}

Result<std::vector<Record>> SqliteTransaction::getRecords(const OwnerRef& owner,
                                                          std::string_view dataset,
                                                          std::span<const std::string> keys) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  static const std::string kSql = sql("SELECT ", kRecordColumns,
      " FROM records WHERE pool_id = ?1 AND identity_id = ?2 AND dataset = ?3 AND key = ?4");
  std::vector<Record> out;
  out.reserve(keys.size());
  TETHER_TRY(Statement st, db_->prepare(kSql));
  for (const std::string& key : keys) {
    st.reset();
    st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, dataset).bind(4, key);
    TETHER_TRY(bool row, st.step());
    if (row) out.push_back(readRecord(st));
  }
  return out;
}

Result<std::vector<Record>> SqliteTransaction::listRecords(const OwnerRef& owner,
                                                           std::string_view dataset,
                                                           const RecordQuery& q) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  // Two texts rather than one with a sentinel cursor, so each gets a plain range scan of
  // records_by_sync_count.
  std::string text = sql("SELECT ", kRecordColumns,
      " FROM records WHERE pool_id = ?1 AND identity_id = ?2 AND dataset = ?3"
      " AND sync_count > ?4 AND sync_count <= ?5");
  if (q.after) text += " AND (sync_count, key) > (?7, ?8)";
  text += " ORDER BY sync_count, key LIMIT ?6";
  TETHER_TRY(Statement st, db_->prepare(text));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, dataset).bind(4, q.afterSyncCount)
      .bind(5, q.maxSyncCount).bind(6, int64_t{q.limit < 0 ? 0 : q.limit});
  if (q.after) st.bind(7, q.after->syncCount).bind(8, q.after->key);
  std::vector<Record> out;
  while (true) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(readRecord(st));
  }
  return out;
}

Status SqliteTransaction::putRecords(const OwnerRef& owner, std::string_view dataset,
                                     std::span<const Record> records) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "INSERT INTO records (pool_id, identity_id, dataset, key, value, sync_count,"
      " last_modified_ms, last_modified_by, device_last_modified_ms)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
      " ON CONFLICT (pool_id, identity_id, dataset, key) DO UPDATE SET"
      " value = excluded.value, sync_count = excluded.sync_count,"
      " last_modified_ms = excluded.last_modified_ms,"
      " last_modified_by = excluded.last_modified_by,"
      " device_last_modified_ms = excluded.device_last_modified_ms"));
  for (const Record& r : records) {
    st.reset();
    st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, dataset).bind(4, r.key)
        .bindOptional(5, r.value).bind(6, r.syncCount).bind(7, r.lastModifiedMs)
        .bind(8, r.lastModifiedBy).bind(9, r.deviceLastModifiedMs);
    Status s = st.run();
    if (s.code() == StatusCode::kConflict) {
      return Status::internal("record written to a dataset without a dataset row: " +
                              s.message());
    }
    TETHER_RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

Status SqliteTransaction::deleteRecords(const OwnerRef& owner, std::string_view dataset) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "DELETE FROM records WHERE pool_id = ?1 AND identity_id = ?2 AND dataset = ?3"));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, dataset);
  return st.run();
}

Result<std::vector<std::string>> SqliteTransaction::listMergedDatasets(const OwnerRef& owner,
                                                                       std::string_view dataset) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "SELECT merged_name FROM merged_datasets WHERE pool_id = ?1 AND identity_id = ?2"
      " AND dataset = ?3 ORDER BY merged_name"));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, dataset);
  std::vector<std::string> out;
  while (true) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(st.columnText(0));
  }
  return out;
}

Status SqliteTransaction::addMergedDataset(const OwnerRef& owner, std::string_view dataset,
                                           std::string_view mergedName) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "INSERT INTO merged_datasets (pool_id, identity_id, dataset, merged_name)"
      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING"));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, dataset).bind(4, mergedName);
  return st.run();
}

Status SqliteTransaction::removeMergedDataset(const OwnerRef& owner,
                                              std::string_view mergedName) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare(
      "DELETE FROM merged_datasets WHERE pool_id = ?1 AND identity_id = ?2"
      " AND merged_name = ?3"));
  st.bind(1, owner.poolId).bind(2, owner.identityId).bind(3, mergedName);
  return st.run();
}

Result<bool> SqliteTransaction::identityDisabled(std::string_view identityId) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement st, db_->prepare("SELECT disabled FROM identities WHERE id = ?1"));
  st.bind(1, identityId);
  TETHER_TRY(bool row, st.step());
  return row && st.columnInt64(0) != 0;
}

Status SqliteTransaction::retireIdentity(std::string_view poolId, std::string_view loserId,
                                         std::string_view winnerId) {
  TETHER_RETURN_IF_ERROR(checkOpen());
  TETHER_TRY(Statement off, db_->prepare("UPDATE identities SET disabled = 1 WHERE id = ?2 AND pool_id = ?1"));
  off.bind(1, poolId).bind(2, loserId);
  TETHER_RETURN_IF_ERROR(off.run());
  TETHER_TRY(Statement logins, db_->prepare(
      "UPDATE logins SET identity_id = ?3 WHERE pool_id = ?1 AND identity_id = ?2"));
  logins.bind(1, poolId).bind(2, loserId).bind(3, winnerId);
  TETHER_RETURN_IF_ERROR(logins.run());
  return moveDevicesSql(*db_, poolId, loserId, winnerId);
}

Status moveDevicesSql(SqliteDb& db, std::string_view poolId, std::string_view fromIdentity,
                      std::string_view toIdentity) {
  // OR IGNORE leaves behind the devices whose token the survivor already has (unique index);
  // the two DELETEs drop those and their subscriptions.
  struct Step {
    const char* sql;
    bool usesTo;
  };
  static constexpr Step kSteps[] = {
      {"UPDATE OR IGNORE devices SET identity_id = ?3 WHERE pool_id = ?1 AND identity_id = ?2", true},
      {"UPDATE OR IGNORE dataset_subscriptions SET identity_id = ?3 WHERE pool_id = ?1 AND identity_id = ?2"
       " AND device_id IN (SELECT device_id FROM devices WHERE pool_id = ?1 AND identity_id = ?3)", true},
      {"DELETE FROM dataset_subscriptions WHERE pool_id = ?1 AND identity_id = ?2", false},
      {"DELETE FROM devices WHERE pool_id = ?1 AND identity_id = ?2", false},
  };
  for (const Step& step : kSteps) {
    TETHER_TRY(Statement st, db.prepare(step.sql));
    st.bind(1, poolId).bind(2, fromIdentity);
    if (step.usesTo) st.bind(3, toIdentity);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  return Status::ok();
}

}  // namespace tether::server
