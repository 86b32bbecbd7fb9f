// Sign-in: InitiateAuth / RespondToAuthChallenge and their admin forms (spec
// cognito-user-pools.md 4.4, 4.5, 5, 3.5, 9.3); see idp_api.h.
//
// State between the two calls:
//   - USER_SRP_AUTH: the handshake (A, B, b, user) sealed into SECRET_BLOCK, as AWS does, with no
//     Session; RespondToAuthChallenge consumes it once (a use-once record in the store, so a
//     replay on another node fails too).
//   - Every other challenge: a Session ticket in the store (random handle, single use, expiring
//     after the client's AuthSessionValidity) naming pool, client, user and challenge.
// Sign-in failures are counted per user (lockout, spec 9.3) in the user's state.
#include "idp/idp_api.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "auth/base64url.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/idp_random.h"
#include "idp/crypto/sealer.h"
#include "idp/crypto/srp.h"
#include "idp/crypto/totp.h"
#include "idp/idp_secrets.h"
#include "idp/token_service.h"
#include "idp/user_validation.h"

namespace tether::server::idp {
namespace {

constexpr int kLockoutAfterFailures = 5;
constexpr int64_t kMaxLockoutMs = 15 * 60 * 1000;
constexpr int64_t kFailureMemoryMs = 15 * 60 * 1000;
constexpr int kMfaCodeTries = 5;
constexpr std::string_view kSrpAd = "tether-idp-srp-v1";

std::string poolName(const std::string& poolId) { return poolId.substr(poolId.find('_') + 1); }

ApiError incorrect() { return notAuthorized(msg::kIncorrectPassword); }

// Map<string,string> of AuthParameters / ChallengeResponses; values must be strings.
ApiResult<std::map<std::string, std::string>> stringMap(const Json& in, const char* name) {
  API_TRY(auto m, cognito::getStringMap(in, name));
  return m.value_or(std::map<std::string, std::string>());
}

ApiResult<std::string> required(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return invalidParameter(std::string("Missing required parameter ") + key);
  if (it->second.size() > 16384) return invalidParameter(std::string("Parameter ") + key + " is too long");
  return it->second;
}

std::optional<std::string> optional(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

}  // namespace

// ---- lockout (spec 9.3)

bool IdpApi::lockedOut(const User& user) const { return user.state.lockedUntilMs > nowMs(); }

void IdpApi::recordFailure(User& user) {
  const int64_t now = nowMs();
  if (user.state.lastSignInAttemptMs && now - user.state.lastSignInAttemptMs > kFailureMemoryMs)
    user.state.failedSignIns = 0;
  user.state.lastSignInAttemptMs = now;
  int n = ++user.state.failedSignIns;
  if (n >= kLockoutAfterFailures) {
    int shift = std::min(n - kLockoutAfterFailures, 20);
    user.state.lockedUntilMs = now + std::min<int64_t>(int64_t{1000} << shift, kMaxLockoutMs);
  }
}

ApiResult<IdpApi::User> IdpApi::recordSignIn(const Pool& pool, User user, bool success) {
  return updateUser(pool, std::move(user), [&](User& u) -> std::optional<ApiError> {
    if (success) {
      u.state.failedSignIns = 0;
      u.state.lockedUntilMs = 0;
      u.state.lastSignInAttemptMs = nowMs();
    } else {
      recordFailure(u);
    }
    return std::nullopt;
  });
}

// A durable write of about the cost of recording a failed sign-in, for the paths that hide a
// missing user (the real path writes the user's failure count). Its ticket expires in a minute.
void IdpApi::equalizeWrite(const Pool& pool) {
  Status s = ctx_.store.putTicket(pool.row.id + "/equalize/" + newSessionHandle().substr(0, 16), "", nowMs() + 60000);
  (void)s;  // best effort: only the time it takes matters
}

// ---- sessions

ApiResult<std::string> IdpApi::newSession(const Client& client, const User& user, const std::string& challenge,
                                          Json extra) {
  std::string handle = newSessionHandle();
  extra["pool"] = client.pool.row.id;
  extra["client"] = client.row.clientId;
  extra["sub"] = user.row.sub;
  extra["challenge"] = challenge;
  const int64_t expires = nowMs() + int64_t{client.config.authSessionMinutes()} * 60 * 1000;
  // "<poolId>.<handle>": the pool names where the ticket is (and deleting the pool drops it).
  IDP_TRY_STATUS(ctx_.store.putTicket(client.pool.row.id + "/session/" + handle, extra.dump(), expires));
  return client.pool.row.id + "." + handle;
}

std::optional<std::pair<std::string, std::string>> IdpApi::parseSession(const std::string& session) {
  size_t dot = session.find('.');
  if (session.size() < 20 || session.size() > 2048 || dot == std::string::npos || dot == 0) return std::nullopt;
  std::string poolId = session.substr(0, dot), handle = session.substr(dot + 1);
  if (handle.size() < 16 || poolId.find('/') != std::string::npos) return std::nullopt;
  return std::make_pair(poolId, handle);
}

ApiResult<Json> IdpApi::takeSession(const Client& client, const std::string& session, const std::string& challenge) {
  auto parsed = parseSession(session);
  if (!parsed || parsed->first != client.pool.row.id) return notAuthorized(msg::kSessionExpired);
  const std::string& handle = parsed->second;
  const std::string base = client.pool.row.id + "/";
  IDP_TRY_RESULT(std::optional<std::string> ticket, ctx_.store.takeTicket(base + "session/" + handle, nowMs()));
  if (!ticket) {
    IDP_TRY_RESULT(std::optional<std::string> used, ctx_.store.peekTicket(base + "used-session/" + handle, nowMs()));
    return notAuthorized(used ? msg::kSessionUsed : msg::kSessionExpired);
  }
  IDP_TRY_STATUS(ctx_.store.putTicket(base + "used-session/" + handle, "", nowMs() + 15 * 60 * 1000));
  Json state = Json::parse(*ticket, nullptr, false);
  if (!state.is_object() || state.value("client", "") != client.row.clientId ||
      state.value("pool", "") != client.pool.row.id || state.value("challenge", "") != challenge)
    return notAuthorized(msg::kSessionExpired);
  return state;
}

// ---- InitiateAuth

ApiResult<Json> IdpApi::initiateAuth(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  return startAuth(client, in, false, call);
}

ApiResult<Json> IdpApi::adminInitiateAuth(const Json& in, const Call& call) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(Client client, loadClientFromRequest(in));
  if (client.row.poolId != pool.row.id)
    return resourceNotFound("User pool client " + client.row.clientId + " does not exist.");
  return startAuth(client, in, true, call);
}

ApiResult<Json> IdpApi::startAuth(const Client& client, const Json& in, bool admin, const Call& call) {
  API_TRY(auto flowName, cognito::getString(in, "AuthFlow", true));
  API_TRY(auto params, stringMap(in, "AuthParameters"));
  const std::string& flow = *flowName;
  auto enabled = [&](const char* allow) { return client.config.allowsFlow(allow); };
  if (flow == "USER_SRP_AUTH") {
    if (!enabled("ALLOW_USER_SRP_AUTH")) return invalidParameter("USER_SRP_AUTH flow not enabled for this client");
    return startSrp(client, params, call);
  }
  if (flow == "USER_PASSWORD_AUTH" || flow == "ADMIN_USER_PASSWORD_AUTH" || flow == "ADMIN_NO_SRP_AUTH") {
    const bool adminFlow = flow != "USER_PASSWORD_AUTH";
    if (adminFlow != admin) return invalidParameter("Initiate Auth method not supported.");
    if (!enabled(adminFlow ? "ALLOW_ADMIN_USER_PASSWORD_AUTH" : "ALLOW_USER_PASSWORD_AUTH"))
      return invalidParameter(std::string(adminFlow ? "ADMIN_USER_PASSWORD_AUTH" : "USER_PASSWORD_AUTH") +
                              " flow not enabled for this client");
    return passwordAuth(client, params, call);
  }
  if (flow == "REFRESH_TOKEN_AUTH" || flow == "REFRESH_TOKEN") {
    if (!enabled("ALLOW_REFRESH_TOKEN_AUTH")) return invalidParameter("Auth flow not enabled for this client");
    return refreshAuth(client, params);
  }
  if (flow == "CUSTOM_AUTH" || flow == "USER_AUTH")
    return invalidParameter(flow + " is not supported by this server (no custom or choice-based authentication).");
  return validationError("authFlow",
                         "Member must satisfy enum value set: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, "
                         "CUSTOM_AUTH, ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, USER_AUTH]");
}

// Checks in AWS's order (spec 3.5): unknown, disabled, unconfirmed, reset required, lockout.
ApiResult<IdpApi::User> IdpApi::signInCandidate(const Client& client, const std::string& typed,
                                               std::optional<User> found) {
  const bool hide = client.config.preventUserExistenceErrors();
  if (!found) return hide ? incorrect() : userNotFound();
  User& user = *found;
  if (!user.row.enabled) return notAuthorized(msg::kUserDisabled);
  if (user.row.status == "UNCONFIRMED") return idpError("UserNotConfirmedException", msg::kUserNotConfirmed);
  if (user.row.status == "RESET_REQUIRED")
    return hide ? incorrect() : idpError("PasswordResetRequiredException", "Password reset required for the user");
  if (lockedOut(user)) return notAuthorized(msg::kPasswordAttemptsExceeded);
  (void)typed;
  return std::move(user);
}

ApiResult<Json> IdpApi::passwordAuth(const Client& client, const std::map<std::string, std::string>& params,
                                     const Call& call) {
  API_TRY(std::string typed, required(params, "USERNAME"));
  API_TRY(std::string password, required(params, "PASSWORD"));
  if (auto e = checkUsername(typed, "USERNAME")) return *e;
  API_TRY(std::optional<User> found, findUser(client.pool, typed));
  if (auto e = checkSecretHash(client, optional(params, "SECRET_HASH"), {typed, found ? found->row.username : typed}))
    return *e;
  if (!found && client.config.preventUserExistenceErrors()) {
    // As slow as a real failed check (one modexp and one durable write, the failure count), so
    // that timing does not tell missing users from existing ones.
    burnPasswordCheck(poolName(client.pool.row.id), typed, password);
    equalizeWrite(client.pool);
  }
  API_TRY(User user, preAuthenticated(client, typed, std::move(found), call));
  if (!passwordMatches(client.pool, user, password)) {
    API_TRY(User counted, recordSignIn(client.pool, std::move(user), false));
    (void)counted;
    return incorrect();
  }
  API_TRY(User signedIn, recordSignIn(client.pool, std::move(user), true));
  return afterPassword(client, std::move(signedIn), call.hosted ? kHostedAuthSource : "TokenGeneration_Authentication",
                       call);
}

ApiResult<Json> IdpApi::startSrp(const Client& client, const std::map<std::string, std::string>& params,
                                 const Call& call) {
  API_TRY(std::string typed, required(params, "USERNAME"));
  API_TRY(std::string srpA, required(params, "SRP_A"));
  if (auto e = checkUsername(typed, "USERNAME")) return *e;
  API_TRY(std::optional<User> found, findUser(client.pool, typed));
  if (auto e = checkSecretHash(client, optional(params, "SECRET_HASH"), {typed, found ? found->row.username : typed}))
    return *e;
  const int64_t expiresAt = nowMs() / 1000 + int64_t{client.config.authSessionMinutes()} * 60;
  std::string userId, saltHex, verifier;
  bool simulated = false;
  if (!found && client.config.preventUserExistenceErrors()) {
    // A simulated challenge: the same salt and USER_ID_FOR_SRP every time for this name, a real
    // B over a verifier nobody knows the password of; the next step fails as a wrong password.
    simulated = true;
    API_TRY(bool ran, preAuthentication(client.pool, nullptr, typed, triggerCaller(call, client.row.clientId), true));
    (void)ran;  // userNotFound: the function may refuse; the challenge stays simulated
    SimulatedUser fake = simulatedUser(*ctx_.codeHasher, client.pool.row.id, typed);
    userId = fake.userId;
    saltHex = fake.saltHex;
    verifier = fake.verifier;
  } else {
    API_TRY(User user, preAuthenticated(client, typed, std::move(found), call));
    std::optional<std::string> v = auth::base64UrlDecode(user.state.srpVerifier);
    if (user.state.srpSalt.empty() || !v) return incorrect();
    userId = user.row.username;
    saltHex = user.state.srpSalt;
    verifier = *v;
  }
  Result<srp::SrpHandshake> hs = srp::beginHandshake(srpA, verifier, userId, expiresAt);
  if (!hs.isOk()) {
    if (hs.status().code() == StatusCode::kUnauthenticated) return notAuthorized("SRP_A is not acceptable.");
    if (hs.status().code() == StatusCode::kInvalidArgument) return invalidParameter("Invalid SRP_A: " + hs.status().message());
    return fromStatus(hs.status());
  }
  // The sealed block: which pool and client, whether simulated, a use-once id, the handshake.
  Json head = {{"p", client.pool.row.id}, {"c", client.row.clientId}, {"f", simulated}, {"n", newSessionHandle()}};
  std::string plain = head.dump();
  plain.push_back('\n');
  plain += hs->serialize();
  IDP_TRY_RESULT(std::string block, ctx_.tokenSealer->sealToBase64(plain, kSrpAd));
  return Json{{"ChallengeName", "PASSWORD_VERIFIER"},
              {"ChallengeParameters",
               {{"SALT", saltHex},
                {"SRP_B", hs->srpBHex()},
                {"SECRET_BLOCK", block},
                {"USERNAME", userId},
                {"USER_ID_FOR_SRP", userId}}}};
}

ApiResult<Json> IdpApi::refreshAuth(const Client& client, const std::map<std::string, std::string>& params) {
  API_TRY(std::string token, required(params, "REFRESH_TOKEN"));
  API_TRY(RefreshClaims claims, tokens_->openRefreshToken(token, client.row.clientId));
  if (claims.poolId != client.pool.row.id) return notAuthorized(msg::kInvalidRefreshToken);
  std::vector<std::string> names = {claims.username};
  if (auto u = optional(params, "USERNAME")) names.push_back(*u);
  if (auto e = checkSecretHash(client, optional(params, "SECRET_HASH"), names)) return *e;
  API_TRY(std::optional<User> found, findUserBySub(client.pool, claims.sub));
  if (!found) return notAuthorized(msg::kInvalidRefreshToken);
  if (!found->row.enabled) return notAuthorized(msg::kUserDisabled);
  IDP_TRY_RESULT(bool isRevoked, tokens_->revoked(client.pool.row.id, claims.originJti, claims.iat,
                                                  found->state.revokedBeforeMs));
  if (isRevoked) return notAuthorized(msg::kRefreshTokenRevoked);
  IssueContext ic;
  ic.originJti = claims.originJti;
  ic.authTimeSec = claims.authTime;
  ic.withRefreshToken = false;
  ic.triggerSource = "TokenGeneration_RefreshTokens";
  // A hosted-UI session keeps its scopes (and gets an ID token only with openid).
  ic.oauth = claims.oauth;
  ic.scopes = claims.scopes;
  ic.withIdToken = !claims.oauth || std::count(claims.scopes.begin(), claims.scopes.end(), "openid") > 0;
  API_TRY(Json result, issueTokens(client, *found, ic));
  return Json{{"AuthenticationResult", result}, {"ChallengeParameters", Json::object()}};
}

// ---- after the password (spec 4.4, post-password decision)

ApiResult<Json> IdpApi::afterPassword(const Client& client, User user, const std::string& tokenSource,
                                      const Call& call) {
  const Pool& pool = client.pool;
  if (user.row.status == "FORCE_CHANGE_PASSWORD") {
    if (user.state.temporaryPasswordExpiresMs && user.state.temporaryPasswordExpiresMs <= nowMs())
      return notAuthorized("Temporary password has expired and must be reset by an administrator.");
    Json current = Json::object();
    for (const auto& [n, v] : user.row.attributes)
      if (!n.starts_with("dev:")) current[n] = v;
    current.erase("email_verified");
    current.erase("phone_number_verified");
    Json requiredAttrs = Json::array();
    for (const auto& [name, s] : pool.config.schema())
      if (s.required && name != "sub" && !user.attribute(name)) requiredAttrs.push_back("userAttributes." + name);
    API_TRY(std::string session, newSession(client, user, "NEW_PASSWORD_REQUIRED", Json{{"source", tokenSource}}));
    return Json{{"ChallengeName", "NEW_PASSWORD_REQUIRED"},
                {"Session", session},
                {"ChallengeParameters",
                 {{"USER_ID_FOR_SRP", user.row.username},
                  {"requiredAttributes", requiredAttrs.dump()},
                  {"userAttributes", current.dump()}}}};
  }
  return mfaOrTokens(client, std::move(user), tokenSource, call);
}

ApiResult<Json> IdpApi::mfaOrTokens(const Client& client, User user, const std::string& tokenSource,
                                    const Call& call) {
  const Pool& pool = client.pool;
  const bool totpReady = user.state.totpEnabled && !user.state.totpSecret.empty();
  if (pool.config.mfaConfiguration() != "OFF") {
    if (totpReady) {
      API_TRY(std::string session, newSession(client, user, "SOFTWARE_TOKEN_MFA", Json{{"source", tokenSource}}));
      Json params = {{"USER_ID_FOR_SRP", user.row.username}};
      if (!user.state.totpDeviceName.empty()) params["FRIENDLY_DEVICE_NAME"] = user.state.totpDeviceName;
      return Json{{"ChallengeName", "SOFTWARE_TOKEN_MFA"}, {"Session", session}, {"ChallengeParameters", params}};
    }
    if (pool.config.mfaConfiguration() == "ON") {
      if (!pool.config.totpEnabled())
        return idpError("MFAMethodNotFoundException", "No MFA method is enabled for this user pool.");
      API_TRY(std::string session, newSession(client, user, "MFA_SETUP", Json{{"source", tokenSource}}));
      return Json{{"ChallengeName", "MFA_SETUP"},
                  {"Session", session},
                  {"ChallengeParameters", {{"MFAS_CAN_SETUP", "[\"SOFTWARE_TOKEN_MFA\"]"}}}};
    }
  }
  return finishSignIn(client, user, tokenSource, call);
}

ApiResult<Json> IdpApi::finishSignIn(const Client& client, const User& user, const std::string& source,
                                     const Call& call) {
  const TriggerCaller caller = signInCaller(call, client);
  if (auto e = postAuthentication(client.pool, user, caller)) return *e;
  if (source == kHostedAuthSource)  // the hosted UI: tokens come later, from the token endpoint
    return Json{{"HostedSignIn", {{"sub", user.row.sub}, {"username", user.row.username}, {"authTime", nowMs() / 1000}}}};
  IssueContext ic;
  ic.authTimeSec = nowMs() / 1000;
  ic.triggerSource = source;
  ic.trigger = caller;
  API_TRY(Json result, issueTokens(client, user, ic));
  return Json{{"AuthenticationResult", result}, {"ChallengeParameters", Json::object()}};
}

ApiResult<Json> IdpApi::issueTokens(const Client& client, const User& user, const IssueContext& ic) {
  IDP_TRY_RESULT(std::vector<UserGroupRow> groups, ctx_.store.listGroupsForUser(client.pool.row.id, user.row.sub));
  std::stable_sort(groups.begin(), groups.end(), [](const UserGroupRow& a, const UserGroupRow& b) {
    return a.precedence.value_or(INT64_MAX) < b.precedence.value_or(INT64_MAX);
  });
  MintRequest r;
  r.poolId = client.pool.row.id;
  r.clientId = client.row.clientId;
  r.user = &user.row;
  const auto& readable = client.config.readAttributes();
  for (const auto& [n, v] : user.row.attributes)
    if (!n.starts_with("dev:") && (readable.empty() || std::find(readable.begin(), readable.end(), n) != readable.end()))
      r.readableAttributes.emplace_back(n, v);
  std::optional<int64_t> bestPrecedence;
  int bestCount = 0;
  for (const UserGroupRow& g : groups) {
    r.groups.push_back(g.name);
    if (g.roleArn.empty()) continue;
    r.roles.push_back(g.roleArn);
    int64_t p = g.precedence.value_or(INT64_MAX);
    if (!bestPrecedence || p < *bestPrecedence) {
      bestPrecedence = p;
      bestCount = 1;
      r.preferredRole = g.roleArn;
    } else if (p == *bestPrecedence) {
      ++bestCount;
    }
  }
  if (bestCount > 1) r.preferredRole.clear();  // only a unique best precedence is preferred
  r.authTimeSec = ic.authTimeSec;
  r.originJti = ic.originJti;
  r.revokedBeforeMs = user.state.revokedBeforeMs;
  r.withRefreshToken = ic.withRefreshToken;
  r.idSeconds = client.config.idTokenSeconds();
  r.accessSeconds = client.config.accessTokenSeconds();
  r.refreshSeconds = client.config.refreshTokenSeconds();
  r.scopes = ic.scopes;
  r.oauth = ic.oauth;
  r.withIdToken = ic.withIdToken;
  r.nonce = ic.nonce;
  if (auto e = preTokenGeneration(client, user, ic, r)) return *e;
  IDP_TRY_RESULT(TokenSet set, tokens_->mint(r));
  Json out = {{"AccessToken", set.accessToken}, {"ExpiresIn", set.expiresIn}, {"TokenType", "Bearer"}};
  if (!set.idToken.empty()) out["IdToken"] = set.idToken;
  if (!set.refreshToken.empty()) out["RefreshToken"] = set.refreshToken;
  return out;
}

// ---- RespondToAuthChallenge

ApiResult<Json> IdpApi::respondToAuthChallenge(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  return respond(client, in, call);
}

ApiResult<Json> IdpApi::adminRespondToAuthChallenge(const Json& in, const Call& call) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(Client client, loadClientFromRequest(in));
  if (client.row.poolId != pool.row.id)
    return resourceNotFound("User pool client " + client.row.clientId + " does not exist.");
  return respond(client, in, call);
}

