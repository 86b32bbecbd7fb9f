// Native identity requests; see identity_service.h.
#include "auth/identity_service.h"

#include <algorithm>

#include "auth/developer_signature.h"
#include "auth/ids.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

constexpr const char* kGuestAmr = "unauthenticated";
// A collision of 122 random bits never happens in practice; a few retries turn a broken RNG or
// store into an error instead of an endless loop.
constexpr int kCreateAttempts = 3;

Status guestsNotAllowed() {
  // Cognito's exact text (cognito-compat.md 2.2); SDKs show it to developers.
  return Status::unauthenticated("Unauthenticated access is not supported for this identity pool.");
}

std::string_view regionOf(std::string_view poolId) { return poolId.substr(0, poolId.find(':')); }

}  // namespace

IdentityService::IdentityService(Store& store, const TokenIssuer& issuer, const Clock& clock,
                                 LoginProviders* providers)
    : store_(store), issuer_(issuer), clock_(clock) {
  if (providers == nullptr) {
    ownedProviders_ = std::make_unique<LoginProviders>(store, clock);
    providers = ownedProviders_.get();
  }
  providers_ = providers;
  resolver_ = std::make_unique<LoginResolver>(store, issuer, *providers_, clock);
}

Result<proto::GetIdResponse> IdentityService::getId(const proto::GetIdRequest& request) {
  TETHER_RETURN_IF_ERROR(validatePoolId(request.identityPoolId));
  if (!request.logins.empty()) {
    TETHER_TRY(ResolvedIdentity r, resolver_->resolve(request.identityPoolId, request.logins, ""));
    return proto::GetIdResponse{r.identity.id};
  }
  TETHER_TRY(std::optional<PoolInfo> pool, store_.getPool(request.identityPoolId));
  if (!pool) return Status::notFound("IdentityPool '" + request.identityPoolId + "' not found.");
  if (!pool->allowGuests) return guestsNotAllowed();

  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    IdentityInfo identity;
    identity.id = newRandomId(regionOf(pool->id));
    identity.poolId = pool->id;
    identity.createdMs = clock_.nowMs();
    Status s = store_.createIdentity(identity);
    if (s.isOk()) return proto::GetIdResponse{identity.id};
    if (s.code() != StatusCode::kConflict) return s;
  }
  return Status::internal("could not create a unique identity ID");
}

Result<proto::GetTokenResponse> IdentityService::getToken(const proto::GetTokenRequest& request) {
  TETHER_RETURN_IF_ERROR(validateIdentityId(request.identityId));
  TETHER_TRY(ResolvedIdentity r, resolver_->resolve("", request.logins, request.identityId));
  TokenClaims claims{r.identity.poolId, r.identity.id, r.amr, kIdentityTokenTtlSeconds};
  TETHER_TRY(IssuedToken token, issuer_.issue(claims, clock_.nowMs()));
  return proto::GetTokenResponse{r.identity.id, std::move(token.token), token.expiresAtMs};
}

Result<proto::GetTokenResponse> IdentityService::getDeveloperToken(const proto::GetDeveloperTokenRequest& request) {
  if (request.accessKeyId.empty() || request.accessKeyId.size() > 128)
    return Status::unauthenticated("The security token included in the request is invalid.");
  std::string secret;
  if (auto it = developerKeys_.find(request.accessKeyId); it != developerKeys_.end()) {
    secret = it->second;
  } else {
    Result<std::optional<DeveloperCredentialRow>> row = store_.findDeveloperCredential(request.accessKeyId);
    if (!row.isOk()) return row.status();
    if (!*row) return Status::unauthenticated("The security token included in the request is invalid.");
    secret = (*row)->secret;
  }
  TETHER_RETURN_IF_ERROR(verifyDeveloperSignature(secret, request, clock_.nowMs()));

  int64_t ttl = request.tokenDurationSeconds == 0 ? kDeveloperTokenDefaultTtlSeconds : request.tokenDurationSeconds;
  if (ttl < 1 || ttl > kMaxTokenTtlSeconds) return Status::invalidArgument("TokenDuration must be between 1 and 86400 seconds");
  TETHER_RETURN_IF_ERROR(validatePoolId(request.identityPoolId));
  Result<std::string> provider = store_.getPoolDeveloperProvider(request.identityPoolId);
  if (!provider.isOk()) {
    if (provider.status().code() == StatusCode::kNotFound)
      return Status::notFound("IdentityPool '" + request.identityPoolId + "' not found.");
    return provider.status();
  }
  TETHER_TRY(ResolvedIdentity r, resolver_->resolveDeveloper(request.identityPoolId, request.identityId, *provider,
                                                              request.developerUserId));
  TokenClaims claims{r.identity.poolId, r.identity.id, r.amr, ttl};
  TETHER_TRY(IssuedToken token, issuer_.issue(claims, clock_.nowMs()));
  return proto::GetTokenResponse{r.identity.id, std::move(token.token), token.expiresAtMs};
}

Result<VerifiedToken> IdentityService::authenticate(std::string_view token) {
  TETHER_TRY(VerifiedToken verified, issuer_.verify(token, clock_.nowMs()));
  TETHER_TRY(std::optional<IdentityInfo> identity, store_.getIdentity(verified.identityId));
  if (!identity) return Status::unauthenticated("token's identity does not exist");
  if (identity->disabled) return Status::unauthenticated("Identity is disabled.");
  if (identity->poolId != verified.poolId)
    return Status::unauthenticated("token's identity does not belong to its pool");
  TETHER_TRY(std::optional<PoolInfo> pool, store_.getPool(verified.poolId));
  if (!pool) return Status::unauthenticated("token's identity pool does not exist");
  bool guest = std::find(verified.amr.begin(), verified.amr.end(), kGuestAmr) != verified.amr.end();
  if (guest && !pool->allowGuests) return guestsNotAllowed();
  return verified;
}

}  // namespace tether::server
