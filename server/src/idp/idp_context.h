// IdpContext: what the Cognito User Pools front end works with, wired by `tetherd serve`:
// the Store (user pools live beside the identity pools, on either backend), the keyring (token
// signing and sealing keys), the SigV4 authenticator shared with Cognito Identity (admin
// operations need a developer credential), the clock, the rate limiter, code delivery and
// the deployment settings of [user_pools] (docs/user-pools.md), and the trigger executor.
// Ownership: references only; every referent outlives the front end. Thread-safety: the
// referents are thread-safe; the context is immutable after wiring.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/rate_limiter.h"
#include "cognito/request_auth.h"
#include "common/clock.h"
#include "storage/store.h"

namespace tether::server {
class SyncTriggerInvoker;
}

namespace tether::server::idp {

class IdpKeyring;
class CodeDelivery;
class Sealer;
class CodeHasher;

struct IdpSettings {
  // Region of generated pool ids, ARNs and the identity-pool provider name.
  std::string region = "us-east-1";
  std::string accountId = "000000000000";
  // Tokens' `iss` is issuerBase + "/" + poolId (spec 6.7); issuerBase defaults to the server's
  // external URL. awsIssuer: https://cognito-idp.<region>.amazonaws.com instead.
  std::string issuerBase;
  bool awsIssuer = false;
  // The hosted UI's external base URL (default: issuerBase).
  std::string hostedUiBase;

  std::string issuerFor(const std::string& poolId) const {
    if (awsIssuer) return "https://cognito-idp." + region + ".amazonaws.com/" + poolId;
    return issuerBase + "/" + poolId;
  }
};

struct IdpContext {
  Store& store;
  IdpKeyring& keys;  // the pools' signing keys (created on first use)
  // Loaded once at start from the keyring (a missing or damaged key stops the start).
  std::shared_ptr<const Sealer> tokenSealer;   // refresh tokens, SECRET_BLOCKs
  std::shared_ptr<const Sealer> atRestSealer;  // TOTP secrets
  std::shared_ptr<const CodeHasher> codeHasher;
  const cognito::RequestAuthenticator& authenticator;
  const Clock& clock;
  CodeDelivery& delivery;
  IdpSettings settings;
  RateLimiter* limiter = nullptr;  // null = no per-address limits
  // The pools' Lambda triggers (idp/idp_triggers.h): [[sync_triggers]]'s executor. Null = none
  // (a pool naming a trigger then fails the operation with UnexpectedLambdaException).
  SyncTriggerInvoker* triggers = nullptr;
};

}  // namespace tether::server::idp
