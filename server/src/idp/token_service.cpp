// User-pool tokens; see token_service.h.
#include "idp/token_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "auth/ids.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/idp_random.h"
#include "idp/crypto/sealer.h"
#include "idp/idp_secrets.h"

namespace tether::server::idp {
namespace {

// Claims PreTokenGeneration may not touch (spec 8.3).
const std::vector<std::string>& protectedClaims() {
  static const std::vector<std::string> k = {"acr", "amr", "aud", "at_hash", "auth_time", "azp", "cognito:username",
                                             "exp", "iat", "identities", "iss", "jti", "nbf", "nonce", "origin_jti",
                                             "sub", "token_use", "client_id", "username", "scope", "event_id"};
  return k;
}
bool isProtected(const std::string& claim) {
  return std::find(protectedClaims().begin(), protectedClaims().end(), claim) != protectedClaims().end();
}

void applyOverrides(Json& claims, const Json& add, const std::vector<std::string>& suppress) {
  for (auto it = add.begin(); it != add.end(); ++it)
    if (!isProtected(it.key())) claims[it.key()] = *it;
  for (const std::string& s : suppress)  // suppress beats override
    if (!isProtected(s)) claims.erase(s);
}

// ID-token value of a user attribute: booleans and numbers typed, the rest strings (spec 6.2).
Json claimValue(const std::string& name, const std::string& value) {
  if (name == "email_verified" || name == "phone_number_verified") return value == "true";
  if (name == "updated_at") {
    if (!value.empty() && value.size() < 16 && value.find_first_not_of("0123456789") == std::string::npos)
      return std::stoll(value);
    return value;
  }
  if (name == "address") return Json{{"formatted", value}};
  return value;
}

// The sealed refresh token's associated data binds it to its purpose.
constexpr std::string_view kRefreshAd = "tether-idp-refresh-v1";

}  // namespace

bool AccessClaims::hasScope(std::string_view s) const {
  size_t pos = 0;
  while (pos <= scope.size()) {
    size_t end = scope.find(' ', pos);
    if (end == std::string::npos) end = scope.size();
    if (std::string_view(scope).substr(pos, end - pos) == s) return true;
    pos = end + 1;
  }
  return false;
}

Result<TokenSet> TokenService::mint(const MintRequest& r) {
  TETHER_TRY(IdpKeyring::PoolKeys keys, ctx_.keys.poolKeys(r.poolId));
  // Second-resolution iat: a token minted in the same second as a global sign-out must not look
  // older than it.
  int64_t nowMs = ctx_.clock.nowMs();
  if (r.revokedBeforeMs > 0 && (nowMs / 1000) * 1000 <= r.revokedBeforeMs && r.revokedBeforeMs - nowMs < 2000) {
    std::this_thread::sleep_for(std::chrono::milliseconds((r.revokedBeforeMs / 1000 + 1) * 1000 - nowMs + 1));
    nowMs = ctx_.clock.nowMs();
  }
  const int64_t now = nowMs / 1000;
  const std::string issuer = ctx_.settings.issuerFor(r.poolId);
  const std::string origin = r.originJti.empty() ? newUuidV4() : r.originJti;
  const std::string eventId = newUuidV4();
  TokenSet out;

  std::string scope;
  if (r.scopes.empty()) {
    scope = kAdminScope;
  } else {
    for (const std::string& s : r.scopes) scope += (scope.empty() ? "" : " ") + s;
  }

  Json access = {{"sub", r.user->sub},          {"iss", issuer},       {"client_id", r.clientId},
                 {"origin_jti", origin},        {"event_id", eventId}, {"token_use", "access"},
                 {"scope", scope},              {"auth_time", r.authTimeSec},
                 {"exp", now + r.accessSeconds}, {"iat", now},          {"jti", newUuidV4()},
                 {"username", r.user->username}};
  if (!r.groups.empty()) access["cognito:groups"] = r.groups;
  if (r.oauth) access["version"] = 2;
  applyOverrides(access, r.accessClaimsToAdd, r.accessClaimsToSuppress);
  TETHER_TRY(out.accessToken, keys.accessToken->sign(access));

  if (r.withIdToken) {
    Json id = {{"sub", r.user->sub},          {"iss", issuer},       {"aud", r.clientId},
               {"origin_jti", origin},        {"event_id", eventId}, {"token_use", "id"},
               {"auth_time", r.authTimeSec},  {"exp", now + r.idSeconds},
               {"iat", now},                  {"jti", newUuidV4()},
               {"cognito:username", r.user->username}};
    for (const auto& [name, value] : r.readableAttributes)
      if (name != "sub") id[name] = claimValue(name, value);
    if (!r.groups.empty()) id["cognito:groups"] = r.groups;
    if (!r.roles.empty()) id["cognito:roles"] = r.roles;
    if (!r.preferredRole.empty()) id["cognito:preferred_role"] = r.preferredRole;
    if (!r.nonce.empty()) id["nonce"] = r.nonce;
    applyOverrides(id, r.idClaimsToAdd, r.idClaimsToSuppress);
    TETHER_TRY(out.idToken, keys.idToken->sign(id));
  }

  if (r.withRefreshToken) {
    Json sealed = {{"p", r.poolId}, {"c", r.clientId}, {"s", r.user->sub}, {"u", r.user->username},
                   {"o", origin},   {"a", r.authTimeSec}, {"i", now},      {"e", now + r.refreshSeconds}};
    if (r.oauth) sealed["sc"] = r.scopes;
    TETHER_TRY(out.refreshToken, ctx_.tokenSealer->sealToken(sealed.dump(), kRefreshAd));
  }
  out.expiresIn = r.accessSeconds;
  return out;
}

Result<TokenSet> TokenService::mintForClient(const std::string& poolId, const std::string& clientId,
                                             const std::vector<std::string>& scopes, int64_t accessSeconds) {
  TETHER_TRY(IdpKeyring::PoolKeys keys, ctx_.keys.poolKeys(poolId));
  const int64_t now = ctx_.clock.nowMs() / 1000;
  std::string scope;
  for (const std::string& s : scopes) scope += (scope.empty() ? "" : " ") + s;
  Json access = {{"sub", clientId},     {"iss", ctx_.settings.issuerFor(poolId)}, {"client_id", clientId},
                 {"token_use", "access"}, {"scope", scope},  {"auth_time", now},
                 {"exp", now + accessSeconds}, {"iat", now}, {"jti", newUuidV4()}, {"version", 2}};
  TokenSet out;
  TETHER_TRY(out.accessToken, keys.accessToken->sign(access));
  out.expiresIn = accessSeconds;
  return out;
}

ApiResult<AccessClaims> TokenService::verifyAccessToken(const std::string& token, bool requireAdminScope) {
  // Which pool: the token's `iss` names it, but only a signature by that pool's access key counts.
  if (token.empty() || token.size() > 16384) return notAuthorized(msg::kInvalidAccessToken);
  Result<Json> unverified = unverifiedJwtPayload(token);
  if (!unverified.isOk() || !unverified->is_object()) return notAuthorized(msg::kInvalidAccessToken);
  std::string iss = unverified->value("iss", "");
  size_t slash = iss.rfind('/');
  if (slash == std::string::npos) return notAuthorized(msg::kInvalidAccessToken);
  std::string poolId = iss.substr(slash + 1);
  if (iss != ctx_.settings.issuerFor(poolId)) return notAuthorized(msg::kInvalidAccessToken);
  // Keys are made on a pool's first use: only look them up for a pool that exists.
  Result<std::optional<UserPoolRow>> pool = ctx_.store.getUserPool(poolId);
  if (!pool.isOk()) return fromStatus(pool.status());
  if (!*pool) return notAuthorized(msg::kInvalidAccessToken);
  Result<IdpKeyring::PoolKeys> keys = ctx_.keys.poolKeys(poolId);
  if (!keys.isOk()) return fromStatus(keys.status());
  Result<Json> claims = keys->accessToken->verify(token);
  if (!claims.isOk() || !claims->is_object() || claims->value("token_use", "") != "access")
    return notAuthorized(msg::kInvalidAccessToken);
  AccessClaims c;
  try {
    c.poolId = poolId;
    c.clientId = claims->value("client_id", "");
    c.sub = claims->at("sub").get<std::string>();
    c.username = claims->value("username", "");
    c.jti = claims->value("jti", "");
    c.originJti = claims->value("origin_jti", "");
    c.scope = claims->value("scope", "");
    c.iat = claims->at("iat").get<int64_t>();
    c.exp = claims->at("exp").get<int64_t>();
    c.authTime = claims->value("auth_time", c.iat);
  } catch (const Json::exception&) {
    return notAuthorized(msg::kInvalidAccessToken);
  }
  if (c.exp <= ctx_.clock.nowMs() / 1000) return notAuthorized(msg::kAccessTokenExpired);
  if (requireAdminScope && !c.hasScope(kAdminScope)) return notAuthorized("Access Token does not have required scopes");
  return c;
}

ApiResult<RefreshClaims> TokenService::openRefreshToken(const std::string& token, const std::string& clientId) {
  if (token.empty() || token.size() > 16384) return notAuthorized(msg::kInvalidRefreshToken);
  Result<std::string> plain = ctx_.tokenSealer->openToken(token, kRefreshAd);
  if (!plain.isOk()) return notAuthorized(msg::kInvalidRefreshToken);
  Json j = Json::parse(*plain, nullptr, false);
  RefreshClaims c;
  try {
    c.poolId = j.at("p").get<std::string>();
    c.clientId = j.at("c").get<std::string>();
    c.sub = j.at("s").get<std::string>();
    c.username = j.at("u").get<std::string>();
    c.originJti = j.at("o").get<std::string>();
    c.authTime = j.at("a").get<int64_t>();
    c.iat = j.at("i").get<int64_t>();
    c.exp = j.at("e").get<int64_t>();
    if (auto sc = j.find("sc"); sc != j.end()) {
      c.oauth = true;
      c.scopes = sc->get<std::vector<std::string>>();
    }
  } catch (const Json::exception&) {
    return notAuthorized(msg::kInvalidRefreshToken);
  }
  if (c.clientId != clientId) return notAuthorized(msg::kInvalidRefreshToken);
  if (c.exp <= ctx_.clock.nowMs() / 1000) return notAuthorized(msg::kRefreshTokenExpired);
  return c;
}

Result<IdClaims> TokenService::verifyIdToken(const std::string& poolId, const std::string& token) {
  TETHER_TRY(std::optional<UserPoolRow> pool, ctx_.store.getUserPool(poolId));
  if (!pool) return Status::unauthenticated("Invalid login token. Unknown user pool.");
  TETHER_TRY(IdpKeyring::PoolKeys keys, ctx_.keys.poolKeys(poolId));
  Result<Json> claims = keys.idToken->verify(token);
  if (!claims.isOk() || !claims->is_object()) return Status::unauthenticated("Invalid login token. Not a valid OpenId Connect identity token.");
  if (claims->value("token_use", "") != "id" || claims->value("iss", "") != ctx_.settings.issuerFor(poolId))
    return Status::unauthenticated("Invalid login token. Issuer doesn't match providerName");
  IdClaims c;
  try {
    c.poolId = poolId;
    c.sub = claims->at("sub").get<std::string>();
    c.username = claims->value("cognito:username", "");
    c.audience = claims->at("aud").get<std::string>();
    c.iat = claims->at("iat").get<int64_t>();
    c.exp = claims->at("exp").get<int64_t>();
    c.authTime = claims->value("auth_time", c.iat);
  } catch (const Json::exception&) {
    return Status::unauthenticated("Invalid login token. Missing a required claim.");
  }
  c.claims = std::move(*claims);
  return c;
}

Result<bool> TokenService::revoked(const std::string& poolId, const std::string& originJti, int64_t issuedAtSec,
                                   int64_t revokedBeforeMs) {
  if (revokedBeforeMs > 0 && issuedAtSec * 1000 <= revokedBeforeMs) return true;
  if (originJti.empty()) return false;
  return ctx_.store.isOriginRevoked(poolId, originJti);
}

Result<std::string> TokenService::jwks(const std::string& poolId) {
  return ctx_.keys.jwksJson(poolId);
}

}  // namespace tether::server::idp
