// CognitoContext: the server parts the Cognito-compatible HTTP front end works with, wired by
// `tetherd serve`. The same SyncService and Store serve the native protocol, so data written
// through one front end is read through the other.
// Ownership: every member is a non-owning reference; all referents outlive the front end.
// Thread-safety: each referent is thread-safe; the context itself is immutable.
#pragma once

#include <map>
#include <string>

#include "auth/identity_service.h"
#include "auth/rate_limiter.h"
#include "auth/token_issuer.h"
#include "cognito/request_auth.h"
#include "cognito/temporary_credentials.h"
#include "common/clock.h"
#include "common/work_pool.h"
#include "events/device_subscription_listener.h"
#include "storage/store.h"
#include "sync/sync_service.h"

namespace tether::server::cognito {

struct CognitoContext {
  Store& store;
  SyncService& sync;
  IdentityService& identities;
  const TokenIssuer& issuer;
  const TemporaryCredentials& credentials;
  const RequestAuthenticator& authenticator;
  const Clock& clock;
  WorkPool& pool;
  // Pool ID -> its developer provider name (pools without one are absent).
  std::map<std::string, std::string> developerProviders;
  // Told after each stored SubscribeToDataset/UnsubscribeFromDataset (the native handler's
  // ChangeHub); null = nobody follows them live.
  DeviceSubscriptionListener* deviceSubscriptions = nullptr;
  // Rate limits per client address and pool (docs/security.md); null = none.
  RateLimiter* limiter = nullptr;
};

}  // namespace tether::server::cognito
