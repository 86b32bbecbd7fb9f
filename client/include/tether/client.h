// Client: the entry point of libtether. Owns the local cache (one SQLite file), the connection to
// a tetherd server and the background sync thread.
//
// Offline-first: open() never waits for the network; local reads and writes always work;
// synchronize() fails fast with kUnavailable while the server is unreachable, and the
// connection is retried in the background with exponential backoff.
// Ownership: the app owns the Client (unique_ptr). Destroying it stops the sync thread; syncs
// still running end with onFailure(kCancelled) on that thread before the destructor returns.
// REQUIRES: the Client is not destroyed from one of its own sync callbacks.
// Threading: every method is thread-safe. Calls marked "blocking" wait for the network (with
// a timeout) and must not be called from a sync callback or a change listener.
// Live sync: Dataset::subscribe() keeps a dataset current from the server over the open
// WebSocket; ClientOptions::autoSync pushes local writes without synchronize() calls;
// addChangeListener() tells the app (on the sync thread) which keys arrived.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/dataset.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether {

struct ClientOptions {
  std::string cachePath;          // SQLite cache file, created if missing
  std::string serverUrl;          // ws://host:port[/path] or wss://host:port[/path]
  std::string caFile;             // PEM file of CAs trusted for wss; empty = system store
  std::string identityPoolId;     // region:uuid
  std::string deviceName;         // recorded as lastModifiedBy; empty = a per-cache-file UUID
  std::string identityId;         // use this known identity (e.g. a second device of the same
                                  // guest user); empty = the cached one, or GetId on first need
  std::chrono::milliseconds requestTimeout{15000};   // per request on the wire
  std::chrono::milliseconds connectTimeout{5000};    // a sync waits this long for a connection
  std::function<int64_t()> clock; // ms since the Unix epoch; empty = system clock

  // ---- live sync (docs/live-sync.md)
  // Auto-sync: local writes (put/remove/Dataset::remove) are pushed in the background
  // `autoSyncDebounce` after the last write (at the latest ~1 s after the first of a burst;
  // 0 = at once), and datasets with unpushed edits are synced after every (re)connection.
  // Subscribed datasets (Dataset::subscribe) are pulled when the server announces a change
  // whether or not autoSync is on. Off by default: nothing touches the network unasked.
  bool autoSync = false;
  std::chrono::milliseconds autoSyncDebounce{75};
  // Handlers for background syncs (auto-sync and subscription pulls), on the sync thread.
  // Empty members use the synchronize() defaults: conflicts last-writer-wins, a dataset deleted
  // on the server is accepted (unpushed edits kept), merged datasets are noted and skipped.
  // onFailure hears every failed background sync (retryable ones are retried by the library).
  SyncCallbacks backgroundSync;
};

// Called when a sync (background or app-initiated) has written data from the server into the
// local cache: the dataset name and the keys whose local value changed (sorted). Runs on the
// sync thread, never under a library lock; it may read the Dataset (the new values are there
// already) but must not block for long or call the blocking methods.
using ChangeListener =
    std::function<void(const std::string& dataset, const std::vector<std::string>& changedKeys)>;
using ChangeListenerId = uint64_t;

class Client {
 public:
  // Opens the cache (kIOError / kCorruption on failure, kInvalidArgument for bad options) and
  // starts connecting in the background. Never waits for the network.
  static Result<std::unique_ptr<Client>> open(ClientOptions options);

  virtual ~Client() = default;

  // The cached identity ID, or "" before one was obtained. Never blocks.
  virtual std::string identityId() const = 0;
  // Blocking: returns the identity ID, asking the server (GetId) if none is cached yet.
  // Local data written before that is moved to the new identity.
  virtual Result<std::string> getIdentityId(std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  // The device ID recorded as lastModifiedBy.
  virtual std::string deviceId() const = 0;

  // Local datasets (pending deletes excluded). Never blocks on the network.
  virtual Result<std::vector<DatasetMetadata>> listDatasets() = 0;
  // Validates the name (1-128 of [a-zA-Z0-9_.:-]) and creates the dataset locally if needed
  // (kLimitExceeded past 20 datasets).
  virtual Result<std::shared_ptr<Dataset>> openOrCreateDataset(std::string_view name) = 0;
  // Blocking: fetches the server's dataset list (ListDatasets) into the local cache, so
  // listDatasets() shows datasets created on other devices. kUnavailable offline.
  virtual Status refreshDatasetMetadata(std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  // Deletes all local data and the cached identity (nothing on the server).
  virtual Status wipeData() = 0;

  // ---- live sync
  // Registers a listener for data arriving from the server. Never fails; thread-safe. The
  // returned ID (never 0) removes it.
  virtual ChangeListenerId addChangeListener(ChangeListener listener) = 0;
  // After this returns the listener is not called again, except for a call already running on
  // the sync thread. Unknown IDs are ignored. May be called from inside a listener.
  virtual void removeChangeListener(ChangeListenerId id) = 0;
  // Names of the datasets subscribed through Dataset::subscribe (sorted).
  virtual std::vector<std::string> subscribedDatasets() const = 0;
};

}  // namespace tether
