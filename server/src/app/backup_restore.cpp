// tetherd backup / restore of a SQLite data directory (data_commands.h, docs/backup.md).
//
// The backup FILE is itself a SQLite database: the store's tables as of one read snapshot
// (VACUUM INTO, which in WAL mode never blocks tetherd's writers), plus one extra table
// `tether_backup(name PRIMARY KEY, value BLOB)` holding `format` ("tetherd-backup 1"),
// `created_ms`, and every file of DIR/keys/ as `key:<relative path>` (the keys are small and
// only change on `tetherd keys rotate`). Restore removes that table from the restored database.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/data_commands.h"
#include "app/open_store.h"
#include "auth/key_file.h"
#include "storage/sqlite_schema.h"

namespace tether::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "tetherd-backup 1";
constexpr size_t kMaxKeyBytes = 1 << 20;

// An open sqlite3 handle, closed on scope exit.
class Db {
 public:
  ~Db() { sqlite3_close_v2(db_); }
  Status open(const fs::path& file, int flags) {
    int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) return Status::ioError("cannot open " + file.string() + ": " + errmsg(rc));
    sqlite3_busy_timeout(db_, 10000);
    return Status::ok();
  }
  Status exec(const std::string& sql, const std::string& what) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (rc == SQLITE_OK) return Status::ok();
    if (rc == SQLITE_FULL) return Status::ioError(what + ": the disk is full (" + msg + ")");
    return Status::ioError(what + ": " + msg);
  }
  // The text of the first column of every row.
  Result<std::vector<std::string>> column(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    if (rc != SQLITE_OK) return Status::corruption(errmsg(rc));
    std::vector<std::string> out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out.emplace_back(t != nullptr ? reinterpret_cast<const char*>(t) : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Status::corruption(errmsg(rc));
    return out;
  }
  std::string errmsg(int rc) const { return db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc); }
  sqlite3* raw() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

Status fsyncPath(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return Status::ioError("cannot open " + p.string() + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::ioError("fsync of " + p.string() + " failed (disk full?)");
  return Status::ok();
}

// "ok", or what integrity_check reported.
Result<std::string> integrity(Db& db) {
  TETHER_TRY(std::vector<std::string> rows, db.column("PRAGMA integrity_check"));
  std::string all;
  for (const std::string& r : rows) all += (all.empty() ? "" : "; ") + r;
  return all;
}

Status writeBackup(const fs::path& dataDir, const fs::path& tmp) {
  const fs::path dbFile = dataDir / "tether.db";
  if (!fs::exists(dbFile)) return Status::notFound("no tetherd database in " + dataDir.string());
  Db src;
  TETHER_RETURN_IF_ERROR(src.open(dbFile, SQLITE_OPEN_READWRITE));
  // One read transaction: a consistent snapshot of everything committed when it starts.
  TETHER_RETURN_IF_ERROR(src.exec("VACUUM INTO " + quote(tmp.string()), "copying the database"));
  Db copy;
  TETHER_RETURN_IF_ERROR(copy.open(tmp, SQLITE_OPEN_READWRITE));
  TETHER_RETURN_IF_ERROR(copy.exec("PRAGMA journal_mode=DELETE", "preparing the copy"));
  TETHER_RETURN_IF_ERROR(copy.exec("CREATE TABLE tether_backup (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
                                   "writing the backup table"));
  std::string inserts = "BEGIN; INSERT INTO tether_backup VALUES ('format', " + quote(kFormat) +
                        "), ('created_ms', '" +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch()).count()) + "');";
  const fs::path keys = dataDir / "keys";
  std::error_code ec;
  if (fs::is_directory(keys, ec)) {
    for (auto it = fs::recursive_directory_iterator(keys, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      TETHER_TRY(std::optional<std::string> bytes, auth::readSecretFile(it->path(), kMaxKeyBytes));
      if (!bytes) continue;  // removed meanwhile
      std::string hex;
      static const char* digits = "0123456789abcdef";
      for (unsigned char c : *bytes) {
        hex += digits[c >> 4];
        hex += digits[c & 15];
      }
      inserts += "INSERT INTO tether_backup VALUES (" + quote("key:" + fs::relative(it->path(), keys).string()) +
                 ", X'" + hex + "');";
    }
    if (ec) return Status::ioError("cannot list " + keys.string() + ": " + ec.message());
  }
  TETHER_RETURN_IF_ERROR(copy.exec(inserts + "COMMIT;", "storing the keys in the backup"));
  TETHER_TRY(std::string check, integrity(copy));
  if (check != "ok") return Status::corruption("the copy failed integrity_check: " + check);
  return Status::ok();
}

}  // namespace

