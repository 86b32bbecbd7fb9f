// See bulk_publish.h.
#include "sync/bulk_publish.h"
#include "sync/pool_settings.h"

#include <nlohmann/json.hpp>

namespace tether::server {

using Json = nlohmann::json;

std::string bulkPublishKey(std::string_view poolId) { return "cognito.bulk-publish:" + std::string(poolId); }

std::string encodeBulkPublish(const BulkPublishState& s) {
  return Json{{"status", s.status},   {"start", s.startMs},   {"complete", s.completeMs},
              {"failure", s.failureMessage}, {"stream", s.stream}, {"cursor", s.cursor},
              {"published", s.published}}
      .dump();
}

BulkPublishState decodeBulkPublish(const std::optional<std::string>& text) {
  BulkPublishState s;
  if (!text) return s;
  Json j = Json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return s;
  s.status = j.value("status", "NOT_STARTED");
  s.startMs = j.value("start", int64_t{0});
  s.completeMs = j.value("complete", int64_t{0});
  s.failureMessage = j.value("failure", "");
  s.stream = j.value("stream", "");
  s.cursor = j.value("cursor", "");
  s.published = j.value("published", int64_t{0});
  return s;
}

namespace {

// The stream of an enabled CognitoStreams configuration, "" otherwise (unreadable: as disabled).
std::string enabledStream(const std::optional<std::string>& configText) {
  Result<std::string> stream = enabledStreamOf(configText);
  return stream.isOk() ? *stream : std::string();
}

}  // namespace

Result<BulkStart> startBulkPublish(Store& store, std::string_view poolId, std::string_view configKey, int64_t nowMs) {
  const std::string key = bulkPublishKey(poolId);
  // Refused without writing anything when streaming is off (checked again below, locked).
  TETHER_TRY(std::optional<std::string> config, store.getMeta(configKey));
  if (enabledStream(config).empty()) return BulkStart::kStreamingDisabled;
  // The row must exist for the transaction to lock it.
  TETHER_RETURN_IF_ERROR(store.putMetaIfAbsent(key, encodeBulkPublish(BulkPublishState{})).status());
  return runWriteTransaction(store, [&](StoreTransaction& txn) -> Result<BulkStart> {
    TETHER_TRY(std::optional<std::string> text, txn.getMetaForUpdate(key));
    BulkPublishState s = decodeBulkPublish(text);
    if (s.status == "IN_PROGRESS") return BulkStart::kDuplicate;
    if (s.status == "SUCCEEDED" && nowMs - s.completeMs < kBulkPublishCooldownMs) return BulkStart::kAlreadyStreamed;
    TETHER_TRY(std::optional<std::string> configText, txn.getMeta(configKey));
    const std::string stream = enabledStream(configText);
    if (stream.empty()) return BulkStart::kStreamingDisabled;
    BulkPublishState next;
    next.status = "IN_PROGRESS";
    next.startMs = nowMs;
    next.stream = stream;
    TETHER_RETURN_IF_ERROR(txn.putMeta(key, encodeBulkPublish(next)));
    TETHER_RETURN_IF_ERROR(txn.commit());
    return BulkStart::kStarted;
  });
}

Result<BulkPublishState> bulkPublishDetails(Store& store, std::string_view poolId) {
  TETHER_TRY(std::optional<std::string> text, store.getMeta(bulkPublishKey(poolId)));
  return decodeBulkPublish(text);
}

}  // namespace tether::server
