// Continuation tokens (NextToken) for ListRecords and ListDatasets: opaque to clients, bound to
// the caller's pool, identity and (for records) dataset, and checked on the way back in so a
// garbage or altered token is kInvalidArgument rather than a silently wrong page.
//
// The check is a 64-bit hash, not a MAC: a page token grants nothing (every query is scoped to
// the authenticated caller anyway), it only has to catch corruption, tokens replayed against
// other inputs, and casual tampering.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/store_transaction.h"
#include "tether/status.h"

namespace tether::server {

// What a ListRecords NextToken carries: the request's lastSyncCount, the dataset sync count
// pinned on page 1 (later pages return only records at or below it, so paging is stable while
// writes continue), and the last (syncCount, key) returned.
struct RecordsPageToken {
  int64_t lastSyncCount = 0;
  int64_t pinnedSyncCount = 0;
  RecordCursor cursor;
  friend bool operator==(const RecordsPageToken&, const RecordsPageToken&) = default;
};

std::string encodeRecordsPageToken(const OwnerRef& owner, std::string_view dataset,
                                   const RecordsPageToken& token);
// kInvalidArgument "nextToken not valid for these inputs" unless `text` came from
// encodeRecordsPageToken with the same owner and dataset.
Result<RecordsPageToken> decodeRecordsPageToken(const OwnerRef& owner, std::string_view dataset,
                                                std::string_view text);

// ListDatasets NextToken: the last dataset name returned.
std::string encodeDatasetsPageToken(const OwnerRef& owner, std::string_view lastName);
Result<std::string> decodeDatasetsPageToken(const OwnerRef& owner, std::string_view text);

}  // namespace tether::server
