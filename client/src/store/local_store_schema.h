// The client cache's SQLite schema and its migrations (LocalStore::open runs them).
// Version 1: records(identity_id, dataset_name, key, value, sync state...).
// Version 2 (issue 18): the value moved to record_values, keyed by the records row's rid.
// Threading: none; the caller serializes access to the connection (LocalStore's mutex).
#pragma once

#include "store/sqlite_db.h"
#include "tether/status.h"

namespace tether::client {

// Brings the file to the current version in one transaction: creates the tables of a new file,
// migrates an older one (every row, dirty flag and sync count kept). A file written by a newer
// version is refused (kCorruption) rather than misread.
Status migrateCacheSchema(SqliteDb& db);

}  // namespace tether::client
