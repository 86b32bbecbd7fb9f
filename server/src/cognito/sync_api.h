// SyncApi: the 17 Cognito Sync REST-JSON operations (cognito-compat.md section 3) over the
// shared SyncService and Store. Every request is SigV4-signed (service `cognito-sync`); an
// identity's temporary credentials reach only that identity's data (NotAuthorizedException 403
// otherwise), developer credentials reach every identity and the pool-level operations.
// Push sync (RegisterDevice, Subscribe/UnsubscribeFromDataset) is stored in the Store and drives
// live-sync notifications on native connections presenting the DeviceId (CognitoContext::
// deviceSubscriptions is told after each change), and mobile push sends APNs/FCM notifications
// (push/push_service.h). BulkPublish starts a run (sync/bulk_publish.h) that the stream publisher
// carries out (docs/events.md); the events and pool configuration settings are stored (Store
// meta) and returned, and the pool's CognitoStreams setting drives the outbox
// (streams/outbox_writer.h).
// UpdateRecords with the identity's own credentials may run the pool's sync trigger
// (docs/events.md "Sync trigger"): callAsync() answers such a write later, from the identity's
// strand, once the trigger replied and the batch is committed.
// Threading: call() and callAsync() block on the Store; run them on the identity's strand (or
// the pool for pool-level operations).
#pragma once

#include <functional>

#include "cognito/api_error.h"
#include "cognito/cognito_context.h"
#include "cognito/json_fields.h"
#include "cognito/sync_routes.h"
#include "net/http.h"

namespace tether::server::cognito {

class SyncApi {
 public:
  explicit SyncApi(CognitoContext& ctx) : ctx_(ctx) {}

  // Never runs the sync trigger (UpdateRecords is written as if none were set).
  ApiResult<Json> call(const SyncRoute& route, const HttpRequest& request);
  // The front end's entry: as call(), but UpdateRecords goes through the sync trigger when one
  // applies. `done` runs exactly once: before this returns, or later on the identity's strand.
  using Done = std::function<void(ApiResult<Json>)>;
  void callAsync(const SyncRoute& route, const HttpRequest& request, Done done);

 private:
  // Signature, then the caller's right to the route's pool/identity.
  ApiResult<Principal> admit(const SyncRoute& route, const HttpRequest& request);
  // Per-identity checks (identity exists and is enabled, write rate limits, dataset name).
  ApiResult<Caller> identityCaller(const SyncRoute& route, const HttpRequest& request, const Principal& who);
  ApiResult<Json> perIdentity(const SyncRoute& route, const HttpRequest& request, const Principal& who);
  ApiResult<Json> poolLevel(const SyncRoute& route, const HttpRequest& request);
  ApiResult<Json> poolUsage(const PoolInfo& pool);
  // RegisterDevice, SubscribeToDataset, UnsubscribeFromDataset (identity already checked).
  ApiResult<Json> pushSync(const SyncRoute& route, const HttpRequest& request, const Principal& who);

  CognitoContext& ctx_;
};

}  // namespace tether::server::cognito
