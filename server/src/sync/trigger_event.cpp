// Sync-trigger event and reply; see trigger_event.h.
#include "sync/trigger_event.h"

#include <nlohmann/json.hpp>

namespace tether::server {
namespace {

using Json = nlohmann::json;

// A trigger reply is an object of objects of strings: depth 3. A reply nested far deeper is not
// a trigger reply, and refusing it before parsing keeps the recursive parser's stack bounded.
constexpr int kMaxReplyDepth = 16;

bool tooDeep(std::string_view text) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxReplyDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

Status bad(const std::string& why) { return Status::triggerFailed("sync trigger reply: " + why); }

std::string regionOf(const std::string& poolId) {
  const size_t colon = poolId.find(':');
  return colon == std::string::npos ? std::string() : poolId.substr(0, colon);
}

}  // namespace

std::string buildTriggerEvent(const TriggerEventInput& in) {
  Json records = Json::object();
  for (const Record& r : *in.live) {
    if (!r.value) continue;
    records[r.key] = Json{{"oldValue", *r.value}, {"newValue", *r.value}, {"op", "replace"}};
  }
  for (const RecordPatch& p : *in.patches) {
    Json entry = Json::object();
    auto it = records.find(p.key);
    if (it != records.end()) entry["oldValue"] = (*it)["oldValue"];
    if (p.op == PatchOp::kReplace) entry["newValue"] = p.value;
    entry["op"] = p.op == PatchOp::kReplace ? "replace" : "remove";
    records[p.key] = std::move(entry);
  }
  Json event = {{"version", 2},
                {"eventType", "SyncTrigger"},
                {"region", regionOf(in.poolId)},
                {"identityPoolId", in.poolId},
                {"identityId", in.identityId},
                {"datasetName", in.datasetName},
                {"datasetRecords", std::move(records)}};
  // Values are UTF-8 checked on the way in; replace keeps a stored oddity from aborting the dump.
  return event.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::map<std::string, std::optional<std::string>>> parseTriggerReply(std::string_view reply,
                                                                             std::string_view eventText) {
  if (tooDeep(reply)) return bad("nested deeper than " + std::to_string(kMaxReplyDepth) + " levels");
  Json out = Json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return bad("not valid JSON");
  if (!out.is_object()) return bad("not a JSON object");
  Json event = Json::parse(eventText, nullptr, false);
  if (event.is_discarded()) return Status::internal("sync trigger event is not JSON");
  // Only datasetRecords may change (spec 5.1): every other field exactly as sent, none added.
  for (auto it = out.begin(); it != out.end(); ++it) {
    if (it.key() == "datasetRecords") continue;
    auto sent = event.find(it.key());
    if (sent == event.end()) return bad("added field " + it.key());
    if (*sent != it.value()) return bad("changed field " + it.key() + " (only datasetRecords may change)");
  }
  for (auto it = event.begin(); it != event.end(); ++it)
    if (!out.contains(it.key())) return bad("missing field " + it.key());

  std::map<std::string, std::optional<std::string>> result;
  const Json& records = out["datasetRecords"];
  if (!records.is_object()) return bad("datasetRecords is not an object");
  for (auto it = records.begin(); it != records.end(); ++it) {
    const std::string& key = it.key();
    const Json& entry = it.value();
    if (!entry.is_object()) return bad("datasetRecords." + key + " is not an object");
    auto op = entry.find("op");
    if (op == entry.end() || !op->is_string() || (*op != "replace" && *op != "remove"))
      return bad("datasetRecords." + key + ".op must be \"replace\" or \"remove\"");
    auto nv = entry.find("newValue");
    if (nv != entry.end() && !nv->is_null() && !nv->is_string())
      return bad("datasetRecords." + key + ".newValue must be a string or null");
    if (*op == "remove" || nv == entry.end() || nv->is_null()) result[key] = std::nullopt;
    else result[key] = nv->get<std::string>();
  }
  return result;
}

}  // namespace tether::server
