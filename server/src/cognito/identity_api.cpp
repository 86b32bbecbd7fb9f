// Cognito Identity operations; see identity_api.h.
#include "cognito/identity_api.h"

#include <algorithm>

#include "auth/ids.h"
#include "auth/login_resolver.h"
#include "auth/login_unlink.h"
#include "cognito/pool_page.h"
#include "tether/limits.h"

namespace tether::server::cognito {
namespace {

constexpr Service kSvc = Service::kIdentity;
// Cognito's QueryLimit: the most results one list/lookup call returns.
constexpr int64_t kMaxQueryLimit = 60;

ApiError invalid(std::string m) { return ApiError::invalidParameter(std::move(m)); }
ApiError notAuthorized(std::string m) { return ApiError::notAuthorized(kSvc, std::move(m)); }

ApiResult<std::string> requireId(const Json& in, const char* name) {
  API_TRY(std::optional<std::string> v, getString(in, name, true));
  Status s = std::string_view(name).find("Pool") != std::string_view::npos ? validatePoolId(*v) : validateIdentityId(*v);
  if (!s.isOk()) return invalid("1 validation error detected: Value '" + *v + "' at '" + name +
                                "' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                                "[\\w-]+:[0-9a-f-]+");
  return *v;
}

ApiResult<std::optional<std::map<std::string, std::string>>> getLogins(const Json& in, bool required) {
  API_TRY(auto logins, getStringMap(in, "Logins", required));
  if (logins) {
    if (logins->size() > static_cast<size_t>(kMaxLoginsPerRequest))
      return invalid("Logins must have at most 10 entries");
    for (const auto& [k, v] : *logins) {
      if (k.empty() || k.size() > 128) return invalid("Logins keys must be 1-128 characters");
      if (v.empty() || v.size() > kMaxLoginTokenChars) return invalid("Logins values must be 1-50000 characters");
    }
  }
  return logins;
}

ApiResult<int> getLimit(const Json& in, bool required) {
  API_TRY(std::optional<int64_t> v, getInt(in, "MaxResults", required));
  if (!v) return static_cast<int>(kMaxQueryLimit);
  if (*v < 1 || *v > kMaxQueryLimit)
    return invalid("1 validation error detected: Value '" + std::to_string(*v) +
                   "' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60");
  return static_cast<int>(*v);
}

Json identityDescription(const IdentityInfo& identity, const std::vector<LoginLink>& logins) {
  Json providers = Json::array();
  for (const LoginLink& l : logins)
    if (std::find(providers.begin(), providers.end(), l.provider) == providers.end()) providers.push_back(l.provider);
  Json out = {{"IdentityId", identity.id},
              {"CreationDate", epochSeconds(identity.createdMs)},
              {"LastModifiedDate", epochSeconds(identity.createdMs)}};
  if (!providers.empty()) out["Logins"] = providers;
  return out;
}

std::vector<Login> toLogins(const std::optional<std::map<std::string, std::string>>& logins) {
  std::vector<Login> out;
  if (logins)
    for (const auto& [provider, token] : *logins) out.push_back(Login{provider, token});
  return out;
}

// The resolver's Status as the Cognito error: kUnauthenticated is NotAuthorizedException,
// kInvalidArgument InvalidParameterException, and the developer-user conflict has its own name.
ApiError resolverError(const Status& s, DeveloperRefusal refusal = DeveloperRefusal::kNone) {
  if (refusal == DeveloperRefusal::kAlreadyRegistered)
    return ApiError{400, "DeveloperUserAlreadyRegisteredException", s.message()};
  return fromStatus(kSvc, s);
}

}  // namespace

namespace {

ApiError throttled(const std::string& what) {
  return fromStatus(Service::kIdentity, Status::tooManyRequests("Rate exceeded: too many " + what + " requests"));
}

bool hasLogins(const Json& in) {
  auto it = in.find("Logins");
  return it != in.end() && it->is_object() && !it->empty();
}

}  // namespace

// The per-address rate limits (docs/security.md), before any work. Pool buckets are checked
// by the operations once they know the pool.
std::optional<ApiError> IdentityApi::throttleAddress(std::string_view op, const Json& in, const HttpRequest& request) {
  if (!ctx_.limiter) return std::nullopt;
  auto check = [&](RateKind kind, const char* what) -> std::optional<ApiError> {
    if (ctx_.limiter->allowAddress(kind, request.peer)) return std::nullopt;
    return throttled(what);
  };
  if (op == "GetId") return hasLogins(in) ? check(RateKind::kSignIn, "sign-in") : check(RateKind::kIdentityCreation, "GetId");
  if (op == "GetOpenIdToken" || op == "GetCredentialsForIdentity") {
    if (hasLogins(in))
      if (auto e = check(RateKind::kSignIn, "sign-in")) return e;
    return check(RateKind::kTokenIssuance, "token");
  }
  if (op == "GetOpenIdTokenForDeveloperIdentity") return check(RateKind::kSignIn, "sign-in");
  return std::nullopt;
}

bool IdentityApi::poolAllows(RateKind kind, const std::string& poolId) {
  return !ctx_.limiter || ctx_.limiter->allowPool(kind, poolId);
}

const std::vector<IdentityApi::Operation>& IdentityApi::dispatchTable() {
  // The unsigned device operations first (a signature, if present, is ignored: spec 2.1), then
  // the SigV4-signed developer operations.
  static const std::vector<Operation> kTable = {
      {{"GetId", false}, &IdentityApi::getId},
      {{"GetOpenIdToken", false}, &IdentityApi::getOpenIdToken},
      {{"GetCredentialsForIdentity", false}, &IdentityApi::getCredentialsForIdentity},
      {{"UnlinkIdentity", false}, &IdentityApi::unlinkIdentity},
      {{"GetOpenIdTokenForDeveloperIdentity", true}, &IdentityApi::getOpenIdTokenForDeveloperIdentity},
      {{"LookupDeveloperIdentity", true}, &IdentityApi::lookupDeveloperIdentity},
      {{"MergeDeveloperIdentities", true}, &IdentityApi::mergeDeveloperIdentities},
      {{"UnlinkDeveloperIdentity", true}, &IdentityApi::unlinkDeveloperIdentity},
      {{"DescribeIdentity", true}, &IdentityApi::describeIdentity},
      {{"ListIdentities", true}, &IdentityApi::listIdentities},
      {{"DeleteIdentities", true}, &IdentityApi::deleteIdentities},
      {{"DescribeIdentityPool", true}, &IdentityApi::describeIdentityPool},
      {{"ListIdentityPools", true}, &IdentityApi::listIdentityPools},
  };
  return kTable;
}

std::vector<IdentityApi::OperationInfo> IdentityApi::operations() {
  std::vector<OperationInfo> out;
  for (const Operation& o : dispatchTable()) out.push_back(o.info);
  return out;
}

ApiResult<Json> IdentityApi::call(std::string_view op, const HttpRequest& request) {
  API_TRY(Json in, parseObject(request.body));
  if (std::optional<ApiError> e = throttleAddress(op, in, request)) return *e;
  const std::vector<Operation>& table = dispatchTable();
  auto it = std::find_if(table.begin(), table.end(), [&](const Operation& o) { return o.info.name == op; });
  if (it == table.end())
    return ApiError{400, "UnknownOperationException", "Unknown operation: " + std::string(op)};
  if (it->info.developerSigned) {
    API_TRY(Principal who, ctx_.authenticator.authenticate(request, "/", "cognito-identity"));
    if (!who.isDeveloper())
      return notAuthorized("User is not authorized to perform: cognito-identity:" + std::string(op) +
                           " (developer credentials required)");
  }
  return (this->*(it->handler))(in);
}

ApiResult<PoolInfo> IdentityApi::loadPool(const std::string& poolId) {
  Result<std::optional<PoolInfo>> pool = ctx_.store.getPool(poolId);
  if (!pool.isOk()) return fromStatus(kSvc, pool.status());
  if (!*pool) return ApiError::notFound(kSvc, "IdentityPool '" + poolId + "' not found.");
  return **pool;
}

ApiResult<std::string> IdentityApi::developerProvider(const std::string& poolId) {
  // The context's map (config file) first, then the pool's row (`tetherd pool set-developer-provider`).
  auto it = ctx_.developerProviders.find(poolId);
  if (it != ctx_.developerProviders.end()) return it->second;
  Result<std::string> stored = ctx_.store.getPoolDeveloperProvider(poolId);
  if (stored.isOk() && !stored->empty()) return *stored;
  if (!stored.isOk() && stored.status().code() != StatusCode::kNotFound)
    return fromStatus(kSvc, stored.status());
  return invalid("Identity pool " + poolId + " has no developer provider configured.");
}

ApiResult<IdentityApi::Access> IdentityApi::checkAccess(
    const std::string& identityId, const std::optional<std::map<std::string, std::string>>& logins) {
  Result<ResolvedIdentity> r = ctx_.identities.resolver().resolve("", toLogins(logins), identityId);
  if (!r.isOk()) return resolverError(r.status());
  Access access;
  access.identity = r->identity;
  access.authenticated = r->authenticated;
  access.amr = r->amr;
  return access;
}

ApiResult<Json> IdentityApi::getId(const Json& in) {
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  API_TRY(auto logins, getLogins(in, false));
  API_TRY(auto accountId, getString(in, "AccountId"));
  (void)accountId;  // legacy; ignored (spec 2.2)
  if (!poolAllows(logins && !logins->empty() ? RateKind::kSignIn : RateKind::kIdentityCreation, poolId))
    return throttled("GetId");
  if (logins && !logins->empty()) {
    // The identity the logins name: created on first use, merged when they name several.
    Result<ResolvedIdentity> r = ctx_.identities.resolver().resolve(poolId, toLogins(logins), "");
    if (!r.isOk()) return resolverError(r.status());
    return Json{{"IdentityId", r->identity.id}};
  }
  Result<proto::GetIdResponse> r = ctx_.identities.getId(proto::GetIdRequest{poolId, {}});
  if (!r.isOk()) return fromStatus(kSvc, r.status());
  return Json{{"IdentityId", r->identityId}};
}

ApiResult<Json> IdentityApi::getOpenIdToken(const Json& in) {
  API_TRY(std::string identityId, requireId(in, "IdentityId"));
  API_TRY(auto logins, getLogins(in, false));
  API_TRY(Access access, checkAccess(identityId, logins));
  if (!poolAllows(RateKind::kTokenIssuance, access.identity.poolId)) return throttled("token");
  // After a merge the survivor's ID is returned: "the IdentityId returned may not match" (spec 2.2).
  TokenClaims claims{access.identity.poolId, access.identity.id, access.amr, kOpenIdTokenTtlSeconds};
  Result<IssuedToken> token = ctx_.issuer.issue(claims, ctx_.clock.nowMs());
  if (!token.isOk()) return fromStatus(kSvc, token.status());
  return Json{{"IdentityId", access.identity.id}, {"Token", token->token}};
}

ApiResult<Json> IdentityApi::getCredentialsForIdentity(const Json& in) {
  API_TRY(std::string identityId, requireId(in, "IdentityId"));
  API_TRY(auto logins, getLogins(in, false));
  API_TRY(auto roleArn, getString(in, "CustomRoleArn"));
  (void)roleArn;  // no IAM here: every identity gets access to its own data only
  API_TRY(Access access, checkAccess(identityId, logins));
  if (!poolAllows(RateKind::kTokenIssuance, access.identity.poolId)) return throttled("token");
  IssuedCredentials c =
      ctx_.credentials.issue(access.identity.poolId, access.identity.id, access.authenticated, ctx_.clock.nowMs());
  return Json{{"IdentityId", access.identity.id},
              {"Credentials",
               {{"AccessKeyId", c.accessKeyId},
                {"SecretKey", c.secretKey},
                {"SessionToken", c.sessionToken},
                {"Expiration", epochSeconds(c.expiresAtMs)}}}};
}

ApiResult<Json> IdentityApi::unlinkIdentity(const Json& in) {
  API_TRY(std::string identityId, requireId(in, "IdentityId"));
  API_TRY(auto logins, getLogins(in, true));
  API_TRY(std::optional<std::vector<std::string>> remove, getStringList(in, "LoginsToRemove", true));
  API_TRY(Access access, checkAccess(identityId, logins));
  if (!access.authenticated) return notAuthorized("Identity '" + identityId + "' has no linked logins.");
  const std::string& id = access.identity.id;
  Result<std::vector<LoginLink>> links = ctx_.store.listLogins(id);
  if (!links.isOk()) return fromStatus(kSvc, links.status());
  for (const LoginLink& l : *links) {
    if (std::find(remove->begin(), remove->end(), l.provider) == remove->end()) continue;
    // The last login gone: the identity is disabled (spec 7.16; auth/login_unlink.h).
    Result<UnlinkOutcome> r = unlinkIdentityLogin(ctx_.store, id, l.provider, l.subject);
    if (!r.isOk()) return fromStatus(kSvc, r.status());
  }
  return Json::object();
}

ApiResult<Json> IdentityApi::getOpenIdTokenForDeveloperIdentity(const Json& in) {
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  if (!poolAllows(RateKind::kSignIn, poolId)) return throttled("sign-in");
  API_TRY(auto identityIdIn, getString(in, "IdentityId"));
  API_TRY(auto logins, getLogins(in, true));
  API_TRY(std::optional<int64_t> ttl, getInt(in, "TokenDuration"));
  int64_t ttlSeconds = ttl.value_or(kDeveloperTokenDefaultTtlSeconds);
  if (ttlSeconds < 1 || ttlSeconds > kMaxTokenTtlSeconds)
    return invalid("TokenDuration must be between 1 and 86400 seconds");
  API_TRY(PoolInfo pool, loadPool(poolId));
  API_TRY(std::string provider, developerProvider(poolId));
  auto login = logins->find(provider);
  if (login == logins->end() || logins->size() != 1)
    return invalid("Logins must contain exactly the developer provider '" + provider + "' of this identity pool.");
  DeveloperRefusal refusal = DeveloperRefusal::kNone;
  Result<ResolvedIdentity> r = ctx_.identities.resolver().resolveDeveloper(pool.id, identityIdIn.value_or(""),
                                                                          provider, login->second, &refusal);
  if (!r.isOk()) return resolverError(r.status(), refusal);
  TokenClaims claims{pool.id, r->identity.id, r->amr, ttlSeconds};
  Result<IssuedToken> token = ctx_.issuer.issue(claims, ctx_.clock.nowMs());
  if (!token.isOk()) return fromStatus(kSvc, token.status());
  return Json{{"IdentityId", r->identity.id}, {"Token", token->token}};
}

ApiResult<Json> IdentityApi::lookupDeveloperIdentity(const Json& in) {
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  API_TRY(auto identityIdIn, getString(in, "IdentityId"));
  API_TRY(auto user, getString(in, "DeveloperUserIdentifier"));
  API_TRY(int limit, getLimit(in, false));
  API_TRY(auto nextToken, getString(in, "NextToken"));
  (void)nextToken;
  API_TRY(PoolInfo pool, loadPool(poolId));
  API_TRY(std::string provider, developerProvider(pool.id));
  if (!identityIdIn && !user) return invalid("One of IdentityId or DeveloperUserIdentifier is required.");
  std::string identityId;
  if (user) {
    Result<std::optional<std::string>> linked = ctx_.store.findLogin(poolId, provider, *user);
    if (!linked.isOk()) return fromStatus(kSvc, linked.status());
    if (!*linked) return ApiError::notFound(kSvc, "Developer user '" + *user + "' not found.");
    if (identityIdIn && *identityIdIn != **linked)
      return ApiError{400, "ResourceConflictException",
                      "The IdentityId and DeveloperUserIdentifier given belong to different identities."};
    identityId = **linked;
  } else {
    if (!validateIdentityId(*identityIdIn).isOk()) return invalid("IdentityId is not a valid identity ID");
    Result<std::optional<IdentityInfo>> found = ctx_.store.getIdentity(*identityIdIn);
    if (!found.isOk()) return fromStatus(kSvc, found.status());
    if (!*found || (*found)->poolId != poolId)
      return ApiError::notFound(kSvc, "Identity '" + *identityIdIn + "' not found.");
    identityId = *identityIdIn;
  }
  Result<std::vector<LoginLink>> links = ctx_.store.listLogins(identityId);
  if (!links.isOk()) return fromStatus(kSvc, links.status());
  Json users = Json::array();
  for (const LoginLink& l : *links)
    if (l.provider == provider && static_cast<int>(users.size()) < limit) users.push_back(l.subject);
  return Json{{"IdentityId", identityId}, {"DeveloperUserIdentifierList", users}};
}

ApiResult<Json> IdentityApi::mergeDeveloperIdentities(const Json& in) {
  API_TRY(auto source, getString(in, "SourceUserIdentifier", true));
  API_TRY(auto destination, getString(in, "DestinationUserIdentifier", true));
  API_TRY(auto providerIn, getString(in, "DeveloperProviderName", true));
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  API_TRY(PoolInfo pool, loadPool(poolId));
  API_TRY(std::string provider, developerProvider(pool.id));
  if (*providerIn != provider) return invalid("DeveloperProviderName does not match the identity pool's.");
  Result<std::optional<std::string>> dest = ctx_.store.findLogin(poolId, provider, *destination);
  if (!dest.isOk()) return fromStatus(kSvc, dest.status());
  if (!*dest) return ApiError::notFound(kSvc, "Developer user '" + *destination + "' not found.");
  Result<std::optional<std::string>> src = ctx_.store.findLogin(poolId, provider, *source);
  if (!src.isOk()) return fromStatus(kSvc, src.status());
  const std::string& winner = **dest;
  if (!*src) {
    Status s = ctx_.store.linkLogin(LoginLink{poolId, provider, *source, winner});
    if (!s.isOk()) return fromStatus(kSvc, s);
  } else if (**src != winner) {
    Result<std::vector<LoginLink>> a = ctx_.store.listLogins(winner);
    Result<std::vector<LoginLink>> b = ctx_.store.listLogins(**src);
    if (!a.isOk()) return fromStatus(kSvc, a.status());
    if (!b.isOk()) return fromStatus(kSvc, b.status());
    if (a->size() + b->size() > static_cast<size_t>(kMaxLinkedLogins))
      return ApiError{400, "LimitExceededException", "The merged identity would have more than 20 logins."};
    if (Result<MergeReport> m = ctx_.identities.resolver().merge(poolId, winner, **src); !m.isOk())
      return fromStatus(kSvc, m.status());
  }
  return Json{{"IdentityId", winner}};
}

ApiResult<Json> IdentityApi::unlinkDeveloperIdentity(const Json& in) {
  API_TRY(std::string identityId, requireId(in, "IdentityId"));
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  API_TRY(auto providerIn, getString(in, "DeveloperProviderName", true));
  API_TRY(auto user, getString(in, "DeveloperUserIdentifier", true));
  API_TRY(std::string provider, developerProvider(poolId));
  if (*providerIn != provider) return invalid("DeveloperProviderName does not match the identity pool's.");
  Result<UnlinkOutcome> r = unlinkIdentityLogin(ctx_.store, identityId, provider, *user);
  if (r.status().code() == StatusCode::kNotFound)
    return ApiError::notFound(kSvc, "Developer user '" + *user + "' is not linked to identity '" + identityId + "'.");
  if (!r.isOk()) return fromStatus(kSvc, r.status());
  return Json::object();
}

ApiResult<Json> IdentityApi::describeIdentity(const Json& in) {
  API_TRY(std::string identityId, requireId(in, "IdentityId"));
  Result<std::optional<IdentityInfo>> found = ctx_.store.getIdentity(identityId);
  if (!found.isOk()) return fromStatus(kSvc, found.status());
  if (!*found) return ApiError::notFound(kSvc, "Identity '" + identityId + "' not found.");
  Result<std::vector<LoginLink>> links = ctx_.store.listLogins(identityId);
  if (!links.isOk()) return fromStatus(kSvc, links.status());
  return identityDescription(**found, *links);
}

ApiResult<Json> IdentityApi::listIdentities(const Json& in) {
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  API_TRY(int limit, getLimit(in, true));
  API_TRY(auto nextToken, getString(in, "NextToken"));
  API_TRY(std::optional<bool> hideDisabled, getBool(in, "HideDisabled"));
  API_TRY(PoolInfo pool, loadPool(poolId));
  std::string after = nextToken.value_or("");
  if (nextToken && !validateIdentityId(after).isOk()) return invalid("NextToken is not valid.");
  Json list = Json::array();
  std::string last;
  bool more = false;
  while (static_cast<int>(list.size()) < limit) {
    Result<std::vector<IdentityInfo>> page = ctx_.store.listIdentities(pool.id, after, limit + 1);
    if (!page.isOk()) return fromStatus(kSvc, page.status());
    if (page->empty()) break;
    for (const IdentityInfo& id : *page) {
      after = id.id;
      if (static_cast<int>(list.size()) == limit) {
        more = true;
        break;
      }
      if (hideDisabled.value_or(false) && id.disabled) continue;
      Result<std::vector<LoginLink>> links = ctx_.store.listLogins(id.id);
      if (!links.isOk()) return fromStatus(kSvc, links.status());
      list.push_back(identityDescription(id, *links));
      last = id.id;
    }
    if (more || static_cast<int>(page->size()) < limit + 1) break;
  }
  Json out = {{"IdentityPoolId", pool.id}, {"Identities", list}};
  if (more) out["NextToken"] = last;
  return out;
}

ApiResult<Json> IdentityApi::deleteIdentities(const Json& in) {
  API_TRY(std::optional<std::vector<std::string>> idsIn, getStringList(in, "IdentityIdsToDelete", true));
  const std::vector<std::string> ids = idsIn.value_or(std::vector<std::string>());
  if (ids.empty() || ids.size() > 60) return invalid("IdentityIdsToDelete must have 1-60 entries");
  for (const std::string& id : ids)
    if (!validateIdentityId(id).isOk()) return invalid("IdentityIdsToDelete contains an invalid identity ID");
  Json unprocessed = Json::array();
  for (const std::string& id : ids) {
    Status s = ctx_.store.deleteIdentity(id);
    if (s.isOk() || s.code() == StatusCode::kNotFound) continue;
    unprocessed.push_back({{"IdentityId", id}, {"ErrorCode", "InternalServerError"}});
  }
  return Json{{"UnprocessedIdentityIds", unprocessed}};
}

ApiResult<Json> IdentityApi::describeIdentityPool(const Json& in) {
  API_TRY(std::string poolId, requireId(in, "IdentityPoolId"));
  API_TRY(PoolInfo pool, loadPool(poolId));
  Json out = {{"IdentityPoolId", pool.id},
              {"IdentityPoolName", pool.name},
              {"AllowUnauthenticatedIdentities", pool.allowGuests},
              {"AllowClassicFlow", true}};
  if (ApiResult<std::string> provider = developerProvider(pool.id); provider.isOk())
    out["DeveloperProviderName"] = *provider;
  return out;
}

ApiResult<Json> IdentityApi::listIdentityPools(const Json& in) {
  API_TRY(int limit, getLimit(in, true));
  API_TRY(auto nextToken, getString(in, "NextToken"));
  const std::string* after = nextToken ? &*nextToken : nullptr;
  Result<PoolPage> page = pagePools(ctx_.store, after, static_cast<size_t>(limit));
  if (!page.isOk()) return fromStatus(kSvc, page.status());
  Json list = Json::array();
  for (const PoolInfo& p : page->pools) list.push_back({{"IdentityPoolId", p.id}, {"IdentityPoolName", p.name}});
  Json out = {{"IdentityPools", list}};
  if (page->nextToken) out["NextToken"] = *page->nextToken;
  return out;
}

}  // namespace tether::server::cognito
