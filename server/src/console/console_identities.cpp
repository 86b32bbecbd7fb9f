// IdentitiesSection; see console_identities.h and docs/console.md ("Identities and data").
#include "console/console_identities.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "auth/login_unlink.h"
#include "console/console_section_util.h"
#include "tether/limits.h"

namespace tether::server::console {
namespace {

using Json = nlohmann::json;

// Search text longer than this is refused: no login subject or developer user ID is longer.
constexpr size_t kMaxSearchChars = 2048;
// A login is "provider:subject"; subjects may contain ':' too (ARNs, URLs), so the first few
// colons are each tried as the separator. Bounded: a query of colons must not cost a lookup each.
constexpr int kMaxLoginSplits = 4;
// Datasets read per step when the identity page lists them (an identity has at most 20 live,
// plus merged copies).
constexpr int kDatasetChunk = 64;

ApiResult noSuchCall(const ApiCall& call) {
  return notFound("No console call " + call.method + " identities/...");
}

// Search text: 1..kMaxSearchChars of UTF-8 without control characters, else the 400 to answer.
std::optional<ApiResult> checkSearchText(const char* name, const std::string& text) {
  if (text.size() > kMaxSearchChars)
    return invalidParameter(std::string(name) + " is longer than " + std::to_string(kMaxSearchChars) + " bytes");
  if (utf8Length(text) < 0) return invalidParameter(std::string(name) + " is not valid UTF-8");
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return invalidParameter(std::string(name) + " contains a control character");
  return std::nullopt;
}

// A query parameter; an empty value counts as absent.
const std::string* param(const ApiCall& call, const char* name) {
  const std::string* v = call.queryParam(name);
  return v != nullptr && !v->empty() ? v : nullptr;
}

struct Match {
  std::string identityId;
  std::string matchedBy;  // identityId, login, developerUserId
};

void addMatch(std::vector<Match>& matches, std::string id, const char* how) {
  for (const Match& m : matches)
    if (m.identityId == id) return;
  matches.push_back(Match{std::move(id), how});
}

}  // namespace

IdentitiesSection::IdentitiesSection(Store& store, SyncService& sync) : store_(store), sync_(sync) {}

bool IdentitiesSection::handles(const ApiCall& call) const {
  const auto& s = call.segments;
  if (s.empty() || s[0] != "identities") return false;
  if (s.size() <= 2) return true;
  return s.size() == 3 && (s[2] == "disable" || s[2] == "enable" || s[2] == "logins");
}

ApiResult IdentitiesSection::call(const ApiCall& call) {
  const auto& s = call.segments;
  if (s.size() == 1) return call.method == "GET" ? search(call) : noSuchCall(call);
  ApiResult out = identityCall(call);
  // Refused changes are audited too: name what they were aimed at.
  if (call.method != "GET" && out.auditTarget.empty()) out.auditTarget = "identity " + displayText(s[1]);
  return out;
}

ApiResult IdentitiesSection::identityCall(const ApiCall& call) {
  const auto& s = call.segments;
  LoadedIdentity loaded = loadIdentity(store_, s[1]);
  if (loaded.error) return std::move(*loaded.error);
  const IdentityInfo& identity = *loaded.identity;
  if (s.size() == 2) {
    if (call.method == "GET") return describe(identity);
    if (call.method == "DELETE") return remove(call, identity);
    return noSuchCall(call);
  }
  if ((s[2] == "disable" || s[2] == "enable") && call.method == "POST")
    return setDisabled(identity, s[2] == "disable");
  if (s[2] == "logins" && call.method == "DELETE") return unlink(call, identity);
  return noSuchCall(call);
}

Result<Json> IdentitiesSection::summary(const IdentityInfo& identity) {
  TETHER_TRY(std::vector<LoginLink> links, store_.listLogins(identity.id));
  Json logins = Json::array();
  for (const LoginLink& l : links) {
    logins.push_back({{"provider", displayText(l.provider)},
                      {"subject", displayText(l.subject)},
                      {"pending", isPendingLoginSubject(l.subject)}});
  }
  TETHER_TRY(proto::DescribeIdentityUsageResponse usage,
             sync_.describeIdentityUsage(Caller{identity.poolId, identity.id, ""}));
  return Json{{"identityId", identity.id},
              {"poolId", identity.poolId},
              {"disabled", identity.disabled},
              {"canEnable", identity.disabled && !links.empty()},
              {"logins", std::move(logins)},
              {"lastModified", epochMsOrNull(usage.lastModifiedMs)}};
}

ApiResult IdentitiesSection::search(const ApiCall& call) {
  const std::string* poolId = param(call, "pool");
  const std::string* q = param(call, "q");
  const std::string* provider = param(call, "provider");
  const std::string* subject = param(call, "subject");
  if (poolId != nullptr && !validatePoolId(*poolId).isOk())
    return invalidParameter("pool is not an identity pool ID: '" + displayText(*poolId) + "'");
  for (auto [name, text] : {std::pair{"q", q}, std::pair{"provider", provider}, std::pair{"subject", subject}})
    if (text != nullptr)
      if (auto bad = checkSearchText(name, *text)) return std::move(*bad);
  if ((provider == nullptr) != (subject == nullptr))
    return invalidParameter("provider and subject go together");
  bool bad = false;
  const int limit = static_cast<int>(queryInt(call, "limit", 1, kIdentitySearchLimit, &bad).value_or(kIdentitySearchLimit));
  if (bad) return invalidParameter("limit must be 1-" + std::to_string(kIdentitySearchLimit));

  std::vector<PoolInfo> pools;
  if (poolId != nullptr) {
    Result<std::optional<PoolInfo>> pool = store_.getPool(*poolId);
    if (!pool.isOk()) return statusError(pool.status());
    if (!*pool) return notFound("No identity pool " + *poolId);
    pools.push_back(std::move(**pool));
  } else {
    Result<std::vector<PoolInfo>> all = store_.listPools();
    if (!all.isOk()) return statusError(all.status());
    pools = std::move(*all);
  }
  auto inPools = [&pools](const std::string& id) {
    return std::any_of(pools.begin(), pools.end(), [&id](const PoolInfo& p) { return p.id == id; });
  };
  auto findLogin = [&](std::vector<Match>& out, std::string_view prov, std::string_view subj,
                       const char* how) -> Status {
    for (const PoolInfo& p : pools) {
      TETHER_TRY(std::optional<std::string> id, store_.findLogin(p.id, prov, subj));
      if (id) addMatch(out, std::move(*id), how);
    }
    return Status::ok();
  };

  std::vector<Match> matches;
  Json next = nullptr;
  if (q != nullptr) {
    if (validateIdentityId(*q).isOk()) {
      Result<std::optional<IdentityInfo>> found = store_.getIdentity(*q);
      if (!found.isOk()) return statusError(found.status());
      if (*found && inPools((*found)->poolId)) addMatch(matches, *q, "identityId");
    }
    for (const PoolInfo& p : pools) {
      Result<std::string> dev = store_.getPoolDeveloperProvider(p.id);
      if (!dev.isOk() && dev.status().code() != StatusCode::kNotFound) return statusError(dev.status());
      if (!dev.isOk() || dev->empty()) continue;
      Result<std::optional<std::string>> id = store_.findLogin(p.id, *dev, *q);
      if (!id.isOk()) return statusError(id.status());
      if (*id) addMatch(matches, std::move(**id), "developerUserId");
    }
    size_t from = 0;
    for (int split = 0; split < kMaxLoginSplits; ++split) {
      size_t colon = q->find(':', from);
      if (colon == std::string::npos) break;
      from = colon + 1;
      if (colon == 0 || colon + 1 == q->size()) continue;
      std::string_view text(*q);
      if (Status s = findLogin(matches, text.substr(0, colon), text.substr(colon + 1), "login"); !s.isOk())
        return statusError(s);
    }
  }
  if (provider != nullptr)
    if (Status s = findLogin(matches, *provider, *subject, "login"); !s.isOk()) return statusError(s);
  if (q == nullptr && provider == nullptr) {
    // No search: the pool's identities, by ID, a page at a time.
    if (poolId == nullptr) return invalidParameter("Give q (or provider and subject) to search, or pool to list");
    std::string after;
    if (const std::string* a = param(call, "after")) {
      if (!validateIdentityId(*a).isOk()) return invalidParameter("after is not an identity ID");
      after = *a;
    }
    Result<std::vector<IdentityInfo>> page = store_.listIdentities(*poolId, after, limit + 1);
    if (!page.isOk()) return statusError(page.status());
    for (const IdentityInfo& i : *page) addMatch(matches, i.id, "pool");
    if (matches.size() > static_cast<size_t>(limit)) {
      matches.resize(static_cast<size_t>(limit));
      next = matches.back().identityId;
    }
  }

  Json list = Json::array();
  for (const Match& m : matches) {
    if (static_cast<int>(list.size()) == limit) break;
    Result<std::optional<IdentityInfo>> found = store_.getIdentity(m.identityId);
    if (!found.isOk()) return statusError(found.status());
    if (!*found) continue;  // deleted meanwhile
    Result<Json> row = summary(**found);
    if (!row.isOk()) return statusError(row.status());
    (*row)["matchedBy"] = m.matchedBy;
    list.push_back(std::move(*row));
  }
  return ApiResult{200, Json{{"identities", std::move(list)}, {"next", next}}, "", ""};
}

ApiResult IdentitiesSection::describe(const IdentityInfo& identity) {
  Result<Json> out = summary(identity);
  if (!out.isOk()) return statusError(out.status());
  Json& body = *out;
  body["created"] = epochMsOrNull(identity.createdMs);

  Result<std::vector<DeviceInfo>> devices = store_.listDevices(identity.poolId, identity.id);
  if (!devices.isOk()) return statusError(devices.status());
  Json deviceList = Json::array();
  for (const DeviceInfo& d : *devices) {
    Result<std::vector<std::string>> subs = store_.listDeviceSubscriptions(identity.poolId, identity.id, d.deviceId);
    if (!subs.isOk()) return statusError(subs.status());
    Json subList = Json::array();
    for (const std::string& s : *subs) subList.push_back(displayText(s));
    // The push token is the provider's address of the phone: not shown.
    deviceList.push_back({{"deviceId", displayText(d.deviceId)},
                          {"platform", displayText(d.platform)},
                          {"created", epochMsOrNull(d.createdMs)},
                          {"subscriptions", std::move(subList)}});
  }
  body["devices"] = std::move(deviceList);

  // Datasets with the figures DescribeDataset reports (bytes = Cognito's DataStorage).
  Json datasets = Json::array();
  int64_t totalBytes = 0;
  {
    Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
    if (!txn.isOk()) return statusError(txn.status());
    const OwnerRef owner{identity.poolId, identity.id};
    std::string after;
    while (true) {
      Result<std::vector<DatasetRow>> rows = (*txn)->listDatasets(owner, DatasetFilter::kLiveOnly, after, kDatasetChunk);
      if (!rows.isOk()) return statusError(rows.status());
      for (const DatasetRow& row : *rows) {
        Result<std::vector<std::string>> merged = (*txn)->listMergedDatasets(owner, row.name);
        if (!merged.isOk()) return statusError(merged.status());
        totalBytes += row.dataStorage;
        datasets.push_back({{"name", row.name},
                            {"syncCount", row.syncCount},
                            {"records", row.numRecords},
                            {"bytes", row.dataStorage},
                            {"created", epochMsOrNull(row.creationMs)},
                            {"lastModified", epochMsOrNull(row.lastModifiedMs)},
                            {"lastModifiedBy", displayText(row.lastModifiedBy)},
                            {"mergedDatasets", *merged}});
      }
      if (rows->size() < static_cast<size_t>(kDatasetChunk)) break;
      after = rows->back().name;
    }
  }
  body["usage"] = {{"datasets", datasets.size()}, {"bytes", totalBytes}};
  body["datasets"] = std::move(datasets);
  body["limits"] = {{"datasetBytes", kMaxDatasetBytes},
                    {"datasetRecords", kMaxRecordsPerDataset},
                    {"datasets", kMaxDatasetsPerIdentity}};
  return ApiResult{200, std::move(body), "", ""};
}

ApiResult IdentitiesSection::setDisabled(const IdentityInfo& identity, bool disabled) {
  if (!disabled && identity.disabled) {
    // Only an identity that still has a login may come back: one without was merged into
    // another identity (its logins moved there) or lost its last login (UnlinkIdentity), and
    // enabling it would make it a guest anyone holding its ID could use. A disabled guest looks
    // the same and stays disabled too (docs/console.md).
    Result<std::vector<LoginLink>> links = store_.listLogins(identity.id);
    if (!links.isOk()) return statusError(links.status());
    if (links->empty()) {
      return ApiResult::error(kConsoleHttpConflict, "Conflict",
                              "Identity " + identity.id + " has no linked login: it was merged into another "
                              "identity, its last login was unlinked, or it is a guest. Enabling it would let "
                              "anyone holding its ID use it, so it stays disabled.");
    }
  }
  if (identity.disabled != disabled)
    if (Status s = store_.setIdentityDisabled(identity.id, disabled); !s.isOk()) return statusError(s);
  IdentityInfo now = identity;
  now.disabled = disabled;
  Result<Json> out = summary(now);
  if (!out.isOk()) return statusError(out.status());
  ApiResult r{200, std::move(*out), "identity " + identity.id, disabled ? "disabled" : "enabled"};
  if (identity.disabled == disabled) r.auditDetail += " (already)";
  return r;
}

ApiResult IdentitiesSection::unlink(const ApiCall& call, const IdentityInfo& identity) {
  const std::string* provider = param(call, "provider");
  const std::string* subject = param(call, "subject");
  if (provider == nullptr || subject == nullptr) return invalidParameter("provider and subject are required");
  Result<UnlinkOutcome> r = unlinkIdentityLogin(store_, identity.id, *provider, *subject);
  if (r.status().code() == StatusCode::kNotFound)
    return notFound("That login is not linked to identity " + identity.id);
  if (!r.isOk()) return statusError(r.status());
  IdentityInfo now = identity;
  now.disabled = identity.disabled || r->disabled;
  Result<Json> out = summary(now);
  if (!out.isOk()) return statusError(out.status());
  std::string detail = "unlinked login " + displayText(*provider) + ":" + displayText(*subject);
  if (r->disabled) detail += "; it was the last login, the identity is disabled";
  return ApiResult{200, std::move(*out), "identity " + identity.id, std::move(detail)};
}

ApiResult IdentitiesSection::remove(const ApiCall& call, const IdentityInfo& identity) {
  const Json& body = call.body;
  auto confirm = body.is_object() ? body.find("confirm") : body.end();
  if (!body.is_object() || confirm == body.end() || !confirm->is_string() ||
      confirm->get<std::string>() != identity.id) {
    return invalidParameter("To delete identity " + identity.id +
                            ", send {\"confirm\": \"<its identity ID>\"}: nothing was deleted");
  }
  Status s = store_.deleteIdentity(identity.id);
  if (!s.isOk()) return statusError(s);
  return ApiResult{200, Json{{"deleted", identity.id}}, "identity " + identity.id,
                   "deleted with its logins, devices and datasets"};
}

}  // namespace tether::server::console
