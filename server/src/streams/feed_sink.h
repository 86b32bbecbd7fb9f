// FeedSink: the changes feed's side of the publisher (docs/events.md, "Changes feed"). It
// "delivers" by appending the records to the stream's feed table at the next positions, in one
// transaction. Only the publisher calls it (one thread, one node: the lease holder), so the
// positions follow delivery order without gaps: a consumer that has read up to position N has
// seen every record at or below N and will see every later one above it, whatever order the
// outbox rows committed in (a PostgreSQL sequence value is not commit order; a position is).
//
// Retention: each delivery also drops the feed records older than retention_seconds (at most
// once a second) and raises the stream's floor (meta `streams.feed-floor:<stream>`), below which
// a cursor is refused as expired instead of silently skipping what was dropped.
// Threading: deliver() from the publisher's thread (StreamSink); `appended` is called there.
#pragma once

#include <functional>
#include <string>

#include "common/clock.h"
#include "storage/store.h"
#include "streams/stream_sink.h"

namespace tether::server::streams {

std::string feedFloorKey(std::string_view stream);

class FeedSink final : public StreamSink {
 public:
  FeedSink(Store& store, const Clock& clock, std::string stream, int64_t retentionSeconds,
           std::function<void(const std::string&)> appended)
      : store_(store), clock_(clock), stream_(std::move(stream)), retentionMs_(retentionSeconds * 1000),
        appended_(std::move(appended)) {}

  std::string_view kind() const override { return "feed"; }
  size_t maxBatchRecords() const override { return 500; }
  SinkDelivery deliver(std::span<const StreamRecord> records) override;

 private:
  Store& store_;
  const Clock& clock_;
  std::string stream_;
  int64_t retentionMs_;
  std::function<void(const std::string&)> appended_;
  int64_t lastPruneMs_ = 0;
};

}  // namespace tether::server::streams
