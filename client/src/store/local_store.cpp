#include "store/local_store.h"

#include <openssl/rand.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "store/local_store_schema.h"
#include "tether/limits.h"

namespace tether::client {
namespace {

// A record row with its value (readRecord's column order).
constexpr const char* kRecordSelect =
    "SELECT r.key, v.value, r.sync_count, r.last_modified_ms, r.last_modified_by,"
    " r.device_last_modified_ms, r.modified FROM records r LEFT JOIN record_values v ON v.rid = r.rid";

LocalRecord readRecord(const Statement& st) {
  LocalRecord r;
  r.record.key = st.columnText(0);
  r.record.value = st.columnOptionalText(1);
  r.record.syncCount = st.columnInt64(2);
  r.record.lastModifiedMs = st.columnInt64(3);
  r.record.lastModifiedBy = st.columnText(4);
  r.record.deviceLastModifiedMs = st.columnInt64(5);
  r.dirty = st.columnInt64(6) != 0;
  return r;
}

std::string randomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Fall back to something unique per process; the device ID is not a secret.
    for (unsigned char& c : b) c = static_cast<unsigned char>(std::rand());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

bool sameRow(const LocalRecord& a, const LocalRecord& b) {
  return a.record.value == b.record.value && a.record.syncCount == b.record.syncCount &&
         a.record.deviceLastModifiedMs == b.record.deviceLastModifiedMs && a.dirty == b.dirty;
}

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::open(const std::string& path, NowFn nowMs) {
  if (path.empty()) return Status::invalidArgument("cache path is empty");
  TETHER_TRY(SqliteDb db, SqliteDb::open(path));
  if (!nowMs) return Status::invalidArgument("LocalStore needs a clock");
  std::unique_ptr<LocalStore> store(new LocalStore(std::move(db), std::move(nowMs)));
  if (const char* k = std::getenv(kKillAfterRelaxedCommitsEnv)) store->killAfterRelaxedCommits_ = std::atoll(k);
  TETHER_RETURN_IF_ERROR(store->migrate());
  return store;
}

Status LocalStore::migrate() {
  MutexLock lock(mu_);
  return migrateCacheSchema(db_);
}

// ---- meta / identity

Result<std::optional<std::string>> LocalStore::getMetaLocked(std::string_view key) {
  TETHER_TRY(Statement st, db_.prepare("SELECT value FROM meta WHERE key = ?1"));
  st.bind(1, key);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.columnText(0));
}

Status LocalStore::setMetaLocked(std::string_view key, std::string_view value) {
  TETHER_TRY(Statement st, db_.prepare(
      "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2"));
  st.bind(1, key).bind(2, value);
  return st.exec();
}

Result<std::string> LocalStore::resolveIdLocked(std::string_view id) {
  if (!id.empty()) return std::string(id);
  TETHER_TRY(std::optional<std::string> cached, getMetaLocked("identity_id"));
  return cached ? *cached : std::string(kUnknownIdentity);
}

Result<std::string> LocalStore::identityId() {
  MutexLock lock(mu_);
  TETHER_TRY(std::optional<std::string> id, getMetaLocked("identity_id"));
  return id ? *id : std::string(kUnknownIdentity);
}

Result<std::string> LocalStore::deviceId() {
  MutexLock lock(mu_);
  TETHER_TRY(std::optional<std::string> id, getMetaLocked("device_id"));
  if (id) return *id;
  std::string fresh = randomUuid();
  TETHER_RETURN_IF_ERROR(setMetaLocked("device_id", fresh));
  return fresh;
}

Status LocalStore::setDeviceId(std::string_view deviceId) {
  TETHER_RETURN_IF_ERROR(validateDeviceId(deviceId));
  MutexLock lock(mu_);
  return setMetaLocked("device_id", deviceId);
}

Status LocalStore::changeIdentity(const std::string& oldId, const std::string& newId) {
  TETHER_RETURN_IF_ERROR(validateIdentityId(newId));
  MutexLock lock(mu_);
  // One transaction: a crash or an error leaves the cache exactly as before (the switch is
  // redone at the next authentication), never half-moved.
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  if (oldId != newId) {
    // oldId's datasets, with their last sync count (-1 = delete pending).
    std::vector<std::pair<std::string, int64_t>> sets;
    {
      TETHER_TRY(Statement st, db_.prepare(
          "SELECT dataset_name, last_sync_count FROM datasets WHERE identity_id = ?1"));
      st.bind(1, oldId);
      for (;;) {
        TETHER_TRY(bool row, st.step());
        if (!row) break;
        sets.emplace_back(st.columnText(0), st.columnInt64(1));
      }
    }
    const bool fromUnknown = oldId == kUnknownIdentity;
    for (const auto& [name, lastSync] : sets) {
      TETHER_TRY(std::optional<LocalDatasetInfo> clash, getDatasetLocked(newId, name));
      std::string target = name;
      if (!fromUnknown) {
        // Copy into newId's same-named dataset as unpushed edits (sync count 0), so they are
        // pushed into the new identity's dataset; a key newId already holds keeps its row
        // (the old value stays in the merged copy below for the app to fold in).
        if (lastSync != kPendingDeleteSyncCount) {
          if (!clash) {
            // Not ensureDatasetLocked: a merge may pass the 20-dataset limit, as on the server.
            TETHER_RETURN_IF_ERROR(insertDatasetRowLocked(newId, name));
          }
          TETHER_TRY(Statement copy, db_.prepare(
              "INSERT INTO records(identity_id, dataset_name, key, sync_count, last_modified_ms,"
              " last_modified_by, device_last_modified_ms, modified)"
              " SELECT ?1, r.dataset_name, r.key, 0, r.last_modified_ms, r.last_modified_by,"
              " r.device_last_modified_ms, 1 FROM records r JOIN record_values v ON v.rid = r.rid"
              " WHERE r.identity_id = ?2 AND r.dataset_name = ?3 AND v.value IS NOT NULL"
              " ON CONFLICT(identity_id, dataset_name, key) DO NOTHING"));
          copy.bind(1, newId).bind(2, oldId).bind(3, name);
          TETHER_RETURN_IF_ERROR(copy.exec());
          // The values of the rows just copied (those without a value row yet).
          TETHER_TRY(Statement copyValues, db_.prepare(
              "INSERT INTO record_values(rid, value)"
              " SELECT n.rid, v.value FROM records n"
              " JOIN records o ON o.identity_id = ?2 AND o.dataset_name = n.dataset_name AND o.key = n.key"
              " JOIN record_values v ON v.rid = o.rid"
              " WHERE n.identity_id = ?1 AND n.dataset_name = ?3"
              " AND NOT EXISTS(SELECT 1 FROM record_values x WHERE x.rid = n.rid)"));
          copyValues.bind(1, newId).bind(2, oldId).bind(3, name);
          TETHER_RETURN_IF_ERROR(copyValues.exec());
        }
        target = name + "." + oldId;
      } else if (clash) {
        target = name + "." + std::string(kUnknownIdentity);
      }
      if (target != name) {
        // "<name>.<id>" may be taken already (an earlier switch) or too long: never overwrite.
        TETHER_TRY(target, unusedDatasetNameLocked(newId, target));
      }
      for (const char* table : {"datasets", "records"}) {
        TETHER_TRY(Statement mv, db_.prepare(std::string("UPDATE ") + table +
            " SET identity_id = ?1, dataset_name = ?2 WHERE identity_id = ?3 AND dataset_name = ?4"));
        mv.bind(1, newId).bind(2, target).bind(3, oldId).bind(4, name);
        TETHER_RETURN_IF_ERROR(mv.exec());
      }
      if (!fromUnknown && lastSync != kPendingDeleteSyncCount) {
        // The server keeps the old identity's dataset under newId as "<name>.<oldId>" with its
        // own (renumbered) sync counts: pull it whole; local edits then meet it as conflicts.
        TETHER_TRY(Statement rs, db_.prepare(
            "UPDATE records SET sync_count = 0 WHERE identity_id = ?1 AND dataset_name = ?2"));
        rs.bind(1, newId).bind(2, target);
        TETHER_RETURN_IF_ERROR(rs.exec());
        TETHER_TRY(Statement ds, db_.prepare(
            "UPDATE datasets SET last_sync_count = 0 WHERE identity_id = ?1 AND dataset_name = ?2"));
        ds.bind(1, newId).bind(2, target);
        TETHER_RETURN_IF_ERROR(ds.exec());
      }
    }
  }
  TETHER_RETURN_IF_ERROR(setMetaLocked("identity_id", newId));
  return txn.commit();
}

Result<std::string> LocalStore::unusedDatasetNameLocked(std::string_view id, std::string base) {
  if (base.size() > kMaxDatasetNameChars) base.resize(kMaxDatasetNameChars);
  for (int n = 1; n < 1000; ++n) {
    std::string candidate = base;
    if (n > 1) {
      // "<base>-N", cut to fit the 128-character limit.
      std::string suffix = "-" + std::to_string(n);
      if (candidate.size() + suffix.size() > kMaxDatasetNameChars)
        candidate.resize(kMaxDatasetNameChars - suffix.size());
      candidate += suffix;
    }
    TETHER_TRY(std::optional<LocalDatasetInfo> taken, getDatasetLocked(id, candidate));
    if (!taken) return candidate;
  }
  return Status::internal("no free dataset name for " + base);
}

// ---- datasets

Result<std::optional<LocalDatasetInfo>> LocalStore::getDatasetLocked(std::string_view id,
                                                                     std::string_view name) {
  TETHER_TRY(Statement st, db_.prepare(
      "SELECT creation_ms, last_modified_ms, last_modified_by, last_sync_count,"
      " (SELECT COUNT(*) FROM records r JOIN record_values v ON v.rid = r.rid"
      "   WHERE r.identity_id = d.identity_id AND r.dataset_name = d.dataset_name"
      "   AND v.value IS NOT NULL),"
      " (SELECT COALESCE(SUM(LENGTH(CAST(r.key AS BLOB)) + LENGTH(CAST(v.value AS BLOB))), 0)"
      "   FROM records r JOIN record_values v ON v.rid = r.rid"
      "   WHERE r.identity_id = d.identity_id AND r.dataset_name = d.dataset_name"
      "   AND v.value IS NOT NULL)"
      " FROM datasets d WHERE identity_id = ?1 AND dataset_name = ?2"));
  st.bind(1, id).bind(2, name);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<LocalDatasetInfo>();
  LocalDatasetInfo info;
  info.metadata.name = std::string(name);
  info.metadata.creationMs = st.columnInt64(0);
  info.metadata.lastModifiedMs = st.columnInt64(1);
  info.metadata.lastModifiedBy = st.columnText(2);
  info.lastSyncCount = st.columnInt64(3);
  info.metadata.syncCount = info.lastSyncCount;
  info.metadata.numRecords = st.columnInt64(4);
  info.metadata.dataStorage = st.columnInt64(5);
  return std::optional<LocalDatasetInfo>(std::move(info));
}

Result<std::optional<int64_t>> LocalStore::datasetSyncCountLocked(std::string_view id,
                                                                  std::string_view name) {
  TETHER_TRY(Statement st, db_.prepare(
      "SELECT last_sync_count FROM datasets WHERE identity_id = ?1 AND dataset_name = ?2"));
  st.bind(1, id).bind(2, name);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.columnInt64(0));
}

