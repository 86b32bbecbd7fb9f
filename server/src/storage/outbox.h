// The Cognito Streams outbox as the Store keeps it (docs/events.md, "Cognito Streams"): one row
// per stream record, written by the CommitHook inside the write transaction of the batch or
// deletion it describes, read and deleted by the one publisher once its sink delivered it.
// Plain values; the StoreTransaction methods that use them are in store_transaction.h.
#pragma once

#include <cstdint>
#include <string>

namespace tether::server {

struct OutboxEntry {
  int64_t seq = 0;          // assigned by the store on append (ascending; per dataset in commit order)
  std::string stream;       // the pool's CognitoStreams.StreamName when the record was written
  std::string poolId;
  std::string identityId;
  std::string dataset;
  int64_t createdMs = 0;
  std::string json;         // the stream record exactly as published (spec cognito-compat.md 5.2)
};

struct OutboxStats {
  int64_t depth = 0;           // undelivered records (all streams)
  int64_t oldestCreatedMs = 0; // createdMs of the oldest undelivered record (0 = none)
};

}  // namespace tether::server
