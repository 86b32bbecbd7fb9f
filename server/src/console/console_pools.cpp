// PoolsSection (console_sections.h): the console's pool list, pool page, creation, edits and
// usage history. Writes go through the same Store calls as `tetherd pool create` and
// `tetherd pool set-developer-provider` (app/pool_commands.cpp, app/auth_commands.cpp), with the
// same rules: a pool name of 1-128 Cognito name characters, a developer provider that is set
// once and never changes (its identities' logins are keyed by it).
#include <algorithm>
#include <cctype>

#include "auth/ids.h"
#include "console/console_sections.h"
#include "tether/limits.h"

namespace tether::server::console {
namespace {

using Json = nlohmann::json;

bool poolNameChar(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == ' ' || c == '\t' || c == '+' || c == '=' || c == ',' || c == '.' ||
         c == '@' || c == '-';
}

Status checkPoolName(const std::string& name) {
  if (name.empty() || name.size() > 128) return Status::invalidArgument("the pool name must have 1 to 128 characters");
  if (!std::all_of(name.begin(), name.end(), [](char c) { return poolNameChar(static_cast<unsigned char>(c)); }))
    return Status::invalidArgument("the pool name may contain only letters, digits, spaces and _+=,.@-");
  return Status::ok();
}

Status checkDeveloperProvider(const std::string& name) {
  if (name.size() > 128) return Status::invalidArgument("the developer provider name has at most 128 characters");
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
      }))
    return Status::invalidArgument("the developer provider name may contain only letters, digits and _.-");
  return Status::ok();
}

ApiResult invalid(const std::string& message) { return ApiResult::error(400, "InvalidParameter", message); }

}  // namespace

ApiResult storeError(const Status& s) { return ApiResult::error(500, "InternalError", "the store failed: " + s.message()); }

bool PoolsSection::handles(const ApiCall& call) const { return !call.segments.empty() && call.segments[0] == "pools"; }

ApiResult PoolsSection::call(const ApiCall& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1) {
    if (call.method == "GET") return list();
    if (call.method == "POST") return create(call);
  } else {
    if (Status s = validatePoolId(seg[1]); !s.isOk()) return invalid("bad pool ID: " + s.message());
    if (seg.size() == 2 && call.method == "GET") return get(seg[1]);
    if (seg.size() == 2 && call.method == "PUT") return update(seg[1], call);
    if (seg.size() == 3 && seg[2] == "usage-history" && call.method == "GET") return history(seg[1]);
  }
  return ApiResult::error(404, "NotFound", "no such API call");
}

Result<Json> PoolsSection::poolJson(const PoolInfo& pool, bool full) {
  TETHER_TRY(int64_t identities, store_.countPoolIdentities(pool.id));
  TETHER_TRY(PoolUsage usage, store_.poolUsage(pool.id));
  Json out = {{"id", pool.id},
              {"name", pool.name},
              {"allowGuests", pool.allowGuests},
              {"fromConfig", configPools_.count(pool.id) > 0},
              {"createdAt", pool.createdMs},
              {"usage", {{"identities", identities}, {"datasets", usage.datasetCount}, {"bytes", usage.dataStorage}}}};
  if (full) {
    TETHER_TRY(std::string developer, store_.getPoolDeveloperProvider(pool.id));
    out["developerProvider"] = developer;
    TETHER_RETURN_IF_ERROR(addSettingsJson(pool.id, out));  // login providers, events, streams
    out["usage"]["lastModified"] = usage.lastModifiedMs;
  }
  return out;
}

ApiResult PoolsSection::list() {
  Result<std::vector<PoolInfo>> pools = store_.listPools();
  if (!pools.isOk()) return storeError(pools.status());
  Json list = Json::array();
  for (const PoolInfo& p : *pools) {
    Result<Json> j = poolJson(p, false);
    if (!j.isOk()) return storeError(j.status());
    list.push_back(*j);
  }
  ApiResult r;
  r.body = {{"pools", list}};
  return r;
}

ApiResult PoolsSection::get(const std::string& poolId) {
  Result<std::optional<PoolInfo>> pool = store_.getPool(poolId);
  if (!pool.isOk()) return storeError(pool.status());
  if (!pool->has_value()) return ApiResult::error(404, "NotFound", "no pool " + poolId);
  Result<Json> j = poolJson(**pool, true);
  if (!j.isOk()) return storeError(j.status());
  ApiResult r;
  r.body = {{"pool", *j}};
  return r;
}