Status LocalStore::ensureDatasetLocked(std::string_view id, std::string_view name) {
  TETHER_RETURN_IF_ERROR(validateDatasetName(name));
  TETHER_TRY(std::optional<int64_t> existing, datasetSyncCountLocked(id, name));
  if (existing) return Status::ok();
  TETHER_TRY(Statement count, db_.prepare("SELECT COUNT(*) FROM datasets WHERE identity_id = ?1"));
  count.bind(1, id);
  TETHER_TRY(bool row, count.step());
  if (row && count.columnInt64(0) >= kMaxDatasetsPerIdentity)
    return Status::limitExceeded("an identity may have at most 20 datasets");
  return insertDatasetRowLocked(id, name);
}

Status LocalStore::insertDatasetRowLocked(std::string_view id, std::string_view name) {
  TETHER_TRY(Statement st, db_.prepare(
      "INSERT INTO datasets(identity_id, dataset_name, creation_ms, last_modified_ms)"
      " VALUES(?1, ?2, ?3, ?3)"));
  st.bind(1, id).bind(2, name).bind(3, nowMs_());
  return st.exec();
}

Status LocalStore::createDataset(std::string_view idArg, std::string_view name) {
  TETHER_RETURN_IF_ERROR(validateDatasetName(name));
  MutexLock lock(mu_);
  TETHER_TRY(std::string id, resolveIdLocked(idArg));
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  TETHER_RETURN_IF_ERROR(ensureDatasetLocked(id, name));
  return txn.commit();
}

