// DataSection; see console_data.h and docs/console.md ("Identities and data").
#include "console/console_data.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "console/console_section_util.h"
#include "tether/limits.h"

namespace tether::server::console {
namespace {

using Json = nlohmann::json;

// Records read per step when a page is assembled (a dataset holds at most 1,024 live records).
constexpr int kReadChunk = 1024;

ApiResult noSuchCall(const ApiCall& call) {
  return notFound("No console call " + call.method + " identities/.../datasets/...");
}

ApiResult identityDisabled(const IdentityInfo& identity) {
  return ApiResult::error(kConsoleHttpConflict, "IdentityDisabled",
                          "Identity " + identity.id + " is disabled: its data cannot be changed. Nothing was written.");
}

Caller consoleCaller(const IdentityInfo& identity, const ApiCall& call) {
  Caller caller{identity.poolId, identity.id, DataSection::consoleDeviceId(call.operatorName)};
  caller.developer = true;  // an administrative write: no sync trigger (see console_data.h)
  return caller;
}

std::string recordTarget(const IdentityInfo& identity, const std::string& dataset, const std::string& key) {
  return "identity " + identity.id + " dataset " + dataset + " record " + displayText(key);
}

Json datasetJson(const DatasetRow& row) {
  return Json{{"name", row.name},
              {"syncCount", row.syncCount},
              {"records", row.numRecords},
              {"bytes", row.dataStorage},
              {"lastModified", epochMsOrNull(row.lastModifiedMs)},
              {"lastModifiedBy", displayText(row.lastModifiedBy)}};
}

}  // namespace

DataSection::DataSection(Store& store, SyncService& sync, const SessionTokens& tokens, const Clock& clock)
    : store_(store), sync_(sync), tokens_(tokens), clock_(clock) {}

std::string DataSection::consoleDeviceId(const std::string& operatorName) {
  std::string id = "console:" + operatorName;
  return validateDeviceId(id).isOk() ? id : std::string("console");
}

bool DataSection::handles(const ApiCall& call) const {
  const auto& s = call.segments;
  if (s.size() < 4 || s[0] != "identities" || s[2] != "datasets") return false;
  return s.size() == 4 || ((s.size() == 5 || s.size() == 6) && s[4] == "records");
}

ApiResult DataSection::call(const ApiCall& call) {
  const auto& s = call.segments;
  LoadedIdentity loaded = loadIdentity(store_, s[1]);
  if (loaded.error) return std::move(*loaded.error);
  const IdentityInfo& identity = *loaded.identity;
  const std::string& dataset = s[3];
  if (Status v = validateDatasetName(dataset); !v.isOk())
    return invalidParameter("Not a dataset name: " + displayText(v.message()));
  if (s.size() == 4) return call.method == "DELETE" ? deleteDataset(call, identity, dataset) : noSuchCall(call);
  if (s.size() == 5) return call.method == "GET" ? listRecords(call, identity, dataset) : noSuchCall(call);
  const std::string& key = s[5];
  if (Status v = validateRecordKey(key); !v.isOk()) return invalidParameter("Not a record key: " + displayText(v.message()));
  ApiResult out = call.method == "PUT"      ? putRecord(call, identity, dataset, key)
                  : call.method == "DELETE" ? deleteRecord(call, identity, dataset, key)
                                            : noSuchCall(call);
  if (out.auditTarget.empty()) out.auditTarget = recordTarget(identity, dataset, key);
  return out;
}

ApiResult DataSection::listRecords(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset) {
  bool bad = false;
  const int limit = static_cast<int>(queryInt(call, "limit", 1, kRecordsPageMax, &bad).value_or(kRecordsPageDefault));
  if (bad) return invalidParameter("limit must be 1-" + std::to_string(kRecordsPageMax));
  bool tombstones = false;
  if (const std::string* t = call.queryParam("tombstones")) {
    if (*t == "1" || *t == "true") tombstones = true;
    else if (!t->empty() && *t != "0" && *t != "false") return invalidParameter("tombstones must be 1 or 0");
  }
  const std::string* after = call.queryParam("after");
  if (after != nullptr && after->empty()) after = nullptr;

  // One snapshot: the dataset row and every record up to its sync count, then key order.
  std::optional<DatasetRow> row;
  std::vector<Record> records;
  {
    Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
    if (!txn.isOk()) return statusError(txn.status());
    const OwnerRef owner{identity.poolId, identity.id};
    Result<std::optional<DatasetRow>> got = (*txn)->getDataset(owner, dataset);
    if (!got.isOk()) return statusError(got.status());
    row = std::move(*got);
    if (!row || !row->live) return notFound("Identity " + identity.id + " has no dataset " + dataset);
    RecordQuery query;
    query.maxSyncCount = row->syncCount;
    query.limit = kReadChunk;
    while (true) {
      Result<std::vector<Record>> page = (*txn)->listRecords(owner, dataset, query);
      if (!page.isOk()) return statusError(page.status());
      if (page->empty()) break;
      const bool more = page->size() == static_cast<size_t>(kReadChunk);
      query.after = RecordCursor{page->back().syncCount, page->back().key};  // before the moves below
      for (Record& r : *page) {
        if (r.isDeleted() && !tombstones) continue;
        if (after != nullptr && r.key <= *after) continue;
        records.push_back(std::move(r));
      }
      if (!more) break;
    }
  }
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  Json next = nullptr;
  if (records.size() > static_cast<size_t>(limit)) {
    records.resize(static_cast<size_t>(limit));
    next = displayText(records.back().key);
  }
  Json list = Json::array();
  for (const Record& r : records) list.push_back(recordJson(r));
  return ApiResult{200,
                   Json{{"records", std::move(list)},
                        {"next", std::move(next)},
                        {"syncCount", row->syncCount},
                        {"dataset", datasetJson(*row)}},
                   "", ""};
}

ApiResult DataSection::putRecord(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset,
                                 const std::string& key) {
  const Json& body = call.body;
  if (!body.is_object()) return invalidParameter("Send {\"value\": text, \"syncCount\": the record's sync count}");
  auto value = body.find("value");
  auto count = body.find("syncCount");
  if (value == body.end() || !value->is_string()) return invalidParameter("value must be a string");
  if (count == body.end() || !count->is_number_integer() || count->get<int64_t>() < 0)
    return invalidParameter("syncCount must be the record's sync count as shown (0 for a new record)");
  RecordPatch patch;
  patch.op = PatchOp::kReplace;
  patch.key = key;
  patch.value = value->get<std::string>();
  patch.syncCount = count->get<int64_t>();
  return writePatch(call, identity, dataset, std::move(patch));
}

ApiResult DataSection::deleteRecord(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset,
                                    const std::string& key) {
  bool bad = false;
  std::optional<int64_t> count = queryInt(call, "syncCount", 1, INT64_MAX, &bad);
  if (bad || !count) return invalidParameter("syncCount (the record's sync count as shown) is required");
  Result<std::optional<Record>> current = currentRecord(identity, dataset, key);
  if (!current.isOk()) return statusError(current.status());
  if (!*current || (*current)->isDeleted())
    return notFound("Dataset " + dataset + " has no record " + displayText(key));
  RecordPatch patch;
  patch.op = PatchOp::kRemove;
  patch.key = key;
  patch.syncCount = *count;
  return writePatch(call, identity, dataset, std::move(patch));
}

ApiResult DataSection::writePatch(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset,
                                  RecordPatch patch) {
  if (identity.disabled) return identityDisabled(identity);
  const int64_t now = clock_.nowMs();
  const Caller caller = consoleCaller(identity, call);
  const bool removing = patch.op == PatchOp::kRemove;
  const int64_t seen = patch.syncCount;
  patch.deviceLastModifiedMs = now;
  proto::UpdateRecordsRequest request;
  request.datasetName = dataset;
  request.syncSessionToken = tokens_.issue(identity.poolId, identity.id, dataset, now);
  request.deviceId = caller.deviceId;
  request.patches.push_back(std::move(patch));
  const std::string key = request.patches.front().key;

  Result<proto::UpdateRecordsResponse> r = sync_.updateRecords(caller, request);
  if (r.status().code() == StatusCode::kConflict) {
    // A device (or another operator) wrote first: show what is there now, write nothing.
    Result<std::optional<Record>> current = currentRecord(identity, dataset, key);
    if (!current.isOk()) return statusError(current.status());
    const int64_t nowCount = *current ? (*current)->syncCount : 0;
    std::string by = *current ? " by " + displayText((*current)->lastModifiedBy) : "";
    ApiResult out = ApiResult::error(kConsoleHttpConflict, "Conflict",
                                     "Record " + displayText(key) + " changed" + by + " since it was read: its sync count is " +
                                         std::to_string(nowCount) + ", not " + std::to_string(seen) +
                                         ". Nothing was written; reload it and try again.");
    out.body["current"] = *current ? recordJson(**current) : Json(nullptr);
    out.auditDetail = std::string(removing ? "delete" : "put") + " refused: sync count " + std::to_string(seen) +
                      " is stale (now " + std::to_string(nowCount) + ")";
    return out;
  }
  if (!r.isOk()) return statusError(r.status());
  Json record = r->records.empty() ? Json(nullptr) : recordJson(r->records.front());
  ApiResult out{200, Json{{"record", std::move(record)}, {"syncCount", r->syncCount}}, "",
                std::string(removing ? "deleted record" : "put record") + " (sync count " + std::to_string(seen) +
                    " -> " + std::to_string(r->syncCount) + ")"};
  return out;
}

ApiResult DataSection::deleteDataset(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset) {
  bool bad = false;
  std::optional<int64_t> count = queryInt(call, "syncCount", 0, INT64_MAX, &bad);
  if (bad) return invalidParameter("syncCount must be the dataset's sync count as shown");
  ApiResult out;
  if (identity.disabled) {
    out = identityDisabled(identity);
  } else if (count) {
    // The page's view of the dataset must still be current (checked before the deletion; the
    // deletion itself is DeleteDataset's, which has no condition).
    Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
    if (!txn.isOk()) return statusError(txn.status());
    Result<std::optional<DatasetRow>> row = (*txn)->getDataset(OwnerRef{identity.poolId, identity.id}, dataset);
    txn->reset();
    if (!row.isOk()) return statusError(row.status());
    if (*row && (*row)->live && (*row)->syncCount != *count) {
      out = ApiResult::error(kConsoleHttpConflict, "Conflict",
                             "Dataset " + dataset + " changed since it was read: its sync count is " +
                                 std::to_string((*row)->syncCount) + ", not " + std::to_string(*count) +
                                 ". Nothing was deleted.");
      out.body["current"] = datasetJson(**row);
    }
  }
  if (out.status == 200) {
    Result<proto::DeleteDatasetResponse> r = sync_.deleteDataset(consoleCaller(identity, call), {dataset});
    if (r.isOk()) {
      out = ApiResult{200, Json{{"deleted", dataset}}, "", "deleted dataset (" + std::to_string(r->dataset.numRecords) +
                                                               " records)"};
    } else {
      out = statusError(r.status());
    }
  }
  out.auditTarget = "identity " + identity.id + " dataset " + dataset;
  return out;
}

Result<std::optional<Record>> DataSection::currentRecord(const IdentityInfo& identity, const std::string& dataset,
                                                         const std::string& key) {
  TETHER_TRY(std::unique_ptr<StoreTransaction> txn, store_.beginRead());
  std::vector<std::string> keys{key};
  TETHER_TRY(std::vector<Record> found, txn->getRecords(OwnerRef{identity.poolId, identity.id}, dataset, keys));
  if (found.empty()) return std::optional<Record>();
  return std::optional<Record>(std::move(found.front()));
}

}  // namespace tether::server::console
