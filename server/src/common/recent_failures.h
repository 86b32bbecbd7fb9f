// RecentFailures: the last few stream-publish and sync-trigger failures, kept in memory for the
// console's live view (docs/console.md, "Live view"). The places that log such a failure also
// add it here; the console reads a copy. Bounded (kCapacity, oldest dropped), so a failure storm
// costs nothing but the ring. Thread-safety: any thread; one short mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace tether::server {

class RecentFailures {
 public:
  static constexpr size_t kCapacity = 50;
  static constexpr size_t kMaxMessageBytes = 500;

  struct Entry {
    int64_t atMs = 0;
    std::string kind;     // "stream" or "trigger"
    std::string name;     // the stream's name or the trigger's function
    std::string message;
  };

  // The process's ring.
  static RecentFailures& get() {
    static RecentFailures ring;
    return ring;
  }

  void add(std::string kind, std::string name, std::string message) {
    if (message.size() > kMaxMessageBytes) message.resize(kMaxMessageBytes);
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({now, std::move(kind), std::move(name), std::move(message)});
    while (entries_.size() > kCapacity) entries_.pop_front();
  }

  // Newest first.
  std::vector<Entry> snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return std::vector<Entry>(entries_.rbegin(), entries_.rend());
  }

 private:
  mutable std::mutex mu_;
  std::deque<Entry> entries_;
};

}  // namespace tether::server
