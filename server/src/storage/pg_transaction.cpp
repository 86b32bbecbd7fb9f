// The PostgreSQL store's transactions; see pg_transaction.h and pg_store.cpp (locks).
#include "storage/pg_transaction.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>
#include "common/metrics.h"
#include "storage/pg_conn.h"
#include "storage/pg_outbox.h"
#include "storage/pg_schema.h"

namespace tether::server {
namespace {

constexpr const char* kDatasetColumns =
    "name, sync_count, live, deleted_at, creation_ms, last_modified_ms, last_modified_by, data_storage, num_records";
constexpr const char* kRecordColumns =
    "key, value, sync_count, last_modified_ms, last_modified_by, device_last_modified_ms";

DatasetRow readDataset(const PgResult& r, int row) {
  DatasetRow d;
  d.name = r.text(row, 0);
  d.syncCount = r.int64(row, 1);
  d.live = r.boolean(row, 2);
  if (!r.isNull(row, 3)) d.deletedAtSyncCount = r.int64(row, 3);
  d.creationMs = r.int64(row, 4);
  d.lastModifiedMs = r.int64(row, 5);
  d.lastModifiedBy = r.text(row, 6);
  d.dataStorage = r.int64(row, 7);
  d.numRecords = r.int64(row, 8);
  return d;
}

Record readRecord(const PgResult& r, int row) {
  Record rec;
  rec.key = r.bytes(row, 0);
  rec.value = r.optionalBytes(row, 1);
  rec.syncCount = r.int64(row, 2);
  rec.lastModifiedMs = r.int64(row, 3);
  rec.lastModifiedBy = r.text(row, 4);
  rec.deviceLastModifiedMs = r.int64(row, 5);
  return rec;
}

std::string hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// A PostgreSQL array literal ({"a","b",NULL}) of text elements.
std::string arrayLiteral(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    if (!items[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

class PgTransaction final : public StoreTransaction {
 public:
  using Mode = PgTxnMode;

  static Result<std::unique_ptr<StoreTransaction>> begin(PgPool& pool, Mode mode) {
    TETHER_TRY(PgPool::Lease lease, pool.acquire());
    // Reads: one snapshot for the whole transaction (a page of records and its dataset row agree).
    // Writes: READ COMMITTED with row locks, so a writer that waited for a lock reads what the
    // other committed instead of failing with a serialization error.
    TETHER_RETURN_IF_ERROR(lease->execScript(mode == Mode::kRead
                                                 ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                                 : "BEGIN ISOLATION LEVEL READ COMMITTED"));
    return std::unique_ptr<StoreTransaction>(new PgTransaction(std::move(lease), mode));
  }

  ~PgTransaction() override {
    if (open_ && !conn_->broken()) (void)conn_->execScript("ROLLBACK");
  }

  Result<std::optional<DatasetRow>> getDataset(const OwnerRef& owner, std::string_view name) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    const std::string sql = std::string("SELECT ") + kDatasetColumns +
                            " FROM datasets WHERE identity_id = $1 AND pool_id = $2 AND name = $3" +
                            (mode_ == Mode::kWrite ? " FOR UPDATE" : "");
    TETHER_TRY(PgResult r, run(sql, {owner.identityId, owner.poolId, name}));
    if (r.rows() == 0 && mode_ == Mode::kWrite) {
      // A new dataset: take the identity's dataset-set lock, then look again (a creator that
      // held it may have committed this very dataset meanwhile; then we lock its row).
      TETHER_RETURN_IF_ERROR(lockDatasetSet(owner));
      TETHER_TRY(r, run(sql, {owner.identityId, owner.poolId, name}));
    }
    if (r.rows() == 0) return std::optional<DatasetRow>();
    return std::optional<DatasetRow>(readDataset(r, 0));
  }

  Result<std::vector<DatasetRow>> listDatasets(const OwnerRef& owner, DatasetFilter filter,
                                               std::string_view afterName, int limit) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    TETHER_TRY(PgResult r, run(std::string("SELECT ") + kDatasetColumns +
                                   " FROM datasets WHERE identity_id = $1 AND pool_id = $2 AND name > $3"
                                   " AND (live OR NOT $4::boolean) ORDER BY name LIMIT $5::bigint",
                               {owner.identityId, owner.poolId, afterName, filter == DatasetFilter::kLiveOnly,
                                int64_t{limit < 0 ? 0 : limit}}));
    std::vector<DatasetRow> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(readDataset(r, i));
    return out;
  }

  Result<int64_t> countLiveDatasets(const OwnerRef& owner) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    // The count decides whether a dataset may be created: no other creator of this identity's
    // datasets (any node) may run between it and our commit.
    if (mode_ == Mode::kWrite) TETHER_RETURN_IF_ERROR(lockDatasetSet(owner));
    TETHER_TRY(PgResult r, run("SELECT count(*) FROM datasets WHERE identity_id = $1 AND pool_id = $2 AND live",
                               {owner.identityId, owner.poolId}));
    return r.int64(0, 0);
  }

  Status putDataset(const OwnerRef& owner, const DatasetRow& d) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    return run("INSERT INTO datasets (identity_id, pool_id, name, sync_count, live, deleted_at, creation_ms,"
               " last_modified_ms, last_modified_by, data_storage, num_records)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
               " ON CONFLICT (identity_id, pool_id, name) DO UPDATE SET sync_count = excluded.sync_count,"
               " live = excluded.live, deleted_at = excluded.deleted_at, creation_ms = excluded.creation_ms,"
               " last_modified_ms = excluded.last_modified_ms, last_modified_by = excluded.last_modified_by,"
               " data_storage = excluded.data_storage, num_records = excluded.num_records",
               {owner.identityId, owner.poolId, d.name, d.syncCount, d.live,
                d.deletedAtSyncCount ? PgParam(*d.deletedAtSyncCount) : PgParam(std::nullopt), d.creationMs,
                d.lastModifiedMs, d.lastModifiedBy, d.dataStorage, d.numRecords})
        .status();
  }

