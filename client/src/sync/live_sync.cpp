#include "sync/live_sync.h"

#include <algorithm>

#include "tether/limits.h"

namespace tether::client {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

LiveSync::LiveSync(LocalStore& store, Remote& remote, Executor& executor, SyncEngine& engine,
                   std::string deviceId, LiveSyncOptions options, DatasetFactory factory)
    : store_(store), remote_(remote), executor_(executor), engine_(engine),
      deviceId_(std::move(deviceId)), options_(std::move(options)), factory_(std::move(factory)) {}

// ---- any thread

Status LiveSync::subscribe(const std::string& name) {
  TETHER_RETURN_IF_ERROR(validateDatasetName(name));
  bool added;
  {
    MutexLock lock(mu_);
    added = subscribed_.insert(name).second;
  }
  if (!added) return Status::ok();
  if (!executor_.post([this, name] { subscribeOnLoop({name}); })) {
    MutexLock lock(mu_);
    subscribed_.erase(name);
    return Status::cancelled("client is closed");
  }
  return Status::ok();
}

Status LiveSync::unsubscribe(const std::string& name) {
  bool removed;
  {
    MutexLock lock(mu_);
    removed = subscribed_.erase(name) > 0;
  }
  // Not app-subscribed: nothing of ours to drop. A device's dataset stays followed; the
  // server keeps announcing it until UnsubscribeFromDataset (documented in client.h).
  if (!removed) return Status::ok();
  // The server forgets subscriptions with the connection anyway, so a failure here (offline)
  // needs no retry; notifications that still arrive are ignored (not subscribed any more).
  bool posted = executor_.post([this, name] {
    proto::UnsubscribeRequest req;
    req.datasetNames = {name};  // never empty: an empty list means "all", the device's too
    remote_.unsubscribe(std::move(req), [](Result<proto::UnsubscribeResponse>) {});
    // Every reply since the app subscribed listed `name` as requested, so whether it is also
    // stored for the device is unknown: ask (the server keeps announcing it if it is).
    bool known;
    {
      MutexLock lock(mu_);
      known = followed_.count(name) > 0;
    }
    if (options_.followDevice && !known) refreshDeviceOnLoop();
  });
  return posted ? Status::ok() : Status::cancelled("client is closed");
}

bool LiveSync::isSubscribed(const std::string& name) const {
  MutexLock lock(mu_);
  return subscribed_.count(name) > 0;
}

bool LiveSync::isFollowed(const std::string& name) const {
  MutexLock lock(mu_);
  return subscribed_.count(name) > 0 || followed_.count(name) > 0;
}

std::vector<std::string> LiveSync::subscriptions() const {
  MutexLock lock(mu_);
  return {subscribed_.begin(), subscribed_.end()};
}

std::vector<std::string> LiveSync::followedDatasets() const {
  MutexLock lock(mu_);
  std::set<std::string> all = subscribed_;
  all.insert(followed_.begin(), followed_.end());
  return {all.begin(), all.end()};
}

bool LiveSync::needsRenewal() const {
  MutexLock lock(mu_);
  return options_.followDevice || !subscribed_.empty();
}

void LiveSync::onLocalWrite(const std::string& name) {
  if (!options_.autoSync) return;
  executor_.post([this, name] { localWriteOnLoop(name); });  // false = closing: nothing to do
}

ChangeListenerId LiveSync::addListener(ChangeListener listener) {
  auto entry = std::make_shared<ListenerEntry>();
  entry->fn = std::move(listener);
  MutexLock lock(listenersMu_);
  ChangeListenerId id = nextListenerId_++;
  listeners_.emplace(id, std::move(entry));
  return id;
}

void LiveSync::removeListener(ChangeListenerId id) {
  MutexLock lock(listenersMu_);
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  it->second->active = false;  // a dispatch that copied the entry checks this before calling
  listeners_.erase(it);
}

LiveSyncStats LiveSync::stats() const {
  LiveSyncStats s;
  s.notifications = notifications_.load();
  s.backgroundSyncs = backgroundSyncs_.load();
  s.subscribeCalls = subscribeCalls_.load();
  s.connections = connections_.load();
  s.deviceRefreshes = deviceRefreshes_.load();
  return s;
}

// ---- executor thread

void LiveSync::onApplied(const std::string& dataset, const std::vector<std::string>& keys) {
  std::vector<std::shared_ptr<ListenerEntry>> entries;
  {
    MutexLock lock(listenersMu_);
    for (auto& [id, e] : listeners_) entries.push_back(e);
  }
  for (auto& e : entries)
    if (e->active && e->fn) e->fn(dataset, keys);  // no lock held: the listener may (un)register
}

void LiveSync::onConnected() {
  ++connections_;
  // Subscriptions died with the previous connection: renew them all (and, following the device,
  // learn its stored set again: it may have changed while we were away).
  if (needsRenewal()) subscribeOnLoop(subscriptions());
  if (!options_.autoSync) return;
  // Push what was written while offline (or before a restart).
  Result<std::string> cached = store_.identityId();
  if (!cached.isOk()) return;
  Result<std::vector<std::string>> changed = store_.datasetsWithLocalChanges(*cached);
  if (!changed.isOk() || changed->empty()) return;
  if (*cached != kUnknownIdentity) return syncLocalChangesOnLoop(*cached);
  // Data written before the first GetId: the engine obtains an identity and re-parents it.
  Status posted = engine_.ensureIdentity([this](Result<std::string> id) {
    if (id.isOk()) syncLocalChangesOnLoop(*id);
  });
  (void)posted;  // fails only when the client is closing: nothing left to sync
}

void LiveSync::onIdentityChanged() {
  // The device's set belongs to the old identity: the renewal's reply says what the new one has.
  {
    MutexLock lock(mu_);
    followed_.clear();
  }
  if (needsRenewal()) subscribeOnLoop(subscriptions());
  if (!options_.autoSync) return;
  // After the engine's identity callback returns: the new identity is cached by then.
  executor_.post([this] {
    Result<std::string> id = store_.identityId();
    if (id.isOk() && *id != kUnknownIdentity) syncLocalChangesOnLoop(*id);
  });
}

void LiveSync::syncLocalChangesOnLoop(const std::string& identity) {
  Result<std::vector<std::string>> changed = store_.datasetsWithLocalChanges(identity);
  if (!changed.isOk()) return;
  for (const std::string& name : *changed) requestSyncOnLoop(name);
}

void LiveSync::onDatasetChanged(const proto::DatasetChanged& change) {
  ++notifications_;
  Result<std::string> identity = store_.identityId();
  // Only our identity's datasets (the server never sends others; a stale push after an
  // identity change is harmless to skip).
  if (!identity.isOk() || change.identityId != *identity) return;
  if (!isFollowed(change.datasetName)) {
    // Following the device: SubscribeToDataset while connected makes the server announce a
    // dataset we have not heard of; the refresh's reply adds it and pulls it if behind. Else
    // (or for a name the app just unsubscribed, which the reply will not list) it is ignored.
    if (options_.followDevice) refreshDeviceOnLoop();
    return;
  }
  Result<int64_t> last = store_.lastSyncCount(*identity, change.datasetName);
  // Already at that count (e.g. we pulled it while the push travelled): nothing to fetch.
  if (last.isOk() && *last >= 0 && change.syncCount <= *last) return;
  requestSyncOnLoop(change.datasetName, change);
}

void LiveSync::subscribeOnLoop(std::vector<std::string> names) {
  // Fails only when the client is closing: nothing left to subscribe.
  (void)engine_.ensureIdentity([this, names = std::move(names)](Result<std::string> id) {
    // Offline: onConnected() renews every subscription once a connection opens.
    if (!id.isOk()) return;
    proto::SubscribeRequest req;
    for (const std::string& n : names)
      if (isSubscribed(n)) req.datasetNames.push_back(n);
    // Following the device, an empty list still means "the device's stored subscriptions".
    if (req.datasetNames.empty() && !options_.followDevice) return;
    // Presented only when asked: a registered DeviceId would otherwise attach the device's
    // datasets on the server, whose notifications this client would then just drop.
    if (options_.followDevice) req.deviceId = deviceId_;
    ++subscribeCalls_;
    std::vector<std::string> requested = req.datasetNames;
    remote_.subscribe(std::move(req), [this, identity = *id, requested = std::move(requested)](
                                          Result<proto::SubscribeResponse> r) {
      if (r.isOk()) onSubscribedOnLoop(identity, requested, *r);
    });
  });
}

void LiveSync::refreshDeviceOnLoop() {
  if (refreshInFlight_) {
    refreshAgain_ = true;
    return;
  }
  refreshInFlight_ = true;
  Status posted = engine_.ensureIdentity([this](Result<std::string> id) {
    if (!id.isOk()) {
      refreshInFlight_ = false;  // offline: the next connection renews (and refreshes) anyway
      refreshAgain_ = false;
      return;
    }
    proto::SubscribeRequest req;
    req.deviceId = deviceId_;
    ++subscribeCalls_;
    ++deviceRefreshes_;
    remote_.subscribe(std::move(req), [this, identity = *id](Result<proto::SubscribeResponse> r) {
      refreshInFlight_ = false;
      if (r.isOk()) onSubscribedOnLoop(identity, {}, *r);
      if (refreshAgain_) {
        refreshAgain_ = false;
        refreshDeviceOnLoop();
      }
    });
  });
  if (!posted.isOk()) refreshInFlight_ = false;  // closing
}

void LiveSync::onSubscribedOnLoop(const std::string& identity,
                                  const std::vector<std::string>& requested,
                                  const proto::SubscribeResponse& resp) {
  Result<std::string> current = store_.identityId();
  // A reply for an identity we have left: the renewal for the new one is on its way.
  if (!current.isOk() || *current != identity) return;
  if (options_.followDevice) {
    // States beyond the requested names are the device's stored subscriptions, all of them.
    std::set<std::string> stored;
    for (const proto::SubscriptionState& st : resp.datasets)
      if (std::find(requested.begin(), requested.end(), st.datasetName) == requested.end())
        stored.insert(st.datasetName);
    MutexLock lock(mu_);
    for (const std::string& n : requested)
      if (followed_.count(n) > 0) stored.insert(n);  // this reply cannot tell: keep what we knew
    followed_ = std::move(stored);
  }
  // The reply carries the server's counts: sync whatever moved on while we were not listening
  // (or was never pulled), and whatever has local edits waiting.
  Result<std::vector<std::string>> changed = store_.datasetsWithLocalChanges(identity);
  for (const proto::SubscriptionState& st : resp.datasets) {
    if (!isFollowed(st.datasetName)) continue;
    Result<int64_t> last = store_.lastSyncCount(identity, st.datasetName);
    if (!last.isOk()) continue;
    bool behind = st.exists ? st.syncCount != *last : *last > 0;
    bool edits = changed.isOk() &&
                 std::binary_search(changed->begin(), changed->end(), st.datasetName);
    if (behind || edits) requestSyncOnLoop(st.datasetName);
  }
}

void LiveSync::localWriteOnLoop(const std::string& name) {
  DatasetState& st = states_[name];
  auto now = SteadyClock::now();
  if (!st.burstOpen) {
    st.burstOpen = true;
    st.burstStart = now;
  }
  if (options_.debounce.count() <= 0) {
    st.burstOpen = false;
    requestSyncOnLoop(name);
    return;
  }
  auto due = std::min(now + options_.debounce, st.burstStart + options_.maxDelay);
  auto delay = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(due - now));
  uint64_t gen = ++st.debounceGen;
  executor_.postAfter(delay, [this, name, gen] {
    auto it = states_.find(name);
    if (it == states_.end() || it->second.debounceGen != gen) return;  // a later write re-armed
    it->second.burstOpen = false;
    requestSyncOnLoop(name);
  });
}

