// SqliteCheckpointer: moves WAL frames into the database file on a background thread, off the
// commit path. SQLite's default auto-checkpoint runs inside the COMMIT that pushed the WAL past
// 1,000 pages: that commit then also copies up to 4 MB into the database file and fsyncs it,
// which made every few W2-sized batches several times slower (bench W2 profile: 28% of the
// batch time in sqlite3WalDefaultHook). Here the write connection's WAL hook only signals this
// thread, which runs PASSIVE checkpoints (they never block the writer or readers) on its own
// connection. Durability is unchanged: a checkpoint syncs the WAL before it copies frames (its
// connection runs at synchronous=FULL), so it never copies a group commit that is not yet
// durable in the WAL (sqlite_transaction.h); until it has run they are read from the WAL.
//
// Threading: attach() and the destructor on the owner's thread; the WAL hook runs on whichever
// thread commits (it only takes a mutex and notifies); checkpoints run on the internal thread.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "storage/sqlite_db.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

// WAL size (pages) after a commit that wakes the checkpointer; SQLite's default auto-checkpoint
// threshold. Lower: a smaller WAL (faster reads, less disk); higher: fewer checkpoints.
constexpr int kCheckpointWalPages = 1000;
// WAL size (pages) at which the committing thread checkpoints inline after all, so a
// checkpointer that cannot keep up never lets the WAL grow without bound.
constexpr int kInlineCheckpointWalPages = 8000;

class SqliteCheckpointer {
 public:
  // Opens the checkpointer's connection on `file`, installs the WAL hook on `writer` and starts
  // the thread. `writer` must outlive this object.
  static Result<std::unique_ptr<SqliteCheckpointer>> attach(SqliteDb& writer,
                                                            const std::filesystem::path& file);
  // Removes the WAL hook and stops the thread (a checkpoint in progress finishes first).
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

 private:
  SqliteCheckpointer(SqliteDb& writer, std::unique_ptr<SqliteDb> own)
      : writer_(writer), own_(std::move(own)) {}
  static int walHook(void* self, sqlite3* db, const char* dbName, int pages);
  void run();

  SqliteDb& writer_;
  std::unique_ptr<SqliteDb> own_;  // used by the thread only
  Mutex mu_;
  std::condition_variable wake_;
  bool pending_ TETHER_GUARDED_BY(mu_) = false;
  bool stop_ TETHER_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tether::server
