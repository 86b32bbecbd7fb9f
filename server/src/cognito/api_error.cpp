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
    case StatusCode::kUnavailable:
      // The store is unreachable for now (PostgreSQL restarting, a node's connections lost).
      // TooManyRequestsException is in every operation's documented error list and every AWS
      // SDK retries it with backoff by itself (botocore, SDK v2/v3 for JavaScript, Android),
      // whereas InternalErrorException reads as a bug. Nothing was written.
      spdlog::warn("cognito: store unavailable: {}", status.message());
      return {sync ? 429 : 400, "TooManyRequestsException", "The service is temporarily unavailable; retry later."};
    default:
      spdlog::error("cognito: internal error: {}", status.toString());
      return ApiError::internal("An internal error occurred.");
  }
}

}  // namespace tether::server::cognito
