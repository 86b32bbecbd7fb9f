// The PostgreSQL Store (docs/storage.md, "PostgreSQL"): N tetherd nodes over one database. Raw
// libpq behind pg_conn.h; a bounded connection pool per Store (= per node); its own versioned
// migrations (pg_schema.h) run under a migration lock on open, so nodes starting at once create
// the schema once. Write transactions run under READ COMMITTED with row locks (the dataset row,
// FOR UPDATE) and per-identity advisory locks, so two writers of one dataset on two nodes never
// both pass the sync-count check; see pg_store.cpp for the lock order.
// Thread-safety: every method may be called from any thread; transactions as in store_transaction.h.
#pragma once

#include <memory>
#include <string>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

struct PgStoreOptions {
  int poolSize = 8;               // connections this node may open at most
  int acquireTimeoutMs = 10000;   // waiting longer for a free connection: kUnavailable
};

// Connects (kUnavailable if the server cannot be reached: the caller exits non-zero), migrates the
// schema to the version this tetherd knows (kInvalidArgument if the database's is newer) and
// returns the store. `conninfo` goes to libpq unchanged (URL or keyword string; PG* environment).
Result<std::unique_ptr<Store>> openPgStore(const std::string& conninfo, const PgStoreOptions& options);

}  // namespace tether::server
