// See usage_sampler.h.
#include "console/usage_sampler.h"

#include <spdlog/spdlog.h>

#include "console/console_sections.h"

namespace tether::server::console {

void UsageSampler::sampleOnce() {
  const int64_t now = clock_.nowMs();
  const int64_t bucket = now - now % intervalMs_;
  Result<std::vector<PoolInfo>> pools = store_.listPools();
  if (!pools.isOk()) {
    spdlog::warn("console: cannot list pools for the usage history: {}", pools.status().message());
    return;
  }
  for (const PoolInfo& p : *pools) {
    Result<int64_t> identities = store_.countPoolIdentities(p.id);
    Result<PoolUsage> usage = store_.poolUsage(p.id);
    if (!identities.isOk() || !usage.isOk()) {
      spdlog::warn("console: cannot read the usage of pool {}: {}", p.id,
                   (identities.isOk() ? usage.status() : identities.status()).message());
      continue;
    }
    if (Status s = store_.putUsageSample({p.id, bucket, *identities, usage->datasetCount, usage->dataStorage});
        !s.isOk())
      spdlog::warn("console: cannot record the usage of pool {}: {}", p.id, s.message());
  }
  if (Result<int64_t> pruned = store_.pruneUsageSamples(now - kUsageHistoryMs); !pruned.isOk())
    spdlog::warn("console: cannot prune the usage history: {}", pruned.status().message());
}

void UsageSampler::start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      lock.unlock();
      sampleOnce();
      lock.lock();
      if (cv_.wait_for(lock, std::chrono::milliseconds(intervalMs_), [this] { return stop_; })) return;
    }
  });
}

void UsageSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tether::server::console
