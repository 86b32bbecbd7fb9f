// IdentityService: GetId / GetToken / Authenticate of the native protocol, and its developer
// request GetDeveloperToken (DESIGN.md section 3, cognito-compat.md 2.2-2.5). Logins go through
// the LoginResolver it owns, which the Cognito HTTP front end shares (resolver()), so both
// surfaces link, upgrade and merge identities the same way.
//
// Owns the LoginResolver (and, unless one is given, an empty-config LoginProviders that reads
// providers from the Store). The Store, TokenIssuer, Clock and a given LoginProviders outlive it.
// Thread-safety: every method may be called concurrently (Store, TokenIssuer, Clock and the
// resolver are thread-safe; developer keys are set before serving). Methods block on the Store:
// call them on the worker pool, never on the network thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "auth/login_providers.h"
#include "auth/login_resolver.h"
#include "auth/token_issuer.h"
#include "common/clock.h"
#include "storage/store.h"
#include "tether/protocol.h"
#include "tether/status.h"

namespace tether::server {

// Lifetime of the tokens GetToken issues. Longer means fewer GetToken round trips; shorter
// means a disabled identity or a pool that stops allowing guests locks clients out sooner.
constexpr int64_t kIdentityTokenTtlSeconds = 15 * 60;
// GetDeveloperToken's default lifetime (Cognito GetOpenIdTokenForDeveloperIdentity: 15 minutes).
constexpr int64_t kDeveloperTokenDefaultTtlSeconds = 900;

class IdentityService {
 public:
  // `providers` null: an internal LoginProviders with no configured providers (database only).
  IdentityService(Store& store, const TokenIssuer& issuer, const Clock& clock, LoginProviders* providers = nullptr);

  // No logins: a new guest identity in the pool, on every call (clients cache it). With logins:
  // the identity they name (LoginResolver::resolve), created on first use.
  // kInvalidArgument: malformed pool ID or logins. kNotFound: no such pool. kUnauthenticated:
  // a login does not verify, or no logins and the pool does not allow guests. kConflict /
  // kLimitExceeded from the resolver. Store errors pass through.
  Result<proto::GetIdResponse> getId(const proto::GetIdRequest& request);

  // A kIdentityTokenTtlSeconds JWT for the identity, amr ["unauthenticated"] for a guest or
  // ["authenticated", providers...]. Logins are checked, linked and merged by the resolver; the
  // response's identityId is the survivor when a merge happened (it may differ from the request's).
  // kInvalidArgument: malformed identity ID or logins. kNotFound: no such identity (or pool).
  // kUnauthenticated: disabled identity, logins that don't verify or don't match, an
  // authenticated identity without a login, or a guest of a pool that no longer allows guests.
  Result<proto::GetTokenResponse> getToken(const proto::GetTokenRequest& request);

  // An app backend's request for its user's identity and token (signature checked against the
  // developer credential: config keys from setDeveloperKeys, then the Store's).
  // kUnauthenticated: unknown key, bad signature, clock skew > 5 min. kInvalidArgument: bad
  // fields or no developer provider in the pool. kConflict: the user is registered with another
  // authenticated identity. kNotFound / kLimitExceeded / Store errors.
  Result<proto::GetTokenResponse> getDeveloperToken(const proto::GetDeveloperTokenRequest& request);

  // The token's claims if it verifies (TokenIssuer::verify at the clock's now), its identity
  // exists, is not disabled and belongs to the token's pool, and that pool still exists (and
  // still allows guests, for guest tokens). kUnauthenticated otherwise; Store errors pass through.
  Result<VerifiedToken> authenticate(std::string_view token);

  // Developer credentials from the config file (access key ID -> secret). Before serving.
  void setDeveloperKeys(std::map<std::string, std::string> keys) { developerKeys_ = std::move(keys); }

  LoginResolver& resolver() { return *resolver_; }
  LoginProviders& providers() { return *providers_; }

 private:
  Store& store_;
  const TokenIssuer& issuer_;
  const Clock& clock_;
  std::unique_ptr<LoginProviders> ownedProviders_;
  LoginProviders* providers_;
  std::unique_ptr<LoginResolver> resolver_;
  std::map<std::string, std::string> developerKeys_;
};

}  // namespace tether::server
