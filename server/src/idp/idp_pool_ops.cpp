// User pools, app clients, MFA configuration and domains (spec cognito-user-pools.md 4.12, 4.9);
// see idp_api.h.
#include "idp/idp_api.h"

#include <regex>

#include "idp/crypto/idp_random.h"

namespace tether::server::idp {
namespace {

constexpr int kMaxPoolQuery = 60;

bool validPoolName(const std::string& name) {
  static const std::regex kPattern(R"([\w\s+=,.@-]+)");
  return !name.empty() && name.size() <= 128 && std::regex_match(name, kPattern);
}

ApiResult<int> maxResults(const Json& in, const char* name, bool required, int dflt) {
  API_TRY(auto v, cognito::getInt(in, name, required));
  if (!v) return dflt;
  if (*v < 1 || *v > kMaxPoolQuery) return validationError("maxResults", "Member must have value between 1 and 60");
  return static_cast<int>(*v);
}

}  // namespace

Json IdpApi::describePool(const Pool& pool, int64_t users) const {
  Json out = pool.config.describe();
  out["Id"] = pool.row.id;
  out["Name"] = pool.row.name;
  out["Arn"] = "arn:aws:cognito-idp:" + ctx_.settings.region + ":" + ctx_.settings.accountId + ":userpool/" + pool.row.id;
  out["CreationDate"] = cognito::epochSeconds(pool.row.createdMs);
  out["LastModifiedDate"] = cognito::epochSeconds(pool.row.modifiedMs);
  out["EstimatedNumberOfUsers"] = users;
  out["Status"] = "Enabled";
  if (!pool.row.domain.empty()) out[pool.config.customDomainConfig().is_null() ? "Domain" : "CustomDomain"] = pool.row.domain;
  return out;
}

Json IdpApi::describeClient(const Client& client) const {
  Json out = client.config.describe();
  out["UserPoolId"] = client.row.poolId;
  out["ClientId"] = client.row.clientId;
  out["CreationDate"] = cognito::epochSeconds(client.row.createdMs);
  out["LastModifiedDate"] = cognito::epochSeconds(client.row.modifiedMs);
  return out;
}

ApiResult<Json> IdpApi::createUserPool(const Json& in, const Call&) {
  API_TRY(auto name, cognito::getString(in, "PoolName", true));
  if (!validPoolName(*name))
    return validationError("poolName", "Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+");
  API_TRY(UserPoolConfig config, UserPoolConfig::fromCreateRequest(in));
  UserPoolRow row;
  row.name = *name;
  row.createdMs = row.modifiedMs = nowMs();
  row.configJson = config.toStored();
  for (int attempt = 0;; ++attempt) {
    row.id = ctx_.settings.region + "_" + newPoolIdSuffix();
    Status s = ctx_.store.createUserPool(row);
    if (s.isOk()) break;
    if (s.code() != StatusCode::kConflict || attempt >= 3) return fromStatus(s);
  }
  return Json{{"UserPool", describePool(Pool{row, config}, 0)}};
}

ApiResult<Json> IdpApi::describeUserPool(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  IDP_TRY_RESULT(int64_t users, ctx_.store.countUsers(pool.row.id));
  return Json{{"UserPool", describePool(pool, users)}};
}

ApiResult<Json> IdpApi::listUserPools(const Json& in, const Call&) {
  API_TRY(int limit, maxResults(in, "MaxResults", true, kMaxPoolQuery));
  API_TRY(auto next, cognito::getString(in, "NextToken"));
  IDP_TRY_RESULT(std::vector<UserPoolRow> rows, ctx_.store.listUserPools(next.value_or(""), limit + 1));
  Json pools = Json::array();
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
    Result<UserPoolConfig> config = UserPoolConfig::fromStored(rows[i].configJson);
    Json lambda = config.isOk() ? config->describe().value("LambdaConfig", Json::object()) : Json::object();
    pools.push_back({{"Id", rows[i].id}, {"Name", rows[i].name}, {"LambdaConfig", lambda}, {"Status", "Enabled"},
                     {"CreationDate", cognito::epochSeconds(rows[i].createdMs)},
                     {"LastModifiedDate", cognito::epochSeconds(rows[i].modifiedMs)}});
  }
  Json out = {{"UserPools", pools}};
  if (rows.size() > static_cast<size_t>(limit)) out["NextToken"] = rows[limit - 1].id;
  return out;
}

ApiResult<Json> IdpApi::updateUserPool(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(UserPoolConfig config, UserPoolConfig::fromUpdateRequest(in, pool.config));
  pool.row.configJson = config.toStored();
  pool.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPool(pool.row));
  return Json::object();
}

ApiResult<Json> IdpApi::deleteUserPool(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  if (pool.config.deletionProtection())
    return invalidParameter("The user pool " + pool.row.id + " has deletion protection activated.");
  IDP_TRY_STATUS(ctx_.store.deleteUserPool(pool.row.id));
  return Json::object();
}

namespace {

// GenerateSecret / ClientSecret (spec 4.1): both is an error; a given secret is 24..64 [\w+].
ApiResult<std::string> resolveSecret(const Json& in, const std::string& current, bool update) {
  if (update) return current;  // UpdateUserPoolClient cannot change the secret
  API_TRY(auto generate, cognito::getBool(in, "GenerateSecret"));
  API_TRY(auto given, cognito::getString(in, "ClientSecret"));
  if (generate.value_or(false) && given) return invalidParameter("GenerateSecret and ClientSecret cannot both be set.");
  if (given) {
    static const std::regex kPattern(R"([\w+]+)");
    if (given->size() < 24 || given->size() > 64 || !std::regex_match(*given, kPattern))
      return validationError("clientSecret", "Member must have length between 24 and 64 and match [\\w+]+");
    return *given;
  }
  return generate.value_or(false) ? newClientSecret() : std::string();
}

}  // namespace

