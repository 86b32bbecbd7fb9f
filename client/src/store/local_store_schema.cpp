#include "store/local_store_schema.h"

#include <string>

namespace tether::client {
namespace {

// Version 1 kept the value in the records row; version 2 (issue 18) keeps it apart.
constexpr int kSchemaVersion = 2;

// Row layout: `records` holds a record's key and sync state only (a narrow row, ~100 bytes), its
// value lives in `record_values` under the same rid (NULL = tombstone; every records row has one).
// Marking a pushed batch clean then rewrites a few pages of narrow rows, not every 1 KB value;
// values are written only when they change. Deleting a records row drops its value (trigger).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets(
  identity_id TEXT NOT NULL, dataset_name TEXT NOT NULL,
  creation_ms INTEGER NOT NULL DEFAULT 0,
  last_modified_ms INTEGER NOT NULL DEFAULT 0,
  last_modified_by TEXT NOT NULL DEFAULT '',
  remote_storage_bytes INTEGER NOT NULL DEFAULT 0,
  remote_record_count INTEGER NOT NULL DEFAULT 0,
  last_sync_count INTEGER NOT NULL DEFAULT 0,
  last_sync_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(identity_id, dataset_name));
CREATE TABLE IF NOT EXISTS records(
  rid INTEGER PRIMARY KEY,
  identity_id TEXT NOT NULL, dataset_name TEXT NOT NULL, key TEXT NOT NULL,
  sync_count INTEGER NOT NULL DEFAULT 0,
  last_modified_ms INTEGER NOT NULL DEFAULT 0,
  last_modified_by TEXT NOT NULL DEFAULT '',
  device_last_modified_ms INTEGER NOT NULL DEFAULT 0,
  modified INTEGER NOT NULL DEFAULT 1,
  UNIQUE(identity_id, dataset_name, key));
CREATE TABLE IF NOT EXISTS record_values(rid INTEGER PRIMARY KEY, value TEXT);
CREATE TRIGGER IF NOT EXISTS records_drop_value AFTER DELETE ON records BEGIN
  DELETE FROM record_values WHERE rid = OLD.rid;
END;
)sql";

// Version 1 -> 2: the old rowid becomes rid, so every row (dirty flags, sync counts) and its
// value carry over unchanged. Runs inside migrate()'s transaction.
constexpr const char* kMigrateV1ToV2 = R"sql(
ALTER TABLE records RENAME TO records_v1;
)sql";
constexpr const char* kMigrateV1ToV2Copy = R"sql(
INSERT INTO records(rid, identity_id, dataset_name, key, sync_count, last_modified_ms,
  last_modified_by, device_last_modified_ms, modified)
  SELECT rowid, identity_id, dataset_name, key, sync_count, last_modified_ms, last_modified_by,
  device_last_modified_ms, modified FROM records_v1;
INSERT INTO record_values(rid, value) SELECT rowid, value FROM records_v1;
DROP TABLE records_v1;
)sql";

}  // namespace

Status migrateCacheSchema(SqliteDb& db) {
  int64_t version = 0;
  {
    // Scoped: an unfinished statement would block the migration's ALTER/DROP TABLE.
    TETHER_TRY(Statement st, db.prepare("PRAGMA user_version"));
    TETHER_TRY(bool row, st.step());
    if (row) version = st.columnInt64(0);
  }
  if (version > kSchemaVersion)
    return Status::corruption("cache file was written by a newer libtether (schema version " +
                              std::to_string(version) + ")");
  if (version == kSchemaVersion) return Status::ok();
  TETHER_TRY(Transaction txn, Transaction::begin(db));
  if (version == 1) TETHER_RETURN_IF_ERROR(db.exec(kMigrateV1ToV2));
  TETHER_RETURN_IF_ERROR(db.exec(kSchemaV2));
  if (version == 1) TETHER_RETURN_IF_ERROR(db.exec(kMigrateV1ToV2Copy));
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)));
  return txn.commit();
}

}  // namespace tether::client
