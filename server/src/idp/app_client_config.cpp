// App client settings; see app_client_config.h.
#include "idp/app_client_config.h"

#include <algorithm>

namespace tether::server::idp {
namespace {

constexpr int64_t kMinTokenSeconds = 5 * 60;
constexpr int64_t kMaxTokenSeconds = 86400;
constexpr int64_t kMinRefreshSeconds = 3600;
constexpr int64_t kMaxRefreshSeconds = 3650LL * 86400;

const std::set<std::string>& allowFlowNames() {
  static const std::set<std::string> k = {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_CUSTOM_AUTH",
                                          "ALLOW_USER_PASSWORD_AUTH",       "ALLOW_USER_SRP_AUTH",
                                          "ALLOW_REFRESH_TOKEN_AUTH",       "ALLOW_USER_AUTH"};
  return k;
}
const std::set<std::string>& legacyFlowNames() {
  static const std::set<std::string> k = {"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"};
  return k;
}

int64_t unitSeconds(const std::string& unit) {
  if (unit == "seconds") return 1;
  if (unit == "minutes") return 60;
  if (unit == "hours") return 3600;
  return 86400;
}

ApiResult<std::vector<std::string>> list(const Json& in, const char* name, size_t max) {
  API_TRY(auto v, cognito::getStringList(in, name));
  if (!v) return std::vector<std::string>();
  if (v->size() > max)
    return validationError(name, "Member must have length less than or equal to " + std::to_string(max));
  return *v;
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

bool isAcceptableRedirectUrl(std::string_view url) {
  if (url.empty() || url.size() > 1024 || url.find('#') != std::string_view::npos) return false;
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) return false;
  size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view scheme = url.substr(0, colon);
  if (!std::all_of(scheme.begin(), scheme.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '.' || c == '-'; }))
    return false;
  if (scheme == "https") return url.size() > 8;
  if (scheme == "http") {
    for (std::string_view host : {"http://localhost", "http://127.0.0.1", "http://[::1]"})
      if (startsWith(url, host) && (url.size() == host.size() || url[host.size()] == ':' || url[host.size()] == '/'))
        return true;
    return false;
  }
  return true;  // an app scheme
}

ApiResult<AppClientConfig> AppClientConfig::fromRequest(const Json& in, std::string secret) {
  Json doc = Json::object();
  API_TRY(auto name, cognito::getString(in, "ClientName", true));
  if (name->empty() || name->size() > 128)
    return validationError("clientName", "Member must have length between 1 and 128");
  doc["ClientName"] = *name;
  if (!secret.empty()) doc["ClientSecret"] = secret;

  // Token lifetimes, in TokenValidityUnits (defaults: hours, hours, days).
  std::string units[3] = {"hours", "hours", "days"};
  const char* unitKeys[3] = {"AccessToken", "IdToken", "RefreshToken"};
  if (auto it = in.find("TokenValidityUnits"); it != in.end() && !it->is_null()) {
    if (!it->is_object()) return validationError("tokenValidityUnits", "Member must be a structure");
    for (int i = 0; i < 3; ++i) {
      API_TRY(auto u, cognito::getString(*it, unitKeys[i]));
      if (!u) continue;
      if (*u != "seconds" && *u != "minutes" && *u != "hours" && *u != "days")
        return validationError(std::string("tokenValidityUnits.") + unitKeys[i],
                               "Member must satisfy enum value set: [seconds, minutes, hours, days]");
      units[i] = *u;
    }
  }
  doc["TokenValidityUnits"] = {{"AccessToken", units[0]}, {"IdToken", units[1]}, {"RefreshToken", units[2]}};
  const char* validityKeys[3] = {"AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity"};
  const int64_t defaults[3] = {1, 1, 30};
  for (int i = 0; i < 3; ++i) {
    API_TRY(auto v, cognito::getInt(in, validityKeys[i]));
    int64_t value = v ? *v : defaults[i];
    if (i == 2 && value == 0) {
      value = 30;
      units[2] = "days";
      doc["TokenValidityUnits"]["RefreshToken"] = "days";
    }
    int64_t seconds = value * unitSeconds(units[i]);
    bool ok = i == 2 ? seconds >= kMinRefreshSeconds && seconds <= kMaxRefreshSeconds
                     : seconds >= kMinTokenSeconds && seconds <= kMaxTokenSeconds;
    if (value < 0 || !ok)
      return invalidParameter(std::string(validityKeys[i]) + (i == 2 ? " must be between 60 minutes and 10 years"
                                                                     : " must be between 5 minutes and 1 day"));
    doc[validityKeys[i]] = value;
  }

  API_TRY(auto flows, list(in, "ExplicitAuthFlows", 10));
  if (flows.empty()) flows = {"ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"};
  bool anyLegacy = false, anyAllow = false;
  for (const std::string& f : flows) {
    if (allowFlowNames().count(f)) anyAllow = true;
    else if (legacyFlowNames().count(f)) anyLegacy = true;
    else
      return validationError("explicitAuthFlows.member",
                             "Member must satisfy enum value set: [ADMIN_NO_SRP_AUTH, CUSTOM_AUTH_FLOW_ONLY, "
                             "USER_PASSWORD_AUTH, ALLOW_ADMIN_USER_PASSWORD_AUTH, ALLOW_CUSTOM_AUTH, "
                             "ALLOW_USER_PASSWORD_AUTH, ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_AUTH]");
  }
  if (anyLegacy && anyAllow)
    return invalidParameter("The ExplicitAuthFlows legacy values cannot be combined with ALLOW_ values.");
  doc["ExplicitAuthFlows"] = flows;

  for (const char* k : {"ReadAttributes", "WriteAttributes"}) {
    API_TRY(auto v, list(in, k, 2048));
    if (!v.empty()) doc[k] = v;
  }
  for (const char* k : {"CallbackURLs", "LogoutURLs"}) {
    API_TRY(auto v, list(in, k, 100));
    for (const std::string& u : v)
      if (!isAcceptableRedirectUrl(u))
        return invalidParameter(std::string(k) + " contains an invalid URL: " + u +
                                " (absolute, no fragment, https or http://localhost)");
    if (!v.empty()) doc[k] = v;
  }
  API_TRY(auto defaultRedirect, cognito::getString(in, "DefaultRedirectURI"));
  if (defaultRedirect) {
    auto cb = doc.value("CallbackURLs", std::vector<std::string>());
    if (std::find(cb.begin(), cb.end(), *defaultRedirect) == cb.end())
      return invalidParameter("DefaultRedirectURI must be one of the CallbackURLs");
    doc["DefaultRedirectURI"] = *defaultRedirect;
  }
  API_TRY(auto idps, list(in, "SupportedIdentityProviders", 50));
  for (const std::string& p : idps)
    if (p != "COGNITO") return invalidParameter("SupportedIdentityProviders: only COGNITO is supported by tetherd");
  if (!idps.empty()) doc["SupportedIdentityProviders"] = idps;
  API_TRY(auto oauthFlows, list(in, "AllowedOAuthFlows", 3));
  for (const std::string& f : oauthFlows)
    if (f != "code" && f != "implicit" && f != "client_credentials")
      return validationError("allowedOAuthFlows.member", "Member must satisfy enum value set: [implicit, client_credentials, code]");
  if (std::count(oauthFlows.begin(), oauthFlows.end(), "client_credentials") && oauthFlows.size() > 1)
    return idpError("InvalidOAuthFlowException", "client_credentials flow can not be selected along with code flow or implicit flow.");
  if (std::count(oauthFlows.begin(), oauthFlows.end(), "client_credentials") && secret.empty())
    return idpError("InvalidOAuthFlowException", "client_credentials flow can not be selected if client does not have a client secret.");
  if (!oauthFlows.empty()) doc["AllowedOAuthFlows"] = oauthFlows;
  API_TRY(auto scopes, list(in, "AllowedOAuthScopes", 50));
  for (const std::string& s : scopes)
    if (s.empty() || s.size() > 256 || s.find_first_of(" \"\\") != std::string::npos)
      return validationError("allowedOAuthScopes.member", "Member must satisfy regular expression pattern: [\\x21\\x23-\\x5B\\x5D-\\x7E]+");
  if (!scopes.empty()) doc["AllowedOAuthScopes"] = scopes;
  API_TRY(auto oauth, cognito::getBool(in, "AllowedOAuthFlowsUserPoolClient"));
  doc["AllowedOAuthFlowsUserPoolClient"] = oauth.value_or(false);
  if (doc["AllowedOAuthFlowsUserPoolClient"].get<bool>() && oauthFlows.empty())
    return invalidParameter("AllowedOAuthFlows must be set when AllowedOAuthFlowsUserPoolClient is true.");
  if (std::count(oauthFlows.begin(), oauthFlows.end(), "code") + std::count(oauthFlows.begin(), oauthFlows.end(), "implicit") > 0 &&
      !doc.contains("CallbackURLs"))
    return invalidParameter("CallbackURLs must be set for the code and implicit OAuth flows.");

  API_TRY(auto prevent, cognito::getString(in, "PreventUserExistenceErrors"));
  std::string pue = prevent ? *prevent : "LEGACY";
  if (pue != "LEGACY" && pue != "ENABLED")
    return validationError("preventUserExistenceErrors", "Member must satisfy enum value set: [LEGACY, ENABLED]");
  doc["PreventUserExistenceErrors"] = pue;
  API_TRY(auto revocation, cognito::getBool(in, "EnableTokenRevocation"));
  doc["EnableTokenRevocation"] = revocation.value_or(true);
  API_TRY(auto propagate, cognito::getBool(in, "EnablePropagateAdditionalUserContextData"));
  doc["EnablePropagateAdditionalUserContextData"] = propagate.value_or(false);
  API_TRY(auto session, cognito::getInt(in, "AuthSessionValidity"));
  int64_t minutes = session.value_or(3);
  if (minutes < 3 || minutes > 15) return validationError("authSessionValidity", "Member must have value between 3 and 15");
  doc["AuthSessionValidity"] = minutes;
  for (const char* k : {"AnalyticsConfiguration", "RefreshTokenRotation"}) {
    auto it = in.find(k);
    if (it == in.end() || it->is_null()) continue;
    if (!it->is_object()) return validationError(k, "Member must be a structure");
    doc[k] = *it;
  }

  AppClientConfig c;
  c.doc_ = std::move(doc);
  Status s = c.loadTyped();
  if (!s.isOk()) return invalidParameter(s.message());
  return c;
}

Result<AppClientConfig> AppClientConfig::fromStored(std::string_view json) {
  Json doc = Json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Status::corruption("app client settings are not a JSON object");
  AppClientConfig c;
  c.doc_ = std::move(doc);
  TETHER_RETURN_IF_ERROR(c.loadTyped());
  return c;
}

Status AppClientConfig::loadTyped() {
  try {
    name_ = doc_.at("ClientName").get<std::string>();
    secret_ = doc_.value("ClientSecret", "");
    const Json& units = doc_.at("TokenValidityUnits");
    accessSeconds_ = doc_.at("AccessTokenValidity").get<int64_t>() * unitSeconds(units.at("AccessToken"));
    idSeconds_ = doc_.at("IdTokenValidity").get<int64_t>() * unitSeconds(units.at("IdToken"));
    refreshSeconds_ = doc_.at("RefreshTokenValidity").get<int64_t>() * unitSeconds(units.at("RefreshToken"));
    flows_.clear();
    for (const std::string& f : doc_.at("ExplicitAuthFlows").get<std::vector<std::string>>()) {
      if (f == "ADMIN_NO_SRP_AUTH") flows_.insert("ALLOW_ADMIN_USER_PASSWORD_AUTH");
      else if (f == "USER_PASSWORD_AUTH") flows_.insert("ALLOW_USER_PASSWORD_AUTH");
      else if (f == "CUSTOM_AUTH_FLOW_ONLY") flows_.insert("ALLOW_CUSTOM_AUTH");
      else flows_.insert(f);
    }
    // Legacy lists always allowed SRP and refresh alongside.
    if (doc_.at("ExplicitAuthFlows").size() && legacyFlowNames().count(doc_.at("ExplicitAuthFlows")[0])) {
      flows_.insert("ALLOW_USER_SRP_AUTH");
      flows_.insert("ALLOW_REFRESH_TOKEN_AUTH");
    }
    readAttributes_ = doc_.value("ReadAttributes", std::vector<std::string>());
    writeAttributes_ = doc_.value("WriteAttributes", std::vector<std::string>());
    preventUserExistence_ = doc_.value("PreventUserExistenceErrors", "LEGACY") == "ENABLED";
    tokenRevocation_ = doc_.value("EnableTokenRevocation", true);
    authSessionMinutes_ = doc_.value("AuthSessionValidity", 3);
    oauthEnabled_ = doc_.value("AllowedOAuthFlowsUserPoolClient", false);
    callbackUrls_ = doc_.value("CallbackURLs", std::vector<std::string>());
    logoutUrls_ = doc_.value("LogoutURLs", std::vector<std::string>());
    oauthScopes_ = doc_.value("AllowedOAuthScopes", std::vector<std::string>());
    identityProviders_ = doc_.value("SupportedIdentityProviders", std::vector<std::string>());
    auto flows = doc_.value("AllowedOAuthFlows", std::vector<std::string>());
    oauthFlows_ = std::set<std::string>(flows.begin(), flows.end());
  } catch (const Json::exception& e) {
    return Status::corruption(std::string("app client settings: ") + e.what());
  }
  return Status::ok();
}

std::string AppClientConfig::toStored() const { return doc_.dump(); }

Json AppClientConfig::describe() const { return doc_; }

}  // namespace tether::server::idp
