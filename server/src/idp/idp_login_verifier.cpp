// User pools as login providers; see idp_login_verifier.h.
#include "idp/idp_login_verifier.h"

#include <algorithm>

#include "auth/config.h"
#include "idp/user_state.h"

namespace tether::server::idp {

Result<VerifiedLogin> IdpLoginVerifier::verify(const UserPoolProviderConfig& provider, std::string_view token,
                                               int64_t nowMs) {
  TETHER_TRY(std::string poolId, userPoolIdOfProvider(provider.providerName));
  if (token.size() > OidcVerifier::kMaxTokenChars) return Status::invalidArgument("Logins token is too long");
  TETHER_TRY(IdClaims claims, tokens_.verifyIdToken(poolId, std::string(token)));
  const auto& ids = provider.clientIds;
  if (std::find(ids.begin(), ids.end(), claims.audience) == ids.end())
    return Status::unauthenticated("Token is not from a supported provider of this identity pool.");
  const int64_t now = nowMs / 1000;
  if (claims.exp <= now)
    return Status::unauthenticated("Invalid login token. Token expired: " + std::to_string(now) +
                                   " >= " + std::to_string(claims.exp));
  if (provider.serverSideTokenCheck) {
    TETHER_TRY(std::optional<UserRow> user, ctx_.store.getUserBySub(poolId, claims.sub));
    if (!user) return Status::unauthenticated("Invalid login token. The user does not exist.");
    if (!user->enabled) return Status::unauthenticated("Invalid login token. User is disabled.");
    TETHER_TRY(UserState state, UserState::parse(user->stateJson));
    const std::string origin = claims.claims.value("origin_jti", "");
    TETHER_TRY(bool revoked, tokens_.revoked(poolId, origin, claims.iat, state.revokedBeforeMs));
    if (revoked) return Status::unauthenticated("Invalid login token. Token has been revoked.");
  }
  return VerifiedLogin{provider.providerName, claims.sub, claims.exp * 1000};
}

}  // namespace tether::server::idp
