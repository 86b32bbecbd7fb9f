// Status and Result<T>: how every fallible call in Tether reports failure (no exceptions).
//
// A Status is a code plus a human-readable message. Codes are few and chosen so that callers act
// differently on each; `isRetryable()` says whether trying again later may succeed. The mapping
// to Cognito error names (used on the wire and by the HTTP API) is `cognitoErrorName()`.
// Thread-safety: plain values; copy freely between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "tether/export.h"

namespace tether {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,   // bad name, key, size, or a malformed request  (InvalidParameter)
  kNotFound = 2,          // pool, identity or dataset absent              (ResourceNotFound)
  kConflict = 3,          // stale record sync count                       (ResourceConflict)
  kLimitExceeded = 4,     // 20 datasets / 1,024 records / 1 MB            (LimitExceeded)
  kUnauthenticated = 5,   // missing, expired or forged credentials        (NotAuthorized)
  kPermissionDenied = 6,  // valid credentials, but not for this resource  (NotAuthorized)
  kTooManyRequests = 7,   // throttled                                     (TooManyRequests)
  kUnavailable = 8,       // server unreachable, connection lost, timeout: retry later
  kProtocolError = 9,     // the peer sent something we cannot understand
  kCorruption = 10,       // stored data failed a check
  kIOError = 11,          // disk or file failure
  kCancelled = 12,        // the operation was stopped (by the app or by shutdown)
  kInternal = 13,         // a bug or unexpected failure                   (InternalError)
  // The pool's sync trigger refused the batch: its function failed, timed out or answered
  // something that is not a valid trigger reply. Nothing was written; retrying the same batch
  // fails the same way until the function is fixed.       (InvalidLambdaFunctionOutput)
  kTriggerFailed = 14,
  // The sync trigger's target is overloaded (it said so, or tetherd's trigger queue is full).
  // Nothing was written; retry later.                     (LambdaThrottled)
  kTriggerThrottled = 15,
};

// "kOk" -> "Ok" etc.; stable, for logs and the C API.
TETHER_EXPORT std::string_view statusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status limitExceeded(std::string m) { return {StatusCode::kLimitExceeded, std::move(m)}; }
  static Status unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status permissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status tooManyRequests(std::string m) { return {StatusCode::kTooManyRequests, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status protocolError(std::string m) { return {StatusCode::kProtocolError, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status ioError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status triggerFailed(std::string m) { return {StatusCode::kTriggerFailed, std::move(m)}; }
  static Status triggerThrottled(std::string m) { return {StatusCode::kTriggerThrottled, std::move(m)}; }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // True when the same call may succeed later without any change by the caller.
  bool isRetryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kTooManyRequests ||
           code_ == StatusCode::kInternal || code_ == StatusCode::kTriggerThrottled;
  }

  // "Conflict: Current SyncCount for: k is: 3 not: 2"
  TETHER_EXPORT std::string toString() const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

TETHER_EXPORT std::ostream& operator<<(std::ostream& os, const Status& s);

// A value or a non-ok Status. Accessing value() of an error is a bug (aborts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(v_).isOk()) v_.template emplace<1>(StatusCode::kInternal, "Result from ok Status");
  }

  bool isOk() const { return v_.index() == 0; }
  explicit operator bool() const { return isOk(); }
  Status status() const { return isOk() ? Status() : std::get<1>(v_); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  void check() const;
  std::variant<T, Status> v_;
};

[[noreturn]] TETHER_EXPORT void detailResultAbort(const Status& s);

template <class T>
void Result<T>::check() const {
  if (v_.index() != 0) detailResultAbort(std::get<1>(v_));
}

// Our own invariants only; never for what a peer or the app can cause.
[[noreturn]] TETHER_EXPORT void detailAssertFail(const char* file, int line, const char* expr, const char* msg);

}  // namespace tether

#define TETHER_ASSERT(cond, msg) \
  do { if (!(cond)) ::tether::detailAssertFail(__FILE__, __LINE__, #cond, msg); } while (0)

#define TETHER_CONCAT_INNER(a, b) a##b
#define TETHER_CONCAT(a, b) TETHER_CONCAT_INNER(a, b)

// Return early with the Status if `expr` (a Status) is not ok.
#define TETHER_RETURN_IF_ERROR(expr)                     \
  do {                                                   \
    ::tether::Status tether_status_ = (expr);            \
    if (!tether_status_.isOk()) return tether_status_;   \
  } while (0)

// TETHER_TRY(auto x, resultExpr): declare x from the Result's value, or return its Status.
#define TETHER_TRY(decl, expr) TETHER_TRY_IMPL(TETHER_CONCAT(tether_try_, __LINE__), decl, expr)
#define TETHER_TRY_IMPL(tmp, decl, expr)        \
  auto tmp = (expr);                            \
  if (!tmp.isOk()) return tmp.status();         \
  decl = std::move(tmp).value()
