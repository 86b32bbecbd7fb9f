// Tunables of the client library, each with what raising or lowering it does.
#pragma once

#include <cstdint>

namespace tether::client::tuning {

// Records per pull page. Bigger pages mean fewer round trips on a cold pull, but more memory
// per reply; 1,024 (the record limit) makes one page enough for any dataset.
constexpr uint32_t kPullPageSize = 1024;

// Extra pull/push passes after a push conflict before giving up with kConflict (Android: 3).
constexpr int kMaxSyncRetries = 3;

// Reconnect backoff: the first retry waits about kBackoffBaseMs, doubling per failed attempt up
// to kBackoffMaxMs, each delay scaled by a random factor in [0.5, 1.0) so that many clients
// cut off by one outage do not return in lockstep. Lower = faster recovery, more load on a
// struggling server.
constexpr int64_t kBackoffBaseMs = 250;
constexpr int64_t kBackoffMaxMs = 30000;

// Re-authenticate when the token has less than this left. Raising it costs a few more
// GetToken round trips; lowering it risks a token expiring in the middle of a sync.
constexpr int64_t kReauthMarginMs = 60000;

}  // namespace tether::client::tuning
