// The token-authorized self-service operations, sign-out and revocation, and TOTP (spec
// cognito-user-pools.md 4.7, 4.8, 4.9, 6.5); see idp_api.h.
#include "idp/idp_api.h"

#include <algorithm>

#include "idp/crypto/code_hash.h"
#include "idp/crypto/crypto_util.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/idp_random.h"
#include "idp/crypto/sealer.h"
#include "idp/crypto/totp.h"
#include "idp/idp_secrets.h"
#include "idp/token_service.h"
#include "idp/user_validation.h"

namespace tether::server::idp {
namespace {

constexpr int64_t kVerifyCodeTtlMs = 24 * 3600 * 1000;
constexpr int kChangePasswordPerHour = 5;
constexpr int kVerificationCodesPerHour = 5;

}  // namespace

ApiResult<IdpApi::TokenUser> IdpApi::tokenUser(const Json& in) {
  API_TRY(auto token, cognito::getString(in, "AccessToken", true));
  API_TRY(AccessClaims claims, tokens_->verifyAccessToken(*token));
  API_TRY(Pool pool, loadPool(claims.poolId));
  API_TRY(std::optional<User> user, findUserBySub(pool, claims.sub));
  if (!user) return notAuthorized(msg::kUserNotFound);
  IDP_TRY_RESULT(bool isRevoked, tokens_->revoked(pool.row.id, claims.originJti, claims.iat, user->state.revokedBeforeMs));
  if (isRevoked) return notAuthorized(msg::kAccessTokenRevoked);
  if (!user->row.enabled) return notAuthorized(msg::kUserDisabled);
  if (user->row.status == "RESET_REQUIRED")
    return idpError("PasswordResetRequiredException", "Password reset required for the user");
  return TokenUser{std::move(pool), std::move(*user), std::move(claims)};
}

Json IdpApi::mfaSettings(const User& user) const {
  Json out = Json::object();
  if (user.state.totpEnabled && !user.state.totpSecret.empty()) {
    out["UserMFASettingList"] = Json::array({"SOFTWARE_TOKEN_MFA"});
    if (user.state.totpPreferred) out["PreferredMfaSetting"] = "SOFTWARE_TOKEN_MFA";
  }
  return out;
}

ApiResult<Json> IdpApi::getUser(const Json& in, const Call&) {
  API_TRY(TokenUser t, tokenUser(in));
  std::vector<std::string> readable;
  if (Result<std::optional<UserPoolClientRow>> row = ctx_.store.getUserPoolClient(t.claims.clientId);
      row.isOk() && *row) {
    if (Result<AppClientConfig> cfg = AppClientConfig::fromStored((*row)->configJson); cfg.isOk())
      readable = cfg->readAttributes();
  }
  Json out = mfaSettings(t.user);
  out["Username"] = t.user.row.username;
  out["UserAttributes"] = attributeListJson(t.user.row.sub, t.user.row.attributes, readable);
  return out;
}

ApiResult<Json> IdpApi::globalSignOut(const Json& in, const Call&) {
  API_TRY(TokenUser t, tokenUser(in));
  API_TRY(User user, updateUser(t.pool, std::move(t.user), [&](User& u) -> std::optional<ApiError> {
    u.state.revokedBeforeMs = nowMs();
    return std::nullopt;
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::adminUserGlobalSignOut(const Json& in, const Call&) {
  API_TRY(auto pu, adminUser(in));
  auto& [pool, found] = pu;
  API_TRY(User user, updateUser(pool, std::move(found), [&](User& u) -> std::optional<ApiError> {
    u.state.revokedBeforeMs = nowMs();
    return std::nullopt;
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::revokeToken(const Json& in, const Call&) {
  API_TRY(auto token, cognito::getString(in, "Token", true));
  API_TRY(auto clientSecret, cognito::getString(in, "ClientSecret"));
  API_TRY(Client client, loadClientFromRequest(in));
  if (client.config.hasSecret() &&
      (!clientSecret || !detail::constantTimeEquals(*clientSecret, client.config.secret())))
    return idpError("UnauthorizedException", "Invalid client secret.");
  if (!client.config.tokenRevocationEnabled())
    return unsupported("Token revocation is not enabled for this app client.");
  // An access or ID token (a JWT: three segments) is not what RevokeToken takes.
  if (std::count(token->begin(), token->end(), '.') == 2)
    return idpError("UnsupportedTokenTypeException", "Only refresh tokens can be revoked.");
  ApiResult<RefreshClaims> claims = tokens_->openRefreshToken(*token, client.row.clientId);
  if (!claims.isOk()) return Json::object();  // unknown, expired or another client's: nothing to do (spec 4.8)
  IDP_TRY_STATUS(ctx_.store.revokeOrigin(claims->poolId, claims->originJti, claims->exp * 1000));
  return Json::object();
}

ApiResult<Json> IdpApi::changePassword(const Json& in, const Call&) {
  API_TRY(auto previous, cognito::getString(in, "PreviousPassword"));
  API_TRY(auto proposed, cognito::getString(in, "ProposedPassword", true));
  if (auto e = checkPasswordFormat(*proposed, "proposedPassword")) return *e;
  if (previous)
    if (auto e = checkPasswordFormat(*previous, "previousPassword")) return *e;
  API_TRY(TokenUser t, tokenUser(in));
  if (lockedOut(t.user)) return notAuthorized(msg::kPasswordAttemptsExceeded);
  const bool hasPassword = !t.user.state.srpSalt.empty();
  if (hasPassword && (!previous || !passwordMatches(t.pool, t.user, *previous))) {
    if (!previous) return invalidParameter("Missing required parameter PreviousPassword");
    API_TRY(User counted, recordSignIn(t.pool, std::move(t.user), false));
    (void)counted;
    return notAuthorized(msg::kIncorrectPassword);
  }
  if (auto e = checkPasswordPolicy(t.pool.config.passwordPolicy(), *proposed)) return *e;
  API_TRY(User user, updateUser(t.pool, std::move(t.user), [&](User& u) -> std::optional<ApiError> {
    if (!u.state.allowAttempt("ChangePassword", kChangePasswordPerHour, nowMs())) return limitExceeded();
    return setPassword(t.pool, u, *proposed);
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::deleteUser(const Json& in, const Call&) {
  API_TRY(TokenUser t, tokenUser(in));
  Status s = ctx_.store.deleteUser(t.pool.row.id, t.user.row.sub);
  if (s.code() == StatusCode::kNotFound) return notAuthorized(msg::kUserNotFound);
  IDP_TRY_STATUS(s);
  return Json::object();
}

// ---- attributes

ApiResult<Json> IdpApi::writeAttributes(const Pool& pool, User found, const AttributeList& attrs, bool admin,
                                        const std::vector<std::string>& writable, const TriggerCaller& caller) {
  if (auto e = checkAttributes(pool.config, attrs, admin ? AttributeWriter::kAdmin : AttributeWriter::kClient, writable,
                               false))
    return *e;
  // A new email/phone in a pool that verifies it: *_verified goes false and a code is sent;
  // with AttributesRequireVerificationBeforeUpdate the old value stays until the code is entered.
  std::vector<std::pair<std::string, std::string>> codes;  // attribute -> code
  const auto& autoVerified = pool.config.autoVerifiedAttributes();
  const auto& holdBack = pool.config.attributesRequireVerificationBeforeUpdate();
  API_TRY(User user, updateUser(pool, std::move(found), [&](User& u) -> std::optional<ApiError> {
    codes.clear();
    for (const auto& attr : attrs) {
      const std::string& n = attr.first;  // not a structured binding: clang 14 can't capture one
      const std::string& v = attr.second;
      if (v.empty()) {
        const SchemaAttribute* s = pool.config.schemaAttribute(n);
        if (s && s->required) return invalidParameter("Cannot delete the required attribute " + n);
        u.eraseAttribute(n);
        if (n == "email" || n == "phone_number") u.eraseAttribute(n + "_verified");
        continue;
      }
      const std::string* old = u.attribute(n);
      const bool changed = !old || *old != v;
      const bool verifiable = n == "email" || n == "phone_number";
      const bool adminSetsVerified = std::any_of(attrs.begin(), attrs.end(), [&](const auto& a) {
        return a.first == n + "_verified" && a.second == "true";
      });
      if (verifiable && changed && !adminSetsVerified &&
          std::find(autoVerified.begin(), autoVerified.end(), n) != autoVerified.end()) {
        if (std::find(holdBack.begin(), holdBack.end(), n) != holdBack.end() && old) {
          codes.emplace_back(n, issueCode(u, "Verify:" + n, n, kVerifyCodeTtlMs, v));
          continue;  // the old value stays until the new one is verified
        }
        u.setAttribute(n, v);
        u.setAttribute(n + "_verified", "false");
        codes.emplace_back(n, issueCode(u, "Verify:" + n, n, kVerifyCodeTtlMs));
        continue;
      }
      u.setAttribute(n, v);
      if (verifiable && changed && !adminSetsVerified && !admin) u.setAttribute(n + "_verified", "false");
    }
    return std::nullopt;
  }));
  Json details = Json::array();
  for (const auto& [attr, code] : codes) {
    const PendingCode& p = user.state.codes["Verify:" + attr];
    API_TRY(Json d, sendCode(pool, user, "UpdateUserAttribute", attr, code, p.value, caller));
    details.push_back(d);
  }
  Json out = Json::object();
  if (!details.empty()) out["CodeDeliveryDetailsList"] = details;
  return out;
}

ApiResult<Json> IdpApi::updateUserAttributes(const Json& in, const Call& call) {
  API_TRY(AttributeList attrs, parseAttributeList(in, "UserAttributes"));
  API_TRY(TokenUser t, tokenUser(in));
  API_TRY(Client client, loadClient(t.claims.clientId));
  return writeAttributes(t.pool, std::move(t.user), attrs, false, client.config.writeAttributes(),
                         triggerCaller(call, client.row.clientId));
}

ApiResult<Json> IdpApi::adminUpdateUserAttributes(const Json& in, const Call& call) {
  API_TRY(AttributeList attrs, parseAttributeList(in, "UserAttributes"));
  API_TRY(auto pu, adminUser(in));
  API_TRY(Json out, writeAttributes(pu.first, std::move(pu.second), attrs, true, {}, triggerCaller(call, "")));
  (void)out;
  return Json::object();
}

ApiResult<Json> IdpApi::deleteAttributes(const Pool& pool, User found, const std::vector<std::string>& names,
                                         bool admin, const std::vector<std::string>& writable) {
  AttributeList asEmpty;
  for (const std::string& n : names) {
    if (n.empty() || n.size() > 32) return validationError("userAttributeNames.member", "Member must have length between 1 and 32");
    asEmpty.emplace_back(n, "");
  }
  return writeAttributes(pool, std::move(found), asEmpty, admin, writable);
}

ApiResult<Json> IdpApi::deleteUserAttributes(const Json& in, const Call&) {
  API_TRY(auto names, cognito::getStringList(in, "UserAttributeNames", true));
  API_TRY(TokenUser t, tokenUser(in));
  API_TRY(Client client, loadClient(t.claims.clientId));
  API_TRY(Json out, deleteAttributes(t.pool, std::move(t.user), *names, false, client.config.writeAttributes()));
  (void)out;
  return Json::object();
}

ApiResult<Json> IdpApi::adminDeleteUserAttributes(const Json& in, const Call&) {
  API_TRY(auto names, cognito::getStringList(in, "UserAttributeNames", true));
  API_TRY(auto pu, adminUser(in));
  API_TRY(Json out, deleteAttributes(pu.first, std::move(pu.second), *names, true, {}));
  (void)out;
  return Json::object();
}

ApiResult<Json> IdpApi::getUserAttributeVerificationCode(const Json& in, const Call& call) {
  API_TRY(auto attr, cognito::getString(in, "AttributeName", true));
  API_TRY(TokenUser t, tokenUser(in));
  if (*attr != "email" && *attr != "phone_number")
    return invalidParameter("Only email and phone_number can be verified.");
  if (!t.user.attribute(*attr) || t.user.attribute(*attr)->empty())
    return invalidParameter("The user has no " + *attr + " to verify.");
  std::string code;
  API_TRY(User user, updateUser(t.pool, std::move(t.user), [&](User& u) -> std::optional<ApiError> {
    if (!u.state.allowAttempt("GetUserAttributeVerificationCode", kVerificationCodesPerHour, nowMs()))
      return limitExceeded();
    // A pending held-back value keeps its place; otherwise the current value is verified.
    std::string pending = u.state.codes.count("Verify:" + *attr) ? u.state.codes["Verify:" + *attr].value : "";
    code = issueCode(u, "Verify:" + *attr, *attr, kVerifyCodeTtlMs, pending);
    return std::nullopt;
  }));
  const PendingCode& p = user.state.codes["Verify:" + *attr];
  API_TRY(Json details,
          sendCode(t.pool, user, "VerifyUserAttribute", *attr, code, p.value, triggerCaller(call, t.claims.clientId)));
  return Json{{"CodeDeliveryDetails", details}};
}

ApiResult<Json> IdpApi::verifyUserAttribute(const Json& in, const Call&) {
  API_TRY(auto attr, cognito::getString(in, "AttributeName", true));
  API_TRY(auto code, cognito::getString(in, "Code", true));
  API_TRY(TokenUser t, tokenUser(in));
  std::optional<ApiError> refused;
  API_TRY(User user, updateUser(t.pool, std::move(t.user), [&](User& u) -> std::optional<ApiError> {
    refused.reset();
    if (!u.state.allowAttempt("VerifyUserAttribute", 15, nowMs())) return limitExceeded();
    std::string pending = u.state.codes.count("Verify:" + *attr) ? u.state.codes["Verify:" + *attr].value : "";
    if ((refused = consumeCode(u, "Verify:" + *attr, *code))) return std::nullopt;
    if (!pending.empty()) u.setAttribute(*attr, pending);
    u.setAttribute(*attr + "_verified", "true");
    return std::nullopt;
  }));
  if (refused) return *refused;
  (void)user;
  return Json::object();
}

// ---- TOTP (spec 4.9)

ApiResult<IdpApi::TokenUser> IdpApi::tokenOrSessionUser(const Json& in, std::optional<std::pair<std::string, Json>>* sessionState) {
  API_TRY(auto token, cognito::getString(in, "AccessToken"));
  API_TRY(auto session, cognito::getString(in, "Session"));
  if (token) return tokenUser(in);
  if (!session) return invalidParameter("Either AccessToken or Session is required.");
  // During MFA_SETUP: the session of that challenge (or of a previous Associate/Verify step).
  auto parsed = parseSession(*session);
  if (!parsed) return notAuthorized(msg::kSessionExpired);
  IDP_TRY_RESULT(std::optional<std::string> ticket,
                 ctx_.store.takeTicket(parsed->first + "/session/" + parsed->second, nowMs()));
  if (!ticket) return notAuthorized(msg::kSessionExpired);
  Json state = Json::parse(*ticket, nullptr, false);
  if (!state.is_object() || state.value("challenge", "") != "MFA_SETUP" || state.value("pool", "") != parsed->first)
    return notAuthorized(msg::kSessionExpired);
  API_TRY(Pool pool, loadPool(state.value("pool", "")));
  API_TRY(std::optional<User> user, findUserBySub(pool, state.value("sub", "")));
  if (!user) return notAuthorized(msg::kSessionExpired);
  *sessionState = std::make_pair(parsed->first + "/session/" + parsed->second, state);
  AccessClaims none;
  none.clientId = state.value("client", "");
  return TokenUser{std::move(pool), std::move(*user), std::move(none)};
}

ApiResult<Json> IdpApi::associateSoftwareToken(const Json& in, const Call&) {
  std::optional<std::pair<std::string, Json>> session;
  API_TRY(TokenUser t, tokenOrSessionUser(in, &session));
  if (!t.pool.config.totpEnabled())
    return idpError("SoftwareTokenMFANotFoundException", "Software Token MFA has not been enabled by the userPool");
  std::string secret = totp::newSecret();
  IDP_TRY_RESULT(std::string sealed, ctx_.atRestSealer->sealToBase64(secret, "totp|" + t.pool.row.id + "|" + t.user.row.sub));
  API_TRY(User user, updateUser(t.pool, std::move(t.user), [&](User& u) -> std::optional<ApiError> {
    u.state.totpPending = sealed;
    return std::nullopt;
  }));
  Json out = {{"SecretCode", secret}};
  if (session) {
    API_TRY(Client client, loadClient(session->second.value("client", "")));
    API_TRY(std::string next,
            newSession(client, user, "MFA_SETUP", Json{{"source", session->second.value("source", "")}}));
    out["Session"] = next;
  }
  return out;
}

ApiResult<Json> IdpApi::verifySoftwareToken(const Json& in, const Call&) {
  API_TRY(auto code, cognito::getString(in, "UserCode", true));
  API_TRY(auto name, cognito::getString(in, "FriendlyDeviceName"));
  std::optional<std::pair<std::string, Json>> session;
  API_TRY(TokenUser t, tokenOrSessionUser(in, &session));
  if (t.user.state.totpPending.empty())
    return invalidParameter("No software token is being associated: call AssociateSoftwareToken first.");
  if (auto wrong = checkTotp(t.pool, t.user, t.user.state.totpPending, *code)) {
    // Keep the MFA_SETUP session usable for another try.
    if (session)
      IDP_TRY_STATUS(ctx_.store.putTicket(session->first, session->second.dump(),
                                          nowMs() + 3 * 60 * 1000));
    return idpError("EnableSoftwareTokenMFAException", "Code mismatch");
  }
  API_TRY(User user, updateUser(t.pool, std::move(t.user), [&](User& u) -> std::optional<ApiError> {
    u.state.totpSecret = u.state.totpPending;
    u.state.totpPending.clear();
    u.state.totpDeviceName = name.value_or("");
    if (session) {  // MFA_SETUP during sign-in: the factor is the user's from now on
      u.state.totpEnabled = true;
      u.state.totpPreferred = true;
    }
    return std::nullopt;
  }));
  Json out = {{"Status", "SUCCESS"}};
  if (session) {
    API_TRY(Client client, loadClient(session->second.value("client", "")));
    Json next = {{"source", session->second.value("source", "")}, {"verified", true}};
    API_TRY(std::string handle, newSession(client, user, "MFA_SETUP", next));
    out["Session"] = handle;
  }
  return out;
}

ApiResult<Json> IdpApi::applyMfaPreference(const Pool& pool, User found, const Json& in) {
  for (const char* k : {"SMSMfaSettings", "EmailMfaSettings"})
    if (auto it = in.find(k); it != in.end() && it->is_object() && it->value("Enabled", false))
      return invalidParameter(std::string(k) + ": tetherd supports TOTP (software token) MFA only.");
  auto it = in.find("SoftwareTokenMfaSettings");
  if (it == in.end() || it->is_null()) return Json::object();
  if (!it->is_object()) return validationError("softwareTokenMfaSettings", "Member must be a structure");
  API_TRY(auto enabled, cognito::getBool(*it, "Enabled"));
  API_TRY(auto preferred, cognito::getBool(*it, "PreferredMfa"));
  API_TRY(User user, updateUser(pool, std::move(found), [&](User& u) -> std::optional<ApiError> {
    if (enabled.value_or(false) && u.state.totpSecret.empty())
      return invalidParameter("User has not verified software token mfa");
    u.state.totpEnabled = enabled.value_or(false);
    u.state.totpPreferred = u.state.totpEnabled && preferred.value_or(false);
    return std::nullopt;
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::setUserMfaPreference(const Json& in, const Call&) {
  API_TRY(TokenUser t, tokenUser(in));
  return applyMfaPreference(t.pool, std::move(t.user), in);
}

ApiResult<Json> IdpApi::adminSetUserMfaPreference(const Json& in, const Call&) {
  API_TRY(auto pu, adminUser(in));
  return applyMfaPreference(pu.first, std::move(pu.second), in);
}

}  // namespace tether::server::idp
