// OutboxWriter: the CommitHook (sync/commit_hook.h) that writes a Cognito Streams record into
// the outbox inside the write transaction of every accepted batch and dataset deletion of a
// pool whose CognitoStreams.StreamingStatus is ENABLED (docs/events.md). The pool setting is
// read through that same transaction (never a cache): once SetIdentityPoolConfiguration
// committed ENABLED, on any node, every write that begins afterwards writes a record. A full
// outbox fails the write with kTooManyRequests (nothing committed; the client retries) and is
// counted and logged (rate-limited).
// Threading: called on worker threads concurrently; counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "sync/commit_hook.h"

namespace tether::server::streams {

class OutboxWriter final : public CommitHook {
 public:
  OutboxWriter(int64_t maxRecords, const Clock& clock) : maxRecords_(maxRecords), clock_(clock) {}

  Status batchCommitting(StoreTransaction& txn, const Caller& writer, const DatasetRow& after,
                         std::span<const Record> written) override;
  Status deletionCommitting(StoreTransaction& txn, const Caller& writer, const DatasetRow& after) override;

  int64_t refusedFull() const { return refusedFull_.load(); }
  int64_t written() const { return written_.load(); }

 private:
  // The stream the pool streams into, "" when streaming is off.
  Result<std::string> streamOf(StoreTransaction& txn, std::string_view poolId);
  Status append(StoreTransaction& txn, const Caller& writer, const std::string& stream, const std::string& dataset,
                std::string json);

  const int64_t maxRecords_;
  const Clock& clock_;
  std::atomic<int64_t> refusedFull_{0};
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> lastFullLogMs_{0};
};

}  // namespace tether::server::streams
