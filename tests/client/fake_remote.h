// FakeServer + FakeRemote: an in-memory server with the sync rules of spec 3.3 (atomic batches,
// whole batch rejected on a stale record sync count, D+1 per accepted batch, tombstones,
// deletion with monotonic counts, 20 datasets / 1,024 records / 1 MB, paging, merged names),
// and a per-device Remote that reaches it through the device's sync executor.
// Threading: FakeServer is thread-safe (one mutex). FakeRemote's calls come from the executor
// and complete later on it, as the Remote contract requires; its knobs are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sync/remote.h"
#include "util/executor.h"

namespace tether::client::testing {

class FakeServer {
 public:
  struct DatasetState {
    int64_t syncCount = 0;
    bool live = false;
    std::optional<int64_t> deletedAt;
    int64_t creationMs = 0;
    std::map<std::string, Record> records;  // live and tombstones
    std::vector<std::string> mergedNames;
  };

  std::string createIdentity();
  bool hasIdentity(const std::string& id);

  Result<proto::ListDatasetsResponse> listDatasets(const std::string& id, const proto::ListDatasetsRequest& req);
  Result<proto::ListRecordsResponse> listRecords(const std::string& id, const proto::ListRecordsRequest& req);
  Result<proto::UpdateRecordsResponse> updateRecords(const std::string& id, const proto::UpdateRecordsRequest& req);
  Result<proto::DeleteDatasetResponse> deleteDataset(const std::string& id, const proto::DeleteDatasetRequest& req);

  // Test views and knobs.
  std::optional<DatasetState> dataset(const std::string& id, const std::string& name);
  std::map<std::string, std::string> liveValues(const std::string& id, const std::string& name);
  // Writes a record as if another device pushed it (D+1).
  void remoteWrite(const std::string& id, const std::string& name, const std::string& key,
                   std::optional<std::string> value, int64_t deviceLastModifiedMs);
  void setMergedNames(const std::string& id, const std::string& name, std::vector<std::string> merged);
  void setNowMs(int64_t ms) { nowMs_ = ms; }
  int updateCalls() const { return updateCalls_; }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, DatasetState>> data_;  // identity -> name -> state
  int identitySeq_ = 0;
  std::atomic<int64_t> nowMs_{1'000'000};
  std::atomic<int> updateCalls_{0};
};

class FakeRemote final : public Remote {
 public:
  enum class Phase { kBefore, kAfter };  // around the server processing a request
  using Hook = std::function<void(const std::string& op, Phase phase)>;

  FakeRemote(std::shared_ptr<FakeServer> server, std::shared_ptr<Executor> executor)
      : server_(std::move(server)), executor_(std::move(executor)) {}

  void authenticate(std::string identityId, Callback<std::string> done) override;
  void listDatasets(proto::ListDatasetsRequest req, Callback<proto::ListDatasetsResponse> done) override;
  void listRecords(proto::ListRecordsRequest req, Callback<proto::ListRecordsResponse> done) override;
  void updateRecords(proto::UpdateRecordsRequest req, Callback<proto::UpdateRecordsResponse> done) override;
  void deleteDataset(proto::DeleteDatasetRequest req, Callback<proto::DeleteDatasetResponse> done) override;

  void setOnline(bool online) { online_ = online; }
  void setHook(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  // The next `n` updateRecords fail with kConflict without touching the server.
  void failNextUpdatesWithConflict(int n) { forcedConflicts_ = n; }
  int getIdCalls() const { return getIdCalls_; }
  std::string authenticatedAs() const {
    std::lock_guard lock(mu_);
    return identity_;
  }

 private:
  template <class Resp, class Fn>
  void dispatch(const std::string& op, Callback<Resp> done, Fn fn);

  std::shared_ptr<FakeServer> server_;
  std::shared_ptr<Executor> executor_;
  mutable std::mutex mu_;
  Hook hook_;             // guarded by mu_
  std::string identity_;  // guarded by mu_
  std::atomic<bool> online_{true};
  std::atomic<int> forcedConflicts_{0};
  std::atomic<int> getIdCalls_{0};
};

}  // namespace tether::client::testing
