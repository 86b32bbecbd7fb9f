// SyncConflict's resolution rules (declared in the public tether/sync_callbacks.h).
#include "tether/sync_callbacks.h"

namespace tether {

bool SyncConflict::localWinsLastWriterWins(const Record& local, const Record& remote) {
  if (local.deviceLastModifiedMs != remote.deviceLastModifiedMs)
    return local.deviceLastModifiedMs > remote.deviceLastModifiedMs;
  // Tie: the greater value wins, a removal being smaller than any value. Both devices see the
  // same pair, so both pick the same winner.
  return local.value > remote.value;  // std::optional: nullopt < any string
}

Record SyncConflict::resolvedRecord() const {
  Resolution how = resolution_;
  if (how == Resolution::kUnresolved)
    how = localWinsLastWriterWins(local_, remote_) ? Resolution::kLocal : Resolution::kRemote;
  switch (how) {
    case Resolution::kRemote:
    case Resolution::kUnresolved:
      return remote_;
    case Resolution::kLocal: {
      Record r = local_;
      r.syncCount = remote_.syncCount;  // so the push passes the server's check
      return r;
    }
    case Resolution::kValue: {
      Record r = local_;
      r.value = value_;
      r.syncCount = remote_.syncCount;
      return r;
    }
  }
  return remote_;
}

bool SyncConflict::resolvedNeedsPush() const {
  Resolution how = resolution_;
  if (how == Resolution::kUnresolved)
    how = localWinsLastWriterWins(local_, remote_) ? Resolution::kLocal : Resolution::kRemote;
  return how != Resolution::kRemote;
}

}  // namespace tether
