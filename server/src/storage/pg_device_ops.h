// Push-sync device operations of the PostgreSQL store that mobile push needs (docs/events.md,
// "Mobile push"): the devices subscribed to a dataset, and removing a device whose push token
// the provider reports as gone. Kept out of pg_store.cpp (already at its size limit); PgStore
// forwards to them. Same locking as the other device operations there: a write takes the
// identity's L3 advisory lock (pg_store.cpp, the lock table at the top).
// Thread-safety: each call takes its own pooled connection; any thread.
#pragma once

#include <string_view>
#include <vector>

#include "storage/pg_conn.h"
#include "storage/store.h"

namespace tether::server {

Result<std::vector<DeviceInfo>> pgListSubscribedDevices(PgPool& pool, std::string_view poolId,
                                                        std::string_view identityId, std::string_view dataset);
Status pgRemoveDevice(PgPool& pool, std::string_view poolId, std::string_view identityId, std::string_view deviceId);

}  // namespace tether::server
