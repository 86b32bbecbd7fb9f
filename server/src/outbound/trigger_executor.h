// TriggerExecutor: the threads that call sync triggers (docs/events.md "Sync trigger"). It maps
// each configured function ARN ([[sync_triggers]], auth/config_triggers.h) to its target, a
// webhook (POST the event, JSON reply; X-Tether-Signature when a secret is set) or a local
// command (outbound/command_runner.h), and makes the calls on its own bounded set of threads,
// so that a slow trigger holds neither the network thread, nor a WorkPool worker, nor an
// identity's strand, nor a database transaction.
//
// Bounded: kTriggerThreads calls at a time, kMaxQueuedTriggerCalls waiting; beyond that a call
// fails at once with kTriggerThrottled (LambdaThrottledException: the client retries later).
// Each call has its target's deadline (<= 5 s) and a reply cap (kMaxTriggerReplyBytes).
//
// invokeDetailed() is the same call reporting the whole outcome (the function's error body, and
// which failure it was), for the user-pool triggers (idp/idp_triggers.h).
//
// Threading: invoke(), invokeDetailed(), hasTarget() and metricsText() from any thread. `done` runs on an executor
// thread, or inside invoke() when the call is refused at once (queue full, stopping); it only
// posts. stop() (or the destructor) fails the calls still queued with kUnavailable, waits for
// the running ones, and joins the threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "auth/config_triggers.h"
#include "outbound/http_client.h"
#include "sync/sync_trigger.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server::outbound {

// Calls made at once. Each holds a thread (and a webhook connection) for up to its deadline:
// more lets more identities wait on slow triggers at the same time; fewer bounds the threads
// and child processes a burst of writes can start.
constexpr int kTriggerThreads = 8;
// Calls waiting for a thread before new ones are refused (LambdaThrottled). Raising it lets a
// burst wait instead of failing, at up to 5 s x (queue / threads) of added latency.
constexpr int kMaxQueuedTriggerCalls = 64;
// The largest reply read, like Lambda's 6 MB synchronous response limit: a dataset is at most
// 1 MB, even JSON-escaped several times over it fits; a larger reply is an error, and memory per
// call stays bounded.
constexpr size_t kMaxTriggerReplyBytes = 6 << 20;
// A command's exit status meaning "throttled, retry later" (sysexits.h EX_TEMPFAIL).
constexpr int kTriggerThrottledExitCode = 75;

class TriggerExecutor final : public SyncTriggerInvoker {
 public:
  explicit TriggerExecutor(std::vector<SyncTriggerConfig> targets);
  ~TriggerExecutor() override;
  TriggerExecutor(const TriggerExecutor&) = delete;
  TriggerExecutor& operator=(const TriggerExecutor&) = delete;

  bool hasTarget(const std::string& functionArn) const override;
  void invoke(const std::string& functionArn, std::string event,
              std::function<void(Result<std::string>)> done) override;
  void invokeDetailed(const std::string& functionArn, std::string event,
                      std::function<void(TriggerOutcome)> done) override;
  void badReply() override { errors_[kBadOutput]++; }

  void stop();
  // Prometheus families: calls, errors by kind, latency histogram, queue depth.
  std::string metricsText() const;

 private:
  enum ErrorKind { kTimeout, kUnreachable, kErrorStatus, kTooLarge, kThrottled, kBadOutput, kErrorKindCount };
  static constexpr const char* kErrorNames[kErrorKindCount] = {"timeout", "unreachable", "error_status",
                                                               "too_large", "throttled", "bad_output"};
  static constexpr double kBucketsMs[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
  struct Call {
    const SyncTriggerConfig* target;
    std::string event;
    std::function<void(TriggerOutcome)> done;
  };
  void run();
  TriggerOutcome callWebhook(const SyncTriggerConfig& t, const std::string& event, HttpClient& http);
  TriggerOutcome callCommand(const SyncTriggerConfig& t, const std::string& event);
  void observe(std::chrono::microseconds elapsed);

  std::map<std::string, SyncTriggerConfig> targets_;  // immutable after construction
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Call> queue_ TETHER_GUARDED_BY(mu_);
  bool stopping_ TETHER_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;

  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> errors_[kErrorKindCount] = {};
  std::atomic<int64_t> buckets_[std::size(kBucketsMs)] = {};
  std::atomic<int64_t> latencyCount_{0};
  std::atomic<int64_t> latencySumUs_{0};
  std::atomic<int64_t> queued_{0};
};

}  // namespace tether::server::outbound
