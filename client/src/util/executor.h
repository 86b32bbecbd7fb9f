// Executor: where the sync engine's work runs. In production it is the transport's network
// thread; unit tests use ThreadExecutor (below). Everything posted runs on one thread, in order;
// postAfter() runs a task on that thread once a delay has passed (debounce, retry backoff).
// Threading: post(), postAfter() and isCurrentThread() are callable from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "tether_internal/thread_annotations.h"

namespace tether::client {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `fn` later on the executor's thread. Returns false (and drops fn) after shutdown.
  virtual bool post(std::function<void()> fn) = 0;
  // Runs `fn` on the executor's thread after `delay` (not cancellable: callers that need to
  // cancel compare a generation number when it runs). Returns false after shutdown; a task
  // still waiting at shutdown is dropped without running.
  virtual bool postAfter(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  virtual bool isCurrentThread() const = 0;
  // Stops accepting work, runs or cancels what is queued, and joins. Idempotent; not from the
  // executor's own thread.
  virtual void shutdown() = 0;
};

// A thread with a FIFO queue. The destructor runs what is queued, then joins.
class ThreadExecutor final : public Executor {
 public:
  ThreadExecutor();
  ~ThreadExecutor() override;
  bool post(std::function<void()> fn) override;
  bool postAfter(std::chrono::milliseconds delay, std::function<void()> fn) override;
  bool isCurrentThread() const override { return std::this_thread::get_id() == thread_.get_id(); }
  // Stops accepting work, drains the queue and joins. Idempotent; not from the thread itself.
  void shutdown() override;

 private:
  void run();
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ TETHER_GUARDED_BY(mu_);
  // Delayed tasks by due time (multimap keeps posting order for equal times).
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> delayed_
      TETHER_GUARDED_BY(mu_);
  bool stopping_ TETHER_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tether::client