Result<std::vector<DatasetMetadata>> LocalStore::listDatasets(std::string_view id) {
  MutexLock lock(mu_);
  std::vector<std::string> names;
  {
    TETHER_TRY(Statement st, db_.prepare(
        "SELECT dataset_name FROM datasets WHERE identity_id = ?1 AND last_sync_count >= 0"
        " ORDER BY dataset_name"));
    st.bind(1, id);
    for (;;) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      names.push_back(st.columnText(0));
    }
  }
  std::vector<DatasetMetadata> out;
  for (const std::string& n : names) {
    TETHER_TRY(std::optional<LocalDatasetInfo> info, getDatasetLocked(id, n));
    if (info) out.push_back(std::move(info->metadata));
  }
  return out;
}

Result<std::vector<std::string>> LocalStore::datasetsWithLocalChanges(std::string_view id) {
  MutexLock lock(mu_);
  TETHER_TRY(Statement st, db_.prepare(
      "SELECT dataset_name FROM datasets d WHERE identity_id = ?1 AND (last_sync_count < 0"
      " OR EXISTS(SELECT 1 FROM records r WHERE r.identity_id = d.identity_id"
      " AND r.dataset_name = d.dataset_name AND r.modified = 1))"
      " ORDER BY dataset_name"));
  st.bind(1, id);
  std::vector<std::string> names;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    names.push_back(st.columnText(0));
  }
  return names;
}

