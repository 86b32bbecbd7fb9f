// The PostgreSQL store's schema and its versioned migrations (table schema_version: one row per
// applied migration). Same data model as the SQLite store (sqlite_schema.cpp), with every
// identity-owned table keyed by identity ID first, so it can be sharded by identity later.
#pragma once

#include <cstdint>

#include "storage/pg_conn.h"
#include "tether/status.h"

namespace tether::server {

extern const int64_t kPgSchemaVersion;

// Brings the schema in the connection's search_path up to `target` (default: the latest) in one
// transaction under pg_advisory_xact_lock, so concurrent callers (nodes starting at once) apply
// each migration exactly once and the others find it done. kInvalidArgument if the database is
// at a newer version than `target`.
Status migratePgSchema(PgConn& conn, int64_t target = -1);

// The version the schema is at (0: empty database).
Result<int64_t> pgSchemaVersion(PgConn& conn);

}  // namespace tether::server
