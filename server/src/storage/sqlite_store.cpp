#include "storage/sqlite_store.h"

#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "storage/sqlite_db.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_transaction.h"

namespace tether::server {
namespace {

// The Store over one SQLite connection. Every call takes the connection mutex for its duration
// (a transaction holds it from begin to end), which makes the store safe to call from any thread
// at the price of running one call at a time. TODO(perf): separate read connections (WAL lets
// readers run beside the writer) once benchmarks say the mutex is the bottleneck.
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<SqliteDb> db) { conn_.db = std::move(db); }

  Status putPool(const PoolInfo& pool) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO pools (id, name, allow_guests, created_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " allow_guests = excluded.allow_guests, created_ms = excluded.created_ms"));
    st.bind(1, pool.id).bind(2, pool.name).bind(3, int64_t{pool.allowGuests ? 1 : 0})
        .bind(4, pool.createdMs);
    return st.run();
  }

  Result<std::optional<PoolInfo>> getPool(std::string_view poolId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, name, allow_guests, created_ms FROM pools WHERE id = ?1"));
    st.bind(1, poolId);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<PoolInfo>();
    return std::optional<PoolInfo>(readPool(st));
  }

  Result<std::vector<PoolInfo>> listPools() override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, name, allow_guests, created_ms FROM pools ORDER BY created_ms, id"));
    std::vector<PoolInfo> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(readPool(st));
    }
    return out;
  }

  Status createIdentity(const IdentityInfo& identity) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO identities (id, pool_id, created_ms, disabled) VALUES (?1, ?2, ?3, ?4)"));
    st.bind(1, identity.id).bind(2, identity.poolId).bind(3, identity.createdMs)
        .bind(4, int64_t{identity.disabled ? 1 : 0});
    Status s = st.run();
    if (s.code() == StatusCode::kConflict)
      return Status::conflict("identity " + identity.id + " already exists");
    return s;
  }

  Result<std::optional<IdentityInfo>> getIdentity(std::string_view identityId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, pool_id, created_ms, disabled FROM identities WHERE id = ?1"));
    st.bind(1, identityId);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<IdentityInfo>();
    IdentityInfo info;
    info.id = st.columnText(0);
    info.poolId = st.columnText(1);
    info.createdMs = st.columnInt64(2);
    info.disabled = st.columnInt64(3) != 0;
    return std::optional<IdentityInfo>(std::move(info));
  }

  Result<std::unique_ptr<StoreTransaction>> begin() override {
    return SqliteTransaction::begin(conn_, SqliteTransaction::Mode::kWrite);
  }

  Result<std::unique_ptr<StoreTransaction>> beginRead() override {
    return SqliteTransaction::begin(conn_, SqliteTransaction::Mode::kRead);
  }

  Result<std::optional<std::string>> getMeta(std::string_view key) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("SELECT value FROM meta WHERE key = ?1"));
    st.bind(1, key);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st.columnText(0));
  }

  Status putMeta(std::string_view key, std::string_view value) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
    st.bind(1, key).bind(2, value);
    return st.run();
  }

 private:
  static PoolInfo readPool(const Statement& st) {
    PoolInfo p;
    p.id = st.columnText(0);
    p.name = st.columnText(1);
    p.allowGuests = st.columnInt64(2) != 0;
    p.createdMs = st.columnInt64(3);
    return p;
  }

  // The connection lock for one autocommit call. A thread that holds an open transaction would
  // deadlock here; tell it instead.
  Result<std::unique_lock<std::mutex>> lockConnection() {
    if (conn_.txnOwner.load() == std::this_thread::get_id())
      return Status::internal("Store called on a thread that holds an open transaction");
    return std::unique_lock<std::mutex>(conn_.mu);
  }

  SqliteConnection conn_;
};

Status configure(SqliteDb& db, const SqliteStoreOptions& options) {
  // Before anything reads the file: fail fast with kCorruption on a non-database file.
  TETHER_TRY(std::string mode, db.queryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal")
    return Status::ioError("cannot switch the database to WAL mode (journal_mode=" + mode + ")");
  // FULL: every commit fsyncs the WAL, so an acknowledged write survives power loss as well as
  // a killed process (docs/storage.md).
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA synchronous = FULL"));
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys = ON"));
  if (int rc = sqlite3_busy_timeout(db.raw(), options.busyTimeoutMs); rc != SQLITE_OK)
    return db.error(rc, "setting busy_timeout");
  if (options.maxPageCount > 0) {
    TETHER_TRY(int64_t pages, db.queryInt("PRAGMA max_page_count = " +
                                          std::to_string(options.maxPageCount)));
    (void)pages;
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& dbFile) {
  return openSqliteStore(dbFile, SqliteStoreOptions{});
}

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& dbFile,
                                               const SqliteStoreOptions& options) {
  if (dbFile.empty()) return Status::invalidArgument("database path is empty");
  std::filesystem::path parent = dbFile.parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::ioError("cannot create directory " + parent.string() + ": " +
                             ec.message());
    }
  }
  // NOMUTEX: SQLite's own per-connection mutex would be redundant with SqliteStore's.
  TETHER_TRY(std::unique_ptr<SqliteDb> db,
             SqliteDb::open(dbFile, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                        SQLITE_OPEN_NOMUTEX));
  TETHER_RETURN_IF_ERROR(configure(*db, options));
  TETHER_RETURN_IF_ERROR(migrateSqliteSchema(*db));
  return std::unique_ptr<Store>(new SqliteStore(std::move(db)));
}

}  // namespace tether::server