  Result<std::vector<Record>> getRecords(const OwnerRef& owner, std::string_view dataset,
                                         std::span<const std::string> keys) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    std::vector<Record> out;
    if (keys.empty()) return out;
    // One round trip for the whole batch: the keys travel hex-encoded in one text array.
    std::vector<std::optional<std::string>> hexKeys;
    hexKeys.reserve(keys.size());
    for (const std::string& k : keys) hexKeys.emplace_back(hex(k));
    TETHER_TRY(PgResult r, run(std::string("SELECT ") + kRecordColumns +
                                   " FROM records WHERE identity_id = $1 AND pool_id = $2 AND dataset = $3"
                                   " AND key = ANY (SELECT decode(k, 'hex') FROM unnest($4::text[]) AS k)",
                               {owner.identityId, owner.poolId, dataset, arrayLiteral(hexKeys)}));
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(readRecord(r, i));
    return out;
  }

  Result<std::vector<Record>> listRecords(const OwnerRef& owner, std::string_view dataset,
                                          const RecordQuery& q) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    std::string sql = std::string("SELECT ") + kRecordColumns +
                      " FROM records WHERE identity_id = $1 AND pool_id = $2 AND dataset = $3"
                      " AND sync_count > $4::bigint AND sync_count <= $5::bigint";
    std::vector<PgParam> params{owner.identityId, owner.poolId, dataset, q.afterSyncCount, q.maxSyncCount,
                                int64_t{q.limit < 0 ? 0 : q.limit}};
    if (q.after) {
      sql += " AND (sync_count, key) > ($7::bigint, $8::bytea)";
      params.push_back(q.after->syncCount);
      params.push_back(PgParam::bytes(q.after->key));
    }
    sql += " ORDER BY sync_count, key LIMIT $6::bigint";
    TETHER_TRY(PgResult r, run(sql, params));
    std::vector<Record> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(readRecord(r, i));
    return out;
  }

  Status putRecords(const OwnerRef& owner, std::string_view dataset, std::span<const Record> records) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    if (records.empty()) return Status::ok();
    // One multi-row upsert. A key given twice: the later record wins (one row per key, as
    // one upsert per record would leave it).
    std::map<std::string_view, const Record*> byKey;
    for (const Record& r : records) byKey[r.key] = &r;
    std::vector<std::optional<std::string>> keys, values, counts, modified, by, deviceModified;
    for (const auto& [key, r] : byKey) {
      keys.emplace_back(hex(r->key));
      values.push_back(r->value ? std::optional<std::string>(hex(*r->value)) : std::nullopt);
      counts.emplace_back(std::to_string(r->syncCount));
      modified.emplace_back(std::to_string(r->lastModifiedMs));
      by.emplace_back(r->lastModifiedBy);
      deviceModified.emplace_back(std::to_string(r->deviceLastModifiedMs));
    }
    return run(
        "INSERT INTO records (identity_id, pool_id, dataset, key, value, sync_count, last_modified_ms,"
        " last_modified_by, device_last_modified_ms)"
        " SELECT $1, $2, $3, decode(k, 'hex'), decode(v, 'hex'), c, m, b, d"
        " FROM unnest($4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::bigint[])"
        "  AS t(k, v, c, m, b, d)"
        " ON CONFLICT (identity_id, pool_id, dataset, key) DO UPDATE SET value = excluded.value,"
        " sync_count = excluded.sync_count, last_modified_ms = excluded.last_modified_ms,"
        " last_modified_by = excluded.last_modified_by, device_last_modified_ms = excluded.device_last_modified_ms",
        {owner.identityId, owner.poolId, dataset, arrayLiteral(keys), arrayLiteral(values), arrayLiteral(counts),
         arrayLiteral(modified), arrayLiteral(by), arrayLiteral(deviceModified)})
        .status();  // no dataset row: the foreign key fails, kInternal (a bug in the caller)
  }

  Status deleteRecords(const OwnerRef& owner, std::string_view dataset) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    return run("DELETE FROM records WHERE identity_id = $1 AND pool_id = $2 AND dataset = $3",
               {owner.identityId, owner.poolId, dataset})
        .status();
  }

  Result<std::vector<std::string>> listMergedDatasets(const OwnerRef& owner, std::string_view dataset) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    TETHER_TRY(PgResult r, run("SELECT merged_name FROM merged_datasets WHERE identity_id = $1 AND pool_id = $2"
                               " AND dataset = $3 ORDER BY merged_name",
                               {owner.identityId, owner.poolId, dataset}));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  }

  Status addMergedDataset(const OwnerRef& owner, std::string_view dataset, std::string_view mergedName) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    return run("INSERT INTO merged_datasets (identity_id, pool_id, dataset, merged_name) VALUES ($1, $2, $3, $4)"
               " ON CONFLICT DO NOTHING",
               {owner.identityId, owner.poolId, dataset, mergedName})
        .status();
  }

  Status removeMergedDataset(const OwnerRef& owner, std::string_view mergedName) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    return run("DELETE FROM merged_datasets WHERE identity_id = $1 AND pool_id = $2 AND merged_name = $3",
               {owner.identityId, owner.poolId, mergedName})
        .status();
  }

  Result<bool> identityDisabled(std::string_view identityId) override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    // Shared L1 first, in its own statement: if a merge of this identity is committing we wait
    // for it, and the SELECT below (a new snapshot) then sees the identity disabled.
    if (mode_ == Mode::kWrite) TETHER_RETURN_IF_ERROR(lock(kIdentityLock, identityId, /*shared=*/true));
    TETHER_TRY(PgResult r, run("SELECT disabled FROM identities WHERE id = $1", {identityId}));
    return r.rows() > 0 && r.boolean(0, 0);
  }

  Status lockIdentities(std::vector<std::string_view> identityIds) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    std::sort(identityIds.begin(), identityIds.end());
    identityIds.erase(std::unique(identityIds.begin(), identityIds.end()), identityIds.end());
    for (std::string_view id : identityIds) TETHER_RETURN_IF_ERROR(lock(kIdentityLock, id, /*shared=*/false));
    return Status::ok();
  }

  Status retireIdentity(std::string_view poolId, std::string_view loserId, std::string_view winnerId) override {
    TETHER_RETURN_IF_ERROR(checkWrite());
    TETHER_RETURN_IF_ERROR(
        run("UPDATE identities SET disabled = true WHERE id = $2 AND pool_id = $1", {poolId, loserId}).status());
    TETHER_RETURN_IF_ERROR(run("UPDATE logins SET identity_id = $3 WHERE pool_id = $1 AND identity_id = $2",
                               {poolId, loserId, winnerId})
                               .status());
    // Both identities' device locks, in id order like moveDevices (no deadlock between them).
    TETHER_RETURN_IF_ERROR(lock(kDevicesLock, std::min(loserId, winnerId), false));
    if (loserId != winnerId) TETHER_RETURN_IF_ERROR(lock(kDevicesLock, std::max(loserId, winnerId), false));
    Status s = moveDevicesSql(*conn_, poolId, loserId, winnerId);
    if (!s.isOk()) noteFailure();
    return s;
  }

  // Meta, outbox and feed: the statements are in pg_outbox.cpp.
  Result<std::optional<std::string>> getMeta(std::string_view k) override { return track([&] { return pg_outbox::getMeta(*conn_, k); }); }
  Result<std::optional<std::string>> getMetaForUpdate(std::string_view k) override {
    return track([&] { return pg_outbox::getMeta(*conn_, k, /*forUpdate=*/true); });
  }
  Status putMeta(std::string_view k, std::string_view v) override { return track([&] { return pg_outbox::putMeta(*conn_, k, v); }); }
  Status appendOutbox(const OutboxEntry& e, int64_t max) override { return track([&] { return pg_outbox::append(*conn_, e, max); }); }
  Result<std::vector<OutboxEntry>> listOutbox(std::string_view s, int n) override { return track([&] { return pg_outbox::list(*conn_, s, n); }); }
  Result<std::vector<std::string>> outboxStreams() override { return track([&] { return pg_outbox::streams(*conn_); }); }
  Status deleteOutbox(std::span<const int64_t> seqs) override { return track([&] { return pg_outbox::remove(*conn_, seqs); }); }
  Result<OutboxStats> outboxStats() override { return track([&] { return pg_outbox::stats(*conn_); }); }
  Status appendFeed(std::span<const OutboxEntry> e) override { return track([&] { return pg_outbox::appendFeed(*conn_, e); }); }
  Result<std::vector<OutboxEntry>> listFeed(std::string_view s, int64_t after, int n) override {
    return track([&] { return pg_outbox::listFeed(*conn_, s, after, n); });
  }
  Result<int64_t> lastFeedPosition(std::string_view s) override { return track([&] { return pg_outbox::lastFeedPosition(*conn_, s); }); }
  Result<int64_t> pruneFeed(std::string_view s, int64_t ms) override { return track([&] { return pg_outbox::pruneFeed(*conn_, s, ms); }); }

  bool failedRetryably() const override { return retryable_; }

  Status commit() override {
    TETHER_RETURN_IF_ERROR(checkOpen());
    Status s = commitInner();
    timer_.finish(s.isOk() ? "commit" : "error");
    // Every write transaction commits on its own: a group of one (SQLite groups them).
    if (s.isOk() && mode_ == Mode::kWrite) metrics::StoreMetrics::get().commitGroupSize.with({"postgresql"}).observe(1);
    return s;
  }

 private:
  Status commitInner() {
    open_ = false;
    // PostgreSQL answers COMMIT of a transaction that already failed with a ROLLBACK, not an
    // error: never report such a transaction as committed.
    if (failed_) {
      if (!conn_->broken()) (void)conn_->execScript("ROLLBACK");
      conn_.release();
      return Status::internal("commit of a transaction whose earlier statement failed; rolled back");
    }
    Status s = conn_->execScript("COMMIT");
    if (!s.isOk()) {
      retryable_ = conn_->lastAbortRetryable();
      // The connection died during COMMIT: the outcome is unknown (kUnavailable, never retried
      // here; a client that resends sees either its write or a conflict with it).
      if (!conn_->broken()) (void)conn_->execScript("ROLLBACK");
    }
    conn_.release();
    return s;
  }

 private:
  PgTransaction(PgPool::Lease conn, Mode mode)
      : conn_(std::move(conn)), mode_(mode), timer_("postgresql", mode == Mode::kWrite) {}

  Status checkOpen() const {
    if (!open_) return Status::internal("transaction already finished");
    return Status::ok();
  }
  Status checkWrite() const {
    TETHER_RETURN_IF_ERROR(checkOpen());
    if (mode_ != Mode::kWrite) return Status::internal("write through a read transaction");
    return Status::ok();
  }

  Result<PgResult> run(std::string_view sql, std::initializer_list<PgParam> params) {
    return run(sql, std::vector<PgParam>(params));
  }
  Result<PgResult> run(std::string_view sql, const std::vector<PgParam>& params) {
    Result<PgResult> r = conn_->exec(sql, params);
    if (!r.isOk()) noteFailure();
    return r;
  }
  // Runs `fn` (a pg_outbox statement on conn_) if the transaction is open; a failure aborts it.
  template <class Fn>
  auto track(Fn&& fn) -> decltype(fn()) {
    if (!open_) return Status::internal("transaction already finished");
    auto result = fn();
    if (!result.isOk()) noteFailure();
    return result;
  }
  void noteFailure() {
    failed_ = true;
    retryable_ = retryable_ || conn_->lastAbortRetryable();
  }

  Status lock(int space, std::string_view identityId, bool shared) {
    Status s = lockAdvisory(*conn_, space, identityId, shared);
    if (!s.isOk()) noteFailure();
    return s;
  }
  Status lockDatasetSet(const OwnerRef& owner) {
    if (!datasetSetsLocked_.insert(std::string(owner.identityId)).second) return Status::ok();
    return lock(kDatasetSetLock, owner.identityId, false);
  }

  PgPool::Lease conn_;
  const Mode mode_;
  bool open_ = true;
  bool retryable_ = false;
  bool failed_ = false;  // a statement failed: the transaction is aborted, commit() must not succeed
  std::set<std::string> datasetSetsLocked_;
  metrics::TransactionTimer timer_;  // BEGIN to COMMIT or ROLLBACK (tether_store_transaction_duration_seconds)
};


}  // namespace

