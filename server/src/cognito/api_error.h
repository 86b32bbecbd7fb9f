// ApiError / ApiResult<T>: a Cognito error as it goes on the wire (HTTP status, the exception
// name for `x-amzn-ErrorType` and `__type`, and the message). The Cognito front end needs more
// names than Status codes carry (IncompleteSignatureException, ExpiredTokenException,
// InvalidConfigurationException, ...), so it speaks in these; Status values from the sync and
// storage layers are converted once, by fromStatus(), using the per-service tables of
// cognito-compat.md 2.1 (identity: every client error 400) and 3.1 (sync: 403/404/409/429).
// Thread-safety: plain values.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "tether/status.h"

namespace tether::server::cognito {

enum class Service { kIdentity, kSync };

struct ApiError {
  int status = 400;
  std::string type;     // e.g. "ResourceConflictException"
  std::string message;

  static ApiError invalidParameter(std::string m) { return {400, "InvalidParameterException", std::move(m)}; }
  static ApiError notAuthorized(Service s, std::string m) {
    return {s == Service::kSync ? 403 : 400, "NotAuthorizedException", std::move(m)};
  }
  static ApiError notFound(Service s, std::string m) {
    return {s == Service::kSync ? 404 : 400, "ResourceNotFoundException", std::move(m)};
  }
  static ApiError internal(std::string m) { return {500, "InternalErrorException", std::move(m)}; }
  static ApiError invalidConfiguration(std::string m) {
    return {400, "InvalidConfigurationException", std::move(m)};
  }
};

// The Cognito error for a Status from the layers below, with the HTTP status `service` uses.
// Internal failures (I/O, corruption, bugs) become InternalErrorException 500 with a generic
// message: their details go to the log, not to the peer.
ApiError fromStatus(Service service, const Status& status);

template <class T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  ApiResult(ApiError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool isOk() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  const ApiError& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace tether::server::cognito

// API_TRY(decl, expr): declare from an ApiResult's value, or return its error.
#define API_TRY(decl, expr) API_TRY_IMPL(TETHER_CONCAT(api_try_, __LINE__), decl, expr)
#define API_TRY_IMPL(tmp, decl, expr)      \
  auto tmp = (expr);                       \
  if (!tmp.isOk()) return tmp.error();     \
  decl = std::move(tmp).value()
