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

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), cache_(other.cache_), sql_(std::move(other.sql_)),
      bindError_(other.bindError_) {
  other.stmt_ = nullptr;
  other.cache_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    release();
    db_ = other.db_;
    stmt_ = other.stmt_;
    cache_ = other.cache_;
    sql_ = std::move(other.sql_);
    bindError_ = other.bindError_;
    other.stmt_ = nullptr;
    other.cache_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { release(); }

void Statement::release() {
  if (!stmt_) return;
  if (cache_) {
    // reset also ends the statement's read of the database (a finished or abandoned SELECT
    // must not pin a WAL snapshot while it sits idle in the cache).
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cache_->giveBack(std::move(sql_), stmt_);
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  cache_ = nullptr;
}

StatementCache::~StatementCache() {
  for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
}

sqlite3_stmt* StatementCache::take(const std::string& sql) {
  auto it = idle_.find(sql);
  if (it == idle_.end() || it->second == nullptr) return nullptr;
  sqlite3_stmt* stmt = it->second;
  it->second = nullptr;  // keeps the node (and its key) for the give-back
  return stmt;
}

void StatementCache::giveBack(std::string sql, sqlite3_stmt* stmt) {
  auto [it, inserted] = idle_.try_emplace(std::move(sql), stmt);
  if (inserted) return;
  if (it->second == nullptr) {
    it->second = stmt;
  } else {
    sqlite3_finalize(stmt);  // a second copy from nested use: one idle copy is enough
  }
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
  return *this;
}

Statement& Statement::bindOptional(int index, const std::optional<std::string>& textOrNull) {
  if (textOrNull) return bind(index, std::string_view(*textOrNull));
  return bindNull(index);
}

Statement& Statement::bindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) bindError_ = rc;
  return *this;
}

Result<bool> Statement::step() {
  if (bindError_ != SQLITE_OK) return sqliteStatus(bindError_, db_, "bind");
  int rc = sqlite3_step(stmt_);
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

Status Statement::reset() {
  bindError_ = SQLITE_OK;
  // sqlite3_reset repeats the error of a failed step, which step() already reported.
  sqlite3_reset(stmt_);
  return Status::ok();
}

bool Statement::isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::columnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::columnText(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
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
  std::string key(sql);
  if (sqlite3_stmt* cached = cache_->take(key))
    return Statement(db_.get(), cached, cache_.get(), std::move(key));
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqliteStatus(rc, db_.get(), "prepare");
  }
  if (stmt == nullptr) return Status::invalidArgument("prepare: empty SQL");
  return Statement(db_.get(), stmt, cache_.get(), std::move(key));
}

Status SqliteDb::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  return sqliteStatus(rc, db_.get(), "exec");
}

namespace {

// BEGIN/COMMIT/ROLLBACK through the statement cache: sqlite3_exec would compile them each time.
Status runCached(SqliteDb& db, std::string_view sql) {
  TETHER_TRY(Statement st, db.prepare(sql));
  return st.exec();
}

}  // namespace

Status SqliteDb::setDurability(Durability d) {
  if (d == durability_) return Status::ok();
  // SQLite refuses to change the safety level inside a transaction; callers set it before BEGIN.
  TETHER_RETURN_IF_ERROR(runCached(*this, d == Durability::kDurable ? "PRAGMA synchronous=FULL"
                                                                    : "PRAGMA synchronous=NORMAL"));
  durability_ = d;
  return Status::ok();
}

Status SqliteDb::syncWal() {
  sqlite3_file* wal = nullptr;
  int rc = sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc != SQLITE_OK) return sqliteStatus(rc, db_.get(), "journal pointer");
  if (wal == nullptr || wal->pMethods == nullptr) return Status::ok();  // not open: nothing to sync
  rc = wal->pMethods->xSync(wal, SQLITE_SYNC_FULL);
  return sqliteStatus(rc, nullptr, "fsync of the WAL");
}

Result<Transaction> Transaction::begin(SqliteDb& db, Durability d) {
  TETHER_RETURN_IF_ERROR(db.setDurability(d));
  Status s = runCached(db, "BEGIN IMMEDIATE");
  if (!s.isOk()) {
    (void)db.setDurability(Durability::kDurable);
    return s;
  }
  return Transaction(&db, d == Durability::kRelaxed);
}

Result<Transaction> Transaction::beginRead(SqliteDb& db) {
  TETHER_RETURN_IF_ERROR(runCached(db, "BEGIN DEFERRED"));
  return Transaction(&db, false);
}

Transaction::~Transaction() {
  if (!db_) return;
  (void)runCached(*db_, "ROLLBACK");
  if (relaxed_) (void)db_->setDurability(Durability::kDurable);
}

Status Transaction::commit() {
  SqliteDb* db = db_;
  db_ = nullptr;
  Status s = runCached(*db, "COMMIT");
  // A failed COMMIT can leave the transaction open; roll back only if it did.
  if (!s.isOk() && !sqlite3_get_autocommit(db->raw())) (void)runCached(*db, "ROLLBACK");
  if (relaxed_) {
    Status back = db->setDurability(Durability::kDurable);
    if (s.isOk()) s = back;
  }
  return s;
}

}  // namespace tether::client
