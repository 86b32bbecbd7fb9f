// TokenService: the user-pool tokens (spec cognito-user-pools.md 6). ID and access tokens are
// RS256 JWTs signed with the pool's two keys (distinct kids, published in the pool's JWKS);
// refresh tokens are sealed (AES-256-GCM, 5 segments), so the server needs no per-token row and
// nobody can forge or read one. Revocation: a user's `revokedBeforeMs` (global sign-out,
// disable, delete) and the revoked origin_jti set (RevokeToken).
// Thread-safety: stateless over the context; every method may run concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "idp/idp_context.h"
#include "idp/idp_errors.h"
#include "storage/user_pool_store.h"

namespace tether::server::idp {

inline constexpr const char* kAdminScope = "aws.cognito.signin.user.admin";

struct TokenSet {
  std::string idToken;      // "" when not issued (OAuth without openid)
  std::string accessToken;
  std::string refreshToken; // "" on refresh (the client keeps its own)
  int64_t expiresIn = 0;    // the access token's lifetime, seconds
};

struct MintRequest {
  std::string poolId;
  std::string clientId;
  const UserRow* user = nullptr;
  // The attributes the client may read (already filtered), for the ID token.
  std::vector<std::pair<std::string, std::string>> readableAttributes;
  std::vector<std::string> groups;     // by precedence, lowest first
  std::vector<std::string> roles;      // role ARNs of those groups
  std::string preferredRole;           // "" = none
  int64_t authTimeSec = 0;             // the original sign-in
  // The user's global sign-out time: tokens are revoked when iat*1000 <= it, so mint() waits
  // (at most a second) until the new token's iat is past it.
  int64_t revokedBeforeMs = 0;
  std::string originJti;               // "" = a new sign-in session
  bool withRefreshToken = true;
  int64_t idSeconds = 3600, accessSeconds = 3600, refreshSeconds = 30 * 86400;
  std::vector<std::string> scopes;     // empty = {aws.cognito.signin.user.admin} (native API)
  bool oauth = false;                  // hosted UI tokens: `version: 2`, OIDC scopes
  bool withIdToken = true;
  std::string nonce;
  // PreTokenGeneration results: claims added to / removed from each token.
  Json idClaimsToAdd = Json::object(), accessClaimsToAdd = Json::object();
  std::vector<std::string> idClaimsToSuppress, accessClaimsToSuppress;
};

struct AccessClaims {
  std::string poolId, clientId, sub, username, jti, originJti, scope;
  int64_t iat = 0, exp = 0, authTime = 0;
  bool hasScope(std::string_view s) const;
};

struct RefreshClaims {
  std::string poolId, clientId, sub, username, originJti;
  int64_t authTime = 0, iat = 0, exp = 0;
  // Hosted-UI (OAuth) sessions: the granted scopes, which refreshed tokens carry again.
  bool oauth = false;
  std::vector<std::string> scopes;
};

struct IdClaims {
  std::string poolId, sub, username, audience;
  int64_t authTime = 0, iat = 0, exp = 0;
  Json claims;
};

class TokenService {
 public:
  explicit TokenService(IdpContext& ctx) : ctx_(ctx) {}

  Result<TokenSet> mint(const MintRequest& request);
  // The client_credentials grant (spec 7.4): an access token of the client itself (sub =
  // client_id, `version: 2`, the granted custom scopes), no ID or refresh token.
  Result<TokenSet> mintForClient(const std::string& poolId, const std::string& clientId,
                                 const std::vector<std::string>& scopes, int64_t accessSeconds);

  // Spec 6.5 steps 1-5 (signature, token_use, iss, exp, scope); revocation and the user's
  // existence are the caller's (it loads the user anyway). NotAuthorized with AWS's messages.
  ApiResult<AccessClaims> verifyAccessToken(const std::string& token, bool requireAdminScope = true);
  // A refresh token of `clientId` (anything else: Invalid Refresh Token), unexpired.
  ApiResult<RefreshClaims> openRefreshToken(const std::string& token, const std::string& clientId);
  // An ID token of `poolId` (identity-pool logins, spec 6.6): signature, token_use, iss. Expiry
  // is the caller's (it words its own message). kUnauthenticated on anything else.
  Result<IdClaims> verifyIdToken(const std::string& poolId, const std::string& token);

  // True if a token of this user/origin issued at `issuedAtSec` is revoked (iat*1000 <=
  // revokedBeforeMs, or its origin_jti revoked).
  Result<bool> revoked(const std::string& poolId, const std::string& originJti, int64_t issuedAtSec,
                       int64_t revokedBeforeMs);
  // The pool's JWKS document (both keys).
  Result<std::string> jwks(const std::string& poolId);

 private:
  IdpContext& ctx_;
};

}  // namespace tether::server::idp