ApiResult<Json> IdpApi::respond(const Client& client, const Json& in, const Call& call) {
  API_TRY(auto challenge, cognito::getString(in, "ChallengeName", true));
  API_TRY(auto responses, stringMap(in, "ChallengeResponses"));
  API_TRY(auto session, cognito::getString(in, "Session"));
  if (*challenge == "PASSWORD_VERIFIER") return respondPasswordVerifier(client, responses, call);
  const std::set<std::string> known = {"NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA", "MFA_SETUP", "SELECT_MFA_TYPE"};
  if (!known.count(*challenge)) {
    if (*challenge == "SMS_MFA" || *challenge == "EMAIL_OTP" || *challenge == "CUSTOM_CHALLENGE" ||
        *challenge == "DEVICE_SRP_AUTH" || *challenge == "DEVICE_PASSWORD_VERIFIER" ||
        *challenge == "SELECT_CHALLENGE" || *challenge == "SMS_OTP" || *challenge == "WEB_AUTHN" ||
        *challenge == "PASSWORD" || *challenge == "PASSWORD_SRP" || *challenge == "ADMIN_NO_SRP_AUTH")
      return invalidParameter(*challenge + " is not supported by this server.");
    return validationError("challengeName", "Member must satisfy enum value set");
  }
  if (!session) return invalidParameter("Missing required parameter Session");
  API_TRY(std::string typed, required(responses, "USERNAME"));
  API_TRY(Json state, takeSession(client, *session, *challenge));
  API_TRY(std::optional<User> found, findUserBySub(client.pool, state.value("sub", "")));
  if (!found) return notAuthorized(msg::kSessionExpired);
  User user = std::move(*found);
  API_TRY(std::optional<User> named, findUser(client.pool, typed));
  if (!named || named->row.sub != user.row.sub) return notAuthorized(msg::kSessionExpired);
  if (auto e = checkSecretHash(client, optional(responses, "SECRET_HASH"), {typed, user.row.username})) return *e;
  if (!user.row.enabled) return notAuthorized(msg::kUserDisabled);
  const std::string source = state.value("source", "TokenGeneration_Authentication");
  // A hosted-UI sign-in continues only through the hosted UI, and the other way round.
  if ((source == kHostedAuthSource) != call.hosted) return notAuthorized(msg::kSessionExpired);

  if (*challenge == "NEW_PASSWORD_REQUIRED") return respondNewPassword(client, std::move(user), responses, call);
  if (*challenge == "SOFTWARE_TOKEN_MFA") {
    API_TRY(std::string code, required(responses, "SOFTWARE_TOKEN_MFA_CODE"));
    if (lockedOut(user)) return notAuthorized(msg::kPasswordAttemptsExceeded);
    std::optional<ApiError> wrong = checkTotp(client.pool, user, user.state.totpSecret, code);
    if (wrong) {
      API_TRY(User counted, recordSignIn(client.pool, std::move(user), false));
      // The same session may be tried again a few times (a mistyped code).
      int tries = state.value("tries", 0) + 1;
      if (tries < kMfaCodeTries) {
        state["tries"] = tries;
        IDP_TRY_STATUS(ctx_.store.putTicket(client.pool.row.id + "/session/" + parseSession(*session)->second,
                                            state.dump(),
                                            nowMs() + int64_t{client.config.authSessionMinutes()} * 60 * 1000));
      }
      (void)counted;
      return *wrong;
    }
    API_TRY(User signedIn, recordSignIn(client.pool, std::move(user), true));
    return finishSignIn(client, signedIn, source, call);
  }
  if (*challenge == "SELECT_MFA_TYPE") {
    API_TRY(std::string answer, required(responses, "ANSWER"));
    if (answer != "SOFTWARE_TOKEN_MFA") return invalidParameter("ANSWER must be SOFTWARE_TOKEN_MFA on this server.");
    return mfaOrTokens(client, std::move(user), source, call);
  }
  // MFA_SETUP: the session VerifySoftwareToken returned once the new factor was verified.
  if (!state.value("verified", false) || user.state.totpSecret.empty())
    return notAuthorized("The MFA setup was not completed: verify a software token first.");
  return finishSignIn(client, user, source, call);
}

