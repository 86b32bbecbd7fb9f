// The PostgreSQL store's transactions (StoreTransaction over one pooled connection) and the
// pieces pg_store.cpp shares with them: the advisory lock spaces and the device move of a merge.
// The lock order and why each lock exists are in pg_store.cpp's header comment and
// docs/storage.md ("PostgreSQL: isolation"). Internal to the PostgreSQL store.
#pragma once

#include <memory>
#include <string_view>

#include "storage/pg_conn.h"
#include "storage/store_transaction.h"
#include "tether/status.h"

namespace tether::server {

// Advisory lock spaces, (space, hashtext(identity)).
inline constexpr int kIdentityLock = 1;    // L1: shared by writes, exclusive for merges/deletion
inline constexpr int kDatasetSetLock = 2;  // L2: the identity's set of datasets
inline constexpr int kDevicesLock = 3;     // L3: the identity's push-sync devices

// Takes the transaction-scoped advisory lock (space, identity) on `conn`.
Status lockAdvisory(PgConn& conn, int space, std::string_view identityId, bool shared);

// Moves every push-sync device of `from` (with its subscriptions) to `to` inside the caller's
// transaction, as the SQLite store's UPDATE OR IGNORE does: a device whose token (or ID) `to`
// already has stays behind and is dropped with its subscriptions.
Status moveDevicesSql(PgConn& conn, std::string_view poolId, std::string_view from, std::string_view to);

enum class PgTxnMode { kRead, kWrite };
// Reads: REPEATABLE READ READ ONLY (one snapshot). Writes: READ COMMITTED with row locks.
Result<std::unique_ptr<StoreTransaction>> beginPgTransaction(PgPool& pool, PgTxnMode mode);

}  // namespace tether::server
