// RateLimiter: token buckets per (kind, client address) and per (kind, pool), from
// LimitsConfig. A refused request is answered TooManyRequests by the caller and counted in
// /metrics (tether_limit_rejections_total). Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/limits_config.h"
#include "common/clock.h"
#include "net/server_metrics.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

class RateLimiter {
 public:
  // `metrics` may be null.
  RateLimiter(const LimitsConfig& config, const Clock& clock, ServerMetrics* metrics);

  // Takes a token from the address's bucket of `kind`; false (and counted) if it is empty.
  // Checked before any work, so a refused request costs nothing more.
  bool allowAddress(RateKind kind, std::string_view address);
  // The same for the pool's bucket, once the pool is known.
  bool allowPool(RateKind kind, std::string_view poolId);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t lastMs = 0;
  };
  using Buckets = std::unordered_map<std::string, Bucket>;
  // Takes a token from `key`'s bucket of the pool (perPool) or address table of `kind`.
  bool take(bool perPool, RateKind kind, const TokenBucketSpec& spec, std::string_view key);

  LimitsConfig config_;
  const Clock& clock_;
  ServerMetrics* metrics_;
  Mutex mu_;
  Buckets perAddress_[kRateKindCount] TETHER_GUARDED_BY(mu_);
  Buckets perPool_[kRateKindCount] TETHER_GUARDED_BY(mu_);
};

}  // namespace tether::server
