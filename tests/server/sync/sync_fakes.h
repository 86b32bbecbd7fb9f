// Test doubles for the sync service's injected dependencies: a manual clock and a trivial
// (unsigned, readable) SessionTokens with the real binding and 15-minute expiry rules.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "sync/session_tokens.h"

namespace tether::server::testing {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t startMs = 1'700'000'000'000) : now_(startMs) {}
  int64_t nowMs() const override { return now_.load(); }
  void advanceMs(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

// Token text: "tok|<pool>|<identity>|<dataset>|<expiresAtMs>". Not a secret; the binding and
// expiry checks are what the sync service relies on.
class FakeSessionTokens final : public SessionTokens {
 public:
  static constexpr int64_t kLifetimeMs = 15 * 60 * 1000;

  std::string issue(std::string_view poolId, std::string_view identityId,
                    std::string_view dataset, int64_t nowMs) const override {
    return "tok|" + std::string(poolId) + "|" + std::string(identityId) + "|" +
           std::string(dataset) + "|" + std::to_string(nowMs + kLifetimeMs);
  }

  Status verify(std::string_view token, std::string_view poolId, std::string_view identityId,
                std::string_view dataset, int64_t nowMs) const override {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
      size_t bar = token.find('|', start);
      parts.push_back(token.substr(start, bar == std::string_view::npos ? bar : bar - start));
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    Status bad = Status::invalidArgument("SyncSessionToken not valid for these inputs");
    if (parts.size() != 5 || parts[0] != "tok") return bad;
    if (parts[1] != poolId || parts[2] != identityId || parts[3] != dataset) return bad;
    int64_t expires = 0;
    try {
      expires = std::stoll(std::string(parts[4]));
    } catch (...) {  // test code: malformed numbers are just invalid tokens
      return bad;
    }
    if (nowMs >= expires) return bad;
    return Status::ok();
  }
};

}  // namespace tether::server::testing
