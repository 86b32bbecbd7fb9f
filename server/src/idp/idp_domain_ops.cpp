// User pool domains and resource servers (spec cognito-user-pools.md 1.3, 2.3, 7.1, 7.4); see
// idp_api.h.
//
// A pool has at most one domain: a prefix (spec 1.3 grammar) or, with CustomDomainConfig, a
// host name. It lives in the pool row (UserPoolRow.domain, unique over all pools) so the hosted
// UI can find the pool from a request's Host header; a custom domain's CustomDomainConfig and
// the resource servers live in the pool's stored settings (UserPoolConfig), which UpdateUserPool
// keeps. Resource servers define the custom scopes `<identifier>/<scope>` that app clients may
// allow (ScopeDoesNotExistException otherwise) and client_credentials tokens carry.
// Concurrency: like SetUserPoolMfaConfig, these are read-modify-writes of the pool row without a
// version check; two administrators editing one pool's resource servers at the same instant may
// lose one edit (the pool row itself is never half-written).
#include "idp/idp_api.h"

#include <algorithm>
#include <regex>
#include <set>

namespace tether::server::idp {
namespace {

constexpr size_t kMaxResourceServers = 25;
constexpr size_t kMaxScopesPerServer = 100;
constexpr int kMaxResourceServerQuery = 50;

const std::set<std::string>& reservedScopes() {
  static const std::set<std::string> k = {"openid", "email", "phone", "profile", kAdminScope};
  return k;
}

bool validLabel(std::string_view label) {
  static const std::regex kLabel(R"([a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)");
  return std::regex_match(label.begin(), label.end(), kLabel);
}

// A custom domain: a host name of at least two labels, each with the prefix grammar.
bool validHostName(std::string_view host) {
  if (host.size() > 253 || host.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = std::min(host.find('.', start), host.size());
    if (!validLabel(host.substr(start, dot - start))) return false;
    start = dot + 1;
  }
  return true;
}

bool printableScopeChars(std::string_view s, bool allowSlash) {
  // ScopeType [\x21\x23-\x5B\x5D-\x7E]+ ; ScopeName also excludes '/' (\x2F).
  return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [&](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7E && u != 0x22 && u != 0x5C && (allowSlash || u != 0x2F);
  });
}

// ResourceServerType from a Create/UpdateResourceServer request.
ApiResult<Json> resourceServerFromRequest(const Json& in, const std::string& poolId) {
  API_TRY(auto identifier, cognito::getString(in, "Identifier", true));
  API_TRY(auto name, cognito::getString(in, "Name", true));
  if (!printableScopeChars(*identifier, true))
    return validationError("identifier", "Member must satisfy regular expression pattern: [\\x21\\x23-\\x5B\\x5D-\\x7E]+");
  static const std::regex kName(R"([\w\s+=,.@-]+)");
  if (name->empty() || name->size() > 256 || !std::regex_match(*name, kName))
    return validationError("name", "Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+");
  Json scopes = Json::array();
  if (auto it = in.find("Scopes"); it != in.end() && !it->is_null()) {
    if (!it->is_array()) return validationError("scopes", "Member must be a list");
    if (it->size() > kMaxScopesPerServer)
      return validationError("scopes", "Member must have length less than or equal to 100");
    std::set<std::string> seen;
    for (const Json& s : *it) {
      if (!s.is_object()) return validationError("scopes.member", "Member must be a structure");
      API_TRY(auto scopeName, cognito::getString(s, "ScopeName", true));
      API_TRY(auto description, cognito::getString(s, "ScopeDescription", true));
      if (!printableScopeChars(*scopeName, false))
        return validationError("scopes.member.scopeName",
                               "Member must satisfy regular expression pattern: [\\x21\\x23-\\x2E\\x30-\\x5B\\x5D-\\x7E]+");
      if (description->empty() || description->size() > 256)
        return validationError("scopes.member.scopeDescription", "Member must have length between 1 and 256");
      if (!seen.insert(*scopeName).second) return invalidParameter("Duplicate scope name: " + *scopeName);
      scopes.push_back({{"ScopeName", *scopeName}, {"ScopeDescription", *description}});
    }
  }
  return Json{{"UserPoolId", poolId}, {"Identifier", *identifier}, {"Name", *name}, {"Scopes", scopes}};
}

}  // namespace

