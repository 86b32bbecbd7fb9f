// IdpLoginVerifier: this server's user pools as identity-pool login providers (spec
// cognito-user-pools.md 6.6). An identity pool with [[pools.user_pool_providers]] accepts the
// pool's ID tokens in Logins under `cognito-idp.<region>.amazonaws.com/<poolId>`, on both front
// ends (Cognito GetId/GetCredentialsForIdentity and the native protocol): the token is checked
// in process (signature by the pool's ID key, token_use, iss, aud among the provider's client
// ids, exp) and, with ServerSideTokenCheck, against the user's current state (exists, enabled,
// not signed out globally or revoked since the token was issued).
// Thread-safety: verify() may run concurrently; it blocks on the Store (worker pool).
#pragma once

#include "auth/login_providers.h"
#include "idp/idp_context.h"
#include "idp/token_service.h"

namespace tether::server::idp {

class IdpLoginVerifier final : public UserPoolLoginVerifier {
 public:
  IdpLoginVerifier(IdpContext& ctx, TokenService& tokens) : ctx_(ctx), tokens_(tokens) {}
  Result<VerifiedLogin> verify(const UserPoolProviderConfig& provider, std::string_view token, int64_t nowMs) override;

 private:
  IdpContext& ctx_;
  TokenService& tokens_;
};

}  // namespace tether::server::idp
