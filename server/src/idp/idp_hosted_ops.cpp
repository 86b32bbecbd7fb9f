// The hosted UI's way into the user-pool logic (spec cognito-user-pools.md 7); see idp_api.h.
// Nothing here re-implements a sign-in step: the pages run the same operations as the JSON API
// (passwordAuth, respond, SignUp, ...) with Call.hosted set, so lockout, the disabled and
// unconfirmed checks, NEW_PASSWORD_REQUIRED, TOTP, MFA_SETUP and the triggers behave the same.
// A hosted sign-in ends in a HostedSignIn instead of tokens (finishSignIn); the token endpoint
// mints them later from the authorization code, with the OAuth scopes (hostedTokens).
#include "idp/idp_api.h"

#include <algorithm>
#include <set>

#include "idp/crypto/secret_hash.h"
#include "idp/token_service.h"
#include "idp/user_validation.h"

namespace tether::server::idp {
namespace {

bool has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// The standard attributes the `profile` scope releases (spec 7.5): all but email and phone.
const std::set<std::string>& profileAttributes() {
  static const std::set<std::string> k = {"name",     "family_name", "given_name", "middle_name", "nickname",
                                          "preferred_username", "profile", "picture", "website", "gender",
                                          "birthdate", "zoneinfo",   "locale",     "updated_at",  "address"};
  return k;
}

}  // namespace

ApiResult<Json> IdpApi::callForHostedUi(std::string_view operation, Json in, const HttpRequest& request) {
  const std::vector<Operation>& table = dispatchTable();
  auto it = std::find_if(table.begin(), table.end(), [&](const Operation& o) { return o.info.name == operation; });
  if (it == table.end() || it->info.auth == AuthClass::kSigned)
    return ApiError{400, "UnknownOperationException", "Not a hosted-UI operation: " + std::string(operation)};
  if (ctx_.limiter && !ctx_.limiter->allowAddress(RateKind::kSignIn, request.peer)) return tooManyRequests();
  if (in.contains("ClientId") && in.contains("Username") && !in.contains("SecretHash")) {
    API_TRY(Client client, loadClientFromRequest(in));
    if (client.config.hasSecret() && in["Username"].is_string())
      in["SecretHash"] = secretHash(client.config.secret(), in["Username"].get<std::string>(), client.row.clientId);
  }
  Call call{request, std::string(operation), {}, true};
  return (this->*(it->handler))(in, call);
}

ApiResult<Json> IdpApi::hostedSignIn(const std::string& clientId, const std::string& username,
                                     const std::string& password, const HttpRequest& request) {
  if (ctx_.limiter && !ctx_.limiter->allowAddress(RateKind::kSignIn, request.peer)) return tooManyRequests();
  API_TRY(Client client, loadClient(clientId));
  std::map<std::string, std::string> params = {{"USERNAME", username}, {"PASSWORD", password}};
  if (client.config.hasSecret()) params["SECRET_HASH"] = secretHash(client.config.secret(), username, clientId);
  if (auto e = checkPasswordFormat(password, "PASSWORD")) return *e;
  Call call{request, "HostedSignIn", {}, true};
  return passwordAuth(client, params, call);
}

ApiResult<Json> IdpApi::hostedRespond(const std::string& clientId, const std::string& challenge,
                                      const std::string& session, std::map<std::string, std::string> responses,
                                      const HttpRequest& request) {
  if (ctx_.limiter && !ctx_.limiter->allowAddress(RateKind::kSignIn, request.peer)) return tooManyRequests();
  API_TRY(Client client, loadClient(clientId));
  if (client.config.hasSecret() && responses.count("USERNAME"))
    responses["SECRET_HASH"] = secretHash(client.config.secret(), responses["USERNAME"], clientId);
  Json in = {{"ChallengeName", challenge}, {"Session", session}, {"ChallengeResponses", responses}};
  Call call{request, "HostedRespond", {}, true};
  return respond(client, in, call);
}

ApiResult<Json> IdpApi::hostedTokens(const HostedGrant& grant) {
  API_TRY(Client client, loadClient(grant.clientId));
  API_TRY(std::optional<User> user, findUserBySub(client.pool, grant.sub));
  if (!user) return notAuthorized(msg::kUserNotFound);
  if (!user->row.enabled) return notAuthorized(msg::kUserDisabled);
  if (user->row.status != "CONFIRMED") return notAuthorized("User is not confirmed.");
  IssueContext ic;
  ic.authTimeSec = grant.authTimeSec;
  ic.withRefreshToken = grant.withRefreshToken;
  ic.oauth = true;
  ic.scopes = grant.scopes;
  ic.withIdToken = has(grant.scopes, "openid");
  ic.nonce = grant.nonce;
  ic.triggerSource = kHostedAuthSource;
  return issueTokens(client, *user, ic);
}

ApiResult<Json> IdpApi::hostedRefresh(const std::string& clientId, const std::string& refreshToken) {
  API_TRY(Client client, loadClient(clientId));
  std::map<std::string, std::string> params = {{"REFRESH_TOKEN", refreshToken}};
  if (client.config.hasSecret()) {
    // The token endpoint authenticated the client with its secret; SECRET_HASH is over the
    // token's username.
    API_TRY(RefreshClaims claims, tokens_->openRefreshToken(refreshToken, clientId));
    params["SECRET_HASH"] = secretHash(client.config.secret(), claims.username, clientId);
  }
  API_TRY(Json out, refreshAuth(client, params));
  return out["AuthenticationResult"];
}

ApiResult<Json> IdpApi::clientCredentialsToken(const std::string& clientId, const std::vector<std::string>& scopes) {
  API_TRY(Client client, loadClient(clientId));
  IDP_TRY_RESULT(TokenSet set,
                 tokens_->mintForClient(client.pool.row.id, clientId, scopes, client.config.accessTokenSeconds()));
  return Json{{"AccessToken", set.accessToken}, {"ExpiresIn", set.expiresIn}, {"TokenType", "Bearer"}};
}

ApiResult<Json> IdpApi::userInfo(const std::string& accessToken) {
  API_TRY(AccessClaims claims, tokens_->verifyAccessToken(accessToken, false));
  if (!claims.hasScope("openid")) return notAuthorized("Access Token does not have the openid scope");
  API_TRY(Pool pool, loadPool(claims.poolId));
  API_TRY(std::optional<User> user, findUserBySub(pool, claims.sub));
  if (!user) return notAuthorized(msg::kUserNotFound);
  IDP_TRY_RESULT(bool isRevoked, tokens_->revoked(pool.row.id, claims.originJti, claims.iat, user->state.revokedBeforeMs));
  if (isRevoked) return notAuthorized(msg::kAccessTokenRevoked);
  if (!user->row.enabled) return notAuthorized(msg::kUserDisabled);
  std::vector<std::string> readable;
  if (ApiResult<Client> client = loadClient(claims.clientId); client.isOk()) readable = client->config.readAttributes();
  const bool all = claims.hasScope(kAdminScope);
  Json out = {{"sub", user->row.sub}, {"username", user->row.username}};
  for (const auto& [name, value] : user->row.attributes) {
    if (name.starts_with("dev:") || (!readable.empty() && !has(readable, name))) continue;
    bool released = all || (claims.hasScope("email") && (name == "email" || name == "email_verified")) ||
                    (claims.hasScope("phone") && (name == "phone_number" || name == "phone_number_verified")) ||
                    (claims.hasScope("profile") && profileAttributes().count(name));
    // Values as AWS's userInfo sends them: strings, "true"/"false" included (DG sample).
    if (released) out[name] = value;
  }
  return out;
}

}  // namespace tether::server::idp
