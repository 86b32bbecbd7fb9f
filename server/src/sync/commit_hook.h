// CommitHook: told inside the write transaction of every accepted batch and every dataset
// deletion, just before the commit, with that transaction. Whatever it writes through `txn`
// commits or rolls back with the change it describes: this is how a Cognito Streams record
// reaches the outbox atomically with its batch (docs/events.md). A failing hook fails the write
// (nothing is committed, the caller sees the Status).
//
// Threading: called on the worker thread running the write, inside the identity's strand; it
// must not call other Store methods (the transaction is open) and must not block on I/O.
#pragma once

#include <span>
#include <string_view>

#include "storage/store_transaction.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether::server {

struct Caller;

class CommitHook {
 public:
  virtual ~CommitHook() = default;
  // One accepted batch: `after` is the dataset row as it will be committed, `written` the records
  // of the batch as stored (sync count after.syncCount), `writer` who made it.
  virtual Status batchCommitting(StoreTransaction& txn, const Caller& writer, const DatasetRow& after,
                                 std::span<const Record> written) = 0;
  // A dataset deletion: `after` is the deleted row (live = false, its final sync count).
  virtual Status deletionCommitting(StoreTransaction& txn, const Caller& writer, const DatasetRow& after) = 0;
};

}  // namespace tether::server
