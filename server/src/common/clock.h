// Time source for the server, injected so tests can control it (STYLE.md 9).
// Thread-safety: implementations must be callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace tether::server {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (UTC).
  virtual int64_t nowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace tether::server
