// ReadinessProbe; see readiness.h.
#include "net/readiness.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace tether::server {

ReadinessProbe::ReadinessProbe(std::function<Status()> probe, int timeoutMs)
    : probe_(std::move(probe)), timeout_(timeoutMs) {
  prober_ = std::thread([this] { probeLoop(); });
  timer_ = std::thread([this] { timerLoop(); });
}

void ReadinessProbe::check(std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      waiters_.push_back(Waiter{std::chrono::steady_clock::now() + timeout_, std::move(done)});
      cv_.notify_all();
      return;
    }
  }
  done(Status::unavailable("server shutting down"));
}

void ReadinessProbe::stop() {
  std::vector<Waiter> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !prober_.joinable()) return;
    stopping_ = true;
    left.swap(waiters_);
    cv_.notify_all();
  }
  for (Waiter& w : left) w.done(Status::unavailable("server shutting down"));
  if (prober_.joinable()) prober_.join();
  if (timer_.joinable()) timer_.join();
}

void ReadinessProbe::probeLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !waiters_.empty(); });
    if (stopping_) return;
    for (Waiter& w : waiters_) w.probing = true;
    lock.unlock();
    Status s = [this] {
      try {
        return probe_();
      } catch (const std::exception& e) {
        return Status::internal(std::string("readiness probe failed: ") + e.what());
      }
    }();
    lock.lock();
    // Answer those the probe started for (the timer may have answered some already).
    std::vector<Waiter> answered;
    auto split = std::stable_partition(waiters_.begin(), waiters_.end(), [](const Waiter& w) { return !w.probing; });
    std::move(split, waiters_.end(), std::back_inserter(answered));
    waiters_.erase(split, waiters_.end());
    lock.unlock();
    for (Waiter& w : answered) w.done(s);
    lock.lock();
  }
}

void ReadinessProbe::timerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (waiters_.empty()) {
      cv_.wait(lock, [this] { return stopping_ || !waiters_.empty(); });
      continue;
    }
    auto earliest = std::min_element(waiters_.begin(), waiters_.end(), [](const Waiter& a, const Waiter& b) {
                      return a.deadline < b.deadline;
                    })->deadline;
    if (std::chrono::steady_clock::now() < earliest) {
      cv_.wait_until(lock, earliest);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    std::vector<Waiter> expired;
    auto split = std::stable_partition(waiters_.begin(), waiters_.end(), [now](const Waiter& w) { return w.deadline > now; });
    std::move(split, waiters_.end(), std::back_inserter(expired));
    waiters_.erase(split, waiters_.end());
    lock.unlock();
    for (Waiter& w : expired)
      w.done(Status::unavailable("the store did not answer within " + std::to_string(timeout_.count()) + " ms"));
    lock.lock();
  }
}

}  // namespace tether::server
