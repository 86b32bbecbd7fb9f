// The SQLite schema of tetherd and its migrations. The file's `PRAGMA user_version` is the
// number of migrations applied; opening applies the missing ones, in order, in one transaction,
// and refuses a file written by a newer tetherd (its user_version is above kSqliteSchemaVersion).
//
// Threading: called once at open, before the store is shared.
#pragma once

#include <cstdint>

#include "tether/status.h"

namespace tether::server {

class SqliteDb;

// Number of migrations this build knows; the user_version of a fully migrated file.
extern const int64_t kSqliteSchemaVersion;

// Brings `db` to kSqliteSchemaVersion. kInvalidArgument (nothing changed) if the file is newer.
Status migrateSqliteSchema(SqliteDb& db);
// Brings `db` to `target` (<= kSqliteSchemaVersion) only: for tests of later migrations.
Status migrateSqliteSchemaTo(SqliteDb& db, int64_t target);

}  // namespace tether::server