ApiResult<Json> IdpApi::respondPasswordVerifier(const Client& client,
                                                const std::map<std::string, std::string>& responses, const Call& call) {
  API_TRY(std::string typed, required(responses, "USERNAME"));
  API_TRY(std::string block, required(responses, "PASSWORD_CLAIM_SECRET_BLOCK"));
  API_TRY(std::string signature, required(responses, "PASSWORD_CLAIM_SIGNATURE"));
  API_TRY(std::string timestamp, required(responses, "TIMESTAMP"));
  Result<std::string> plain = ctx_.tokenSealer->openBase64(block, kSrpAd);
  if (!plain.isOk()) return incorrect();
  size_t nl = plain->find('\n');
  if (nl == std::string::npos) return incorrect();
  Json head = Json::parse(plain->substr(0, nl), nullptr, false);
  Result<srp::SrpHandshake> hs = srp::SrpHandshake::parse(std::string_view(*plain).substr(nl + 1));
  if (!head.is_object() || !hs.isOk()) return incorrect();
  if (head.value("p", "") != client.pool.row.id || head.value("c", "") != client.row.clientId) return incorrect();
  if (hs->expiresAt <= nowMs() / 1000) return notAuthorized(msg::kSessionExpired);
  IDP_TRY_RESULT(bool first, ctx_.store.useOnce(client.pool.row.id + "/srp/" + head.value("n", ""), hs->expiresAt * 1000 + 60000, nowMs()));
  if (!first) return notAuthorized(msg::kSessionUsed);
  if (auto e = checkSecretHash(client, optional(responses, "SECRET_HASH"), {typed, hs->userIdForSrp})) return *e;
  std::optional<std::string> blockBytes = auth::base64Decode(block);
  if (!blockBytes) return incorrect();
  if (head.value("f", false)) {
    // A simulated challenge (unknown user, existence hidden): fail as a wrong password would,
    // after the same work.
    SimulatedUser fake = simulatedUser(*ctx_.codeHasher, client.pool.row.id, typed);
    (void)srp::verifyPasswordClaim(*hs, fake.verifier, poolName(client.pool.row.id), *blockBytes, timestamp, signature);
    equalizeWrite(client.pool);
    return incorrect();
  }
  API_TRY(std::optional<User> found, findUser(client.pool, hs->userIdForSrp));
  if (!found || found->row.username != hs->userIdForSrp) return incorrect();
  API_TRY(std::optional<User> named, findUser(client.pool, typed));
  if (!named || named->row.sub != found->row.sub) return incorrect();
  API_TRY(User user, signInCandidate(client, typed, std::move(found)));
  std::optional<std::string> verifier = auth::base64UrlDecode(user.state.srpVerifier);
  if (!verifier) return incorrect();
  Result<int64_t> ok =
      srp::verifyPasswordClaim(*hs, *verifier, poolName(client.pool.row.id), *blockBytes, timestamp, signature);
  if (!ok.isOk()) {
    if (ok.status().code() != StatusCode::kUnauthenticated) return fromStatus(ok.status());
    spdlog::debug("cognito-idp: PASSWORD_VERIFIER refused for {}/{}: {}", client.pool.row.id, user.row.username,
                  ok.status().message());
    API_TRY(User counted, recordSignIn(client.pool, std::move(user), false));
    (void)counted;
    return incorrect();
  }
  API_TRY(User signedIn, recordSignIn(client.pool, std::move(user), true));
  return afterPassword(client, std::move(signedIn), "TokenGeneration_Authentication", call);
}

