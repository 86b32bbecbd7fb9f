// What the app hears from Dataset::synchronize: SyncConflict (one key edited both here and on the
// server), SyncAction (continue or stop) and SyncCallbacks (the handlers).
//
// Thread: every callback of one synchronize() runs on the client's sync thread (the network
// thread), one after another, never under a library lock. A callback may read and write the
// Dataset it is given (put/remove/resolve), but must not block on another synchronize() of the
// same client (synchronizeAndWait from a callback returns kInvalidArgument instead of
// deadlocking).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tether/export.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether {

class Dataset;

// What a callback returns. kStop ends the sync at once, see SyncCallbacks for what that leaves.
enum class SyncAction { kContinue, kStop };

// One key whose local copy was edited since the last sync while the server got a different
// value from elsewhere. Resolve it with one of the resolveWith...() calls; the sync writes the
// outcome after the conflict handler returns kContinue. Unresolved conflicts fall back to
// last-writer-wins.
class TETHER_EXPORT SyncConflict {
 public:
  enum class Resolution { kUnresolved, kRemote, kLocal, kValue };

  SyncConflict(Record remote, Record local) : remote_(std::move(remote)), local_(std::move(local)) {}

  const std::string& key() const { return remote_.key; }
  const Record& remote() const { return remote_; }
  const Record& local() const { return local_; }

  // Take the server's record (local edit dropped; nothing to push).
  void resolveWithRemoteRecord() { resolution_ = Resolution::kRemote; }
  // Keep the local value; it is pushed over the server's record on this sync.
  void resolveWithLocalRecord() { resolution_ = Resolution::kLocal; }
  // Store and push a new value (nullopt = remove the record).
  void resolveWithValue(std::optional<std::string> value) {
    resolution_ = Resolution::kValue;
    value_ = std::move(value);
  }
  // The default policy: the later device-last-modified time wins; on a tie the greater value
  // wins (a removal counts as smaller than any value), so every device decides alike.
  void resolveWithLastWriterWins() {
    resolution_ = localWinsLastWriterWins(local_, remote_) ? Resolution::kLocal : Resolution::kRemote;
  }

  Resolution resolution() const { return resolution_; }
  bool isResolved() const { return resolution_ != Resolution::kUnresolved; }

  // The record a resolution writes (its syncCount is the remote's, so a push passes the
  // server's check) and whether it must still be pushed. Unresolved = last-writer-wins.
  Record resolvedRecord() const;
  bool resolvedNeedsPush() const;

  static bool localWinsLastWriterWins(const Record& local, const Record& remote);

 private:
  Record remote_;
  Record local_;
  Resolution resolution_ = Resolution::kUnresolved;
  std::optional<std::string> value_;
};

// Handlers for one synchronize(). Empty members use the documented defaults. Exactly one of
// onSuccess / onFailure is called per synchronize(), last.
struct SyncCallbacks {
  // The sync finished: the records pulled from the server and applied locally in this sync.
  std::function<void(Dataset&, const std::vector<Record>& updatedRecords)> onSuccess;
  // The sync ended early. Codes: kUnavailable (offline, connection lost, timeout: retry later),
  // kCancelled (a callback returned kStop, or the client closed), kConflict (still conflicting
  // after 3 retries), kLimitExceeded / kInvalidArgument (the server refused the push),
  // kUnauthenticated, kIOError / kCorruption (local store), kTriggerFailed / kTriggerThrottled
  // (the pool's sync trigger refused the push; the edits stay dirty).
  std::function<void(Dataset&, const Status&)> onFailure;
  // Conflicting keys of this round. Default: last-writer-wins for all. kStop: nothing of this
  // round is applied or pushed (local edits stay dirty, last sync count unchanged), then
  // onFailure(kCancelled).
  std::function<SyncAction(Dataset&, std::vector<SyncConflict>& conflicts)> onConflict;
  // The dataset was deleted on the server after our last sync. kContinue (default): the synced
  // records are dropped locally; edits not yet pushed are kept and pushed, re-creating the
  // dataset; then onSuccess. kStop: nothing local changes, onFailure(kCancelled); the next
  // sync asks again.
  std::function<SyncAction(Dataset&, const std::string& datasetName)> onDatasetDeleted;
  // Other identities' copies of this dataset were merged into this identity under these names
  // ("<name>.<old identity id>"). Open, reconcile and remove() them to stop the notice.
  // kContinue (default): the sync goes on normally. kStop: onFailure(kCancelled), nothing changed.
  std::function<SyncAction(Dataset&, const std::vector<std::string>& mergedNames)> onDatasetsMerged;
};

}  // namespace tether
