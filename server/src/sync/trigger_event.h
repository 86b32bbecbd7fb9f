// The sync-trigger event and the reading of its reply (cognito-compat.md 5.1 and 7.17), as pure
// functions: SyncService builds the event from the dataset as the batch would leave it, and turns
// the function's reply into the records the trigger changed, added or removed.
//
// Event: {"version":2,"eventType":"SyncTrigger","region","identityPoolId","identityId",
// "datasetName","datasetRecords":{key:{"oldValue","newValue","op"}}} with every live record of
// the dataset (untouched ones op "replace", oldValue == newValue), the batch's patches (a new key
// has no oldValue, a removed one no newValue and op "remove").
// Reply: the same object. Only datasetRecords may differ; per key, op "remove" or a null/absent
// newValue removes the record, op "replace" with a string newValue sets it; keys the reply omits
// stay as the event had them. Anything else is kTriggerFailed (InvalidLambdaFunctionOutput).
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/model.h"
#include "tether/status.h"

namespace tether::server {

struct TriggerEventInput {
  std::string poolId;                 // "region:guid"; the region is its prefix
  std::string identityId;
  std::string datasetName;
  const std::vector<Record>* live = nullptr;          // the dataset's live records before the batch
  const std::vector<RecordPatch>* patches = nullptr;  // the batch
};

std::string buildTriggerEvent(const TriggerEventInput& in);

// The records the reply names: key -> new value (nullopt = removed). `event` is the text sent.
// kTriggerFailed: not JSON, nested deeper than a trigger reply needs, not an object, a changed
// or added or missing non-record field, a malformed record entry.
Result<std::map<std::string, std::optional<std::string>>> parseTriggerReply(std::string_view reply,
                                                                             std::string_view event);

}  // namespace tether::server
