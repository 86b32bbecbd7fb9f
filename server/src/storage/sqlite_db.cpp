#include "storage/sqlite_db.h"

#include <string>
#include <utility>

namespace tether::server {

Status sqliteStatus(int rc, std::string_view context, std::string_view detail) {
  std::string message(context);
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  } else if (const char* s = sqlite3_errstr(rc)) {
    message += ": ";
    message += s;
  }
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::ok();
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return Status::ioError(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::corruption(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::unavailable(std::move(message));
    case SQLITE_CONSTRAINT:
      return Status::conflict(std::move(message));
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return Status::invalidArgument(std::move(message));
    case SQLITE_INTERRUPT:
      return Status::cancelled(std::move(message));
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::permissionDenied(std::move(message));
    default:
      return Status::internal(std::move(message));
  }
}

// ---- Statement

Statement::Statement(SqliteDb* db, sqlite3_stmt* stmt, bool* inUse, SqliteStmtHandle owned)
    : db_(db), stmt_(stmt), inUse_(inUse), owned_(std::move(owned)) {
  if (inUse_ != nullptr) *inUse_ = true;
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      inUse_(std::exchange(other.inUse_, nullptr)),
      owned_(std::move(other.owned_)),
      bindError_(other.bindError_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (inUse_ != nullptr) *inUse_ = false;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bindError_ = SQLITE_OK;
}

void Statement::noteBind(int rc) {
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
}

Statement& Statement::bind(int index, int64_t value) {
  noteBind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies, so the caller's buffer may go away before step().
  noteBind(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8));
  return *this;
}

Statement& Statement::bindOptional(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bindNull(index);
}

Statement& Statement::bindNull(int index) {
  noteBind(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Statement::step() {
  if (bindError_ != SQLITE_OK) return db_->error(bindError_, "binding a statement parameter");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->error(rc, "executing a statement");
}

Status Statement::run() {
  while (true) {
    TETHER_TRY(bool row, step());
    if (!row) return Status::ok();
  }
}

int64_t Statement::columnInt64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::columnText(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);  // after column_text, per the SQLite docs
  return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n));
}

bool Statement::columnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- SqliteDb

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::filesystem::path& file, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  SqliteHandle db(raw);  // owns it even when open failed (SQLite still allocates a handle)
  if (rc != SQLITE_OK) {
    std::string detail = raw != nullptr ? sqlite3_errmsg(raw) : "";
    return sqliteStatus(rc, "opening " + file.string(), detail);
  }
  sqlite3_extended_result_codes(raw, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(std::move(db)));
}

Status SqliteDb::error(int rc, std::string_view context) const {
  return sqliteStatus(rc, context, sqlite3_errmsg(db_.get()));
}

Result<Statement> SqliteDb::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.inUse)
    return Statement(this, it->second.stmt.get(), &it->second.inUse, nullptr);

  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  SqliteStmtHandle stmt(raw);
  if (rc != SQLITE_OK) return error(rc, "preparing SQL");
  if (raw == nullptr) return Status::internal("preparing SQL: empty statement");
  if (it != cache_.end()) {
    // The cached copy is in use (a nested query with the same text): lend a private one.
    return Statement(this, raw, nullptr, std::move(stmt));
  }
  auto [slot, inserted] = cache_.emplace(std::string(sql), CachedStmt{std::move(stmt), false});
  return Statement(this, slot->second.stmt.get(), &slot->second.inUse, nullptr);
}

Status SqliteDb::exec(std::string_view sql) {
  if (sql.find(';') == std::string_view::npos) {
    TETHER_TRY(Statement st, prepare(sql));
    return st.run();
  }
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  std::string detail = err != nullptr ? err : "";
  sqlite3_free(err);
  if (rc != SQLITE_OK) return sqliteStatus(rc, "executing SQL", detail);
  return Status::ok();
}

Result<int64_t> SqliteDb::queryInt(std::string_view sql) {
  TETHER_TRY(Statement st, prepare(sql));
  TETHER_TRY(bool row, st.step());
  if (!row) return Status::internal("query returned no row: " + std::string(sql));
  return st.columnInt64(0);
}

Result<std::string> SqliteDb::queryText(std::string_view sql) {
  TETHER_TRY(Statement st, prepare(sql));
  TETHER_TRY(bool row, st.step());
  if (!row) return Status::internal("query returned no row: " + std::string(sql));
  return st.columnText(0);
}

}  // namespace tether::server
