// Guest identities and their tokens; see identity_service.h.
#include "auth/identity_service.h"

#include <algorithm>

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

Status loginsNotSupported() { return Status::unauthenticated("Logins are not supported by this pool"); }

std::string_view regionOf(std::string_view poolId) { return poolId.substr(0, poolId.find(':')); }

}  // namespace

IdentityService::IdentityService(Store& store, const TokenIssuer& issuer, const Clock& clock)
    : store_(store), issuer_(issuer), clock_(clock) {}

Result<proto::GetIdResponse> IdentityService::getId(const proto::GetIdRequest& request) {
  TETHER_RETURN_IF_ERROR(validatePoolId(request.identityPoolId));
  TETHER_TRY(std::optional<PoolInfo> pool, store_.getPool(request.identityPoolId));
  if (!pool) return Status::notFound("IdentityPool '" + request.identityPoolId + "' not found.");
  if (!request.logins.empty()) return loginsNotSupported();
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
  TETHER_TRY(std::optional<IdentityInfo> identity, store_.getIdentity(request.identityId));
  if (!identity) return Status::notFound("Identity '" + request.identityId + "' not found.");
  if (identity->disabled) return Status::unauthenticated("Identity is disabled.");
  if (!request.logins.empty()) return loginsNotSupported();
  TETHER_TRY(std::optional<PoolInfo> pool, store_.getPool(identity->poolId));
  if (!pool) return Status::notFound("IdentityPool '" + identity->poolId + "' not found.");
  // Every identity is a guest until logins exist; a pool that stopped allowing guests stops
  // issuing them tokens.
  if (!pool->allowGuests) return guestsNotAllowed();

  TokenClaims claims{pool->id, identity->id, {kGuestAmr}, kIdentityTokenTtlSeconds};
  TETHER_TRY(IssuedToken token, issuer_.issue(claims, clock_.nowMs()));
  return proto::GetTokenResponse{identity->id, std::move(token.token), token.expiresAtMs};
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
