// UsageSampler: records every pool's usage (identities, datasets, bytes) for the console's
// chart (docs/console.md, "Pools"): once at start, then every `intervalMinutes`, each sample in
// the bucket floor(now / interval) so that several nodes sampling one bucket leave one row
// (ConsoleStore::putUsageSample upserts). Points older than 90 days are removed.
// Thread-safety: its own thread; start once, stop (or destroy) once.
// Ownership: borrows the store and clock.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "storage/store.h"

namespace tether::server::console {

class UsageSampler {
 public:
  UsageSampler(Store& store, const Clock& clock, int intervalMinutes)
      : store_(store), clock_(clock), intervalMs_(static_cast<int64_t>(intervalMinutes) * 60 * 1000) {}
  ~UsageSampler() { stop(); }

  void start();
  void stop();
  // One pass over every pool (also called by start()'s thread). Errors are logged.
  void sampleOnce();

 private:
  Store& store_;
  const Clock& clock_;
  const int64_t intervalMs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tether::server::console
