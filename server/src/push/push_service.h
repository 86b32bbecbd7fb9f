// PushService: mobile push sync (spec cognito-compat.md 5.3; docs/events.md "Mobile push").
// After every committed change of a dataset, each push-sync device of that identity subscribed
// to it, except the writer's own device, gets a silent notification through APNs or FCM, chosen
// by the device's platform among the pool's PushSync.ApplicationArns and the credentials of that
// application in [[push_apps]].
//
// Never blocks a write: datasetChanged() only records the change in a bounded, coalescing queue.
// A dispatcher thread reads the pool's configuration and the subscribed devices from the Store
// and queues one push per (device, dataset); one worker thread per provider (APNs, FCM), each
// with its own HttpClient (so a kept-open HTTP/2 connection), sends them. Coalescing: a change
// to a (device, dataset) whose push has not gone out yet only raises the sync count it carries,
// so a burst of writes sends one push with the latest count. Failures: network errors, 429 and
// 5xx are retried with exponential backoff (or the provider's Retry-After) up to maxAttempts; a
// token the provider reports as gone removes the device and its subscriptions; other refusals
// drop the push. Queues are in memory: what is queued at shutdown is not sent (a device catches
// up at its next sync, as with a push the provider itself lost).
//
// Threading: datasetChanged() and metricsText() from any thread; the destructor stops and joins
// the threads, abandoning a request in flight within a second (call it before the Store goes
// away).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/config_push.h"
#include "common/clock.h"
#include "storage/store.h"
#include "sync/change_listener.h"
#include "tether/status.h"

namespace tether::server::push {

struct PushServiceOptions {
  // Changes waiting for the dispatcher (distinct (identity, dataset) pairs: repeats coalesce).
  // Past this a change is not pushed (counted as dropped "queue_full", logged): push is a
  // wake-up hint, and the devices see the change at their next sync anyway.
  size_t maxQueuedChanges = 10000;
  // Pushes waiting per provider (distinct (device, dataset) pairs), same policy.
  size_t maxQueuedPushes = 10000;
  // Attempts per push before it is dropped ("retries_exhausted"); retryable failures wait
  // initialBackoff, doubling up to maxBackoff, or the provider's Retry-After if longer.
  int maxAttempts = 8;
  std::chrono::milliseconds initialBackoff{500};
  std::chrono::milliseconds maxBackoff{60000};
};

class PushService final : public ChangeListener {
 public:
  // Loads every app's key (ApnsSender / FcmSender::create: kIOError, kCorruption or
  // kInvalidArgument naming the app and file) and starts the threads. `store` and `clock` must
  // outlive the service.
  static Result<std::unique_ptr<PushService>> start(const std::vector<PushAppConfig>& apps, Store& store,
                                                    const Clock& clock, const PushServiceOptions& options = {});
  ~PushService() override;

  void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                      const std::vector<Record>* batch) override;

  // The push families in the Prometheus text format (sent, failed, dropped, tokens removed,
  // queue depths).
  std::string metricsText() const;

 private:
  struct Impl;
  explicit PushService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tether::server::push
