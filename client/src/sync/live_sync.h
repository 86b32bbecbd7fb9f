// LiveSync: the client's side of live sync. It keeps the app's dataset subscriptions, renews
// them on every new connection, turns "dataset changed" pushes and local writes (auto-sync)
// into background syncs through the one SyncEngine, and tells the app's change listeners which
// keys arrived from the server.
//
// Background syncs are coalesced per dataset: at most one running and one pending. A request
// that arrives while one runs (a notification, a debounced write, a reconnect) only marks the
// pending one, which starts when the running one ends and picks up everything since. Because
// they go through SyncEngine they follow its rules (an edit made during a sync stays dirty;
// a sync never overlaps an app-initiated synchronize() of the same dataset).
// Debounce: a write arms a timer of `debounce` after the last write of a burst, capped at
// `maxDelay` after its first write so that a steady stream of writes is still pushed.
// Retry: a background sync that fails retryably (offline, timeout, conflict retries exhausted)
// is retried with doubling delays; a reconnection also re-syncs what needs it.
// Device subscriptions (options.followDevice = ClientOptions::followDeviceSubscriptions): every
// Subscribe presents the device ID, and one is sent after every (re)connection even with no app
// subscriptions; the datasets the server reports beyond the requested names (the Cognito
// SubscribeToDataset ones stored for that DeviceId) are followed like app subscriptions. A
// notification for a dataset not known as followed (SubscribeToDataset while connected) asks
// the server again with Subscribe{[], deviceId}: its reply says where the device now stands.
// Without followDevice no device ID is presented, so the server attaches nothing.
// Threading: subscribe/unsubscribe/isSubscribed/isFollowed/subscriptions/followedDatasets/
// onLocalWrite/addListener/removeListener from any thread; everything else (RemoteListener, the engine hook, all
// per-dataset state) on the executor thread. Listeners run on the executor, outside any lock.
// Lifetime: owned by ClientCore; the owner stops the executor before destroying it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "store/local_store.h"
#include "sync/remote.h"
#include "sync/sync_engine.h"
#include "tether/client.h"
#include "tether/sync_callbacks.h"
#include "tuning.h"
#include "util/executor.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {

struct LiveSyncOptions {
  bool autoSync = false;
  std::chrono::milliseconds debounce{75};
  bool followDevice = false;         // ClientOptions::followDeviceSubscriptions
  // Longest a write waits in a burst; retry delays of failed background syncs (tuning.h).
  std::chrono::milliseconds maxDelay{tuning::kAutoSyncMaxDelayMs};
  std::chrono::milliseconds retryBase{tuning::kBackgroundRetryBaseMs};
  std::chrono::milliseconds retryMax{tuning::kBackgroundRetryMaxMs};
  SyncCallbacks callbacks;                        // the app's handlers for background syncs
};

// Counters for tests and diagnostics (monotonic).
struct LiveSyncStats {
  uint64_t notifications = 0;        // "dataset changed" pushes received
  uint64_t backgroundSyncs = 0;      // background syncs started
  uint64_t subscribeCalls = 0;       // Subscribe requests sent (initial + renewals)
  uint64_t connections = 0;          // connections seen opening
  uint64_t deviceRefreshes = 0;      // Subscribe{[], deviceId} sent to learn the device's set
};

class LiveSync final : public RemoteListener {
 public:
  // Makes the Dataset object a background sync works on (nullptr = client closing).
  using DatasetFactory = std::function<std::shared_ptr<Dataset>(const std::string& name)>;

  LiveSync(LocalStore& store, Remote& remote, Executor& executor, SyncEngine& engine,
           std::string deviceId, LiveSyncOptions options, DatasetFactory factory);

