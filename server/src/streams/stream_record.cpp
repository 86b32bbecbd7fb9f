// See stream_record.h.
#include "streams/stream_record.h"

#include <nlohmann/json.hpp>

namespace tether::server::streams {
namespace {

using Json = nlohmann::ordered_json;

Json header(std::string_view poolId, std::string_view identityId, const DatasetRow& after, const char* operation) {
  return Json{{"identityPoolId", poolId},
              {"identityId", identityId},
              {"dataSetName", after.name},
              {"operation", operation},
              {"kinesisSyncRecords", Json::array()}};
}

std::string finish(Json j, const DatasetRow& after) {
  j["lastModifiedDate"] = after.lastModifiedMs;
  j["payloadType"] = "Inline";
  j["syncCount"] = after.syncCount;
  // Values are checked UTF-8 on the way in; replace keeps a bad byte from failing a commit.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string batchRecordJson(std::string_view poolId, std::string_view identityId, const DatasetRow& after,
                            std::span<const Record> written) {
  Json j = header(poolId, identityId, after, "replace");
  Json& records = j["kinesisSyncRecords"];
  for (const Record& r : written) {
    records.push_back(Json{{"key", r.key},
                           {"value", r.value ? Json(*r.value) : Json(nullptr)},
                           {"syncCount", r.syncCount},
                           {"lastModifiedDate", r.lastModifiedMs},
                           {"deviceLastModifiedDate", r.deviceLastModifiedMs},
                           {"op", r.value ? "replace" : "remove"}});
  }
  return finish(std::move(j), after);
}

std::string deletionRecordJson(std::string_view poolId, std::string_view identityId, const DatasetRow& after) {
  return finish(header(poolId, identityId, after, "remove"), after);
}

}  // namespace tether::server::streams