void LiveSync::requestSyncOnLoop(const std::string& name, proto::DatasetChanged change) {
  DatasetState& st = states_[name];
  if (st.running) {
    st.pending = true;  // one pending sync covers any number of requests
    return;
  }
  startSyncOnLoop(name, std::move(change));
}

void LiveSync::startSyncOnLoop(const std::string& name, proto::DatasetChanged change) {
  std::shared_ptr<Dataset> ds = factory_(name);
  if (!ds) return;
  DatasetState& st = states_[name];
  st.running = true;
  st.pending = false;
  // This sync pushes every write made so far: an armed debounce timer has nothing left to do.
  ++st.debounceGen;
  st.burstOpen = false;
  ++backgroundSyncs_;
  SyncCallbacks cb = options_.callbacks;
  auto appSuccess = std::move(cb.onSuccess);
  auto appFailure = std::move(cb.onFailure);
  cb.onSuccess = [this, name, appSuccess](Dataset& d, const std::vector<Record>& updated) {
    if (appSuccess) appSuccess(d, updated);
    finishSyncOnLoop(name, Status::ok());
  };
  cb.onFailure = [this, name, appFailure](Dataset& d, const Status& s) {
    if (appFailure) appFailure(d, s);
    finishSyncOnLoop(name, s);
  };
  if (!engine_.synchronize(std::move(ds), std::move(cb), std::move(change)).isOk())
    st.running = false;  // closing
}

void LiveSync::finishSyncOnLoop(const std::string& name, const Status& status) {
  DatasetState& st = states_[name];
  st.running = false;
  if (status.isOk()) {
    st.failures = 0;
    ++st.retryGen;  // an armed retry has nothing left to do
  } else if ((status.isRetryable() || status.code() == StatusCode::kConflict) &&
             (options_.autoSync || isFollowed(name))) {
    // Doubling delays; a reconnection (onConnected) may get there first, which is fine.
    auto delay = options_.retryBase * (int64_t{1} << std::min(st.failures, 16));
    delay = std::min(delay, options_.retryMax);
    ++st.failures;
    uint64_t gen = ++st.retryGen;
    executor_.postAfter(delay, [this, name, gen] {
      auto it = states_.find(name);
      if (it == states_.end() || it->second.retryGen != gen) return;
      requestSyncOnLoop(name);
    });
  }
  if (st.pending) {
    st.pending = false;
    startSyncOnLoop(name);
  }
}

}  // namespace tether::client
