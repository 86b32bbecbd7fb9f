// Checks shared by sync_service.cpp and sync_service_update.cpp (one SyncService, two files).
#pragma once

#include <vector>

#include "storage/store_transaction.h"
#include "sync/sync_service.h"

namespace tether::server::sync_detail {

OwnerRef ownerOf(const Caller& caller);
// kUnauthenticated when the caller's identity was merged away (checked in the write transaction).
Status checkNotRetired(StoreTransaction& txn, const Caller& caller);
Status validateCaller(const Caller& caller);
// Op, key, value, sync count, duplicates, at most kMaxPatchesPerBatch.
Status validatePatches(const std::vector<RecordPatch>& patches);

}  // namespace tether::server::sync_detail
