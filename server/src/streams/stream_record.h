// The Cognito Streams record (spec cognito-compat.md 5.2), field names and order as AWS writes
// them: identityPoolId, identityId, dataSetName, operation, kinesisSyncRecords, lastModifiedDate,
// payloadType, syncCount; dates in epoch milliseconds.
//
// What tetherd writes (docs/events.md, "Cognito Streams"):
//   - an accepted batch: operation "replace"; kinesisSyncRecords = the records of the batch as
//     stored, each with op "replace" (value set) or "remove" (value null: a tombstone);
//   - a dataset deletion: operation "remove", kinesisSyncRecords empty, syncCount the count
//     the deletion consumed;
//   - BulkPublish: one "replace" record per live dataset with all its live records.
// payloadType is always "Inline" here; kinesisSyncRecordsURL is omitted (the Kinesis sink turns
// a record past its 1 MB limit into "S3Url").
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "storage/store_transaction.h"
#include "tether/model.h"

namespace tether::server::streams {

std::string batchRecordJson(std::string_view poolId, std::string_view identityId, const DatasetRow& after,
                            std::span<const Record> written);
std::string deletionRecordJson(std::string_view poolId, std::string_view identityId, const DatasetRow& after);

}  // namespace tether::server::streams