Status lockAdvisory(PgConn& conn, int space, std::string_view identityId, bool shared) {
  return conn
      .exec(shared ? "SELECT pg_advisory_xact_lock_shared($1::int4, hashtext($2))"
                   : "SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
            {space, identityId})
      .status();
}


Status moveDevicesSql(PgConn& conn, std::string_view poolId, std::string_view from, std::string_view to) {
  static constexpr const char* kSteps[] = {
      "UPDATE devices d SET identity_id = $3 WHERE d.identity_id = $2 AND d.pool_id = $1"
      " AND NOT EXISTS (SELECT 1 FROM devices t WHERE t.identity_id = $3 AND t.pool_id = $1"
      "  AND ((t.platform = d.platform AND t.push_token = d.push_token) OR t.device_id = d.device_id))",
      "UPDATE dataset_subscriptions s SET identity_id = $3 WHERE s.identity_id = $2 AND s.pool_id = $1"
      " AND s.device_id IN (SELECT device_id FROM devices WHERE identity_id = $3 AND pool_id = $1)"
      " AND NOT EXISTS (SELECT 1 FROM dataset_subscriptions t WHERE t.identity_id = $3 AND t.pool_id = $1"
      "  AND t.device_id = s.device_id AND t.dataset = s.dataset)",
      "DELETE FROM dataset_subscriptions WHERE identity_id = $2 AND pool_id = $1 AND $3::text IS NOT NULL",
      "DELETE FROM devices WHERE identity_id = $2 AND pool_id = $1 AND $3::text IS NOT NULL",
  };
  for (const char* sql : kSteps) TETHER_RETURN_IF_ERROR(conn.exec(sql, {poolId, from, to}).status());
  return Status::ok();
}


Result<std::unique_ptr<StoreTransaction>> beginPgTransaction(PgPool& pool, PgTxnMode mode) {
  return PgTransaction::begin(pool, mode);
}

}  // namespace tether::server
