// SqliteDb: the one place that touches the sqlite3 C API. RAII owners for sqlite3* and
// sqlite3_stmt*, a prepared-statement cache, and the mapping of every SQLite result code to a
// Status (sqliteStatus below).
//
// Threading: a SqliteDb and the Statements it lends are NOT thread-safe; the owner (SqliteStore)
// serializes all use with its connection mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tether/status.h"

namespace tether::server {

// SQLite result code (primary or extended) -> Status. FULL/IOERR/CANTOPEN/READONLY -> kIOError,
// CORRUPT/NOTADB -> kCorruption, BUSY/LOCKED -> kUnavailable (retryable), CONSTRAINT ->
// kConflict, TOOBIG/RANGE/MISMATCH -> kInvalidArgument, INTERRUPT -> kCancelled,
// PERM/AUTH -> kPermissionDenied, everything else -> kInternal. `context` says what we were
// doing; `detail` is SQLite's own message.
Status sqliteStatus(int rc, std::string_view context, std::string_view detail = {});

template <auto Fn>
struct SqliteFree {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteFree<sqlite3_close_v2>>;
using SqliteStmtHandle = std::unique_ptr<sqlite3_stmt, SqliteFree<sqlite3_finalize>>;

class SqliteDb;

// A prepared statement on loan from SqliteDb's cache (or owned, when the cached copy was busy).
// Destroying it resets the statement and clears its bindings so the next user starts clean.
// Binding errors are remembered and reported by the next step()/run().
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view text);  // bound with its length: NULs survive
  Statement& bindOptional(int index, const std::optional<std::string>& text);  // nullopt -> NULL
  Statement& bindNull(int index);

  // Back to the start with no bindings, to run again with new ones (a loop over keys).
  void reset();

  // true: a row is available; false: done.
  Result<bool> step();
  // Steps to completion, ignoring rows.
  Status run();

  int64_t columnInt64(int column) const;
  std::string columnText(int column) const;
  bool columnIsNull(int column) const;

 private:
  friend class SqliteDb;
  Statement(SqliteDb* db, sqlite3_stmt* stmt, bool* inUse, SqliteStmtHandle owned);
  void noteBind(int rc);

  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  bool* inUse_;              // the cache slot's flag, or nullptr for an owned statement
  SqliteStmtHandle owned_;   // set when not borrowed from the cache
  int bindError_ = SQLITE_OK;
};

class SqliteDb {
 public:
  // Opens (creating if missing) a database file with the given SQLITE_OPEN_* flags.
  static Result<std::unique_ptr<SqliteDb>> open(const std::filesystem::path& file, int flags);

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // A statement from the cache (prepared on first use).
  Result<Statement> prepare(std::string_view sql);
  // Runs one or more statements with no parameters and no interesting rows. A single statement
  // (no ';') runs from the statement cache, so the transaction statements of every write
  // (SAVEPOINT, RELEASE, BEGIN, COMMIT) are parsed once per connection, not per call.
  Status exec(std::string_view sql);
  // Runs a statement yielding a single value (e.g. a PRAGMA).
  Result<int64_t> queryInt(std::string_view sql);
  Result<std::string> queryText(std::string_view sql);

  // Status for `rc` with this connection's current error message.
  Status error(int rc, std::string_view context) const;
  bool inTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }
  sqlite3* raw() const { return db_.get(); }

 private:
  explicit SqliteDb(SqliteHandle db) : db_(std::move(db)) {}
  struct CachedStmt {
    SqliteStmtHandle stmt;
    bool inUse = false;
  };
  SqliteHandle db_;  // declared first: destroyed after the cached statements
  // Looked up by string_view (transparent hash): a lookup allocates nothing.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, CachedStmt, TextHash, std::equal_to<>> cache_;
};

}  // namespace tether::server
