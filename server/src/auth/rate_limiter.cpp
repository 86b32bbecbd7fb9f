// See rate_limiter.h.
#include "auth/rate_limiter.h"

#include <algorithm>

namespace tether::server {
namespace {

// Buckets kept before the full ones (idle long enough to have refilled) are swept: bounds the
// memory a stream of distinct addresses can claim.
constexpr size_t kSweepAbove = 100000;

ServerMetrics::Limit limitOf(RateKind kind, bool pool) {
  switch (kind) {
    case RateKind::kIdentityCreation:
      return pool ? ServerMetrics::kIdentityCreationPerPool : ServerMetrics::kIdentityCreationPerAddress;
    case RateKind::kTokenIssuance:
      return pool ? ServerMetrics::kTokenIssuancePerPool : ServerMetrics::kTokenIssuancePerAddress;
    case RateKind::kSignIn: return pool ? ServerMetrics::kSignInPerPool : ServerMetrics::kSignInPerAddress;
    case RateKind::kWrites: return pool ? ServerMetrics::kWritesPerPool : ServerMetrics::kWritesPerAddress;
  }
  return ServerMetrics::kWritesPerPool;
}

}  // namespace

RateLimiter::RateLimiter(const LimitsConfig& config, const Clock& clock, ServerMetrics* metrics)
    : config_(config), clock_(clock), metrics_(metrics) {}

bool RateLimiter::take(bool perPool, RateKind kind, const TokenBucketSpec& spec,
                       std::string_view key) {
  const int64_t now = clock_.nowMs();
  const double burst = std::max(1.0, spec.burst);
  MutexLock lock(mu_);
  Buckets& buckets = (perPool ? perPool_ : perAddress_)[static_cast<int>(kind)];
  if (buckets.size() > kSweepAbove) {
    std::erase_if(buckets, [&](const auto& kv) {
      return kv.second.tokens + static_cast<double>(now - kv.second.lastMs) * spec.perSecond / 1000.0 >= burst;
    });
  }
  auto [it, fresh] = buckets.try_emplace(std::string(key));
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst;
  } else if (now > b.lastMs) {
    b.tokens = std::min(burst, b.tokens + static_cast<double>(now - b.lastMs) * spec.perSecond / 1000.0);
  }
  b.lastMs = std::max(b.lastMs, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

bool RateLimiter::allowAddress(RateKind kind, std::string_view address) {
  const TokenBucketSpec& spec = config_.rate(kind).perAddress;
  if (!spec.enabled()) return true;
  if (take(false, kind, spec, address)) return true;
  if (metrics_) metrics_->limitRejections[limitOf(kind, false)]++;
  return false;
}

bool RateLimiter::allowPool(RateKind kind, std::string_view poolId) {
  const TokenBucketSpec& spec = config_.rate(kind).perPool;
  if (!spec.enabled()) return true;
  if (take(true, kind, spec, poolId)) return true;
  if (metrics_) metrics_->limitRejections[limitOf(kind, true)]++;
  return false;
}

}  // namespace tether::server
