// LaneExecutor: the client targets' executor, one per input, over a single worker thread that
// lives for the whole process. The product's ThreadExecutor starts a thread per client and joins
// it when the client closes; under ASan that is, per input, a clone, the new stack's page
// faults and, at thread exit, several munmaps (ASan's thread state, alternate signal stack,
// DTLS), each a TLB shootdown: about a third of the CPU time of cache_file (docs/reliability.md,
// "Fuzzing"). The code the targets fuzz (ClientImpl, SyncEngine, LiveSync) sees the same
// client::Executor contract as with ThreadExecutor (util/executor.h):
//   - post() runs tasks in order on one thread; postAfter() once the delay has passed;
//   - shutdown() stops accepting work (post returns false), runs what was posted before it,
//     drops delayed tasks that have not come due (their closures are destroyed on the worker
//     thread, as ThreadExecutor clears them there), and returns when that is done; idempotent;
//   - isCurrentThread() is true on the worker thread.
// One lane is used at a time (one client per input), so "the executor's thread" is the worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "util/executor.h"

namespace tether::fuzz {

class LaneExecutor final : public client::Executor {
 public:
  LaneExecutor() : lane_(std::make_shared<Lane>()) {}
  ~LaneExecutor() override { shutdown(); }

  bool post(std::function<void()> fn) override {
    Worker& w = worker();
    {
      std::lock_guard lock(w.mu);
      if (lane_->stopping) return false;
      w.queue.push_back(std::move(fn));
    }
    w.cv.notify_one();
    return true;
  }

  bool postAfter(std::chrono::milliseconds delay, std::function<void()> fn) override {
    Worker& w = worker();
    {
      std::lock_guard lock(w.mu);
      if (lane_->stopping) return false;
      w.delayed.emplace(std::chrono::steady_clock::now() + delay, Delayed{lane_, std::move(fn)});
    }
    w.cv.notify_one();
    return true;
  }

  bool isCurrentThread() const override { return std::this_thread::get_id() == worker().id; }

  void shutdown() override {
    Worker& w = worker();
    std::shared_ptr<Lane> lane = lane_;
    {
      std::lock_guard lock(w.mu);
      if (lane->stopping) return;
      lane->stopping = true;
    }
    if (isCurrentThread()) {  // from a task of this lane: nothing to wait for
      purgeDelayed(w, lane);
      return;
    }
    // A marker behind everything posted so far (FIFO): when it runs, the lane is drained.
    bool done = false;
    std::condition_variable doneCv;
    {
      std::lock_guard lock(w.mu);
      w.queue.push_back([&w, lane, &done, &doneCv] {
        purgeDelayed(w, lane);
        std::lock_guard l(w.mu);
        done = true;
        doneCv.notify_all();
      });
    }
    w.cv.notify_one();
    std::unique_lock lock(w.mu);
    doneCv.wait(lock, [&done] { return done; });
  }

 private:
  struct Lane {
    bool stopping = false;  // guarded by Worker::mu
  };
  struct Delayed {
    std::shared_ptr<Lane> lane;
    std::function<void()> fn;
  };
  struct Worker {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;                             // guarded by mu
    std::multimap<std::chrono::steady_clock::time_point, Delayed> delayed;  // guarded by mu
    std::thread::id id;  // the worker thread's (set before anything is posted)
  };

  // Process-wide, never destroyed (the thread runs until exit; nothing is left queued between
  // inputs, since every lane is shut down before its input returns).
  static Worker& worker() {
    static Worker* w = [] {
      auto* created = new Worker();
      std::thread t([created] { run(*created); });
      created->id = t.get_id();
      t.detach();
      return created;
    }();
    return *w;
  }

  // On the worker thread: destroys the lane's delayed tasks outside the lock.
  static void purgeDelayed(Worker& w, const std::shared_ptr<Lane>& lane) {
    std::vector<std::function<void()>> dropped;
    {
      std::lock_guard lock(w.mu);
      for (auto it = w.delayed.begin(); it != w.delayed.end();) {
        if (it->second.lane == lane) {
          dropped.push_back(std::move(it->second.fn));
          it = w.delayed.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  static void run(Worker& w) {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(w.mu);
        for (;;) {
          // Due delayed tasks join the queue behind what was posted before them, as in
          // ThreadExecutor; a stopped lane's are dropped.
          auto now = std::chrono::steady_clock::now();
          while (!w.delayed.empty() && w.delayed.begin()->first <= now) {
            Delayed d = std::move(w.delayed.begin()->second);
            w.delayed.erase(w.delayed.begin());
            if (!d.lane->stopping) w.queue.push_back(std::move(d.fn));
            else {
              lock.unlock();
              d.fn = nullptr;  // destroyed outside the lock
              lock.lock();
            }
          }
          if (!w.queue.empty()) break;
          if (w.delayed.empty()) w.cv.wait(lock);
          else w.cv.wait_until(lock, w.delayed.begin()->first);
        }
        fn = std::move(w.queue.front());
        w.queue.pop_front();
      }
      fn();
    }
  }

  std::shared_ptr<Lane> lane_;
};

}  // namespace tether::fuzz