Result<std::optional<LocalDatasetInfo>> LocalStore::getDataset(std::string_view id,
                                                               std::string_view name) {
  MutexLock lock(mu_);
  return getDatasetLocked(id, name);
}

Status LocalStore::updateDatasetMetadata(std::string_view id,
                                         const std::vector<DatasetMetadata>& remote) {
  MutexLock lock(mu_);
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  for (const DatasetMetadata& m : remote) {
    if (!validateDatasetName(m.name).isOk()) continue;  // a bad name from the server: skip it
    TETHER_TRY(Statement st, db_.prepare(
        "INSERT INTO datasets(identity_id, dataset_name, creation_ms, last_modified_ms,"
        " last_modified_by, remote_storage_bytes, remote_record_count)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT(identity_id, dataset_name) DO UPDATE SET remote_storage_bytes = ?6,"
        " remote_record_count = ?7"));
    st.bind(1, id).bind(2, m.name).bind(3, m.creationMs).bind(4, m.lastModifiedMs)
        .bind(5, m.lastModifiedBy).bind(6, m.dataStorage).bind(7, m.numRecords);
    TETHER_RETURN_IF_ERROR(st.exec());
  }
  return txn.commit();
}

Result<int64_t> LocalStore::lastSyncCount(std::string_view id, std::string_view name) {
  MutexLock lock(mu_);
  TETHER_TRY(std::optional<int64_t> count, datasetSyncCountLocked(id, name));
  return count ? *count : int64_t{0};
}

Status LocalStore::setLastSyncCount(std::string_view id, std::string_view name, int64_t count) {
  MutexLock lock(mu_);
  TETHER_TRY(Statement st, db_.prepare(
      "UPDATE datasets SET last_sync_count = ?3, last_sync_ms = ?4"
      " WHERE identity_id = ?1 AND dataset_name = ?2 AND last_sync_count >= 0"));
  st.bind(1, id).bind(2, name).bind(3, count).bind(4, nowMs_());
  return st.exec();
}

Status LocalStore::deleteDataset(std::string_view idArg, std::string_view name) {
  MutexLock lock(mu_);
  TETHER_TRY(std::string id, resolveIdLocked(idArg));
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  TETHER_TRY(std::optional<LocalDatasetInfo> info, getDatasetLocked(id, name));
  if (!info) return Status::notFound("no local dataset " + std::string(name));
  TETHER_TRY(Statement del, db_.prepare(
      "DELETE FROM records WHERE identity_id = ?1 AND dataset_name = ?2"));
  del.bind(1, id).bind(2, name);
  TETHER_RETURN_IF_ERROR(del.exec());
  TETHER_TRY(Statement mark, db_.prepare(
      "UPDATE datasets SET last_sync_count = -1, last_modified_ms = ?3"
      " WHERE identity_id = ?1 AND dataset_name = ?2"));
  mark.bind(1, id).bind(2, name).bind(3, nowMs_());
  TETHER_RETURN_IF_ERROR(mark.exec());
  return txn.commit();
}

Status LocalStore::purgeDataset(std::string_view id, std::string_view name) {
  MutexLock lock(mu_);
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  for (const char* table : {"records", "datasets"}) {
    TETHER_TRY(Statement st, db_.prepare(std::string("DELETE FROM ") + table +
                                         " WHERE identity_id = ?1 AND dataset_name = ?2"));
    st.bind(1, id).bind(2, name);
    TETHER_RETURN_IF_ERROR(st.exec());
  }
  return txn.commit();
}

Result<bool> LocalStore::finishRemoteDelete(std::string_view id, std::string_view name) {
  MutexLock lock(mu_);
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  TETHER_TRY(Statement count, db_.prepare(
      "SELECT COUNT(*) FROM records WHERE identity_id = ?1 AND dataset_name = ?2"));
  count.bind(1, id).bind(2, name);
  TETHER_TRY(bool row, count.step());
  bool remaining = row && count.columnInt64(0) > 0;
  if (remaining) {
    // Written after the local delete: a new dataset of the same name, pushed from scratch.
    TETHER_TRY(Statement reset, db_.prepare(
        "UPDATE records SET sync_count = 0, modified = 1 WHERE identity_id = ?1 AND dataset_name = ?2"));
    reset.bind(1, id).bind(2, name);
    TETHER_RETURN_IF_ERROR(reset.exec());
    TETHER_TRY(Statement ds, db_.prepare(
        "UPDATE datasets SET last_sync_count = 0 WHERE identity_id = ?1 AND dataset_name = ?2"));
    ds.bind(1, id).bind(2, name);
    TETHER_RETURN_IF_ERROR(ds.exec());
  } else {
    TETHER_TRY(Statement ds, db_.prepare(
        "DELETE FROM datasets WHERE identity_id = ?1 AND dataset_name = ?2"));
    ds.bind(1, id).bind(2, name);
    TETHER_RETURN_IF_ERROR(ds.exec());
  }
  TETHER_RETURN_IF_ERROR(txn.commit());
  return remaining;
}

