#include "store/sqlite_db.h"

namespace tether::client {

Status sqliteStatus(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::ok();
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Status::ioError(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::corruption(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::unavailable(std::move(msg));
    default:
      return Status::internal(std::move(msg));
  }
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
  return *this;
}

Statement& Statement::bindOptional(int index, const std::optional<std::string>& textOrNull) {
  if (textOrNull) return bind(index, std::string_view(*textOrNull));
  return bindNull(index);
}

Statement& Statement::bindNull(int index) {
  int rc = sqlite3_bind_null(stmt_.get(), index);
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
  return *this;
}

Result<bool> Statement::step() {
  if (bindError_ != SQLITE_OK) return sqliteStatus(bindError_, db_, "bind");
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteStatus(rc, db_, "step");
}

Status Statement::exec() {
  for (;;) {
    TETHER_TRY(bool row, step());
    if (!row) return Status::ok();
  }
}

bool Statement::isNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

int64_t Statement::columnInt64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

std::string Statement::columnText(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::optional<std::string> Statement::columnOptionalText(int col) const {
  if (isNull(col)) return std::nullopt;
  return columnText(col);
}

Result<SqliteDb> SqliteDb::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  SqliteDb db;
  db.db_.reset(raw);  // sqlite3_open_v2 allocates a handle even on failure
  if (rc != SQLITE_OK) return sqliteStatus(rc, raw, "open " + path);
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  return db;
}

Result<Statement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqliteStatus(rc, db_.get(), "prepare");
  }
  return Statement(db_.get(), stmt);
}

Status SqliteDb::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  return sqliteStatus(rc, db_.get(), "exec");
}

Result<Transaction> Transaction::begin(SqliteDb& db) {
  TETHER_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  SqliteDb* db = db_;
  db_ = nullptr;
  Status s = db->exec("COMMIT");
  if (!s.isOk()) (void)db->exec("ROLLBACK");
  return s;
}

}  // namespace tether::client
