// Cognito Sync operations; see sync_api.h.
#include "cognito/sync_api.h"

#include <charconv>

#include "auth/ids.h"
#include "cognito/pool_page.h"
#include "sync/sync_trigger.h"
#include "sync/bulk_publish.h"
#include "tether/limits.h"

namespace tether::server::cognito {
namespace {

constexpr Service kSvc = Service::kSync;
// Meta keys under which the per-pool settings live.
std::string eventsKey(const std::string& poolId) { return cognitoEventsMetaKey(poolId); }
std::string configKey(const std::string& poolId) { return poolConfigurationMetaKey(poolId); }
// ListIdentityPoolUsage page size (the model has no documented maximum).
constexpr int64_t kMaxPoolUsagePage = 60;
// RegisterDevice: devices kept per identity. A push token that rotates registers a new device;
// past this many the oldest registrations (and their subscriptions) are dropped. Raising it keeps
// more stale devices; lowering it can drop a device still in use by an identity on many phones.
constexpr int kMaxDevicesPerIdentity = 64;
// SubscribeToDataset: datasets per device. 20 live datasets per identity plus merged copies
// ("name.<identity>") and not-yet-created names; a bound keeps a client loop from growing the table.
constexpr int kMaxSubscriptionsPerDevice = 100;
// RegisterDevice Token: the model has no maximum; APNs tokens are 64 hex chars, FCM ~160-4096.
constexpr size_t kMaxPushTokenBytes = 4096;

ApiError invalid(std::string m) { return ApiError::invalidParameter(std::move(m)); }
ApiError fail(const Status& s) { return fromStatus(kSvc, s); }

ApiResult<std::optional<int64_t>> queryInt(const HttpRequest& req, const char* name, int64_t min, int64_t max) {
  const std::string* v = req.queryParam(name);
  if (v == nullptr) return std::optional<int64_t>();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || out < min || out > max)
    return invalid("1 validation error detected: Value '" + *v + "' at '" + name + "' failed to satisfy constraint");
  return std::optional<int64_t>(out);
}

Json datasetJson(const std::string& identityId, const DatasetMetadata& d) {
  return Json{{"IdentityId", identityId},
              {"DatasetName", d.name},
              {"CreationDate", epochSeconds(d.creationMs)},
              {"LastModifiedDate", epochSeconds(d.lastModifiedMs)},
              {"LastModifiedBy", d.lastModifiedBy},
              {"DataStorage", d.dataStorage},
              {"NumRecords", d.numRecords}};
}

Json recordJson(const Record& r) {
  Json j = {{"Key", r.key},
            {"SyncCount", r.syncCount},
            {"LastModifiedDate", epochSeconds(r.lastModifiedMs)},
            {"LastModifiedBy", r.lastModifiedBy},
            {"DeviceLastModifiedDate", epochSeconds(r.deviceLastModifiedMs)}};
  if (r.value) j["Value"] = *r.value;
  return j;
}

ApiResult<std::vector<RecordPatch>> parsePatches(const Json& in) {
  std::vector<RecordPatch> out;
  auto it = in.find("RecordPatches");
  if (it == in.end() || it->is_null()) return out;
  if (!it->is_array()) return invalid("RecordPatches must be a list");
  if (it->size() > static_cast<size_t>(kMaxPatchesPerBatch))
    return invalid("RecordPatches must have at most 1024 entries");
  for (const Json& p : *it) {
    if (!p.is_object()) return invalid("Each RecordPatch must be an object");
    RecordPatch patch;
    API_TRY(std::optional<std::string> op, getString(p, "Op", true));
    if (*op == "replace") patch.op = PatchOp::kReplace;
    else if (*op == "remove") patch.op = PatchOp::kRemove;
    else return invalid("1 validation error detected: Value '" + *op +
                        "' at 'recordPatches.member.op' failed to satisfy constraint: Member must satisfy enum "
                        "value set: [replace, remove]");
    API_TRY(std::optional<std::string> key, getString(p, "Key", true));
    patch.key = *key;
    API_TRY(std::optional<std::string> value, getString(p, "Value"));
    patch.value = value.value_or("");
    API_TRY(std::optional<int64_t> syncCount, getInt(p, "SyncCount", true));
    patch.syncCount = *syncCount;
    API_TRY(std::optional<int64_t> dlm, getEpochMs(p, "DeviceLastModifiedDate"));
    patch.deviceLastModifiedMs = dlm.value_or(0);
    out.push_back(std::move(patch));
  }
  return out;
}

ApiResult<proto::UpdateRecordsRequest> parseUpdate(const SyncRoute& route, const HttpRequest& request) {
  API_TRY(Json in, parseObject(request.body));
  API_TRY(std::optional<std::string> token, getString(in, "SyncSessionToken", true));
  API_TRY(std::optional<std::string> deviceId, getString(in, "DeviceId"));
  API_TRY(std::vector<RecordPatch> patches, parsePatches(in));
  proto::UpdateRecordsRequest req;
  req.datasetName = route.datasetName;
  req.syncSessionToken = *token;
  req.deviceId = deviceId.value_or("");
  req.patches = std::move(patches);
  return req;
}

// Every record written, including those the sync trigger changed or added (spec 3.3 step 6).
ApiResult<Json> updateResponse(const Result<proto::UpdateRecordsResponse>& r) {
  if (!r.isOk()) return fail(r.status());
  Json records = Json::array();
  for (const Record& rec : r->records) records.push_back(recordJson(rec));
  return Json{{"Records", records}};
}

ApiResult<Json> loadMeta(Store& store, const std::string& key) {
  Result<std::optional<std::string>> v = store.getMeta(key);
  if (!v.isOk()) return fail(v.status());
  if (!*v) return Json::object();
  Json j = Json::parse(**v, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(Status::corruption("stored setting " + key + " is not JSON"));
  return j;
}

}  // namespace

ApiResult<Principal> SyncApi::admit(const SyncRoute& route, const HttpRequest& request) {
  API_TRY(Principal who, ctx_.authenticator.authenticate(request, route.canonicalUri, "cognito-sync"));
  if (!route.poolId.empty() && !validatePoolId(route.poolId).isOk())
    return invalid("1 validation error detected: Value '" + route.poolId +
                   "' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression "
                   "pattern: [\\w-]+:[0-9a-f-]+");
  if (route.identityId.empty()) {
    if (!who.isDeveloper())
      return ApiError::notAuthorized(kSvc, "Operation " + std::string(syncOpName(route.op)) +
                                               " requires developer credentials.");
    return who;
  }
  if (!validateIdentityId(route.identityId).isOk())
    return invalid("1 validation error detected: Value '" + route.identityId +
                   "' at 'identityId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                   "[\\w-]+:[0-9a-f-]+");
  if (!who.isDeveloper() && (who.poolId != route.poolId || who.identityId != route.identityId))
    return ApiError::notAuthorized(kSvc, "Access to Identity '" + route.identityId + "' is forbidden.");
  return who;
}

ApiResult<Json> SyncApi::call(const SyncRoute& route, const HttpRequest& request) {
  API_TRY(Principal who, admit(route, request));
  if (route.identityId.empty()) return poolLevel(route, request);
  return perIdentity(route, request, who);
}

void SyncApi::callAsync(const SyncRoute& route, const HttpRequest& request, Done done) {
  if (route.op != SyncOp::kUpdateRecords) return done(call(route, request));
  ApiResult<Principal> who = admit(route, request);
  if (!who.isOk()) return done(who.error());
  ApiResult<Caller> caller = identityCaller(route, request, *who);
  if (!caller.isOk()) return done(caller.error());
  ApiResult<proto::UpdateRecordsRequest> req = parseUpdate(route, request);
  if (!req.isOk()) return done(req.error());
  ctx_.sync.updateRecordsAsync(*caller, std::move(*req), [done = std::move(done)](Result<proto::UpdateRecordsResponse> r) {
    done(updateResponse(r));
  });
}

ApiResult<Caller> SyncApi::identityCaller(const SyncRoute& route, const HttpRequest& request, const Principal& who) {
  // The identity must exist in the pool and not be disabled (merged away, unlinked).
  Result<std::optional<IdentityInfo>> identity = ctx_.store.getIdentity(route.identityId);
  if (!identity.isOk()) return fail(identity.status());
  if (!*identity || (*identity)->poolId != route.poolId) {
    if (!who.isDeveloper())
      return ApiError::notAuthorized(kSvc, "Access to Identity '" + route.identityId + "' is forbidden.");
    return ApiError::notFound(kSvc, "Identity '" + route.identityId + "' not found.");
  }
  if ((*identity)->disabled)
    return ApiError::notAuthorized(kSvc, "Access to Identity '" + route.identityId + "' is forbidden.");

  Caller caller{route.poolId, route.identityId, ""};
  caller.developer = who.isDeveloper();  // no sync trigger for developer writes (spec 3.1)
  // Writes are rate-limited per client address and per pool (docs/security.md).
  if (ctx_.limiter && (route.op == SyncOp::kUpdateRecords || route.op == SyncOp::kDeleteDataset) &&
      (!ctx_.limiter->allowAddress(RateKind::kWrites, request.peer) ||
       !ctx_.limiter->allowPool(RateKind::kWrites, route.poolId)))
    return fromStatus(kSvc, Status::tooManyRequests("Rate exceeded: too many writes"));
  if (!route.datasetName.empty() && !validateDatasetName(route.datasetName).isOk())
    return invalid("1 validation error detected: Value '" + route.datasetName +
                   "' at 'datasetName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                   "[a-zA-Z0-9_.:-]+ and have length between 1 and 128");
  return caller;
}

ApiResult<Json> SyncApi::perIdentity(const SyncRoute& route, const HttpRequest& request, const Principal& who) {
  API_TRY(Caller caller, identityCaller(route, request, who));
  switch (route.op) {
    case SyncOp::kDescribeIdentityUsage: {
      Result<proto::DescribeIdentityUsageResponse> r = ctx_.sync.describeIdentityUsage(caller);
      if (!r.isOk()) return fail(r.status());
      Json usage = {{"IdentityId", r->identityId},
                    {"IdentityPoolId", r->identityPoolId},
                    {"DatasetCount", r->datasetCount},
                    {"DataStorage", r->dataStorage}};
      if (r->lastModifiedMs > 0) usage["LastModifiedDate"] = epochSeconds(r->lastModifiedMs);
      return Json{{"IdentityUsage", usage}};
    }
    case SyncOp::kListDatasets: {
      API_TRY(std::optional<int64_t> max, queryInt(request, "maxResults", 1, INT32_MAX));
      proto::ListDatasetsRequest req;
      req.maxResults = static_cast<uint32_t>(max.value_or(0));
      if (const std::string* t = request.queryParam("nextToken")) req.nextToken = *t;
      Result<proto::ListDatasetsResponse> r = ctx_.sync.listDatasets(caller, req);
      if (!r.isOk()) return fail(r.status());
      Json list = Json::array();
      for (const DatasetMetadata& d : r->datasets) list.push_back(datasetJson(route.identityId, d));
      Json out = {{"Datasets", list}, {"Count", list.size()}};
      if (!r->nextToken.empty()) out["NextToken"] = r->nextToken;
      return out;
    }
    case SyncOp::kDescribeDataset: {
      Result<proto::DescribeDatasetResponse> r = ctx_.sync.describeDataset(caller, {route.datasetName});
      if (!r.isOk()) return fail(r.status());
      return Json{{"Dataset", datasetJson(route.identityId, r->dataset)}};
    }
    case SyncOp::kDeleteDataset: {
      Result<proto::DeleteDatasetResponse> r = ctx_.sync.deleteDataset(caller, {route.datasetName});
      if (!r.isOk()) return fail(r.status());
      return Json{{"Dataset", datasetJson(route.identityId, r->dataset)}};
    }
    case SyncOp::kListRecords: {
      API_TRY(std::optional<int64_t> last, queryInt(request, "lastSyncCount", INT64_MIN, INT64_MAX));
      API_TRY(std::optional<int64_t> max, queryInt(request, "maxResults", 1, INT32_MAX));
      proto::ListRecordsRequest req;
      req.datasetName = route.datasetName;
      req.lastSyncCount = last.value_or(0);
      req.maxResults = static_cast<uint32_t>(max.value_or(0));
      if (const std::string* t = request.queryParam("nextToken")) req.nextToken = *t;
      // syncSessionToken in ListRecords is accepted and ignored (spec 7.11).
      Result<proto::ListRecordsResponse> r = ctx_.sync.listRecords(caller, req);
      if (!r.isOk()) return fail(r.status());
      Json records = Json::array();
      for (const Record& rec : r->records) records.push_back(recordJson(rec));
      Json out = {{"Records", records},
                  {"Count", records.size()},
                  {"DatasetSyncCount", r->datasetSyncCount},
                  {"LastModifiedBy", r->lastModifiedBy},
                  {"MergedDatasetNames", r->mergedDatasetNames},
                  {"DatasetExists", r->datasetExists},
                  {"DatasetDeletedAfterRequestedSyncCount", r->datasetDeletedAfterRequestedSyncCount},
                  {"SyncSessionToken", r->syncSessionToken}};
      if (!r->nextToken.empty()) out["NextToken"] = r->nextToken;
      return out;
    }
    case SyncOp::kUpdateRecords: {
      API_TRY(proto::UpdateRecordsRequest req, parseUpdate(route, request));
      return updateResponse(ctx_.sync.updateRecords(caller, req));
    }
    case SyncOp::kRegisterDevice:
    case SyncOp::kSubscribeToDataset:
    case SyncOp::kUnsubscribeFromDataset:
      return pushSync(route, request, who);
    default:
      return ApiError::internal("route without handler");
  }
}

// ---- push sync (cognito-compat.md 5.3). Devices and subscriptions are stored; tetherd sends no
// mobile push: they drive live-sync notifications on native connections that present the
// DeviceId (docs/live-sync.md). No PushSync pool configuration is required for that.
ApiResult<Json> SyncApi::pushSync(const SyncRoute& route, const HttpRequest& request, const Principal& who) {
  // AWS: "can only be called with temporary credentials provided by Cognito Identity".
  if (who.isDeveloper())
    return ApiError::notAuthorized(kSvc, "Operation " + std::string(syncOpName(route.op)) +
                                             " requires the identity's own Cognito credentials.");
  if (route.op == SyncOp::kRegisterDevice) {
    API_TRY(Json in, parseObject(request.body));
    API_TRY(std::optional<std::string> platform, getString(in, "Platform", true));
    API_TRY(std::optional<std::string> token, getString(in, "Token", true));
    if (*platform != "APNS" && *platform != "APNS_SANDBOX" && *platform != "GCM" && *platform != "ADM")
      return invalid("1 validation error detected: Value '" + *platform +
                     "' at 'platform' failed to satisfy constraint: Member must satisfy enum value set: [APNS, "
                     "APNS_SANDBOX, GCM, ADM]");
    if (token->empty() || token->size() > kMaxPushTokenBytes)
      return invalid("1 validation error detected: Value at 'token' failed to satisfy constraint: Member must "
                     "have length between 1 and " + std::to_string(kMaxPushTokenBytes));
    // A DeviceId looks like an identity ID ("<region>:<uuid>"), region taken from the pool's ID.
    std::string region = route.poolId.substr(0, route.poolId.find(':'));
    DeviceInfo device{route.poolId, route.identityId, newRandomId(region), *platform, *token, ctx_.clock.nowMs()};
    Result<std::string> id = ctx_.store.registerDevice(device, kMaxDevicesPerIdentity);
    if (!id.isOk()) return fail(id.status());
    return Json{{"DeviceId", *id}};
  }
  if (!validateDeviceId(route.deviceId).isOk())
    return invalid("1 validation error detected: Value at 'deviceId' failed to satisfy constraint: Member must "
                   "have length between 1 and 256");
  Result<std::optional<DeviceInfo>> device = ctx_.store.getDevice(route.poolId, route.identityId, route.deviceId);
  if (!device.isOk()) return fail(device.status());
  if (!*device)
    return ApiError::notFound(kSvc, "Device '" + route.deviceId + "' is not registered for identity '" +
                                        route.identityId + "'.");
  const bool subscribing = route.op == SyncOp::kSubscribeToDataset;
  Status s = subscribing ? ctx_.store.subscribeDevice(route.poolId, route.identityId, route.deviceId,
                                                      route.datasetName, kMaxSubscriptionsPerDevice)
                         : ctx_.store.unsubscribeDevice(route.poolId, route.identityId, route.deviceId,
                                                        route.datasetName);
  if (!s.isOk()) {
    // Android's unsubscribe treats ResourceNotFound as "was not subscribed" (spec 3.3).
    if (s.code() == StatusCode::kNotFound)
      return ApiError::notFound(kSvc, "Device '" + route.deviceId + "' is not subscribed to dataset '" +
                                          route.datasetName + "'.");
    return fail(s);
  }
  // Committed: open native connections presenting this device follow at once. We run on the
  // identity's strand, like their subscribe, so the order of the two cannot invert.
  if (ctx_.deviceSubscriptions != nullptr) {
    if (subscribing)
      ctx_.deviceSubscriptions->deviceSubscribed(route.poolId, route.identityId, route.deviceId, route.datasetName);
    else
      ctx_.deviceSubscriptions->deviceUnsubscribed(route.poolId, route.identityId, route.deviceId,
                                                   route.datasetName);
  }
  return Json::object();
}

ApiResult<Json> SyncApi::poolUsage(const PoolInfo& pool) {
  Result<PoolUsage> u = ctx_.store.poolUsage(pool.id);
  if (!u.isOk()) return fail(u.status());
  Json out = {{"IdentityPoolId", pool.id}, {"SyncSessionsCount", 0}, {"DataStorage", u->dataStorage}};
  if (u->lastModifiedMs > 0) out["LastModifiedDate"] = epochSeconds(u->lastModifiedMs);
  return out;
}

ApiResult<Json> SyncApi::poolLevel(const SyncRoute& route, const HttpRequest& request) {
  if (route.op == SyncOp::kListIdentityPoolUsage) {
    API_TRY(std::optional<int64_t> max, queryInt(request, "maxResults", 1, INT32_MAX));
    int64_t limit = std::min(max.value_or(kMaxPoolUsagePage), kMaxPoolUsagePage);
    const std::string* next = request.queryParam("nextToken");
    Result<PoolPage> page = pagePools(ctx_.store, next, static_cast<size_t>(limit));
    if (!page.isOk()) return fail(page.status());
    Json list = Json::array();
    for (const PoolInfo& p : page->pools) {
      API_TRY(Json usage, poolUsage(p));
      list.push_back(std::move(usage));
    }
    Json out = {{"IdentityPoolUsages", list}, {"MaxResults", limit}, {"Count", list.size()}};
    if (page->nextToken) out["NextToken"] = *page->nextToken;
    return out;
  }
  Result<std::optional<PoolInfo>> pool = ctx_.store.getPool(route.poolId);
  if (!pool.isOk()) return fail(pool.status());
  if (!*pool) return ApiError::notFound(kSvc, "IdentityPool '" + route.poolId + "' not found.");
  switch (route.op) {
    case SyncOp::kDescribeIdentityPoolUsage: {
      API_TRY(Json usage, poolUsage(**pool));
      return Json{{"IdentityPoolUsage", usage}};
    }
    case SyncOp::kBulkPublish: {
      // The run itself is the stream publisher's (streams/bulk_publisher.h); this only starts it.
      Result<BulkStart> started = startBulkPublish(ctx_.store, route.poolId, configKey(route.poolId), ctx_.clock.nowMs());
      if (!started.isOk()) return fail(started.status());
      switch (*started) {
        case BulkStart::kStarted: return Json{{"IdentityPoolId", route.poolId}};
        case BulkStart::kDuplicate:
          return ApiError{400, "DuplicateRequestException", "A bulk publish of this identity pool is in progress."};
        case BulkStart::kAlreadyStreamed:
          return ApiError{400, "AlreadyStreamedException",
                          "This identity pool was bulk published less than 24 hours ago."};
        case BulkStart::kStreamingDisabled:
          return invalid("Cognito Streams is not enabled for this identity pool (CognitoStreams.StreamingStatus); "
                         "nothing to publish.");
      }
      return ApiError::internal("unknown bulk publish outcome");
    }
    case SyncOp::kGetBulkPublishDetails: {
      Result<BulkPublishState> s = bulkPublishDetails(ctx_.store, route.poolId);
      if (!s.isOk()) return fail(s.status());
      Json out = {{"IdentityPoolId", route.poolId}, {"BulkPublishStatus", s->status}};
      if (s->startMs > 0) out["BulkPublishStartTime"] = epochSeconds(s->startMs);
      if (s->completeMs > 0) out["BulkPublishCompleteTime"] = epochSeconds(s->completeMs);
      if (!s->failureMessage.empty()) out["FailureMessage"] = s->failureMessage;
      return out;
    }
    case SyncOp::kGetCognitoEvents: {
      API_TRY(Json events, loadMeta(ctx_.store, eventsKey(route.poolId)));
      return Json{{"Events", events}};
    }
    case SyncOp::kSetCognitoEvents: {
      API_TRY(Json in, parseObject(request.body));
      API_TRY(auto eventsIn, getStringMap(in, "Events", true));
      const std::map<std::string, std::string> events = eventsIn.value_or(std::map<std::string, std::string>());
      if (events.size() > 1) return invalid("Events may have at most 1 entry");
      for (const auto& [k, v] : events)
        if (k != "SyncTrigger") return invalid("Unsupported event type '" + k + "'; only SyncTrigger exists");
      Json stored = Json::object();
      for (const auto& [k, v] : events)
        if (!v.empty()) stored[k] = v;  // an empty ARN removes the trigger
      if (Status s = ctx_.store.putMeta(eventsKey(route.poolId), stored.dump()); !s.isOk()) return fail(s);
      return Json::object();
    }
    case SyncOp::kGetIdentityPoolConfiguration:
    case SyncOp::kSetIdentityPoolConfiguration: {
      API_TRY(Json config, loadMeta(ctx_.store, configKey(route.poolId)));
      if (route.op == SyncOp::kSetIdentityPoolConfiguration) {
        API_TRY(Json in, parseObject(request.body));
        if (auto push = in.find("PushSync"); push != in.end() && !push->is_null()) {
          if (!push->is_object()) return invalid("PushSync must be an object");
          API_TRY(auto arns, getStringList(*push, "ApplicationArns"));
          API_TRY(auto role, getString(*push, "RoleArn"));
          Json p = Json::object();
          if (arns) p["ApplicationArns"] = *arns;
          if (role) p["RoleArn"] = *role;
          config["PushSync"] = p;
        }
        if (auto streams = in.find("CognitoStreams"); streams != in.end() && !streams->is_null()) {
          if (!streams->is_object()) return invalid("CognitoStreams must be an object");
          API_TRY(auto name, getString(*streams, "StreamName"));
          API_TRY(auto role, getString(*streams, "RoleArn"));
          API_TRY(auto status, getString(*streams, "StreamingStatus"));
          if (name && (name->empty() || name->size() > 128)) return invalid("StreamName must be 1-128 characters");
          if (status && *status != "ENABLED" && *status != "DISABLED")
            return invalid("StreamingStatus must be ENABLED or DISABLED");
          Json c = Json::object();
          if (name) c["StreamName"] = *name;
          if (role) c["RoleArn"] = *role;
          if (status) c["StreamingStatus"] = *status;
          config["CognitoStreams"] = c;
        }
        if (Status s = ctx_.store.putMeta(configKey(route.poolId), config.dump()); !s.isOk()) return fail(s);
      }
      Json out = {{"IdentityPoolId", route.poolId}};
      if (config.contains("PushSync")) out["PushSync"] = config["PushSync"];
      if (config.contains("CognitoStreams")) out["CognitoStreams"] = config["CognitoStreams"];
      return out;
    }
    default:
      return ApiError::internal("route without handler");
  }
}

}  // namespace tether::server::cognito
