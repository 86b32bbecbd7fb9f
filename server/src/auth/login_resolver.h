// LoginResolver: turns the logins a device presents into the identity they name, for both front
// ends (native GetId/GetToken and Cognito GetId/GetOpenIdToken/GetCredentialsForIdentity), and
// the developer-provider flow (Cognito GetOpenIdTokenForDeveloperIdentity and its native twin).
// Rules (cognito-compat.md 2.2, 2.5, section 7 items 14-16):
//   - every login must verify, or the call fails and nothing changes: an OIDC provider of the
//     pool (OidcVerifier; subject = `sub`), or `cognito-identity.amazonaws.com` = one of our own
//     tokens (it proves the identity it names). The pool's developer provider is not a device
//     login (only the developer operations link it); unknown providers are refused;
//   - no identity linked to any login -> a new identity (or, given a guest identity, that
//     guest is upgraded in place: same ID, data kept); the same login later -> the same identity;
//   - a given identity that has logins must be proven by one of them (or by our token for it),
//     else NotAuthorized "Logins don't match";
//   - logins of several identities together -> the identities merge (mergeIdentities). The
//     survivor is the oldest authenticated identity among those that own a presented login
//     (a guest never wins against one); the others are disabled and their tokens and
//     credentials stop working;
//   - one login per provider per identity (kConflict), at most kMaxLinkedLogins per identity
//     (kLimitExceeded), at most kMaxLoginsPerRequest logins per call (kInvalidArgument).
// Every check runs before the first write. A merge tells the ChangeListener about each moved
// dataset so live-sync subscribers of the survivor hear of it.
//
// Status codes: kInvalidArgument (malformed input: bad IDs, too many/duplicate/oversized
// logins), kNotFound (pool or identity), kUnauthenticated (bad token, unknown provider, logins
// don't match, disabled identity, guests not allowed), kConflict, kLimitExceeded, Store errors.
// Owns nothing; everything it references outlives it.
// Thread-safety: may be called concurrently; blocks on the Store (run it on the worker pool).
// Two concurrent first logins of one user are settled by the store's unique login key (the
// loser of the race retries once and finds the winner's identity).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/identity_merge.h"
#include "auth/login_providers.h"
#include "auth/token_issuer.h"
#include "common/clock.h"
#include "storage/store.h"
#include "sync/change_listener.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether::server {

// The login key of our own tokens (and its China-region spelling).
constexpr const char* kCognitoLoginProvider = "cognito-identity.amazonaws.com";
constexpr const char* kCognitoLoginProviderCn = "cognito-identity.cn-north-1.amazonaws.com.cn";
// Most logins linked to one identity (Cognito MergeDeveloperIdentities limit).
constexpr int kMaxLinkedLogins = 20;
// Why resolveDeveloper refused, where the Status code alone does not say it (Cognito has a
// name of its own for it).
enum class DeveloperRefusal {
  kNone,
  kAlreadyRegistered,  // kConflict: the developer user already has another authenticated identity
                       // (Cognito DeveloperUserAlreadyRegisteredException)
};

struct ResolvedIdentity {
  IdentityInfo identity;               // the identity the logins name (a merge's survivor)
  bool authenticated = false;          // it has linked logins
  std::vector<std::string> amr;        // ["authenticated", provider...] or ["unauthenticated"]
  bool created = false;                // made by this call
  std::vector<std::string> mergedAway; // identities folded into it by this call (now disabled)
};

class LoginResolver {
 public:
  LoginResolver(Store& store, const TokenIssuer& issuer, LoginProviders& providers, const Clock& clock);

  // Where merges report moved datasets; nullptr = nowhere. Set before serving.
  void setChangeListener(ChangeListener* listener) { listener_.store(listener); }

  // `identityId` empty: GetId with logins (`poolId` required, logins non-empty).
  // `identityId` set: GetOpenIdToken / GetCredentialsForIdentity / native GetToken for it
  // (`poolId` may be empty; when set it must be the identity's pool).
  Result<ResolvedIdentity> resolve(std::string_view poolId, const std::vector<Login>& logins,
                                   std::string_view identityId);

  // The developer flow: `developerUserId` of the pool's developer provider `provider`. No
  // `identityId`: the user's identity, created on first use. With `identityId`: the user is
  // linked to it; if the user already has another identity, a guest `identityId` is merged into
  // it (spec 7.14) and an authenticated one is refused (kConflict, and *refusal, if given, is
  // kAlreadyRegistered; it is kNone for every other outcome).
  Result<ResolvedIdentity> resolveDeveloper(std::string_view poolId, std::string_view identityId,
                                            std::string_view provider, std::string_view developerUserId,
                                            DeveloperRefusal* refusal = nullptr);

  // Folds `loserId` into `winnerId` and notifies the listener of every moved dataset.
  Result<MergeReport> merge(const std::string& poolId, const std::string& winnerId, const std::string& loserId);

  // The amr of an identity with these links.
  static std::vector<std::string> amrFor(const std::vector<LoginLink>& links);

 private:
  // `lostLinkRace` is set when a login was linked to another identity by a concurrent call
  // between our check and our write (then resolve() runs it once more).
  Result<ResolvedIdentity> resolveOnce(std::string_view poolId, const std::vector<Login>& logins,
                                       std::string_view identityId, bool& lostLinkRace);
  Result<ResolvedIdentity> finish(const IdentityInfo& identity, bool created, std::vector<std::string> merged);

  Store& store_;
  const TokenIssuer& issuer_;
  LoginProviders& providers_;
  const Clock& clock_;
  std::atomic<ChangeListener*> listener_{nullptr};
};

}  // namespace tether::server
