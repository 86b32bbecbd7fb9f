// SyncApi: the 17 Cognito Sync REST-JSON operations (cognito-compat.md section 3) over the
// shared SyncService and Store. Every request is SigV4-signed (service `cognito-sync`); an
// identity's temporary credentials reach only that identity's data (NotAuthorizedException 403
// otherwise), developer credentials reach every identity and the pool-level operations.
// Push sync (RegisterDevice, Subscribe/UnsubscribeFromDataset) is stored in the Store and drives
// live-sync notifications on native connections presenting the DeviceId (CognitoContext::
// deviceSubscriptions is told after each change); tetherd never sends APNs/FCM pushes. BulkPublish
// starts a run (sync/bulk_publish.h) that the stream publisher carries out (docs/events.md);
// the events and pool configuration settings are stored (Store meta) and returned, and the
// pool's CognitoStreams setting drives the outbox (streams/outbox_writer.h).
// Threading: call() blocks on the Store; run it on the identity's strand (or the pool for
// pool-level operations).
#pragma once

#include "cognito/api_error.h"
#include "cognito/cognito_context.h"
#include "cognito/json_fields.h"
#include "cognito/sync_routes.h"
#include "net/http.h"

namespace tether::server::cognito {

class SyncApi {
 public:
  explicit SyncApi(CognitoContext& ctx) : ctx_(ctx) {}

  ApiResult<Json> call(const SyncRoute& route, const HttpRequest& request);

 private:
  ApiResult<Json> perIdentity(const SyncRoute& route, const HttpRequest& request, const Principal& who);
  ApiResult<Json> poolLevel(const SyncRoute& route, const HttpRequest& request);
  ApiResult<Json> poolUsage(const PoolInfo& pool);
  // RegisterDevice, SubscribeToDataset, UnsubscribeFromDataset (identity already checked).
  ApiResult<Json> pushSync(const SyncRoute& route, const HttpRequest& request, const Principal& who);

  CognitoContext& ctx_;
};

}  // namespace tether::server::cognito
