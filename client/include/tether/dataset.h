// Dataset: one named key-value map of the client's identity, read and written locally and
// synchronized with the server on request.
//
// Local calls (get/put/remove/...) go straight to the SQLite cache and never wait for the
// network; they work offline. Writes are durable before they return. With
// ClientOptions::autoSync they are also pushed in the background; subscribe() keeps the local
// copy current with other devices' changes (docs/live-sync.md).
// Ownership: obtained from Client::openOrCreateDataset as a shared_ptr; it keeps the client's
// internals alive, so it may outlive the Client object (network calls then fail kCancelled).
// Threading: every method is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/export.h"
#include "tether/model.h"
#include "tether/status.h"
#include "tether/sync_callbacks.h"

namespace tether {

// A record as the local cache holds it: the record (value nullopt = removed) plus whether it
// has local changes not yet pushed.
struct LocalRecord {
  Record record;
  bool dirty = false;
  friend bool operator==(const LocalRecord&, const LocalRecord&) = default;
};

class TETHER_EXPORT Dataset {
 public:
  virtual ~Dataset() = default;

  virtual const std::string& name() const = 0;

  // Local value; nullopt when absent or removed.
  virtual Result<std::optional<std::string>> get(std::string_view key) const = 0;
  // Durable before returning; the record is dirty until a sync pushes it. Writing the value
  // already stored is a no-op. kInvalidArgument for a bad key/value (1-1024 chars of UTF-8 key,
  // value < 1 MiB chars), kLimitExceeded past 1,024 records, 1 MB or 20 datasets.
  virtual Status put(std::string_view key, std::string_view value) = 0;
  // Marks the record removed (a dirty tombstone, so other devices learn of it).
  virtual Status remove(std::string_view key) = 0;
  // Live records only.
  virtual Result<std::map<std::string, std::string>> getAll() const = 0;
  // Every record including tombstones, with sync counts, dates and dirty flags.
  virtual Result<std::vector<LocalRecord>> getAllRecords() const = 0;
  // UTF-8 bytes of key + value of live records (what the 1 MB limit counts).
  virtual Result<int64_t> sizeInBytes() const = 0;
  // Size of one record (0 if absent or removed).
  virtual Result<int64_t> sizeOf(std::string_view key) const = 0;
  // True if the record has local changes not yet pushed.
  virtual Result<bool> isChanged(std::string_view key) const = 0;
  // Local metadata (numRecords, dataStorage computed locally; syncCount = last synced count).
  virtual Result<DatasetMetadata> metadata() const = 0;
  // Last dataset sync count this device synced to; -1 while a delete is pending.
  virtual Result<int64_t> lastSyncCount() const = 0;
  // Deletes the whole dataset locally now and on the server at the next synchronize().
  // Records put afterwards start a new dataset of the same name.
  virtual Status remove() = 0;
  // Writes resolved conflicts (e.g. from inside onConflict, Android-style). Normally not needed:
  // resolutions set on the conflicts passed to onConflict are written by the sync itself.
  virtual Status resolve(const std::vector<SyncConflict>& resolvedConflicts) = 0;

  // Pull, resolve, push in the background; the outcome arrives through `callbacks` on the sync
  // thread. Returns at once. Offline: onFailure(kUnavailable) promptly, nothing local touched.
  // Two syncs of one dataset never overlap: a second call waits for the first to finish.
  // Returns kCancelled if the client is closed.
  virtual Status synchronize(SyncCallbacks callbacks) = 0;
  // synchronize() and wait: the records applied on success, or the failure Status (kUnavailable
  // also when `timeout` passes first). kInvalidArgument if called on the sync thread itself.
  virtual Result<std::vector<Record>> synchronizeAndWait(
      SyncCallbacks callbacks = {},
      std::chrono::milliseconds timeout = std::chrono::minutes(2)) = 0;

  // Live sync: asks the server to announce changes made to this dataset by the identity's other
  // devices; each announcement of a sync count newer than the local one starts a background
  // sync (ClientOptions::backgroundSync handlers; change listeners hear the keys). The
  // subscription is renewed on every reconnection, followed by a sync of the dataset if the
  // server moved on or local edits wait. Returns at once and works offline (it takes effect
  // when connected); the first subscription obtains an identity (GetId) if none is cached.
  // Lasts until unsubscribe() or the Client closes (it is not stored in the cache file).
  // Subscribing twice is a no-op. kCancelled if the client is closed.
  virtual Status subscribe() = 0;
  // Stops the announcements (a background sync already running finishes). No-op if not
  // subscribed. With ClientOptions::followDeviceSubscriptions, a dataset stored for the device
  // (Cognito SubscribeToDataset) stays followed: only UnsubscribeFromDataset ends that (client.h).
  // kCancelled if the client is closed.
  virtual Status unsubscribe() = 0;
  virtual bool isSubscribed() const = 0;
};

}  // namespace tether
