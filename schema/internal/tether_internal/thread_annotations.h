// Lock annotations for clang's thread-safety analysis (-Wthread-safety), and the annotated Mutex
// the project's lock-protected state uses instead of a bare std::mutex (libstdc++'s std::mutex
// carries no capability attributes, so the analysis cannot see it). Modelled on the mutex.h
// example of clang's ThreadSafetyAnalysis documentation.
//
// Internal to the implementation: server/, client/src/ and schema/ include it; the public
// headers (client/include/tether/, schema/include/tether/) never do, and apps do not get this
// folder on their include path (schema/meson.build: tether_internal_dep).
//
// Under gcc every macro is empty and Mutex is a plain std::mutex wrapper. `make tsan` builds with
// clang and -Werror=thread-safety (scripts/tsan.sh, docs/reliability.md "Threads").
//
//   class Counter {
//     tether::Mutex mu_;
//     int n_ TETHER_GUARDED_BY(mu_) = 0;
//     void bumpLocked() TETHER_REQUIRES(mu_) { ++n_; }
//    public:
//     void bump() { tether::MutexLock lock(mu_); bumpLocked(); }
//   };
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define TETHER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TETHER_THREAD_ANNOTATION(x)
#endif

#define TETHER_CAPABILITY(x) TETHER_THREAD_ANNOTATION(capability(x))
#define TETHER_SCOPED_CAPABILITY TETHER_THREAD_ANNOTATION(scoped_lockable)
#define TETHER_GUARDED_BY(x) TETHER_THREAD_ANNOTATION(guarded_by(x))
#define TETHER_PT_GUARDED_BY(x) TETHER_THREAD_ANNOTATION(pt_guarded_by(x))
#define TETHER_ACQUIRED_BEFORE(...) TETHER_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define TETHER_ACQUIRED_AFTER(...) TETHER_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define TETHER_REQUIRES(...) TETHER_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TETHER_EXCLUDES(...) TETHER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define TETHER_ACQUIRE(...) TETHER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define TETHER_RELEASE(...) TETHER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TETHER_TRY_ACQUIRE(...) TETHER_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TETHER_ASSERT_CAPABILITY(x) TETHER_THREAD_ANNOTATION(assert_capability(x))
#define TETHER_RETURN_CAPABILITY(x) TETHER_THREAD_ANNOTATION(lock_returned(x))
#define TETHER_NO_THREAD_SAFETY_ANALYSIS TETHER_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace tether {

// A std::mutex the analysis knows as a capability. Not recursive.
class TETHER_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() TETHER_ACQUIRE() { mu_.lock(); }
  void unlock() TETHER_RELEASE() { mu_.unlock(); }
  bool try_lock() TETHER_TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // Tells the analysis the caller holds the lock (a callback or predicate that runs under it, a
  // lock held by an object rather than a scope). No run-time check.
  void assertHeld() const TETHER_ASSERT_CAPABILITY(this) {}

  // The std::mutex itself, for a std::unique_lock that outlives one scope (a write transaction
  // holds its connection from begin to commit) and the std::condition_variable it waits on. The
  // analysis does not see such locks: their users say so with assertHeld().
  std::mutex& native() { return mu_; }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope (std::lock_guard / std::unique_lock in one). unlock() and lock()
// let a scope drop the lock around a call (a callback, a blocking wait) and take it back; the
// destructor releases it only if held. wait*() wait on a std::condition_variable with the lock,
// as std::condition_variable::wait does with a std::unique_lock.
class TETHER_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) TETHER_ACQUIRE(mu) : lock_(mu.mu_) {}
  // Takes over a lock the caller already holds (after a successful mu.try_lock()).
  MutexLock(Mutex& mu, std::adopt_lock_t) TETHER_REQUIRES(mu) : lock_(mu.mu_, std::adopt_lock) {}
  ~MutexLock() TETHER_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() TETHER_ACQUIRE() { lock_.lock(); }
  void unlock() TETHER_RELEASE() { lock_.unlock(); }

  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  template <class Pred>
  void wait(std::condition_variable& cv, Pred pred) {
    cv.wait(lock_, std::move(pred));
  }
  template <class Clock, class Duration>
  std::cv_status waitUntil(std::condition_variable& cv,
                           const std::chrono::time_point<Clock, Duration>& t) {
    return cv.wait_until(lock_, t);
  }
  template <class Clock, class Duration, class Pred>
  bool waitUntil(std::condition_variable& cv, const std::chrono::time_point<Clock, Duration>& t,
                 Pred pred) {
    return cv.wait_until(lock_, t, std::move(pred));
  }
  template <class Rep, class Period, class Pred>
  bool waitFor(std::condition_variable& cv, const std::chrono::duration<Rep, Period>& d,
               Pred pred) {
    return cv.wait_for(lock_, d, std::move(pred));
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace tether
