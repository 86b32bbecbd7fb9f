// The Cognito User Pools exceptions (spec cognito-user-pools.md 3.3 and 3.4) as ApiErrors: every
// modeled client error is HTTP 400 with its exception name; InternalErrorException is 500. The
// messages AWS is known to send are constants here, so every operation words them the same way.
// Thread-safety: plain values.
#pragma once

#include <string>
#include <string_view>

#include "cognito/api_error.h"
#include "cognito/json_fields.h"
#include "tether/status.h"

namespace tether::server::idp {

using cognito::ApiError;
using cognito::ApiResult;
using cognito::Json;

namespace msg {
inline constexpr const char* kIncorrectPassword = "Incorrect username or password.";
inline constexpr const char* kUserDisabled = "User is disabled.";
inline constexpr const char* kUserNotFound = "User does not exist.";
inline constexpr const char* kUserNotConfirmed = "User is not confirmed.";
inline constexpr const char* kPasswordAttemptsExceeded = "Password attempts exceeded";
inline constexpr const char* kSessionExpired = "Invalid session for the user, session is expired.";
inline constexpr const char* kSessionUsed = "Invalid session for the user, session can only be used once.";
inline constexpr const char* kAccessTokenExpired = "Access Token has expired";
inline constexpr const char* kAccessTokenRevoked = "Access Token has been revoked";
inline constexpr const char* kInvalidAccessToken = "Invalid Access Token";
inline constexpr const char* kRefreshTokenExpired = "Refresh Token has expired";
inline constexpr const char* kRefreshTokenRevoked = "Refresh Token has been revoked";
inline constexpr const char* kInvalidRefreshToken = "Invalid Refresh Token";
inline constexpr const char* kCodeMismatch = "Invalid verification code provided, please try again.";
inline constexpr const char* kCodeExpired = "Invalid code provided, please request a code again.";
inline constexpr const char* kAttemptLimit = "Attempt limit exceeded, please try after some time.";
inline constexpr const char* kUsernameClientNotFound = "Username/client id combination not found.";
}  // namespace msg

inline ApiError idpError(const char* type, std::string message) { return ApiError{400, type, std::move(message)}; }
inline ApiError invalidParameter(std::string m) { return idpError("InvalidParameterException", std::move(m)); }
inline ApiError notAuthorized(std::string m) { return idpError("NotAuthorizedException", std::move(m)); }
inline ApiError resourceNotFound(std::string m) { return idpError("ResourceNotFoundException", std::move(m)); }
inline ApiError userNotFound(std::string m = msg::kUserNotFound) {
  return idpError("UserNotFoundException", std::move(m));
}
inline ApiError codeMismatch(std::string m = msg::kCodeMismatch) {
  return idpError("CodeMismatchException", std::move(m));
}
inline ApiError expiredCode() { return idpError("ExpiredCodeException", msg::kCodeExpired); }
inline ApiError limitExceeded() { return idpError("LimitExceededException", msg::kAttemptLimit); }
inline ApiError tooManyRequests() { return idpError("TooManyRequestsException", "Rate exceeded"); }
inline ApiError unsupported(std::string m) { return idpError("UnsupportedOperationException", std::move(m)); }

// "1 validation error detected: Value at '<member>' failed to satisfy constraint: <rule>", the
// wording AWS's model validation uses (spec 3.3). `member` is the camelCase member path.
ApiError validationError(std::string_view member, std::string_view rule);

// A Status from the store or the crypto layer: kInvalidArgument -> InvalidParameter,
// kNotFound -> ResourceNotFound, kUnauthenticated -> NotAuthorized, kTooManyRequests ->
// TooManyRequests; anything else is logged and answered InternalErrorException (500) with a
// generic message.
ApiError fromStatus(const Status& status);

}  // namespace tether::server::idp

// IDP_TRY_STATUS(expr): return fromStatus() of a failed Status.
#define IDP_TRY_STATUS(expr)                                                \
  do {                                                                      \
    ::tether::Status idp_try_status_ = (expr);                              \
    if (!idp_try_status_.isOk()) return ::tether::server::idp::fromStatus(idp_try_status_); \
  } while (0)
// IDP_TRY_RESULT(decl, expr): declare from a Result<T>'s value, or return fromStatus().
#define IDP_TRY_RESULT(decl, expr) IDP_TRY_RESULT_IMPL(TETHER_CONCAT(idp_try_, __LINE__), decl, expr)
#define IDP_TRY_RESULT_IMPL(tmp, decl, expr)                                       \
  auto tmp = (expr);                                                               \
  if (!tmp.isOk()) return ::tether::server::idp::fromStatus(tmp.status());         \
  decl = std::move(tmp).value()
