// Thin RAII wrappers over sqlite3 for the client's LocalStore: a connection (SqliteDb), a prepared
// statement (Statement) and a transaction (Transaction) whose destructor rolls back unless
// committed. Every SQLite error becomes a Status (FULL/IOERR -> kIOError, CORRUPT/NOTADB ->
// kCorruption, everything else kInternal).
// Threading: none of these are thread-safe; LocalStore serializes access with its own mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::client {

template <auto Fn>
struct CFree {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};

// Maps an SQLite result code (and the connection's message) to a Status.
Status sqliteStatus(int rc, sqlite3* db, std::string_view what);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bindOptional(int index, const std::optional<std::string>& textOrNull);
  Statement& bindNull(int index);

  // true = a row is available; false = done. The first bind error is reported here.
  Result<bool> step();
  Status exec();  // step until done, ignoring rows

  bool isNull(int col) const;
  int64_t columnInt64(int col) const;
  std::string columnText(int col) const;
  std::optional<std::string> columnOptionalText(int col) const;

 private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, CFree<sqlite3_finalize>> stmt_;
  int bindError_ = SQLITE_OK;
};

class SqliteDb {
 public:
  // Opens (creating if needed) with WAL + synchronous=FULL, so a committed write survives a
  // crash or power loss before the call that made it returns.
  static Result<SqliteDb> open(const std::string& path);

  Result<Statement> prepare(std::string_view sql);
  Status exec(std::string_view sql);  // one or more statements, no parameters
  sqlite3* raw() const { return db_.get(); }

 private:
  std::unique_ptr<sqlite3, CFree<sqlite3_close_v2>> db_;
};

// BEGIN IMMEDIATE ... COMMIT; the destructor rolls back an uncommitted transaction.
class Transaction {
 public:
  static Result<Transaction> begin(SqliteDb& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace tether::client