Result<bool> LocalStore::acceptRemoteDelete(std::string_view id, std::string_view name) {
  {
    MutexLock lock(mu_);
    TETHER_TRY(Transaction txn, Transaction::begin(db_));
    TETHER_TRY(Statement st, db_.prepare(
        "DELETE FROM records WHERE identity_id = ?1 AND dataset_name = ?2 AND modified = 0"));
    st.bind(1, id).bind(2, name);
    TETHER_RETURN_IF_ERROR(st.exec());
    TETHER_RETURN_IF_ERROR(txn.commit());
  }
  return finishRemoteDelete(id, name);
}

Result<std::vector<std::string>> LocalStore::localMergedDatasets(std::string_view id,
                                                                 std::string_view name) {
  MutexLock lock(mu_);
  TETHER_TRY(Statement st, db_.prepare(
      "SELECT dataset_name FROM datasets WHERE identity_id = ?1 AND last_sync_count >= 0"
      " AND substr(dataset_name, 1, ?3) = ?2 ORDER BY dataset_name"));
  std::string prefix = std::string(name) + ".";
  st.bind(1, id).bind(2, prefix).bind(3, static_cast<int64_t>(prefix.size()));
  std::vector<std::string> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    std::string n = st.columnText(0);
    std::string rest = n.substr(prefix.size());
    // Only "<name>.unknown" and "<name>.<identity id>" are merges; "prefs.old" is just a name.
    if (rest == kUnknownIdentity || validateIdentityId(rest).isOk()) out.push_back(std::move(n));
  }
  return out;
}

// ---- records

Result<std::optional<LocalRecord>> LocalStore::getRecordLocked(std::string_view id,
                                                               std::string_view dataset,
                                                               std::string_view key) {
  TETHER_TRY(Statement st, db_.prepare(std::string(kRecordSelect) +
      " WHERE r.identity_id = ?1 AND r.dataset_name = ?2 AND r.key = ?3"));
  st.bind(1, id).bind(2, dataset).bind(3, key);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<LocalRecord>();
  return std::optional<LocalRecord>(readRecord(st));
}

Result<std::optional<LocalRecord>> LocalStore::getRecord(std::string_view id,
                                                         std::string_view dataset,
                                                         std::string_view key) {
  MutexLock lock(mu_);
  return getRecordLocked(id, dataset, key);
}

Result<std::map<std::string, LocalRecord>> LocalStore::getRecords(
    std::string_view id, std::string_view dataset, const std::vector<std::string>& keys) {
  MutexLock lock(mu_);
  std::map<std::string, LocalRecord> out;
  if (keys.empty()) return out;
  TETHER_TRY(Transaction read, Transaction::beginRead(db_));  // one read lock for all keys
  for (const std::string& key : keys) {
    TETHER_TRY(std::optional<LocalRecord> row, getRecordLocked(id, dataset, key));
    if (row) out.emplace(key, std::move(*row));
  }
  return out;
}

Status LocalStore::setValueLocked(int64_t rid, const std::optional<std::string>& value) {
  // An unchanged value is not rewritten (marking clean, re-applying what we hold).
  TETHER_TRY(Statement st, db_.prepare(
      "INSERT INTO record_values(rid, value) VALUES(?1, ?2)"
      " ON CONFLICT(rid) DO UPDATE SET value = ?2 WHERE value IS NOT ?2"));
  st.bind(1, rid).bindOptional(2, value);
  return st.exec();
}

Result<std::optional<int64_t>> LocalStore::ridLocked(std::string_view id, std::string_view dataset,
                                                    std::string_view key) {
  TETHER_TRY(Statement st, db_.prepare(
      "SELECT rid FROM records WHERE identity_id = ?1 AND dataset_name = ?2 AND key = ?3"));
  st.bind(1, id).bind(2, dataset).bind(3, key);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.columnInt64(0));
}

Result<bool> LocalStore::insertRecordRowLocked(std::string_view id, std::string_view dataset,
                                               const Record& r, bool dirty) {
  // No RETURNING here: it makes SQLite open a statement journal per execution (an allocation
  // and free of its buffers each time: twice the CPU of a 1,000-record apply, measured).
  TETHER_TRY(Statement st, db_.prepare(
      "INSERT INTO records(identity_id, dataset_name, key, sync_count, last_modified_ms,"
      " last_modified_by, device_last_modified_ms, modified) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
      " ON CONFLICT(identity_id, dataset_name, key) DO NOTHING"));
  st.bind(1, id).bind(2, dataset).bind(3, r.key).bind(4, r.syncCount).bind(5, r.lastModifiedMs)
      .bind(6, r.lastModifiedBy).bind(7, r.deviceLastModifiedMs).bind(8, int64_t{dirty ? 1 : 0});
  TETHER_RETURN_IF_ERROR(st.exec());
  if (db_.changes() == 0) return false;
  TETHER_RETURN_IF_ERROR(setValueLocked(sqlite3_last_insert_rowid(db_.raw()), r.value));
  return true;
}

