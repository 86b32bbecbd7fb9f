// Thin RAII wrappers over sqlite3 for the client's LocalStore: a connection (SqliteDb), a prepared
// statement (Statement) and a transaction (Transaction) whose destructor rolls back unless
// committed. Every SQLite error becomes a Status (FULL/IOERR -> kIOError, CORRUPT/NOTADB ->
// kCorruption, everything else kInternal).
// Statement cache: SqliteDb::prepare() hands out a cached compiled statement for SQL it has
// seen before; the Statement returns it (reset, bindings cleared) when destroyed. Compiling
// was ~half of the client's SQLite time when applying a 1,000-record pull (issue 7).
// Threading: none of these are thread-safe; LocalStore serializes access with its own mutex.
// Lifetime: a Statement must not outlive the SqliteDb that prepared it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tether/status.h"

namespace tether::client {

template <auto Fn>
struct CFree {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};

// Maps an SQLite result code (and the connection's message) to a Status.
Status sqliteStatus(int rc, sqlite3* db, std::string_view what);

class StatementCache;

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  // A statement checked out of `cache` under `sql`; given back to it on destruction.
  Statement(sqlite3* db, sqlite3_stmt* stmt, StatementCache* cache, std::string sql)
      : db_(db), stmt_(stmt), cache_(cache), sql_(std::move(sql)) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bindOptional(int index, const std::optional<std::string>& textOrNull);
  Statement& bindNull(int index);

  // true = a row is available; false = done. The first bind error is reported here.
  Result<bool> step();
  Status exec();  // step until done, ignoring rows
  // Rewinds for another run with new bindings (kept bindings stay bound).
  Status reset();

  bool isNull(int col) const;
  int64_t columnInt64(int col) const;
  std::string columnText(int col) const;
  std::optional<std::string> columnOptionalText(int col) const;

 private:
  void release();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;       // owned: finalized, or given back to cache_
  StatementCache* cache_ = nullptr;    // null = not cached
  std::string sql_;                    // cache key
  int bindError_ = SQLITE_OK;
};

// Compiled statements by SQL text, one idle copy per text. A text whose statement is checked
// out (nested use) gets a fresh one; when both come back, the second is finalized.
class StatementCache {
 public:
  StatementCache() = default;
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache();

  sqlite3_stmt* take(const std::string& sql);     // nullptr if none idle
  void giveBack(std::string sql, sqlite3_stmt* stmt);  // REQUIRES: stmt reset

 private:
  std::unordered_map<std::string, sqlite3_stmt*> idle_;
};

// How a transaction's COMMIT reaches the disk.
//  kDurable: synchronous=FULL, the WAL is fsynced before COMMIT returns (survives a power loss).
//  kRelaxed: synchronous=NORMAL, no fsync at COMMIT. In WAL mode the commit is still atomic and
//    the file consistent after any crash; it survives a process kill (the OS holds the pages)
//    but a power loss or OS crash may roll it back, whole. Any later kDurable commit (or
//    syncWal()) makes it durable too: the WAL is one append-only file and its fsync covers
//    every frame before. For data the server already holds durably (pulled records, push
//    bookkeeping): losing it costs a re-pull or a re-push, never data.
enum class Durability { kDurable, kRelaxed };

class SqliteDb {
 public:
  // Opens (creating if needed) with WAL + synchronous=FULL, so a committed write survives a
  // crash or power loss before the call that made it returns. Only a Transaction begun
  // kRelaxed lowers it, for its own COMMIT.
  static Result<SqliteDb> open(const std::string& path);

  // Cached (see the file comment). SQL built at run time from unbounded parts must not come
  // here: every distinct text stays cached for the connection's lifetime.
  Result<Statement> prepare(std::string_view sql);
  Status exec(std::string_view sql);  // one or more statements, no parameters
  sqlite3* raw() const { return db_.get(); }
  // Rows changed by the last INSERT/UPDATE/DELETE that completed on this connection.
  int64_t changes() const { return sqlite3_changes64(db_.get()); }
  // fsyncs the WAL now: every transaction committed so far becomes durable. No-op without a WAL.
  Status syncWal();
  // Sets PRAGMA synchronous (FULL or NORMAL) unless already so. REQUIRES: no open transaction.
  Status setDurability(Durability d);

 private:
  // Declared first so it is destroyed last: the cache finalizes its statements before close.
  std::unique_ptr<sqlite3, CFree<sqlite3_close_v2>> db_;
  std::unique_ptr<StatementCache> cache_ = std::make_unique<StatementCache>();
  Durability durability_ = Durability::kDurable;
};

// BEGIN IMMEDIATE ... COMMIT; the destructor rolls back an uncommitted transaction.
// A kRelaxed transaction commits without an fsync (see Durability); the connection is back at
// synchronous=FULL once it has ended, so autocommit statements and later transactions are
// durable unless they ask otherwise.
class Transaction {
 public:
  static Result<Transaction> begin(SqliteDb& db, Durability d = Durability::kDurable);
  // BEGIN DEFERRED, for a run of reads: they share one WAL read lock and snapshot instead of
  // each statement taking and releasing its own (fcntl calls on the -shm file). Let it go out
  // of scope to end it (ROLLBACK of a read writes nothing).
  static Result<Transaction> beginRead(SqliteDb& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_), relaxed_(other.relaxed_) {
    other.db_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  Transaction(SqliteDb* db, bool relaxed) : db_(db), relaxed_(relaxed) {}
  SqliteDb* db_;
  bool relaxed_ = false;
};

}  // namespace tether::client
