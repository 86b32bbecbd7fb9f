// PoolsSection's login providers and events/streams settings (docs/console.md, "Pools"): the
// same rows and meta documents `tetherd pool add-oidc-provider` / `remove-oidc-provider`
// (app/auth_commands.cpp) and Cognito's SetCognitoEvents / SetIdentityPoolConfiguration
// (cognito/sync_api.cpp) write, with the same checks. An edit names the whole wanted state of
// each member it carries: `oidcProviders` is the full list (providers missing from it are
// removed), `syncTrigger` "" removes the trigger, `cognitoStreams` / `pushSync` {} remove them.
// Every member is checked before anything is written, so a refused edit changes nothing.
#include <algorithm>
#include <map>
#include <set>

#include "auth/config.h"
#include "auth/login_providers.h"
#include "auth/oidc_verifier.h"
#include "console/console_sections.h"
#include "sync/pool_settings.h"

namespace tether::server::console {

using Json = nlohmann::json;

namespace {

Result<Json> loadMetaObject(Store& store, const std::string& key) {
  TETHER_TRY(std::optional<std::string> text, store.getMeta(key));
  if (!text) return Json::object();
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object()) return Status::corruption("the stored settings " + key + " are not a JSON object");
  return j;
}

// An optional string member of `o`; a present non-string is an error naming `where`.
Result<std::optional<std::string>> optString(const Json& o, const char* member, const std::string& where) {
  auto it = o.find(member);
  if (it == o.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Status::invalidArgument(where + "." + member + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<OidcProviderRow> oidcRow(const std::string& poolId, const Json& p, const std::string& developer, int64_t nowMs) {
  const std::string where = "oidcProviders[" + (p.is_object() && p.contains("name") && p["name"].is_string()
                                                     ? p["name"].get<std::string>() : std::string("?")) + "]";
  if (!p.is_object()) return Status::invalidArgument("every entry of oidcProviders must be an object");
  OidcProviderRow row;
  row.poolId = poolId;
  row.createdMs = nowMs;
  TETHER_TRY(std::optional<std::string> name, optString(p, "name", where));
  TETHER_TRY(std::optional<std::string> issuer, optString(p, "issuer", where));
  TETHER_TRY(std::optional<std::string> jwksFile, optString(p, "jwksFile", where));
  row.name = name.value_or("");
  TETHER_RETURN_IF_ERROR(validateOidcProviderName(row.name));
  if (row.name == developer)
    return Status::invalidArgument(where + ": the pool's developer provider already has this name");
  row.issuer = issuer.value_or("");
  if (row.issuer.empty()) return Status::invalidArgument(where + ".issuer must not be empty");
  auto aud = p.find("audiences");
  if (aud == p.end() || !aud->is_array() || aud->empty())
    return Status::invalidArgument(where + ".audiences must be a non-empty list of strings");
  for (const Json& a : *aud) {
    if (!a.is_string() || a.get<std::string>().empty() || a.get<std::string>().find('\n') != std::string::npos)
      return Status::invalidArgument(where + ".audiences must be non-empty one-line strings");
    row.audiences.push_back(a.get<std::string>());
  }
  row.jwksFile = jwksFile.value_or("");
  if (auto jwks = p.find("jwks"); jwks != p.end() && !jwks->is_null())
    row.jwks = jwks->is_string() ? jwks->get<std::string>() : jwks->dump();
  if (row.jwksFile.empty() == row.jwks.empty())
    return Status::invalidArgument(where + ": give exactly one of jwks (the JWKS document) and jwksFile");
  if (auto leeway = p.find("leewaySeconds"); leeway != p.end() && !leeway->is_null()) {
    if (!leeway->is_number_integer() || leeway->get<int64_t>() < 0 || leeway->get<int64_t>() > 600)
      return Status::invalidArgument(where + ".leewaySeconds must be an integer from 0 to 600");
    row.leewaySeconds = leeway->get<int>();
  }
  // Refuse what the server could not use: the checks and JWKS parsing a login will do.
  if (Result<std::unique_ptr<OidcVerifier>> v = OidcVerifier::create(LoginProviders::configOf(row)); !v.isOk())
    return Status::invalidArgument(where + ": " + v.status().message());
  return row;
}

}  // namespace

Result<PoolsSection::SettingsEdit> PoolsSection::checkSettings(const std::string& poolId, const Json& in) {
  SettingsEdit edit;
  if (auto it = in.find("oidcProviders"); it != in.end() && !it->is_null()) {
    if (!it->is_array()) return Status::invalidArgument("oidcProviders must be a list");
    TETHER_TRY(std::string developer, store_.getPoolDeveloperProvider(poolId));
    if (auto d = in.find("developerProvider"); d != in.end() && d->is_string()) developer = d->get<std::string>();
    std::vector<OidcProviderRow> rows;
    std::set<std::string> names;
    for (const Json& p : *it) {
      TETHER_TRY(OidcProviderRow row, oidcRow(poolId, p, developer, clock_.nowMs()));
      if (!names.insert(row.name).second) return Status::invalidArgument("oidcProviders names " + row.name + " twice");
      rows.push_back(std::move(row));
    }
    edit.oidc = std::move(rows);
  }
  if (auto it = in.find("syncTrigger"); it != in.end() && !it->is_null()) {
    if (!it->is_string()) return Status::invalidArgument("syncTrigger must be a string (an ARN, or empty for none)");
    const std::string arn = it->get<std::string>();
    if (arn.size() > 2048 || arn.find_first_of("\r\n") != std::string::npos)
      return Status::invalidArgument("syncTrigger must be one line of at most 2048 characters");
    edit.events = arn.empty() ? Json::object() : Json{{"SyncTrigger", arn}};
  }
  const bool streams = in.contains("cognitoStreams") && !in["cognitoStreams"].is_null();
  const bool push = in.contains("pushSync") && !in["pushSync"].is_null();
  if (streams || push) {
    TETHER_TRY(Json config, loadMetaObject(store_, poolConfigurationMetaKey(poolId)));
    if (streams) {
      const Json& c = in["cognitoStreams"];
      if (!c.is_object()) return Status::invalidArgument("cognitoStreams must be an object");
      TETHER_TRY(std::optional<std::string> name, optString(c, "StreamName", "cognitoStreams"));
      TETHER_TRY(std::optional<std::string> role, optString(c, "RoleArn", "cognitoStreams"));
      TETHER_TRY(std::optional<std::string> status, optString(c, "StreamingStatus", "cognitoStreams"));
      for (const auto& [k, v] : c.items())
        if (k != "StreamName" && k != "RoleArn" && k != "StreamingStatus")
          return Status::invalidArgument("cognitoStreams has no member " + k + " (StreamName, RoleArn, StreamingStatus)");
      if (name && (name->empty() || name->size() > 128))
        return Status::invalidArgument("cognitoStreams.StreamName must be 1-128 characters");
      if (status && *status != "ENABLED" && *status != "DISABLED")
        return Status::invalidArgument("cognitoStreams.StreamingStatus must be ENABLED or DISABLED");
      if (c.empty()) config.erase("CognitoStreams");
      else config["CognitoStreams"] = c;
    }
    if (push) {
      const Json& p = in["pushSync"];
      if (!p.is_object()) return Status::invalidArgument("pushSync must be an object");
      for (const auto& [k, v] : p.items()) {
        if (k == "RoleArn" && v.is_string()) continue;
        if (k == "ApplicationArns" && v.is_array() &&
            std::all_of(v.begin(), v.end(), [](const Json& a) { return a.is_string(); }))
          continue;
        return Status::invalidArgument("pushSync takes ApplicationArns (a list of strings) and RoleArn (a string)");
      }
      if (p.empty()) config.erase("PushSync");
      else config["PushSync"] = p;
    }
    edit.configuration = std::move(config);
  }
  return edit;
}

Status PoolsSection::applySettings(const std::string& poolId, const SettingsEdit& edit, std::string& detail) {
  if (edit.oidc) {
    TETHER_TRY(std::vector<OidcProviderRow> current, store_.listOidcProviders(poolId));
    std::map<std::string, const OidcProviderRow*> have;
    for (const OidcProviderRow& r : current) have[r.name] = &r;
    std::set<std::string> wanted;
    for (const OidcProviderRow& r : *edit.oidc) {
      wanted.insert(r.name);
      auto it = have.find(r.name);
      if (it != have.end()) {
        OidcProviderRow same = r;
        same.createdMs = it->second->createdMs;
        if (same == *it->second) continue;
      }
      TETHER_RETURN_IF_ERROR(store_.putOidcProvider(r));
      detail += "login provider " + r.name + (it == have.end() ? " added; " : " changed; ");
    }
    for (const OidcProviderRow& r : current)
      if (!wanted.count(r.name)) {
        TETHER_RETURN_IF_ERROR(store_.deleteOidcProvider(poolId, r.name));
        detail += "login provider " + r.name + " removed; ";
      }
  }
  if (edit.events) {
    TETHER_TRY(Json before, loadMetaObject(store_, cognitoEventsMetaKey(poolId)));
    if (before != *edit.events) {
      TETHER_RETURN_IF_ERROR(store_.putMeta(cognitoEventsMetaKey(poolId), edit.events->dump()));
      detail += edit.events->empty() ? "sync trigger removed; "
                                     : "sync trigger " + (*edit.events)["SyncTrigger"].get<std::string>() + "; ";
    }
  }
  if (edit.configuration) {
    TETHER_TRY(Json before, loadMetaObject(store_, poolConfigurationMetaKey(poolId)));
    if (before != *edit.configuration) {
      TETHER_RETURN_IF_ERROR(store_.putMeta(poolConfigurationMetaKey(poolId), edit.configuration->dump()));
      detail += "streams/push configuration changed; ";
    }
  }
  return Status::ok();
}

Status PoolsSection::addSettingsJson(const std::string& poolId, Json& out) {
  TETHER_TRY(std::vector<OidcProviderRow> oidc, store_.listOidcProviders(poolId));
  Json providers = Json::array();
  for (const OidcProviderRow& o : oidc) {
    Json p = {{"name", o.name}, {"issuer", o.issuer}, {"audiences", o.audiences}, {"leewaySeconds", o.leewaySeconds}};
    if (!o.jwksFile.empty()) p["jwksFile"] = o.jwksFile;
    else p["jwks"] = Json::parse(o.jwks, nullptr, false).is_discarded() ? Json(o.jwks) : Json::parse(o.jwks);
    providers.push_back(std::move(p));
  }
  out["oidcProviders"] = std::move(providers);
  TETHER_TRY(Json events, loadMetaObject(store_, cognitoEventsMetaKey(poolId)));
  out["syncTrigger"] = events.contains("SyncTrigger") && events["SyncTrigger"].is_string() ? events["SyncTrigger"] : Json("");
  TETHER_TRY(Json config, loadMetaObject(store_, poolConfigurationMetaKey(poolId)));
  out["cognitoStreams"] = config.contains("CognitoStreams") ? config["CognitoStreams"] : Json::object();
  out["pushSync"] = config.contains("PushSync") ? config["PushSync"] : Json::object();
  return Status::ok();
}

}  // namespace tether::server::console