  // Any thread.
  Status subscribe(const std::string& name);
  // Drops the app's own subscription. A dataset also stored for the device stays followed (only
  // UnsubscribeFromDataset changes that); for one that never was app-subscribed this is a no-op.
  Status unsubscribe(const std::string& name);
  bool isSubscribed(const std::string& name) const;      // app-subscribed (Dataset::subscribe)
  bool isFollowed(const std::string& name) const;        // app-subscribed or a device's dataset
  std::vector<std::string> subscriptions() const;        // app subscriptions, sorted
  std::vector<std::string> followedDatasets() const;     // isFollowed ones, sorted
  // A local write to `name` committed (auto-sync arms the debounce). Cheap; never blocks.
  void onLocalWrite(const std::string& name);
  ChangeListenerId addListener(ChangeListener listener);
  void removeListener(ChangeListenerId id);
  LiveSyncStats stats() const;

  // The SyncEngine's applied hook. REQUIRES: on the executor thread.
  void onApplied(const std::string& dataset, const std::vector<std::string>& keys);

  // The engine moved the client to another identity: subscriptions are renewed for it (the
  // server scopes them to the identity), and with auto-sync the data carried over is pushed.
  // REQUIRES: on the executor thread.
  void onIdentityChanged();

  // RemoteListener. REQUIRES: on the executor thread.
  void onConnected() override;
  void onDatasetChanged(const proto::DatasetChanged& change) override;

 private:
  struct DatasetState {
    bool running = false;
    bool pending = false;
    uint64_t debounceGen = 0;     // bumped per write and per sync start: stale timers no-op
    bool burstOpen = false;       // a write is waiting for its debounce timer
    std::chrono::steady_clock::time_point burstStart;
    int failures = 0;             // consecutive failed background syncs
    uint64_t retryGen = 0;
  };
  struct ListenerEntry {
    ChangeListener fn;
    std::atomic<bool> active{true};
  };

  // All below: REQUIRES: on the executor thread.
  // Subscribes `names` (those still app-subscribed), presenting the device if followDevice;
  // with followDevice it is sent even when no name is left.
  void subscribeOnLoop(std::vector<std::string> names);
  // Subscribe{[], deviceId}: learns the device's current set. One at a time; a request while
  // one is in flight sends one more after it (the first may have been read before the change).
  void refreshDeviceOnLoop();
  void onSubscribedOnLoop(const std::string& identity, const std::vector<std::string>& requested,
                          const proto::SubscribeResponse& resp);
  // A renewal must present the device: with followDevice, or with app subscriptions.
  bool needsRenewal() const;
  void syncLocalChangesOnLoop(const std::string& identity);
  void localWriteOnLoop(const std::string& name);
  // `change`: the notification that asked for it, if any; its batch (hasRecords) may stand in
  // for the pull (SyncEngine::synchronize). A sync already running makes it pending, and the
  // pending one pulls.
  void requestSyncOnLoop(const std::string& name, proto::DatasetChanged change = {});
  void startSyncOnLoop(const std::string& name, proto::DatasetChanged change = {});
  void finishSyncOnLoop(const std::string& name, const Status& status);

  LocalStore& store_;
  Remote& remote_;
  Executor& executor_;
  SyncEngine& engine_;
  std::string deviceId_;
  LiveSyncOptions options_;
  DatasetFactory factory_;

  mutable Mutex mu_;
  std::set<std::string> subscribed_ TETHER_GUARDED_BY(mu_);
  // The device's stored subscriptions as the server last reported them (followDevice only).
  // A name the app requested itself is reported as requested, not as stored: it keeps the
  // status it had until a reply that did not request it says otherwise.
  std::set<std::string> followed_ TETHER_GUARDED_BY(mu_);

  Mutex listenersMu_;
  std::map<ChangeListenerId, std::shared_ptr<ListenerEntry>> listeners_
      TETHER_GUARDED_BY(listenersMu_);
  ChangeListenerId nextListenerId_ TETHER_GUARDED_BY(listenersMu_) = 1;

  std::atomic<uint64_t> notifications_{0}, backgroundSyncs_{0}, subscribeCalls_{0}, connections_{0},
      deviceRefreshes_{0};

  // Executor-thread state.
  std::map<std::string, DatasetState> states_;
  bool refreshInFlight_ = false;
  bool refreshAgain_ = false;
};

}  // namespace tether::client
