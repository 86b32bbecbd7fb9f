// User Pools errors; see idp_errors.h.
#include "idp/idp_errors.h"

#include <spdlog/spdlog.h>

namespace tether::server::idp {

ApiError validationError(std::string_view member, std::string_view rule) {
  return invalidParameter("1 validation error detected: Value at '" + std::string(member) +
                          "' failed to satisfy constraint: " + std::string(rule));
}

ApiError fromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument: return invalidParameter(status.message());
    case StatusCode::kNotFound: return resourceNotFound(status.message());
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return notAuthorized(status.message());
    case StatusCode::kTooManyRequests: return tooManyRequests();
    case StatusCode::kUnavailable:
      spdlog::warn("cognito-idp: store unavailable: {}", status.message());
      return ApiError{503, "ServiceUnavailable", "The service is temporarily unavailable; retry the request."};
    default:
      spdlog::error("cognito-idp: internal error: {}", status.toString());
      return ApiError{500, "InternalErrorException", "An internal error occurred."};
  }
}

}  // namespace tether::server::idp
