// IdentityService: GetId / GetToken / Authenticate of the native protocol (DESIGN.md section 3,
// cognito-compat.md 2.2 and 2.5). For now only guest (unauthenticated) identities exist; logins
// arrive with a later issue and are refused with kUnauthenticated until then.
//
// Owns nothing: the Store, TokenIssuer and Clock outlive it (main() wires them).
// Thread-safety: stateless beyond its references; every method may be called concurrently
// (Store, TokenIssuer and Clock are thread-safe). Methods block on the Store: call them on the
// worker pool, never on the network thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "auth/token_issuer.h"
#include "common/clock.h"
#include "storage/store.h"
#include "tether/protocol.h"
#include "tether/status.h"

namespace tether::server {

// Lifetime of the tokens GetToken issues. Longer means fewer GetToken round trips; shorter
// means a disabled identity or a pool that stops allowing guests locks clients out sooner.
constexpr int64_t kIdentityTokenTtlSeconds = 15 * 60;

class IdentityService {
 public:
  IdentityService(Store& store, const TokenIssuer& issuer, const Clock& clock);

  // A new guest identity in the pool, on every call (clients cache it).
  // kInvalidArgument: malformed pool ID. kNotFound: no such pool. kUnauthenticated: logins given
  // ("Logins are not supported by this pool") or the pool does not allow guests. Store errors
  // pass through.
  Result<proto::GetIdResponse> getId(const proto::GetIdRequest& request);

  // A kIdentityTokenTtlSeconds JWT (amr ["unauthenticated"]) for a guest identity.
  // kInvalidArgument: malformed identity ID. kNotFound: no such identity (or its pool is gone).
  // kUnauthenticated: logins given, identity disabled, or its pool no longer allows guests.
  Result<proto::GetTokenResponse> getToken(const proto::GetTokenRequest& request);

  // The token's claims if it verifies (TokenIssuer::verify at the clock's now), its identity
  // exists, is not disabled and belongs to the token's pool, and that pool still exists (and
  // still allows guests, for guest tokens). kUnauthenticated otherwise; Store errors pass through.
  Result<VerifiedToken> authenticate(std::string_view token);

 private:
  Store& store_;
  const TokenIssuer& issuer_;
  const Clock& clock_;
};

}  // namespace tether::server
