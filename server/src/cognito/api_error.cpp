// Status -> Cognito error mapping; see api_error.h.
#include "cognito/api_error.h"

#include <spdlog/spdlog.h>

#include "tether/protocol.h"

namespace tether::server::cognito {

ApiError fromStatus(Service service, const Status& status) {
  const bool sync = service == Service::kSync;
  std::string name(proto::cognitoErrorName(status.code()));
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kProtocolError:
    case StatusCode::kLimitExceeded:
      return {400, name, status.message()};
    case StatusCode::kNotFound: return {sync ? 404 : 400, name, status.message()};
    case StatusCode::kConflict: return {sync ? 409 : 400, name, status.message()};
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return {sync ? 403 : 400, name, status.message()};
    case StatusCode::kTooManyRequests: return {sync ? 429 : 400, name, status.message()};
    // The sync trigger (cognito-compat.md 5.1): a failed function is the caller's 400, a
    // throttled one a 429 the SDKs retry.
    case StatusCode::kTriggerFailed: return {400, name, status.message()};
    case StatusCode::kTriggerThrottled: return {429, name, status.message()};
    case StatusCode::kUnavailable:
      // The database is unreachable (PostgreSQL lost or restarting): nothing was written. A 503
      // with ServiceUnavailable is a transient error the AWS SDKs retry by themselves.
      spdlog::warn("cognito: store unavailable: {}", status.message());
      return {503, "ServiceUnavailable", "The service is temporarily unavailable; retry the request."};
    default:
      spdlog::error("cognito: internal error: {}", status.toString());
      return ApiError::internal("An internal error occurred.");
  }
}

}  // namespace tether::server::cognito
