// SignInThrottle: the console's sign-in throttling (docs/console.md, "Security"). Failures are
// counted per username and per client address; after kFreeFailures failures of one key, that key
// is locked for base * 2^(failures - kFreeFailures) (at most kMaxLockout), and a sign-in naming a
// locked key is refused with 429 and Retry-After before any password is checked. Names that are
// not operators count exactly like real ones, so the answers never tell whether a user exists.
// A success clears both keys. In memory (per node); bounded: at most kMaxKeys keys, the ones
// idle longest dropped first.
// Thread-safety: any thread; one mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace tether::server::console {

class SignInThrottle {
 public:
  static constexpr int kFreeFailures = 5;
  static constexpr int64_t kMaxLockoutMs = 15 * 60 * 1000;
  static constexpr size_t kMaxKeys = 10000;

  explicit SignInThrottle(int64_t baseLockoutMs) : baseMs_(baseLockoutMs) {}

  // 0 if a sign-in for (username, address) may be tried now; otherwise the milliseconds until it may.
  int64_t retryAfterMs(const std::string& username, const std::string& address, int64_t nowMs);
  void recordFailure(const std::string& username, const std::string& address, int64_t nowMs);
  void recordSuccess(const std::string& username, const std::string& address);

 private:
  struct Entry {
    int failures = 0;
    int64_t lockedUntilMs = 0;
    int64_t lastMs = 0;
  };
  int64_t waitFor(const std::string& key, int64_t nowMs);
  void fail(const std::string& key, int64_t nowMs);
  void evictIfFull();

  const int64_t baseMs_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace tether::server::console
