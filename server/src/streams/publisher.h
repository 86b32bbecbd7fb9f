// Publisher: the one background thread that moves Cognito Streams records from the outbox to
// their sinks (docs/events.md). Per configured stream it reads the oldest undelivered records,
// keeps the first record of each (pool, identity, dataset) up to the sink's batch size (so one
// dataset's records are handed over one at a time, in order), calls the sink, deletes the
// delivered ones, and retries the rest after an exponential backoff (initial .. cap, or the
// sink's retryAfter). Never on the network thread and never in a write's path: a sink that is
// down only makes records wait (and, once the outbox is full, writes be refused).
//
// At-least-once: a record is deleted only after its sink said delivered; a crash (or a lost
// lease on PostgreSQL) between the two delivers it again. `mayPublish` (PgLeaderLock::held on a
// shared store) is asked before each round: only the node holding the lease publishes.
//
// Threading: start() once, stop() once (joins). wake() and datasetChanged() from any thread;
// metricsText() from any thread (atomics and a mutex-guarded snapshot).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "storage/store.h"
#include "streams/bulk_publisher.h"
#include "streams/stream_sink.h"
#include "sync/change_listener.h"

namespace tether::server::streams {

struct PublisherOptions {
  int retryInitialMs = 500;
  int retryMaxMs = 60000;
  int pollIntervalMs = 1000;
};

class Publisher final : public ChangeListener {
 public:
  Publisher(Store& store, const Clock& clock, PublisherOptions options, std::function<bool()> mayPublish = {});
  ~Publisher() override;

  // Before start(): runs BulkPublish jobs in this thread, on the lease holder (optional).
  void setBulkPublisher(BulkPublisher* bulk) { bulk_ = bulk; }
  // Before start(): the sink of one stream name.
  void addSink(std::string streamName, std::unique_ptr<StreamSink> sink);
  void start();
  void stop();
  // Look now (a commit may have added records).
  void wake();
  void datasetChanged(const Caller&, std::string_view, int64_t, const std::vector<Record>*) override { wake(); }

  // Prometheus text of the tether_stream_* families (without the writer's refusals).
  std::string metricsText() const;

 private:
  struct Stream {
    std::string name;
    std::unique_ptr<StreamSink> sink;
    int failures = 0;          // consecutive failed rounds
    int64_t nextAttemptMs = 0;
    std::atomic<int64_t> delivered{0};
    std::atomic<int64_t> retries{0};
  };
  struct Round {
    bool more = false;    // records remain that could go at once
    bool failed = false;  // some were not delivered: back off
    std::chrono::milliseconds retryAfter{0};
  };

  void run();
  Round publishOnce(Stream& s);
  void refreshStats();
  void warnUnconfigured();

  Store& store_;
  const Clock& clock_;
  const PublisherOptions options_;
  std::function<bool()> mayPublish_;
  std::vector<std::unique_ptr<Stream>> streams_;
  BulkPublisher* bulk_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;

  std::atomic<int64_t> depth_{0};
  std::atomic<int64_t> oldestMs_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<bool> active_{false};
  int64_t lastStatsMs_ = 0;
  int64_t lastUnconfiguredCheckMs_ = 0;
};

}  // namespace tether::server::streams
