#include "client_impl.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "tether/limits.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {
namespace {

// A one-shot result handed from the sync thread to a waiting app thread.
template <class T>
struct Waiter {
  Mutex mu;
  std::condition_variable cv;
  std::optional<Result<T>> result TETHER_GUARDED_BY(mu);

  void set(Result<T> r) {
    {
      MutexLock lock(mu);
      if (!result) result.emplace(std::move(r));
    }
    cv.notify_all();
  }
  Result<T> wait(std::chrono::milliseconds timeout) {
    MutexLock lock(mu);
    if (!lock.waitFor(cv, timeout, [this] {
          mu.assertHeld();  // the predicate runs under the lock
          return result.has_value();
        }))
      return Status::unavailable("timed out waiting for the server");
    return std::move(*result);
  }
};

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

ClientCore::~ClientCore() { shutdown(); }

void ClientCore::shutdown() {
  if (closed.exchange(true)) return;
  if (executor && !executor->isCurrentThread()) {
    executor->shutdown();
    // Nothing runs on the executor any more: end syncs a Remote left hanging (each one holds a
    // Dataset, which holds this core: they would wait, and leak, forever).
    if (engine) engine->cancelAfterShutdown();
  }
}

// ---- Dataset

Result<std::optional<std::string>> DatasetImpl::get(std::string_view key) const {
  TETHER_TRY(std::string id, core_->store->identityId());
  TETHER_TRY(std::optional<LocalRecord> r, core_->store->getRecord(id, name_, key));
  if (!r) return std::optional<std::string>();
  return r->record.value;
}

Status DatasetImpl::put(std::string_view key, std::string_view value) {
  TETHER_RETURN_IF_ERROR(core_->store->put("", name_, key, std::string(value), core_->deviceId));
  core_->live->onLocalWrite(name_);
  return Status::ok();
}

Status DatasetImpl::remove(std::string_view key) {
  TETHER_RETURN_IF_ERROR(core_->store->put("", name_, key, std::nullopt, core_->deviceId));
  core_->live->onLocalWrite(name_);
  return Status::ok();
}

Result<std::map<std::string, std::string>> DatasetImpl::getAll() const {
  TETHER_TRY(std::vector<LocalRecord> all, getAllRecords());
  std::map<std::string, std::string> out;
  for (LocalRecord& r : all)
    if (r.record.value) out.emplace(std::move(r.record.key), std::move(*r.record.value));
  return out;
}

Result<std::vector<LocalRecord>> DatasetImpl::getAllRecords() const {
  TETHER_TRY(std::string id, core_->store->identityId());
  return core_->store->records(id, name_);
}

Result<int64_t> DatasetImpl::sizeInBytes() const {
  TETHER_TRY(std::string id, core_->store->identityId());
  return core_->store->sizeInBytes(id, name_);
}

Result<int64_t> DatasetImpl::sizeOf(std::string_view key) const {
  TETHER_TRY(std::string id, core_->store->identityId());
  TETHER_TRY(std::optional<LocalRecord> r, core_->store->getRecord(id, name_, key));
  if (!r || !r->record.value) return int64_t{0};
  return recordSize(r->record.key, *r->record.value);
}

Result<bool> DatasetImpl::isChanged(std::string_view key) const {
  TETHER_TRY(std::string id, core_->store->identityId());
  TETHER_TRY(std::optional<LocalRecord> r, core_->store->getRecord(id, name_, key));
  return r && r->dirty;
}

Result<DatasetMetadata> DatasetImpl::metadata() const {
  TETHER_TRY(std::string id, core_->store->identityId());
  TETHER_TRY(std::optional<LocalDatasetInfo> info, core_->store->getDataset(id, name_));
  if (!info) {
    DatasetMetadata m;
    m.name = name_;
    return m;
  }
  return info->metadata;
}

Result<int64_t> DatasetImpl::lastSyncCount() const {
  TETHER_TRY(std::string id, core_->store->identityId());
  return core_->store->lastSyncCount(id, name_);
}

Status DatasetImpl::remove() {
  TETHER_RETURN_IF_ERROR(core_->store->deleteDataset("", name_));
  core_->live->onLocalWrite(name_);
  return Status::ok();
}

Status DatasetImpl::resolve(const std::vector<SyncConflict>& resolvedConflicts) {
  std::vector<ResolvedWrite> writes;
  for (const SyncConflict& c : resolvedConflicts) {
    ResolvedWrite w;
    w.record = c.resolvedRecord();
    w.dirty = c.resolvedNeedsPush();
    writes.push_back(std::move(w));
  }
  return core_->store->writeResolved("", name_, writes);
}

Status DatasetImpl::synchronize(SyncCallbacks callbacks) {
  if (core_->closed) return Status::cancelled("client is closed");
  return core_->engine->synchronize(shared_from_this(), std::move(callbacks));
}

Result<std::vector<Record>> DatasetImpl::synchronizeAndWait(SyncCallbacks callbacks,
                                                            std::chrono::milliseconds timeout) {
  if (core_->executor->isCurrentThread())
    return Status::invalidArgument("synchronizeAndWait called on the sync thread");
  auto waiter = std::make_shared<Waiter<std::vector<Record>>>();
  auto onSuccess = std::move(callbacks.onSuccess);
  auto onFailure = std::move(callbacks.onFailure);
  callbacks.onSuccess = [waiter, onSuccess](Dataset& ds, const std::vector<Record>& updated) {
    if (onSuccess) onSuccess(ds, updated);
    waiter->set(updated);
  };
  callbacks.onFailure = [waiter, onFailure](Dataset& ds, const Status& s) {
    if (onFailure) onFailure(ds, s);
    waiter->set(s);
  };
  TETHER_RETURN_IF_ERROR(synchronize(std::move(callbacks)));
  return waiter->wait(timeout);
}

Status DatasetImpl::subscribe() {
  if (core_->closed) return Status::cancelled("client is closed");
  return core_->live->subscribe(name_);
}

Status DatasetImpl::unsubscribe() {
  if (core_->closed) return Status::cancelled("client is closed");
  return core_->live->unsubscribe(name_);
}

bool DatasetImpl::isSubscribed() const { return core_->live->isSubscribed(name_); }

// ---- Client

ClientImpl::~ClientImpl() { core_->shutdown(); }

std::string ClientImpl::identityId() const {
  Result<std::string> id = core_->store->identityId();
  if (!id.isOk() || *id == kUnknownIdentity) return "";
  return *id;
}

Result<std::string> ClientImpl::getIdentityId(std::chrono::milliseconds timeout) {
  if (core_->executor->isCurrentThread())
    return Status::invalidArgument("getIdentityId called on the sync thread");
  auto waiter = std::make_shared<Waiter<std::string>>();
  TETHER_RETURN_IF_ERROR(core_->engine->ensureIdentity([waiter](Result<std::string> r) { waiter->set(std::move(r)); }));
  return waiter->wait(timeout);
}

Result<std::vector<DatasetMetadata>> ClientImpl::listDatasets() {
  TETHER_TRY(std::string id, core_->store->identityId());
  return core_->store->listDatasets(id);
}

Result<std::shared_ptr<Dataset>> ClientImpl::openOrCreateDataset(std::string_view name) {
  TETHER_RETURN_IF_ERROR(validateDatasetName(name));
  TETHER_TRY(std::string id, core_->store->identityId());
  TETHER_TRY(std::optional<LocalDatasetInfo> info, core_->store->getDataset(id, name));
  // A pending delete keeps its row: later puts recreate the dataset (see Dataset::remove()).
  if (!info) TETHER_RETURN_IF_ERROR(core_->store->createDataset("", name));
  return std::shared_ptr<Dataset>(std::make_shared<DatasetImpl>(core_, std::string(name)));
}

Status ClientImpl::refreshDatasetMetadata(std::chrono::milliseconds timeout) {
  if (core_->executor->isCurrentThread())
    return Status::invalidArgument("refreshDatasetMetadata called on the sync thread");
  auto waiter = std::make_shared<Waiter<bool>>();
  TETHER_RETURN_IF_ERROR(core_->engine->refreshDatasetMetadata([waiter](Status s) {
    if (s.isOk()) waiter->set(true);
    else waiter->set(s);
  }));
  return waiter->wait(timeout).status();
}

Status ClientImpl::wipeData() { return core_->store->wipe(); }

Status ClientImpl::setLogins(Logins logins) { return core_->logins->setFixed(std::move(logins)); }

Status ClientImpl::clearLogins() {
  core_->logins->clear();
  return Status::ok();
}

Status ClientImpl::refreshLogins() {
  core_->logins->refresh();
  return Status::ok();
}

ChangeListenerId ClientImpl::addChangeListener(ChangeListener listener) {
  return core_->live->addListener(std::move(listener));
}

void ClientImpl::removeChangeListener(ChangeListenerId id) { core_->live->removeListener(id); }

std::vector<std::string> ClientImpl::subscribedDatasets() const {
  return core_->live->subscriptions();
}

std::vector<std::string> ClientImpl::followedDatasets() const {
  return core_->live->followedDatasets();
}

Result<std::unique_ptr<Client>> openClientWith(const ClientOptions& options,
                                               std::shared_ptr<Remote> remote,
                                               std::shared_ptr<Executor> executor,
                                               SyncEngineOptions engineOptions,
                                               const LiveSyncOptions* liveTuning) {
  if (!remote || !executor) return Status::invalidArgument("remote and executor are required");
  if (!options.identityPoolId.empty()) TETHER_RETURN_IF_ERROR(validatePoolId(options.identityPoolId));
  if (!options.identityId.empty()) TETHER_RETURN_IF_ERROR(validateIdentityId(options.identityId));
  if (!options.deviceName.empty()) TETHER_RETURN_IF_ERROR(validateDeviceId(options.deviceName));
  auto core = std::make_shared<ClientCore>();
  core->executor = std::move(executor);
  core->remote = std::move(remote);
  LocalStore::NowFn now = options.clock ? options.clock : LocalStore::NowFn(systemNowMs);
  TETHER_TRY(core->store, LocalStore::open(options.cachePath, std::move(now)));
  if (!options.deviceName.empty()) TETHER_RETURN_IF_ERROR(core->store->setDeviceId(options.deviceName));
  TETHER_TRY(core->deviceId, core->store->deviceId());
  if (!options.identityId.empty()) {
    TETHER_TRY(std::string cached, core->store->identityId());
    if (cached != options.identityId)
      TETHER_RETURN_IF_ERROR(core->store->changeIdentity(cached, options.identityId));
  }
  core->engine = std::make_unique<SyncEngine>(*core->store, *core->remote, *core->executor,
                                              core->deviceId, engineOptions);
  core->logins = std::make_unique<LoginSource>(options.loginsProvider);
  core->engine->setLoginSource(core->logins.get());
  LiveSyncOptions live = liveTuning ? *liveTuning : LiveSyncOptions{};
  live.autoSync = options.autoSync;
  live.debounce = options.autoSyncDebounce;
  live.callbacks = options.backgroundSync;
  live.followDevice = options.followDeviceSubscriptions;
  if (live.debounce.count() < 0) return Status::invalidArgument("autoSyncDebounce must not be negative");
  // Weak: the core owns LiveSync; a background sync's Dataset keeps the core alive only while
  // that sync runs.
  std::weak_ptr<ClientCore> weakCore = core;
  auto factory = [weakCore](const std::string& name) -> std::shared_ptr<Dataset> {
    std::shared_ptr<ClientCore> c = weakCore.lock();
    if (!c || c->closed) return nullptr;
    return std::make_shared<DatasetImpl>(std::move(c), name);
  };
  core->live = std::make_unique<LiveSync>(*core->store, *core->remote, *core->executor,
                                          *core->engine, core->deviceId, std::move(live),
                                          std::move(factory));
  core->engine->setAppliedListener([l = core->live.get()](const std::string& ds,
                                                          const std::vector<std::string>& keys) {
    l->onApplied(ds, keys);
  });
  core->engine->setIdentityChangedListener(
      [l = core->live.get(), app = options.onIdentityChanged](const std::string& oldId,
                                                              const std::string& newId) {
        // A first identity needs nothing: subscriptions and auto-sync already waited for it.
        if (oldId != kUnknownIdentity) l->onIdentityChanged();
        if (app) app(oldId == kUnknownIdentity ? std::string() : oldId, newId);
      });
  core->remote->setListener(core->live.get());
  return std::unique_ptr<Client>(std::make_unique<ClientImpl>(std::move(core)));
}

}  // namespace tether::client