// ---- domains

ApiResult<Json> IdpApi::createUserPoolDomain(const Json& in, const Call&) {
  API_TRY(auto domain, cognito::getString(in, "Domain", true));
  API_TRY(Pool pool, loadPoolFromRequest(in));
  Json custom;
  if (auto it = in.find("CustomDomainConfig"); it != in.end() && !it->is_null()) {
    if (!it->is_object()) return validationError("customDomainConfig", "Member must be a structure");
    API_TRY(auto certificate, cognito::getString(*it, "CertificateArn"));
    if (!certificate || certificate->empty())
      return invalidParameter("CertificateArn is required in CustomDomainConfig");
    custom = Json{{"CertificateArn", *certificate}};
  }
  if (custom.is_null() ? !validLabel(*domain) : !validHostName(*domain))
    return invalidParameter(
        custom.is_null()
            ? "The domain name contains an invalid character. Domain names can only contain lower-case letters, "
              "numbers, and hyphens. Please enter a different name that follows this format: "
              "^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$"
            : "The custom domain must be a lower-case host name such as auth.example.com.");
  if (!pool.row.domain.empty()) return invalidParameter("User pool already has a domain configured.");
  API_TRY(auto version, cognito::getInt(in, "ManagedLoginVersion"));
  pool.row.domain = *domain;
  pool.config.setCustomDomainConfig(custom);
  pool.row.configJson = pool.config.toStored();
  pool.row.modifiedMs = nowMs();
  Status s = ctx_.store.updateUserPool(pool.row);
  if (s.code() == StatusCode::kConflict) return invalidParameter("Domain already associated with another user pool.");
  IDP_TRY_STATUS(s);
  Json out = Json::object();
  // No CloudFront here: a custom domain's DNS points at tetherd (or its proxy) itself.
  if (!custom.is_null()) out["CloudFrontDomain"] = *domain;
  if (version) out["ManagedLoginVersion"] = *version;
  return out;
}

ApiResult<Json> IdpApi::describeUserPoolDomain(const Json& in, const Call&) {
  API_TRY(auto domain, cognito::getString(in, "Domain", true));
  IDP_TRY_RESULT(std::optional<UserPoolRow> row, ctx_.store.findUserPoolByDomain(*domain));
  // AWS answers an unknown domain with an empty description (how tools test availability).
  if (!row) return Json{{"DomainDescription", Json::object()}};
  IDP_TRY_RESULT(UserPoolConfig config, UserPoolConfig::fromStored(row->configJson));
  Json d = {{"UserPoolId", row->id},
            {"AWSAccountId", ctx_.settings.accountId},
            {"Domain", row->domain},
            {"CloudFrontDistribution", row->domain},
            {"Version", std::to_string(row->modifiedMs)},
            {"Status", "ACTIVE"}};
  if (Json custom = config.customDomainConfig(); !custom.is_null()) d["CustomDomainConfig"] = custom;
  return Json{{"DomainDescription", d}};
}

ApiResult<Json> IdpApi::deleteUserPoolDomain(const Json& in, const Call&) {
  API_TRY(auto domain, cognito::getString(in, "Domain", true));
  API_TRY(Pool pool, loadPoolFromRequest(in));
  if (pool.row.domain.empty() || pool.row.domain != *domain) return invalidParameter("No such domain or user pool exists.");
  pool.row.domain.clear();
  pool.config.setCustomDomainConfig(Json());
  pool.row.configJson = pool.config.toStored();
  pool.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPool(pool.row));
  return Json::object();
}

// ---- resource servers

