// BulkPublisher: runs the Cognito BulkPublish jobs started through the API (sync/bulk_publish.h)
// on the node that holds the stream publisher's lease, from the publisher's thread: every live
// dataset of every identity of the pool becomes one "replace" stream record (all its live
// records) in the outbox. One write transaction per identity appends its records and advances
// the job's cursor together, so a restart (or a new lease holder) resumes after the last
// committed identity: no record of a run is lost or written twice by the run itself.
//
// Pacing: the run only appends while the outbox holds less than half of outbox.max_records, so
// live writes keep the other half; when it is fuller the run waits for the sinks (never fails
// for that). A run fails (FAILED, FailureMessage) when streaming is disabled or the stream
// renamed while it runs.
// Threading: step() from the publisher's thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "storage/store.h"
#include "sync/bulk_publish.h"

namespace tether::server::streams {

class BulkPublisher {
 public:
  BulkPublisher(Store& store, const Clock& clock, int64_t maxOutboxRecords)
      : store_(store), clock_(clock), maxOutbox_(maxOutboxRecords) {}

  // Advances every running job a little. True when there is more to do at once.
  bool step();

  int64_t recordsPublished() const { return published_.load(); }
  int64_t running() const { return running_.load(); }
  int64_t succeeded() const { return succeeded_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  enum class Outcome { kMore, kDone, kWait };
  Outcome advance(const std::string& poolId, const BulkPublishState& seen);
  Status finish(const std::string& poolId, const BulkPublishState& seen, const std::string& status,
                const std::string& message);

  Store& store_;
  const Clock& clock_;
  const int64_t maxOutbox_;
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> running_{0};
  std::atomic<int64_t> succeeded_{0};
  std::atomic<int64_t> failed_{0};
};

}  // namespace tether::server::streams