ApiResult PoolsSection::create(const ApiCall& call) {
  const Json& in = call.body;
  if (!in.is_object()) return invalid("the body must be a JSON object");
  if (!in.contains("name") || !in["name"].is_string()) return invalid("name (a string) is required");
  std::string name = in["name"].get<std::string>();
  if (Status s = checkPoolName(name); !s.isOk()) return invalid(s.message());
  bool guests = false;
  if (in.contains("allowGuests")) {
    if (!in["allowGuests"].is_boolean()) return invalid("allowGuests must be true or false");
    guests = in["allowGuests"].get<bool>();
  }
  std::string developer;
  if (in.contains("developerProvider") && !in["developerProvider"].is_null()) {
    if (!in["developerProvider"].is_string()) return invalid("developerProvider must be a string");
    developer = in["developerProvider"].get<std::string>();
    if (Status s = checkDeveloperProvider(developer); !s.isOk()) return invalid(s.message());
  }
  PoolInfo pool{newRandomId(region_), name, guests, clock_.nowMs()};
  if (Status s = store_.putPool(pool); !s.isOk()) return storeError(s);
  if (!developer.empty())
    if (Status s = store_.setPoolDeveloperProvider(pool.id, developer); !s.isOk()) return storeError(s);
  ApiResult r = get(pool.id);
  r.status = r.status == 200 ? 201 : r.status;
  r.auditTarget = "pool " + pool.id;
  r.auditDetail = "created \"" + name + "\"" + (guests ? ", guests allowed" : "") +
                  (developer.empty() ? "" : ", developer provider " + developer);
  return r;
}

ApiResult PoolsSection::update(const std::string& poolId, const ApiCall& call) {
  auto audited = [&](ApiResult r) {
    r.auditTarget = "pool " + poolId;
    return r;
  };
  const Json& in = call.body;
  if (!in.is_object()) return audited(invalid("the body must be a JSON object"));
  Result<std::optional<PoolInfo>> found = store_.getPool(poolId);
  if (!found.isOk()) return audited(storeError(found.status()));
  if (!found->has_value()) return audited(ApiResult::error(404, "NotFound", "no pool " + poolId));
  if (configPools_.count(poolId) > 0)
    return audited(invalid("this pool is declared in the config file ([[pools]]), which is applied at every start; "
                           "edit it there"));
  PoolInfo pool = **found;
  std::string detail;
  if (in.contains("name")) {
    if (!in["name"].is_string()) return audited(invalid("name must be a string"));
    std::string name = in["name"].get<std::string>();
    if (Status s = checkPoolName(name); !s.isOk()) return audited(invalid(s.message()));
    if (name != pool.name) detail += "name \"" + pool.name + "\" -> \"" + name + "\"; ";
    pool.name = name;
  }
  if (in.contains("allowGuests")) {
    if (!in["allowGuests"].is_boolean()) return audited(invalid("allowGuests must be true or false"));
    bool guests = in["allowGuests"].get<bool>();
    if (guests != pool.allowGuests) detail += std::string("guests ") + (guests ? "on" : "off") + "; ";
    pool.allowGuests = guests;
  }
  std::string developer;
  bool setDeveloper = false;
  if (in.contains("developerProvider") && !in["developerProvider"].is_null()) {
    if (!in["developerProvider"].is_string()) return audited(invalid("developerProvider must be a string"));
    developer = in["developerProvider"].get<std::string>();
    if (Status s = checkDeveloperProvider(developer); !s.isOk()) return audited(invalid(s.message()));
    Result<std::string> current = store_.getPoolDeveloperProvider(poolId);
    if (!current.isOk()) return audited(storeError(current.status()));
    if (*current != developer) {
      if (!current->empty())
        return audited(invalid("the pool's developer provider is " + *current +
                               "; it cannot change (its identities' logins are keyed by it)"));
      setDeveloper = !developer.empty();
    }
  }
  Result<SettingsEdit> settings = checkSettings(poolId, in);
  if (!settings.isOk()) {
    if (settings.status().code() == StatusCode::kInvalidArgument) return audited(invalid(settings.status().message()));
    return audited(storeError(settings.status()));
  }
  if (Status s = store_.putPool(pool); !s.isOk()) return audited(storeError(s));
  if (setDeveloper) {
    if (Status s = store_.setPoolDeveloperProvider(poolId, developer); !s.isOk()) return audited(storeError(s));
    detail += "developer provider " + developer + "; ";
  }
  if (Status s = applySettings(poolId, *settings, detail); !s.isOk()) return audited(storeError(s));
  if (!detail.empty()) detail.resize(detail.size() - 2);
  ApiResult r = get(poolId);
  r.auditTarget = "pool " + poolId;
  r.auditDetail = detail.empty() ? "no change" : detail;
  return r;
}

ApiResult PoolsSection::history(const std::string& poolId) {
  Result<std::optional<PoolInfo>> found = store_.getPool(poolId);
  if (!found.isOk()) return storeError(found.status());
  if (!found->has_value()) return ApiResult::error(404, "NotFound", "no pool " + poolId);
  Result<std::vector<UsageSample>> samples = store_.listUsageSamples(poolId, clock_.nowMs() - kUsageHistoryMs);
  if (!samples.isOk()) return storeError(samples.status());
  Json points = Json::array();
  for (const UsageSample& u : *samples)
    points.push_back({{"at", u.bucketMs}, {"identities", u.identities}, {"datasets", u.datasets}, {"bytes", u.bytes}});
  ApiResult r;
  r.body = {{"points", points}};
  return r;
}

}  // namespace tether::server::console