ApiResult<Json> IdpApi::createUserPoolClient(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(std::string secret, resolveSecret(in, "", false));
  API_TRY(AppClientConfig config, AppClientConfig::fromRequest(in, secret));
  if (auto e = checkOAuthScopes(pool, config)) return *e;
  UserPoolClientRow row;
  row.poolId = pool.row.id;
  row.name = config.name();
  row.createdMs = row.modifiedMs = nowMs();
  row.configJson = config.toStored();
  for (int attempt = 0;; ++attempt) {
    row.clientId = newClientId();
    Status s = ctx_.store.createUserPoolClient(row);
    if (s.isOk()) break;
    if (s.code() != StatusCode::kConflict || attempt >= 3) return fromStatus(s);
  }
  return Json{{"UserPoolClient", describeClient(Client{row, config, pool})}};
}

ApiResult<Json> IdpApi::describeUserPoolClient(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(Client client, loadClientFromRequest(in));
  if (client.row.poolId != pool.row.id)
    return resourceNotFound("User pool client " + client.row.clientId + " does not exist.");
  return Json{{"UserPoolClient", describeClient(client)}};
}

ApiResult<Json> IdpApi::updateUserPoolClient(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(Client client, loadClientFromRequest(in));
  if (client.row.poolId != pool.row.id)
    return resourceNotFound("User pool client " + client.row.clientId + " does not exist.");
  Json req = in;
  if (!req.contains("ClientName")) req["ClientName"] = client.config.name();  // optional on update
  API_TRY(std::string secret, resolveSecret(req, client.config.secret(), true));
  API_TRY(AppClientConfig config, AppClientConfig::fromRequest(req, secret));
  if (auto e = checkOAuthScopes(pool, config)) return *e;
  client.row.name = config.name();
  client.row.configJson = config.toStored();
  client.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPoolClient(client.row));
  client.config = std::move(config);
  return Json{{"UserPoolClient", describeClient(client)}};
}

ApiResult<Json> IdpApi::deleteUserPoolClient(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(auto clientId, cognito::getString(in, "ClientId", true));
  Status s = ctx_.store.deleteUserPoolClient(pool.row.id, *clientId);
  if (s.code() == StatusCode::kNotFound) return resourceNotFound("User pool client " + *clientId + " does not exist.");
  IDP_TRY_STATUS(s);
  return Json::object();
}

ApiResult<Json> IdpApi::listUserPoolClients(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(int limit, maxResults(in, "MaxResults", false, kMaxPoolQuery));
  API_TRY(auto next, cognito::getString(in, "NextToken"));
  IDP_TRY_RESULT(std::vector<UserPoolClientRow> rows,
                 ctx_.store.listUserPoolClients(pool.row.id, next.value_or(""), limit + 1));
  Json clients = Json::array();
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i)
    clients.push_back({{"ClientId", rows[i].clientId}, {"UserPoolId", rows[i].poolId}, {"ClientName", rows[i].name}});
  Json out = {{"UserPoolClients", clients}};
  if (rows.size() > static_cast<size_t>(limit)) out["NextToken"] = rows[limit - 1].clientId;
  return out;
}

ApiResult<Json> IdpApi::setUserPoolMfaConfig(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  bool totp = pool.config.totpEnabled();
  if (auto it = in.find("SoftwareTokenMfaConfiguration"); it != in.end() && !it->is_null()) {
    if (!it->is_object()) return validationError("softwareTokenMfaConfiguration", "Member must be a structure");
    API_TRY(auto enabled, cognito::getBool(*it, "Enabled"));
    totp = enabled.value_or(false);
  }
  // SMS and email MFA need AWS's SNS/SES: refused when asked for, not silently ignored.
  for (const char* unsupported : {"SmsMfaConfiguration", "EmailMfaConfiguration"})
    if (auto it = in.find(unsupported); it != in.end() && it->is_object() && !it->empty())
      return invalidParameter(std::string(unsupported) + ": tetherd supports TOTP (software token) MFA only.");
  API_TRY(auto mfa, cognito::getString(in, "MfaConfiguration"));
  std::string configuration = mfa.value_or(pool.config.mfaConfiguration());
  if (configuration != "OFF" && configuration != "ON" && configuration != "OPTIONAL")
    return validationError("mfaConfiguration", "Member must satisfy enum value set: [OFF, ON, OPTIONAL]");
  if (configuration == "ON" && !totp)
    return invalidParameter("At least one MFA method must be enabled when MfaConfiguration is ON.");
  pool.config.setMfa(configuration, totp);
  pool.row.configJson = pool.config.toStored();
  pool.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPool(pool.row));
  return Json{{"SoftwareTokenMfaConfiguration", {{"Enabled", totp}}}, {"MfaConfiguration", configuration}};
}

ApiResult<Json> IdpApi::getUserPoolMfaConfig(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  return Json{{"SoftwareTokenMfaConfiguration", {{"Enabled", pool.config.totpEnabled()}}},
              {"MfaConfiguration", pool.config.mfaConfiguration()}};
}

}  // namespace tether::server::idp
