#include "util/executor.h"

namespace tether::client {

ThreadExecutor::ThreadExecutor() : thread_([this] { run(); }) {}

ThreadExecutor::~ThreadExecutor() { shutdown(); }

bool ThreadExecutor::post(std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
  return true;
}

bool ThreadExecutor::postAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    delayed_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  cv_.notify_one();
  return true;
}

void ThreadExecutor::shutdown() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ThreadExecutor::run() {
  for (;;) {
    std::function<void()> fn;
    {
      MutexLock lock(mu_);
      for (;;) {
        // Move due delayed tasks to the queue, behind what was posted before them.
        auto now = std::chrono::steady_clock::now();
        while (!delayed_.empty() && delayed_.begin()->first <= now) {
          queue_.push_back(std::move(delayed_.begin()->second));
          delayed_.erase(delayed_.begin());
        }
        if (!queue_.empty()) break;
        if (stopping_) {
          delayed_.clear();  // shutdown drops what has not come due
          return;
        }
        if (delayed_.empty()) lock.wait(cv_);
        else lock.waitUntil(cv_, delayed_.begin()->first);
      }
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

}  // namespace tether::client
