// StreamSink: where Cognito Streams records go (docs/events.md). The outbox publisher takes the
// oldest undelivered records of a stream from the Store and hands them to that stream's sink;
// the sink reports which ones it delivered, and the publisher marks those done and retries the
// rest later with backoff. Sinks: Amazon Kinesis (kinesis_sink.h), a webhook, and the changes
// feed tetherd serves itself.
//
// Ordering: a batch given to deliver() holds at most one record per (pool, identity, dataset),
// in outbox order. So a sink whose target accepts part of a batch (Kinesis PutRecords) cannot
// reorder one dataset's records: the next record of a dataset is only handed over after the
// previous one was delivered.
//
// Threading: deliver() is called from the publisher's thread only, one call at a time; it may
// block on the network up to the sink's own timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tether/status.h"

namespace tether::server::streams {

// One Cognito Streams record waiting in the outbox.
struct StreamRecord {
  int64_t seq = 0;           // outbox position: ascending in commit order within a dataset
  std::string streamName;    // the pool's CognitoStreams.StreamName when it was written
  std::string poolId;
  std::string identityId;    // the Kinesis partition key
  std::string dataset;
  std::string json;          // the record exactly as published (spec cognito-compat.md 5.2)
};

struct SinkDelivery {
  std::vector<bool> delivered;  // one per record given, in order
  Status status;                // why some were not delivered (ok when all were)
  // When the target asked us to slow down (throttling), how long to wait; 0 = the publisher's
  // own backoff.
  std::chrono::milliseconds retryAfter{0};
};

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual std::string_view kind() const = 0;  // "kinesis", "webhook", "feed": metrics, logs
  // The most records the publisher hands over in one deliver() call.
  virtual size_t maxBatchRecords() const = 0;
  virtual SinkDelivery deliver(std::span<const StreamRecord> records) = 0;
};

}  // namespace tether::server::streams
