#include "storage/sqlite_checkpointer.h"

#include <utility>

namespace tether::server {

Result<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::attach(
    SqliteDb& writer, const std::filesystem::path& file) {
  TETHER_TRY(std::unique_ptr<SqliteDb> own,
             SqliteDb::open(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX));
  std::unique_ptr<SqliteCheckpointer> cp(new SqliteCheckpointer(writer, std::move(own)));
  // Replaces SQLite's auto-checkpoint hook on the writer (sqlite3_wal_hook docs).
  sqlite3_wal_hook(writer.raw(), &SqliteCheckpointer::walHook, cp.get());
  cp->thread_ = std::thread([raw = cp.get()] { raw->run(); });
  return cp;
}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_hook(writer_.raw(), nullptr, nullptr);
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int SqliteCheckpointer::walHook(void* self, sqlite3* db, const char* dbName, int pages) {
  auto* cp = static_cast<SqliteCheckpointer*>(self);
  if (pages >= kInlineCheckpointWalPages) {
    // Far behind: checkpoint here, as SQLite's own hook would (errors only delay it).
    (void)sqlite3_wal_checkpoint_v2(db, dbName, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (pages >= kCheckpointWalPages) {
    {
      MutexLock lock(cp->mu_);
      cp->pending_ = true;
    }
    cp->wake_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteCheckpointer::run() {
  MutexLock lock(mu_);
  while (true) {
    lock.wait(wake_, [this] {
      mu_.assertHeld();  // the predicate runs under the lock
      return pending_ || stop_;
    });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for locks. A busy or failed
    // checkpoint is retried at the next signal; the data stays safe in the WAL meanwhile.
    (void)sqlite3_wal_checkpoint_v2(own_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace tether::server
