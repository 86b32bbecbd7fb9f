// ReadinessProbe: answers /readyz (docs/operations.md "Health and readiness"): is the store
// reachable now? Each check runs `probe` (a cheap read of the store) on the probe's own thread,
// never on the network thread or the workers (a store that hangs must not take either with it),
// and gets its answer within `timeoutMs` either way: the probe's Status, or kUnavailable
// ("did not answer within ...") from the timer thread. Checks that arrive while a probe runs
// share its result (single flight: a scrape storm is one query at a time).
//
// Thread-safety: check() from any thread; `done` is called on the probe or the timer thread,
// exactly once. stop() (or the destructor) answers pending checks kUnavailable and joins; it
// waits for a running probe to return.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "tether/status.h"

namespace tether::server {

class ReadinessProbe {
 public:
  ReadinessProbe(std::function<Status()> probe, int timeoutMs);
  ~ReadinessProbe() { stop(); }
  ReadinessProbe(const ReadinessProbe&) = delete;
  ReadinessProbe& operator=(const ReadinessProbe&) = delete;

  void check(std::function<void(Status)> done);
  void stop();

 private:
  struct Waiter {
    std::chrono::steady_clock::time_point deadline;
    std::function<void(Status)> done;
    bool probing = false;  // a probe started after it arrived: its result answers it
  };
  void probeLoop();
  void timerLoop();

  std::function<Status()> probe_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter> waiters_;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread prober_;
  std::thread timer_;
};

}  // namespace tether::server
