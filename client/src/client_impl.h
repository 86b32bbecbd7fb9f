// ClientImpl / DatasetImpl: the public Client and Dataset backed by LocalStore + SyncEngine.
// ClientCore holds what both share; Datasets keep the core alive (shared_ptr), so a Dataset
// may outlive its Client (network calls then fail kCancelled).
// openClientWith() wires a given Remote + Executor (unit tests: fake remote, ThreadExecutor);
// Client::open() wires the WebSocket transport (client_open.cpp).
// Threading: all public methods thread-safe (LocalStore locks; the engine runs on the executor).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "store/local_store.h"
#include "sync/live_sync.h"
#include "sync/login_source.h"
#include "sync/remote.h"
#include "sync/sync_engine.h"
#include "tether/client.h"
#include "util/executor.h"

namespace tether::client {

struct ClientCore {
  std::unique_ptr<LocalStore> store;
  std::shared_ptr<Executor> executor;  // shared with the Remote when the transport is both
  std::shared_ptr<Remote> remote;
  std::unique_ptr<SyncEngine> engine;
  std::unique_ptr<LiveSync> live;      // subscriptions, auto-sync, change listeners
  std::unique_ptr<LoginSource> logins; // the app's logins (provider or setLogins)
  std::string deviceId;
  std::atomic<bool> closed{false};

  ~ClientCore();
  void shutdown();  // stops the executor; idempotent
};

class DatasetImpl final : public Dataset, public std::enable_shared_from_this<DatasetImpl> {
 public:
  DatasetImpl(std::shared_ptr<ClientCore> core, std::string name)
      : core_(std::move(core)), name_(std::move(name)) {}

  const std::string& name() const override { return name_; }
  Result<std::optional<std::string>> get(std::string_view key) const override;
  Status put(std::string_view key, std::string_view value) override;
  Status remove(std::string_view key) override;
  Result<std::map<std::string, std::string>> getAll() const override;
  Result<std::vector<LocalRecord>> getAllRecords() const override;
  Result<int64_t> sizeInBytes() const override;
  Result<int64_t> sizeOf(std::string_view key) const override;
  Result<bool> isChanged(std::string_view key) const override;
  Result<DatasetMetadata> metadata() const override;
  Result<int64_t> lastSyncCount() const override;
  Status remove() override;
  Status resolve(const std::vector<SyncConflict>& resolvedConflicts) override;
  Status synchronize(SyncCallbacks callbacks) override;
  Result<std::vector<Record>> synchronizeAndWait(SyncCallbacks callbacks,
                                                 std::chrono::milliseconds timeout) override;
  Status subscribe() override;
  Status unsubscribe() override;
  bool isSubscribed() const override;

 private:
  std::shared_ptr<ClientCore> core_;
  std::string name_;
};

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(std::shared_ptr<ClientCore> core) : core_(std::move(core)) {}
  ~ClientImpl() override;

  std::string identityId() const override;
  Result<std::string> getIdentityId(std::chrono::milliseconds timeout) override;
  std::string deviceId() const override { return core_->deviceId; }
  Result<std::vector<DatasetMetadata>> listDatasets() override;
  Result<std::shared_ptr<Dataset>> openOrCreateDataset(std::string_view name) override;
  Status refreshDatasetMetadata(std::chrono::milliseconds timeout) override;
  Status wipeData() override;
  Status setLogins(Logins logins) override;
  Status clearLogins() override;
  Status refreshLogins() override;
  ChangeListenerId addChangeListener(ChangeListener listener) override;
  void removeChangeListener(ChangeListenerId id) override;
  std::vector<std::string> subscribedDatasets() const override;
  std::vector<std::string> followedDatasets() const override;

  // For tests and diagnostics.
  LiveSyncStats liveSyncStats() const { return core_->live->stats(); }

 private:
  std::shared_ptr<ClientCore> core_;
};

// Opens the cache and wires the given remote and executor (which must call the remote's
// callbacks on its thread). Validates options like Client::open, minus the server URL.
// `liveTuning` overrides the live-sync timings other than those in `options` (tests).
Result<std::unique_ptr<Client>> openClientWith(const ClientOptions& options,
                                               std::shared_ptr<Remote> remote,
                                               std::shared_ptr<Executor> executor,
                                               SyncEngineOptions engineOptions = {},
                                               const LiveSyncOptions* liveTuning = nullptr);

}  // namespace tether::client
