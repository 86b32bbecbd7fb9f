// The request a thread is working on, for log lines (docs/operations.md "Logs"): each HTTP
// request and each native-protocol request frame gets an ID when it arrives; a RequestScope
// makes it the current thread's while the request is handled, WorkPool carries it to the
// worker that runs the request's posted work, and the log formatter (net/log_format.h) writes
// it into every line. The same ID is the x-amzn-RequestId the HTTP client sees.
//
// Thread-safety: the current ID is thread-local; newRequestId() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>

namespace tether::server {

namespace request_context_detail {
inline thread_local std::string current;
}

// The ID of the request this thread is handling ("" when none).
inline const std::string& currentRequestId() { return request_context_detail::current; }

// A fresh ID shaped like the UUIDs AWS returns in x-amzn-RequestId (random, version 4).
inline std::string newRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// Makes `id` the current thread's request ID until destroyed (then the previous one again).
class RequestScope {
 public:
  explicit RequestScope(std::string id) : saved_(std::exchange(request_context_detail::current, std::move(id))) {}
  ~RequestScope() { request_context_detail::current = std::move(saved_); }
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string saved_;
};

// Wraps `fn` so that it runs under the request ID current now (what WorkPool does with posts).
template <class Fn>
auto carryRequestId(Fn&& fn) {
  return [id = currentRequestId(), f = std::forward<Fn>(fn)]() mutable {
    if (id.empty()) return f();
    RequestScope scope(id);
    return f();
  };
}

}  // namespace tether::server