ApiResult<Json> IdpApi::respondNewPassword(const Client& client, User user,
                                           const std::map<std::string, std::string>& responses, const Call& call) {
  const Pool& pool = client.pool;
  API_TRY(std::string password, required(responses, "NEW_PASSWORD"));
  if (auto e = checkPasswordFormat(password, "NEW_PASSWORD")) return *e;
  if (user.row.status != "FORCE_CHANGE_PASSWORD") return notAuthorized(msg::kSessionExpired);
  AttributeList attrs;
  for (const auto& [k, v] : responses)
    if (k.starts_with("userAttributes.")) attrs.emplace_back(k.substr(15), v);
  for (const auto& [n, v] : attrs) {
    const SchemaAttribute* s = pool.config.schemaAttribute(n);
    if (s && s->required && user.attribute(n) && *user.attribute(n) != v)
      return invalidParameter("Cannot modify an already provided required attribute: " + n);
  }
  if (auto e = checkAttributes(pool.config, attrs, AttributeWriter::kClient, client.config.writeAttributes(), false))
    return *e;
  if (auto e = checkPasswordPolicy(pool.config.passwordPolicy(), password)) return *e;
  API_TRY(User updated, updateUser(pool, std::move(user), [&](User& u) -> std::optional<ApiError> {
    if (u.row.status != "FORCE_CHANGE_PASSWORD") return notAuthorized(msg::kSessionExpired);
    for (const auto& [n, v] : attrs) {
      if (v.empty()) u.eraseAttribute(n);
      else u.setAttribute(n, v);
    }
    AttributeList all = u.row.attributes;
    if (auto e = checkRequiredAttributes(pool.config, all)) return e;
    if (auto e = setPassword(pool, u, password)) return e;
    u.row.status = "CONFIRMED";
    u.state.temporaryPasswordExpiresMs = 0;
    return std::nullopt;
  }));
  return mfaOrTokens(client, std::move(updated),
                     call.hosted ? kHostedAuthSource : "TokenGeneration_NewPasswordChallenge", call);
}

