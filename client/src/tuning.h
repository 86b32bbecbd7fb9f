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

// Live sync. A burst of local writes is pushed kAutoSyncMaxDelayMs after its first write at the
// latest, even if writes keep coming (the debounce itself is ClientOptions::autoSyncDebounce).
// Lower = fresher data elsewhere during long bursts, more pushes (and notifications) per burst.
constexpr int64_t kAutoSyncMaxDelayMs = 1000;
// A failed background sync (offline, timeout, conflicts exhausted) is retried after
// kBackgroundRetryBaseMs, doubling per failure up to kBackgroundRetryMaxMs. A reconnection
// retries at once regardless. Lower = faster recovery from a transient error, more attempts.
constexpr int64_t kBackgroundRetryBaseMs = 500;
constexpr int64_t kBackgroundRetryMaxMs = 30000;

}  // namespace tether::client::tuning