Status LocalStore::upsertRecordLocked(std::string_view id, std::string_view dataset,
                                      const Record& r, bool dirty) {
  TETHER_TRY(bool inserted, insertRecordRowLocked(id, dataset, r, dirty));
  if (inserted) return Status::ok();
  TETHER_TRY(std::optional<int64_t> rid, ridLocked(id, dataset, r.key));
  if (!rid) return Status::internal("record row vanished during an upsert");
  TETHER_TRY(Statement st, db_.prepare(
      "UPDATE records SET sync_count = ?2, last_modified_ms = ?3, last_modified_by = ?4,"
      " device_last_modified_ms = ?5, modified = ?6 WHERE rid = ?1"));
  st.bind(1, *rid).bind(2, r.syncCount).bind(3, r.lastModifiedMs).bind(4, r.lastModifiedBy)
      .bind(5, r.deviceLastModifiedMs).bind(6, int64_t{dirty ? 1 : 0});
  TETHER_RETURN_IF_ERROR(st.exec());
  return setValueLocked(*rid, r.value);
}

Status LocalStore::put(std::string_view idArg, std::string_view dataset, std::string_view key,
                       const std::optional<std::string>& value, std::string_view deviceId) {
  TETHER_RETURN_IF_ERROR(validateDatasetName(dataset));
  TETHER_RETURN_IF_ERROR(validateRecordKey(key));
  if (value) TETHER_RETURN_IF_ERROR(validateRecordValue(*value));
  MutexLock lock(mu_);
  TETHER_TRY(std::string id, resolveIdLocked(idArg));
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  TETHER_RETURN_IF_ERROR(ensureDatasetLocked(id, dataset));
  TETHER_TRY(std::optional<LocalRecord> existing, getRecordLocked(id, dataset, key));
  if (existing && existing->record.value == value) return Status::ok();  // no change: stays clean
  if (value) {
    TETHER_TRY(std::optional<LocalDatasetInfo> info, getDatasetLocked(id, dataset));
    bool wasLive = existing && existing->record.value.has_value();
    int64_t oldSize = wasLive ? recordSize(key, *existing->record.value) : 0;
    int64_t newBytes = info->metadata.dataStorage - oldSize + recordSize(key, *value);
    if (newBytes > kMaxDatasetBytes)
      return Status::limitExceeded("dataset would exceed 1 MB (1,048,576 bytes of keys + values)");
    if (!wasLive && info->metadata.numRecords + 1 > kMaxRecordsPerDataset)
      return Status::limitExceeded("dataset would exceed 1,024 records");
  }
  int64_t now = nowMs_();
  Record r;
  r.key = std::string(key);
  r.value = value;
  r.syncCount = existing ? existing->record.syncCount : 0;
  r.lastModifiedMs = now;
  r.lastModifiedBy = std::string(deviceId);
  r.deviceLastModifiedMs = now;
  TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, r, true));
  TETHER_TRY(Statement touch, db_.prepare(
      "UPDATE datasets SET last_modified_ms = ?3, last_modified_by = ?4"
      " WHERE identity_id = ?1 AND dataset_name = ?2"));
  touch.bind(1, id).bind(2, dataset).bind(3, now).bind(4, deviceId);
  TETHER_RETURN_IF_ERROR(touch.exec());
  return txn.commit();
}

Result<std::vector<LocalRecord>> LocalStore::queryRecordsLocked(std::string_view id,
                                                                std::string_view dataset,
                                                                bool dirtyOnly) {
  TETHER_TRY(Statement st, db_.prepare(std::string(kRecordSelect) +
      " WHERE r.identity_id = ?1 AND r.dataset_name = ?2" +
      (dirtyOnly ? " AND r.modified = 1" : "") + " ORDER BY r.key"));
  st.bind(1, id).bind(2, dataset);
  std::vector<LocalRecord> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(readRecord(st));
  }
  return out;
}

Result<std::vector<LocalRecord>> LocalStore::records(std::string_view id, std::string_view dataset) {
  MutexLock lock(mu_);
  return queryRecordsLocked(id, dataset, false);
}

Result<std::vector<LocalRecord>> LocalStore::dirtyRecords(std::string_view id,
                                                          std::string_view dataset) {
  MutexLock lock(mu_);
  return queryRecordsLocked(id, dataset, true);
}

Result<int64_t> LocalStore::sizeInBytes(std::string_view id, std::string_view dataset) {
  MutexLock lock(mu_);
  TETHER_TRY(std::optional<LocalDatasetInfo> info, getDatasetLocked(id, dataset));
  return info ? info->metadata.dataStorage : int64_t{0};
}

