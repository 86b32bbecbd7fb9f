// See sign_in_throttle.h.
#include "console/sign_in_throttle.h"

#include <algorithm>

namespace tether::server::console {

int64_t SignInThrottle::waitFor(const std::string& key, int64_t nowMs) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  return std::max<int64_t>(0, it->second.lockedUntilMs - nowMs);
}

int64_t SignInThrottle::retryAfterMs(const std::string& username, const std::string& address, int64_t nowMs) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(waitFor("u:" + username, nowMs), waitFor("a:" + address, nowMs));
}

void SignInThrottle::fail(const std::string& key, int64_t nowMs) {
  Entry& e = entries_[key];
  e.failures++;
  e.lastMs = nowMs;
  if (e.failures >= kFreeFailures) {
    int shift = std::min(e.failures - kFreeFailures, 20);
    e.lockedUntilMs = nowMs + std::min(kMaxLockoutMs, baseMs_ << shift);
  }
}

void SignInThrottle::recordFailure(const std::string& username, const std::string& address, int64_t nowMs) {
  std::lock_guard<std::mutex> lock(mu_);
  evictIfFull();
  fail("u:" + username, nowMs);
  fail("a:" + address, nowMs);
}

void SignInThrottle::recordSuccess(const std::string& username, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase("u:" + username);
  entries_.erase("a:" + address);
}

void SignInThrottle::evictIfFull() {
  while (entries_.size() + 2 > kMaxKeys) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                   [](const auto& a, const auto& b) { return a.second.lastMs < b.second.lastMs; });
    entries_.erase(oldest);
  }
}

}  // namespace tether::server::console
