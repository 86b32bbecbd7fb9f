// The default Store: one SQLite file in WAL mode (docs/storage.md explains the durability
// settings). Thread-safe: one write connection guarded by a mutex (write transactions of many
// threads share one fsync by group commit) and a pool of read connections for beginRead().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

struct SqliteStoreOptions {
  // How long a statement waits for a lock held by another connection (another process on the
  // same file) before failing with kUnavailable.
  int busyTimeoutMs = 5000;
  // 0 = no limit. Otherwise the file may not grow past this many pages and writes fail with
  // kIOError as on a full disk (an operator quota; tests use it to simulate a full disk).
  int64_t maxPageCount = 0;
};

// Opens or creates the store at `dbFile` (creating missing parent directories) and migrates its
// schema. Errors: kIOError (cannot create/open), kCorruption (not a database / damaged),
// kInvalidArgument (written by a newer tetherd: schema version above ours).
Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& dbFile);
Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& dbFile,
                                               const SqliteStoreOptions& options);

}  // namespace tether::server