// ---- sync

Status LocalStore::applyPulled(std::string_view idArg, std::string_view dataset,
                               const std::vector<Record>& records,
                               const std::vector<ResolvedWrite>& resolved,
                               const std::map<std::string, LocalRecord>& resolvedFrom,
                               int64_t newLastSyncCount) {
  MutexLock lock(mu_);
  TETHER_TRY(std::string id, resolveIdLocked(idArg));
  // Pulled records are durable on the server: committed without an fsync (see Durability).
  // Resolved conflicts are the app's decisions and stay durable: losing one would ask again.
  const Durability durability = resolved.empty() ? Durability::kRelaxed : Durability::kDurable;
  TETHER_TRY(Transaction txn, Transaction::begin(db_, durability));
  TETHER_TRY(std::optional<int64_t> syncCount, datasetSyncCountLocked(id, dataset));
  if (syncCount && *syncCount == kPendingDeleteSyncCount) return Status::ok();  // delete wins
  // Nothing pulled and the count unchanged (e.g. the pull before a push of local edits): no
  // write, so no commit and no fsync. The rollback of the empty transaction writes nothing.
  if (syncCount && *syncCount == newLastSyncCount && records.empty() && resolved.empty())
    return Status::ok();
  if (!syncCount) {
    // Pulled before any local write (e.g. a fresh device): the dataset row may not exist yet.
    // The 20-dataset limit is the server's business here: it already holds the dataset.
    TETHER_RETURN_IF_ERROR(insertDatasetRowLocked(id, dataset));
  }
  {
    // A new key (a fresh device's whole pull) is two inserts. A known one is updated unless it
    // is dirty with a different value (edited meanwhile: keep), by rid, then its value.
    for (const Record& r : records) {
      TETHER_TRY(bool inserted, insertRecordRowLocked(id, dataset, r, false));
      if (inserted) continue;
      TETHER_TRY(Statement st, db_.prepare(
          "UPDATE records SET sync_count = ?5, last_modified_ms = ?6, last_modified_by = ?7,"
          " device_last_modified_ms = ?8, modified = 0"
          " WHERE identity_id = ?1 AND dataset_name = ?2 AND key = ?3 AND (modified = 0"
          " OR (SELECT v.value FROM record_values v WHERE v.rid = records.rid) IS ?4)"));
      st.bind(1, id).bind(2, dataset).bind(3, r.key).bindOptional(4, r.value)
          .bind(5, r.syncCount).bind(6, r.lastModifiedMs).bind(7, r.lastModifiedBy)
          .bind(8, r.deviceLastModifiedMs);
      TETHER_RETURN_IF_ERROR(st.exec());
      if (db_.changes() == 0) continue;
      TETHER_TRY(std::optional<int64_t> rid, ridLocked(id, dataset, r.key));
      if (rid) TETHER_RETURN_IF_ERROR(setValueLocked(*rid, r.value));
    }
  }
  for (const ResolvedWrite& w : resolved) {
    TETHER_TRY(std::optional<LocalRecord> row, getRecordLocked(id, dataset, w.record.key));
    auto from = resolvedFrom.find(w.record.key);
    if (row && from != resolvedFrom.end() && !sameRow(*row, from->second)) {
      // Edited during conflict handling: that edit is the newest intent; base it on the
      // remote version so its push passes.
      Record keep = row->record;
      keep.syncCount = w.record.syncCount;
      TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, keep, true));
      continue;
    }
    TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, w.record, w.dirty));
  }
  TETHER_TRY(Statement st, db_.prepare(
      "UPDATE datasets SET last_sync_count = ?3, last_sync_ms = ?4"
      " WHERE identity_id = ?1 AND dataset_name = ?2"));
  st.bind(1, id).bind(2, dataset).bind(3, newLastSyncCount).bind(4, nowMs_());
  TETHER_RETURN_IF_ERROR(st.exec());
  return commitLocked(txn, durability);
}

Status LocalStore::writeResolved(std::string_view idArg, std::string_view dataset,
                                 const std::vector<ResolvedWrite>& writes) {
  for (const ResolvedWrite& w : writes) {
    TETHER_RETURN_IF_ERROR(validateRecordKey(w.record.key));
    if (w.record.value) TETHER_RETURN_IF_ERROR(validateRecordValue(*w.record.value));
  }
  MutexLock lock(mu_);
  TETHER_TRY(std::string id, resolveIdLocked(idArg));
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  TETHER_RETURN_IF_ERROR(ensureDatasetLocked(id, dataset));
  for (const ResolvedWrite& w : writes)
    TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, w.record, w.dirty));
  return txn.commit();
}