ApiResult<Json> IdpApi::createResourceServer(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(Json server, resourceServerFromRequest(in, pool.row.id));
  Json servers = pool.config.resourceServers();
  for (const Json& s : servers)
    if (s.value("Identifier", "") == server["Identifier"])
      return invalidParameter(server["Identifier"].get<std::string>() + " already exists in pool " + pool.row.id + ".");
  if (servers.size() >= kMaxResourceServers)
    return idpError("LimitExceededException", "A user pool can have at most 25 resource servers.");
  servers.push_back(server);
  pool.config.setResourceServers(servers);
  pool.row.configJson = pool.config.toStored();
  pool.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPool(pool.row));
  return Json{{"ResourceServer", server}};
}

ApiResult<Json> IdpApi::describeResourceServer(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(auto identifier, cognito::getString(in, "Identifier", true));
  for (const Json& s : pool.config.resourceServers())
    if (s.value("Identifier", "") == *identifier) return Json{{"ResourceServer", s}};
  return resourceNotFound("Resource server " + *identifier + " does not exist.");
}

ApiResult<Json> IdpApi::listResourceServers(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(auto max, cognito::getInt(in, "MaxResults", true));
  API_TRY(auto next, cognito::getString(in, "NextToken"));
  if (*max < 1 || *max > kMaxResourceServerQuery)
    return validationError("maxResults", "Member must have value between 1 and 50");
  Json servers = pool.config.resourceServers();
  std::sort(servers.begin(), servers.end(), [](const Json& a, const Json& b) {
    return a.value("Identifier", "") < b.value("Identifier", "");
  });
  Json page = Json::array();
  std::string last;
  bool more = false;
  for (const Json& s : servers) {
    std::string id = s.value("Identifier", "");
    if (next && id <= *next) continue;
    if (page.size() == static_cast<size_t>(*max)) {
      more = true;
      break;
    }
    page.push_back(s);
    last = id;
  }
  Json out = {{"ResourceServers", page}};
  if (more) out["NextToken"] = last;
  return out;
}

ApiResult<Json> IdpApi::updateResourceServer(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(Json server, resourceServerFromRequest(in, pool.row.id));
  Json servers = pool.config.resourceServers();
  auto it = std::find_if(servers.begin(), servers.end(),
                         [&](const Json& s) { return s.value("Identifier", "") == server["Identifier"]; });
  if (it == servers.end())
    return resourceNotFound("Resource server " + server["Identifier"].get<std::string>() + " does not exist.");
  *it = server;
  pool.config.setResourceServers(servers);
  pool.row.configJson = pool.config.toStored();
  pool.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPool(pool.row));
  return Json{{"ResourceServer", server}};
}

ApiResult<Json> IdpApi::deleteResourceServer(const Json& in, const Call&) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(auto identifier, cognito::getString(in, "Identifier", true));
  Json servers = pool.config.resourceServers();
  auto it = std::find_if(servers.begin(), servers.end(),
                         [&](const Json& s) { return s.value("Identifier", "") == *identifier; });
  if (it == servers.end()) return resourceNotFound("Resource server " + *identifier + " does not exist.");
  // Clients keep the scope in AllowedOAuthScopes; it is simply no longer granted (spec 7.2: unknown
  // scopes are dropped).
  servers.erase(it);
  pool.config.setResourceServers(servers);
  pool.row.configJson = pool.config.toStored();
  pool.row.modifiedMs = nowMs();
  IDP_TRY_STATUS(ctx_.store.updateUserPool(pool.row));
  return Json::object();
}

std::optional<ApiError> IdpApi::checkOAuthScopes(const Pool& pool, const AppClientConfig& config) const {
  for (const std::string& scope : config.oauthScopes())
    if (!reservedScopes().count(scope) && !pool.config.scopeExists(scope))
      return idpError("ScopeDoesNotExistException", "Invalid scope requested: " + scope);
  return std::nullopt;
}

}  // namespace tether::server::idp
