// Cognito BulkPublish state (spec cognito-compat.md 5.2, docs/events.md): one JSON value per
// pool in Store meta (`cognito.bulk-publish:<pool>`), changed only inside a write transaction
// that locks it (getMetaForUpdate), so two nodes never both start a run. The run itself is done
// by the stream publisher's node (streams/bulk_publisher.h), identity by identity; its cursor
// lives in the same value and advances in the transaction that appends that identity's records
// to the outbox, so a restart resumes exactly where the last committed step ended.
// Thread-safety: functions over the Store; callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

// A success allows the next start after this long (AlreadyStreamedException before).
constexpr int64_t kBulkPublishCooldownMs = 24 * 3600 * 1000;

struct BulkPublishState {
  std::string status = "NOT_STARTED";  // NOT_STARTED | IN_PROGRESS | FAILED | SUCCEEDED
  int64_t startMs = 0;
  int64_t completeMs = 0;
  std::string failureMessage;
  std::string stream;                  // the stream name at start
  std::string cursor;                  // identities <= cursor are done (IN_PROGRESS)
  int64_t published = 0;               // records appended so far
};

std::string bulkPublishKey(std::string_view poolId);
std::string encodeBulkPublish(const BulkPublishState& s);
// A missing or unreadable value reads as NOT_STARTED.
BulkPublishState decodeBulkPublish(const std::optional<std::string>& text);

enum class BulkStart { kStarted, kDuplicate, kAlreadyStreamed, kStreamingDisabled };
// Starts a run for `poolId` into its configured stream if allowed. `configKey` is the pool's
// configuration meta key (its CognitoStreams must be ENABLED with a StreamName).
Result<BulkStart> startBulkPublish(Store& store, std::string_view poolId, std::string_view configKey, int64_t nowMs);
Result<BulkPublishState> bulkPublishDetails(Store& store, std::string_view poolId);

}  // namespace tether::server