Status LocalStore::conditionallyPutRecords(std::string_view id, std::string_view dataset,
                                           const std::vector<Record>& serverRecords,
                                           const std::map<std::string, LocalRecord>& pushed,
                                           std::optional<int64_t> newLastSyncCount) {
  MutexLock lock(mu_);
  // The push is durable on the server; marking it clean here is bookkeeping a crash may undo
  // (the next sync re-pushes and the server's conflict check answers with equal values).
  TETHER_TRY(Transaction txn, Transaction::begin(db_, Durability::kRelaxed));
  TETHER_TRY(std::optional<int64_t> syncCount, datasetSyncCountLocked(id, dataset));
  if (!syncCount || *syncCount == kPendingDeleteSyncCount) return Status::ok();
  // The common case in one statement per record: the row is still exactly what was pushed
  // (sameRow), so it becomes the server's copy, clean. Only rows that fail that check are read.
  // Only the narrow records row is written; the value only if the server stored another one
  // (never with omitValues pushes, where it stored ours).
  TETHER_TRY(Statement unchanged, db_.prepare(
      "UPDATE records SET sync_count = ?5, last_modified_ms = ?6,"
      " last_modified_by = ?7, device_last_modified_ms = ?8, modified = 0"
      " WHERE identity_id = ?1 AND dataset_name = ?2 AND key = ?3"
      " AND sync_count = ?10 AND device_last_modified_ms = ?11 AND modified = ?12"
      " AND (SELECT v.value FROM record_values v WHERE v.rid = records.rid) IS ?9"));
  bool keptEdits = false;  // a row edited during the push adopted the new sync count
  for (const Record& r : serverRecords) {
    auto snap = pushed.find(r.key);
    if (snap != pushed.end()) {
      const LocalRecord& was = snap->second;
      unchanged.bind(1, id).bind(2, dataset).bind(3, r.key)
          .bind(5, r.syncCount).bind(6, r.lastModifiedMs).bind(7, r.lastModifiedBy)
          .bind(8, r.deviceLastModifiedMs).bindOptional(9, was.record.value)
          .bind(10, was.record.syncCount).bind(11, was.record.deviceLastModifiedMs)
          .bind(12, int64_t{was.dirty ? 1 : 0});
      TETHER_RETURN_IF_ERROR(unchanged.exec());
      TETHER_RETURN_IF_ERROR(unchanged.reset());
      if (db_.changes() > 0) {
        if (r.value != was.record.value) {
          TETHER_TRY(std::optional<int64_t> rid, ridLocked(id, dataset, r.key));
          if (rid) TETHER_RETURN_IF_ERROR(setValueLocked(*rid, r.value));
        }
        continue;
      }
    }
    TETHER_TRY(std::optional<LocalRecord> row, getRecordLocked(id, dataset, r.key));
    if (snap == pushed.end()) {
      // Written by the server on its own (e.g. a sync trigger): take it unless edited here.
      if (!row || !row->dirty) TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, r, false));
      continue;
    }
    if (!row) continue;  // wiped meanwhile
    if (sameRow(*row, snap->second)) {
      TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, r, false));
    } else {
      Record keep = row->record;  // edited during the push: stays dirty, now based on r
      keep.syncCount = r.syncCount;
      TETHER_RETURN_IF_ERROR(upsertRecordLocked(id, dataset, keep, row->dirty));
      keptEdits = true;
    }
  }
  if (newLastSyncCount) {
    // As setLastSyncCount; the pending-delete case returned above.
    TETHER_TRY(Statement st, db_.prepare(
        "UPDATE datasets SET last_sync_count = ?3, last_sync_ms = ?4"
        " WHERE identity_id = ?1 AND dataset_name = ?2 AND last_sync_count >= 0"));
    st.bind(1, id).bind(2, dataset).bind(3, *newLastSyncCount).bind(4, nowMs_());
    TETHER_RETURN_IF_ERROR(st.exec());
  }
  TETHER_RETURN_IF_ERROR(commitLocked(txn, Durability::kRelaxed));
  // An edit made during the push now carries the new sync count. Lost, it would be an edit on
  // the old count against our own pushed value: a conflict shown to the app. Make it durable.
  if (keptEdits) return db_.syncWal();
  return Status::ok();
}

Status LocalStore::commitLocked(Transaction& txn, Durability durability) {
  TETHER_RETURN_IF_ERROR(txn.commit());
  if (durability == Durability::kRelaxed && killAfterRelaxedCommits_ > 0 &&
      ++relaxedCommits_ == killAfterRelaxedCommits_) {
    // Test hook (kill test): die exactly after an fsync-free commit, as a crash would.
    std::raise(SIGKILL);
  }
  return Status::ok();
}

Status LocalStore::wipe() {
  MutexLock lock(mu_);
  TETHER_TRY(Transaction txn, Transaction::begin(db_));
  TETHER_RETURN_IF_ERROR(db_.exec(
      "DELETE FROM records; DELETE FROM datasets; DELETE FROM meta WHERE key = 'identity_id';"));
  return txn.commit();
}

}  // namespace tether::client