int runBackup(const std::string& storeUrl, const std::string& toFile) {
  Result<StoreUrl> url = parseStoreUrl(storeUrl);
  if (!url.isOk()) {
    std::cerr << "tetherd backup: " << url.status() << "\n";
    return 2;
  }
  if (url->kind != StoreUrl::Kind::kSqlite) {
    std::cerr << "tetherd backup: " << storeUrl << " is a PostgreSQL store: back it up with "
              << "pg_dump --format=custom (docs/backup.md), which includes the keys (meta table)\n";
    return 2;
  }
  const fs::path target(toFile);
  const fs::path tmp = target.string() + ".tmp";
  std::error_code ec;
  if (fs::exists(target, ec)) {
    std::cerr << "tetherd backup: " << toFile << " exists; choose a new file name\n";
    return 2;
  }
  fs::remove(tmp, ec);
  auto started = std::chrono::steady_clock::now();
  Status s = writeBackup(url->dataDir, tmp);
  if (s.isOk()) s = fsyncPath(tmp, false);
  if (s.isOk() && ::rename(tmp.c_str(), target.c_str()) != 0)
    s = Status::ioError("cannot rename " + tmp.string() + " to " + toFile);
  if (s.isOk()) s = fsyncPath(target.parent_path().empty() ? fs::path(".") : target.parent_path(), true);
  if (!s.isOk()) {
    fs::remove(tmp, ec);
    fs::remove(target, ec);
    std::cerr << "tetherd backup: FAILED, no backup written: " << s.message() << "\n";
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "backed up " << url->dataDir.string() << " to " << toFile << " (" << fs::file_size(target, ec)
            << " bytes, " << seconds << " s, integrity ok)\n";
  return 0;
}

namespace {

// Why DIR must not be restored into, or "".
std::string refuseTarget(const fs::path& dir, bool force) {
  std::error_code ec;
  for (const char* name : {"tether.db", "tether.db-wal", "tether.db-shm", "keys"})
    if (fs::exists(dir / name, ec))
      return (dir / name).string() + " exists: " + dir.string() +
             " is (or was) a live data directory and is never overwritten; restore into a new directory";
  if (!force && fs::is_directory(dir, ec) && !fs::is_empty(dir, ec))
    return dir.string() + " is not empty (use --force to restore into it anyway)";
  return "";
}

Status restoreInto(const fs::path& from, const fs::path& dir) {
  const fs::path tmp = dir / "tether.db.restore-tmp";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::ioError("cannot create " + dir.string() + ": " + ec.message());
  {
    Db backup;
    TETHER_RETURN_IF_ERROR(backup.open(from, SQLITE_OPEN_READONLY));
    Result<std::string> check = integrity(backup);
    if (!check.isOk() || *check != "ok")
      return Status::corruption(from.string() + " is not an intact tetherd backup (integrity_check: " +
                                (check.isOk() ? *check : check.status().message()) + ")");
    Result<std::vector<std::string>> format = backup.column("SELECT value FROM tether_backup WHERE name = 'format'");
    if (!format.isOk() || format->size() != 1 || (*format)[0] != kFormat)
      return Status::corruption(from.string() + " is not a tetherd backup (no '" + std::string(kFormat) +
                                "' marker)");
    TETHER_TRY(std::vector<std::string> version, backup.column("PRAGMA user_version"));
    if (version.empty() || std::stoll(version[0]) < 1 || std::stoll(version[0]) > kSqliteSchemaVersion)
      return Status::invalidArgument("the backup's schema version " + (version.empty() ? "?" : version[0]) +
                                     " is not one this tetherd reads (1.." + std::to_string(kSqliteSchemaVersion) +
                                     ")");
    TETHER_RETURN_IF_ERROR(backup.exec("VACUUM INTO " + quote(tmp.string()), "copying the backup"));
    // Keys: written before the database appears, each atomically (key_file.h).
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(backup.raw(), "SELECT substr(name, 5), value FROM tether_backup WHERE name LIKE 'key:%'",
                           -1, &st, nullptr) != SQLITE_OK)
      return Status::corruption(from.string() + ": cannot read its keys: " + sqlite3_errmsg(backup.raw()));
    int rc = SQLITE_DONE;
    Status s = Status::ok();
    while (s.isOk() && (rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string rel(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
      std::string bytes(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                        static_cast<size_t>(sqlite3_column_bytes(st, 1)));
      fs::path path = dir / "keys" / rel;
      if (rel.empty() || rel.find("..") != std::string::npos || fs::path(rel).is_absolute()) {
        s = Status::corruption("the backup names a key outside keys/: " + rel);
        break;
      }
      s = auth::ensurePrivateDir(path.parent_path());
      if (s.isOk()) s = auth::createSecretFile(path, bytes).status();
    }
    if (s.isOk() && rc != SQLITE_DONE)
      s = Status::corruption(from.string() + ": reading its keys failed: " + sqlite3_errmsg(backup.raw()));
    sqlite3_finalize(st);
    TETHER_RETURN_IF_ERROR(s);
  }
  Db restored;
  TETHER_RETURN_IF_ERROR(restored.open(tmp, SQLITE_OPEN_READWRITE));
  TETHER_RETURN_IF_ERROR(restored.exec("DROP TABLE tether_backup", "finishing the restored database"));
  TETHER_RETURN_IF_ERROR(restored.exec("PRAGMA journal_mode=WAL", "finishing the restored database"));
  TETHER_RETURN_IF_ERROR(fsyncPath(tmp, false));
  if (::rename(tmp.c_str(), (dir / "tether.db").c_str()) != 0)
    return Status::ioError("cannot rename " + tmp.string() + " to tether.db");
  return fsyncPath(dir, true);
}

}  // namespace

int runRestore(const std::string& fromFile, const std::string& dataDir, bool force) {
  const fs::path dir(dataDir);
  if (std::string why = refuseTarget(dir, force); !why.empty()) {
    std::cerr << "tetherd restore: refused: " << why << "\n";
    return 1;
  }
  std::error_code ec;
  if (!fs::is_regular_file(fromFile, ec)) {
    std::cerr << "tetherd restore: " << fromFile << " is not a file\n";
    return 2;
  }
  if (Status s = restoreInto(fromFile, dir); !s.isOk()) {
    fs::remove(dir / "tether.db.restore-tmp", ec);
    // keys/ did not exist before (refuseTarget): the keys written so far go too unless the
    // database is already in place, so that the directory is not left looking live.
    if (!fs::exists(dir / "tether.db", ec)) fs::remove_all(dir / "keys", ec);
    std::cerr << "tetherd restore: FAILED: " << s.message() << "\n";
    return 1;
  }
  std::cout << "restored " << fromFile << " into " << dataDir << "\n";
  return 0;
}

}  // namespace tether::server
