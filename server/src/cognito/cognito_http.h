// CognitoHttp: the HTTP front end for both Cognito APIs on tetherd's port (cognito-compat.md
// sections 2 and 3): `POST /` with X-Amz-Target -> IdentityApi, `/identitypools...` ->
// SyncApi, CORS preflights answered directly (spec 2.1, 7.22), anything else -> `next` (or a
// JSON 404). Every response carries x-amzn-RequestId, Date and the CORS headers; errors carry
// `x-amzn-ErrorType: <Code>:` (exact case, for Android) and `{"__type","message"}`.
//
// Threading: handle() runs on the network thread and only routes; the work (signature checks,
// Store, SyncService) is posted to the WorkPool: dataset operations to the identity's strand,
// so they serialize with the native protocol's work for that identity. `reply` is called from
// the worker. The context must outlive every posted task (serve joins the pool first).
#pragma once

#include "cognito/cognito_context.h"
#include "cognito/identity_api.h"
#include "cognito/sync_api.h"
#include "cognito/target_api.h"
#include "net/http.h"

#include <optional>
#include <string>
#include <utility>

namespace tether::server::cognito {

class CognitoHttp final : public HttpHandler {
 public:
  explicit CognitoHttp(CognitoContext& ctx, HttpHandler* next = nullptr)
      : ctx_(ctx), identity_(ctx), sync_(ctx), next_(next) {}

  void handle(HttpRequest request, Reply reply) override;
  // The Cognito User Pools API (null = not served: its operations are unknown). Set before
  // serving; it must outlive this object.
  void setUserPools(JsonTargetApi* userPools) { userPools_ = userPools; }

  // The surface ("cognito-identity", "cognito-sync", "cognito-idp") and operation name of a
  // request for the metrics (net/http_observer.h); nullopt if it is not a Cognito API request.
  // The operation is the X-Amz-Target suffix or the Sync route's name, "other" if unknown.
  static std::optional<std::pair<std::string, std::string>> classify(const HttpRequest& request);

  // Response helpers, public for tests.
  static HttpResponse errorResponse(const ApiError& error, std::string contentType);
  static void addCommonHeaders(HttpResponse& response, const HttpRequest& request);

 private:
  CognitoContext& ctx_;
  IdentityApi identity_;
  SyncApi sync_;
  HttpHandler* next_;
  JsonTargetApi* userPools_ = nullptr;
};

}  // namespace tether::server::cognito
