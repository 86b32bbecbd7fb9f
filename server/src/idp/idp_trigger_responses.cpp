// User-pool triggers: reading each trigger's `response` (spec cognito-user-pools.md 8.3); see
// idp_triggers.h.
#include "idp/idp_triggers.h"

namespace tether::server::idp {
namespace {

constexpr size_t kMaxEmailMessage = 20000;
constexpr size_t kMaxSmsMessage = 140;
constexpr size_t kMaxEmailSubject = 140;

ApiError invalidResponse(std::string message) {
  return idpError("InvalidLambdaResponseException", std::move(message));
}

// A string, or null (= not set); anything else breaks the trigger's rules.
ApiResult<std::optional<std::string>> optionalString(const Json& obj, const char* name, const char* trigger) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return invalidResponse(std::string(trigger) + ": response." + name + " must be a string.");
  return std::optional<std::string>(it->get<std::string>());
}

ApiResult<bool> optionalBool(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) return invalidResponse(std::string("PreSignUp: response.") + name + " must be a boolean.");
  return it->get<bool>();
}

// An array of strings (null or absent: empty).
ApiResult<std::vector<std::string>> stringArray(const Json& obj, const char* name, const std::string& where) {
  std::vector<std::string> out;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return invalidResponse("PreTokenGeneration: " + where + name + " must be an array of strings.");
  for (const Json& v : *it) {
    if (!v.is_string()) return invalidResponse("PreTokenGeneration: " + where + name + " must be an array of strings.");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The object member `name` of `obj`: nullopt when absent or null.
ApiResult<std::optional<Json>> optionalObject(const Json& obj, const char* name, const std::string& where) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::optional<Json>();
  if (!it->is_object()) return invalidResponse("PreTokenGeneration: " + where + name + " must be an object.");
  return std::optional<Json>(*it);
}

// claimsToAddOrOverride + claimsToSuppress of one token. Version 1 takes string values only.
std::optional<ApiError> readClaims(const Json& details, const std::string& where, bool stringsOnly, Json& add,
                                   std::vector<std::string>& suppress) {
  auto claims = optionalObject(details, "claimsToAddOrOverride", where);
  if (!claims.isOk()) return claims.error();
  if (*claims) {
    for (auto it = (*claims)->begin(); it != (*claims)->end(); ++it) {
      if (stringsOnly && !it->is_string())
        return invalidResponse("PreTokenGeneration: " + where + "claimsToAddOrOverride." + it.key() +
                               " must be a string (LambdaVersion V1_0).");
      add[it.key()] = *it;
    }
  }
  auto names = stringArray(details, "claimsToSuppress", where);
  if (!names.isOk()) return names.error();
  suppress = std::move(*names);
  return std::nullopt;
}

std::optional<ApiError> readGroups(const Json& details, const std::string& where, TokenOverrides& out) {
  auto it = details.find("groupOverrideDetails");
  if (it == details.end()) return std::nullopt;  // absent: the groups stay as they are
  out.groupsOverridden = true;                   // null or {}: no groups
  if (it->is_null()) return std::nullopt;
  if (!it->is_object()) return invalidResponse("PreTokenGeneration: " + where + "groupOverrideDetails must be an object.");
  const std::string inner = where + "groupOverrideDetails.";
  auto groups = stringArray(*it, "groupsToOverride", inner);
  if (!groups.isOk()) return groups.error();
  auto roles = stringArray(*it, "iamRolesToOverride", inner);
  if (!roles.isOk()) return roles.error();
  auto preferred = optionalString(*it, "preferredRole", "PreTokenGeneration");
  if (!preferred.isOk()) return preferred.error();
  out.groups = std::move(*groups);
  out.roles = std::move(*roles);
  out.preferredRole = preferred->value_or("");
  return std::nullopt;
}

}  // namespace

ApiResult<PreSignUpResult> readPreSignUp(const Json& response) {
  PreSignUpResult r;
  API_TRY(r.autoConfirmUser, optionalBool(response, "autoConfirmUser"));
  API_TRY(r.autoVerifyEmail, optionalBool(response, "autoVerifyEmail"));
  API_TRY(r.autoVerifyPhone, optionalBool(response, "autoVerifyPhone"));
  return r;
}

ApiResult<CustomMessageResult> readCustomMessage(const Json& response, bool adminCreateUser) {
  CustomMessageResult r;
  API_TRY(r.smsMessage, optionalString(response, "smsMessage", "CustomMessage"));
  API_TRY(r.emailMessage, optionalString(response, "emailMessage", "CustomMessage"));
  API_TRY(r.emailSubject, optionalString(response, "emailSubject", "CustomMessage"));
  auto check = [&](const std::optional<std::string>& m, const char* name, size_t max) -> std::optional<ApiError> {
    if (!m) return std::nullopt;
    if (m->size() > max)
      return invalidResponse(std::string("CustomMessage: ") + name + " is longer than " + std::to_string(max) +
                             " characters.");
    if (std::string(name) == "emailSubject") return std::nullopt;
    if (m->find("{####}") == std::string::npos)
      return invalidResponse(std::string("CustomMessage: ") + name + " must contain the code parameter {####}.");
    if (adminCreateUser && m->find("{username}") == std::string::npos)
      return invalidResponse(std::string("CustomMessage: ") + name + " must contain the username parameter {username}.");
    return std::nullopt;
  };
  if (auto e = check(r.smsMessage, "smsMessage", kMaxSmsMessage)) return *e;
  if (auto e = check(r.emailMessage, "emailMessage", kMaxEmailMessage)) return *e;
  if (auto e = check(r.emailSubject, "emailSubject", kMaxEmailSubject)) return *e;
  return r;
}

ApiResult<TokenOverrides> readPreTokenGeneration(const Json& response, int version) {
  TokenOverrides out;
  if (version == 1) {
    API_TRY(std::optional<Json> details, optionalObject(response, "claimsOverrideDetails", "response."));
    if (!details) return out;
    const std::string where = "claimsOverrideDetails.";
    if (auto e = readClaims(*details, where, true, out.idClaimsToAdd, out.idClaimsToSuppress)) return *e;
    if (auto e = readGroups(*details, where, out)) return *e;
    return out;
  }
  API_TRY(std::optional<Json> details, optionalObject(response, "claimsAndScopeOverrideDetails", "response."));
  if (!details) return out;
  const std::string where = "claimsAndScopeOverrideDetails.";
  API_TRY(std::optional<Json> id, optionalObject(*details, "idTokenGeneration", where));
  if (id)
    if (auto e = readClaims(*id, where + "idTokenGeneration.", false, out.idClaimsToAdd, out.idClaimsToSuppress))
      return *e;
  API_TRY(std::optional<Json> access, optionalObject(*details, "accessTokenGeneration", where));
  if (access) {
    const std::string inner = where + "accessTokenGeneration.";
    if (auto e = readClaims(*access, inner, false, out.accessClaimsToAdd, out.accessClaimsToSuppress)) return *e;
    API_TRY(out.scopesToAdd, stringArray(*access, "scopesToAdd", inner));
    API_TRY(out.scopesToSuppress, stringArray(*access, "scopesToSuppress", inner));
  }
  if (auto e = readGroups(*details, where, out)) return *e;
  return out;
}

}  // namespace tether::server::idp