std::optional<ApiError> IdpApi::checkTotp(const Pool& pool, const User& user, const std::string& sealedSecret,
                                          const std::string& code) {
  if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string::npos)
    return codeMismatch("Invalid code received for user");
  Result<std::string> secret = ctx_.atRestSealer->openBase64(sealedSecret, "totp|" + pool.row.id + "|" + user.row.sub);
  if (!secret.isOk()) return fromStatus(Status::corruption("TOTP secret of " + user.row.sub + " cannot be opened"));
  Result<std::optional<int64_t>> matched = totp::verify(*secret, code, nowMs() / 1000);
  if (!matched.isOk()) return fromStatus(Status::corruption("TOTP secret of " + user.row.sub + " is damaged"));
  if (!*matched) return codeMismatch("Invalid code received for user");
  const std::optional<int64_t>& step = *matched;
  // A code works once: its time step is recorded until the window has passed (spec 9.4).
  Result<bool> first =
      ctx_.store.useOnce(pool.row.id + "/totp/" + user.row.sub + "/" + std::to_string(*step),
                         (*step + 3) * 30 * 1000, nowMs());
  if (!first.isOk()) return fromStatus(first.status());
  if (!*first) return codeMismatch("Invalid code received for user");
  return std::nullopt;
}

}  // namespace tether::server::idp
