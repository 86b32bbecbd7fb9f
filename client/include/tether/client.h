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
// addChangeListener() tells the app (on the sync thread) which keys arrived;
// ClientOptions::followDeviceSubscriptions also follows the datasets a Cognito SDK subscribed
// for this device (SubscribeToDataset).
// Sign-in: ClientOptions::loginsProvider (or setLogins()) supplies the logins (provider ->
// token) presented to the server; the identity may then change (guest -> the login's identity,
// a merge), which IdentityChangedListener reports after the local cache has followed it
// (docs/client.md, "Signed-in users").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/dataset.h"
#include "tether/export.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether {

// Logins presented to the server: provider name (as configured in the pool, e.g. the OIDC
// issuer's name) -> token (e.g. an OpenID Connect ID token).
using Logins = std::map<std::string, std::string>;

// Supplies the current logins; empty = not signed in (a guest). Called on the sync thread,
// only when the library is about to present logins: the first GetId and every GetToken (a new
// server token: first use, near expiry, after setLogins/refreshLogins). forceRefresh = true
// when the server has just refused the previous tokens (kUnauthenticated, e.g. an expired ID
// token): return fresh ones; the request is retried once with them. An error status fails the
// operation that needed the logins with that status (nothing is written locally). Must not
// block for long (it holds up the network thread) nor call the blocking Client methods.
using LoginsProvider = std::function<Result<Logins>(bool forceRefresh)>;

// The identity of this client changed from `oldId` ("" if none was cached yet) to `newId`:
// a first GetId, or the server answered a sign-in with another identity (a guest merged into
// the login's identity). Called on the sync thread after the local cache moved to `newId`
// (docs/client.md). Must not block for long nor call the blocking Client methods.
using IdentityChangedListener =
    std::function<void(const std::string& oldId, const std::string& newId)>;

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

  // ---- sign-in (docs/client.md, "Signed-in users")
  LoginsProvider loginsProvider;            // empty = no logins (guest) until setLogins()
  IdentityChangedListener onIdentityChanged; // optional

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
  // Cognito push-sync devices (docs/live-sync.md): the device ID (deviceName) is a Cognito
  // DeviceId registered with RegisterDevice; the datasets subscribed for it with
  // SubscribeToDataset, by this app or another SDK, are synced like Dataset::subscribe()d ones.
  // After every (re)connection the client presents the device and learns its stored set (pulling
  // what is behind); a SubscribeToDataset made while connected is picked up at its first change
  // notification, an UnsubscribeFromDataset stops notifications at once and leaves
  // followedDatasets() at the next reconnection. Dataset::unsubscribe() does not stop following
  // a device's dataset (it only drops the app's own subscription). Off: no device is presented
  // and only Dataset::subscribe()d datasets are followed.
  bool followDeviceSubscriptions = false;
};

// Called when a sync (background or app-initiated) has written data from the server into the
// local cache: the dataset name and the keys whose local value changed (sorted). Runs on the
// sync thread, never under a library lock; it may read the Dataset (the new values are there
// already) but must not block for long or call the blocking methods.
using ChangeListener =
    std::function<void(const std::string& dataset, const std::vector<std::string>& changedKeys)>;
using ChangeListenerId = uint64_t;

class TETHER_EXPORT Client {
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
  // Deletes all local data and the cached identity (nothing on the server), and drops the
  // server token: the next network operation starts over with GetId. Local edits not yet
  // pushed are lost (synchronize first to keep them).
  virtual Status wipeData() = 0;

  // ---- sign-in
  // Presents these logins from now on (instead of asking ClientOptions::loginsProvider) and
  // drops the held server token, so the next network operation signs in with them: the
  // identity may change (IdentityChangedListener; local data follows, see docs/client.md).
  // Never blocks; call getIdentityId() to wait for the outcome. kInvalidArgument for an empty
  // provider name or token, or an empty map (use clearLogins()).
  virtual Status setLogins(Logins logins) = 0;
  // Presents no logins from now on (setLogins() and the provider are both forgotten) and drops
  // the server token. Local data and the cached identity stay: a guest identity keeps syncing,
  // an authenticated one gets kUnauthenticated until signed in again. Sign-out on a shared
  // device = clearLogins() + wipeData().
  virtual Status clearLogins() = 0;
  // The logins changed outside the library (the provider now returns others: the user signed
  // in or switched accounts): drops the server token so the next network operation asks the
  // provider again. Never blocks.
  virtual Status refreshLogins() = 0;

  // ---- live sync
  // Registers a listener for data arriving from the server. Never fails; thread-safe. The
  // returned ID (never 0) removes it.
  virtual ChangeListenerId addChangeListener(ChangeListener listener) = 0;
  // After this returns the listener is not called again, except for a call already running on
  // the sync thread. Unknown IDs are ignored. May be called from inside a listener.
  virtual void removeChangeListener(ChangeListenerId id) = 0;
  // Names of the datasets subscribed through Dataset::subscribe (sorted).
  virtual std::vector<std::string> subscribedDatasets() const = 0;
  // Names of the datasets kept current from the server (sorted): subscribedDatasets() plus,
  // with followDeviceSubscriptions, the device's stored subscriptions as last reported.
  virtual std::vector<std::string> followedDatasets() const = 0;
};

}  // namespace tether
