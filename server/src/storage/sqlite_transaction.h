// SqliteTransaction: StoreTransaction over the SQLite store's single connection. It holds the
// connection mutex from begin to commit/rollback, so it is the only user of the connection while
// open. Owned and used by one thread (see store_transaction.h).
#pragma once

#include <atomic>
#include <mutex>
#include <thread>

#include "storage/sqlite_db.h"
#include "storage/store_transaction.h"

namespace tether::server {

// The connection shared by SqliteStore and its transactions.
struct SqliteConnection {
  std::mutex mu;
  std::unique_ptr<SqliteDb> db;  // guarded by mu
  // The thread holding an open transaction (default id when none), so a Store call from that
  // same thread fails fast instead of deadlocking on mu.
  std::atomic<std::thread::id> txnOwner{};
};

class SqliteTransaction final : public StoreTransaction {
 public:
  // kWrite: BEGIN IMMEDIATE (takes the file's write lock up front, so commit never hits
  // SQLITE_BUSY halfway); kRead: BEGIN (deferred).
  enum class Mode { kRead, kWrite };
  static Result<std::unique_ptr<StoreTransaction>> begin(SqliteConnection& conn, Mode mode);

  ~SqliteTransaction() override;

  Result<std::optional<DatasetRow>> getDataset(const OwnerRef& owner,
                                               std::string_view name) override;
  Result<std::vector<DatasetRow>> listDatasets(const OwnerRef& owner, DatasetFilter filter,
                                               std::string_view afterName, int limit) override;
  Result<int64_t> countLiveDatasets(const OwnerRef& owner) override;
  Status putDataset(const OwnerRef& owner, const DatasetRow& row) override;
  Result<std::vector<Record>> getRecords(const OwnerRef& owner, std::string_view dataset,
                                         std::span<const std::string> keys) override;
  Result<std::vector<Record>> listRecords(const OwnerRef& owner, std::string_view dataset,
                                          const RecordQuery& query) override;
  Status putRecords(const OwnerRef& owner, std::string_view dataset,
                    std::span<const Record> records) override;
  Status deleteRecords(const OwnerRef& owner, std::string_view dataset) override;
  Result<std::vector<std::string>> listMergedDatasets(const OwnerRef& owner,
                                                      std::string_view dataset) override;
  Status addMergedDataset(const OwnerRef& owner, std::string_view dataset,
                          std::string_view mergedName) override;
  Status removeMergedDataset(const OwnerRef& owner, std::string_view mergedName) override;
  Status commit() override;

 private:
  SqliteTransaction(SqliteConnection& conn, std::unique_lock<std::mutex> lock)
      : conn_(conn), lock_(std::move(lock)) {}
  Status checkOpen() const;
  void finish();

  SqliteConnection& conn_;
  std::unique_lock<std::mutex> lock_;
  bool open_ = false;  // BEGIN ran and neither COMMIT nor ROLLBACK has
};

}  // namespace tether::server
