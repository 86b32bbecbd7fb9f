#include "tether/status.h"

#include <cstdio>
#include <cstdlib>

namespace tether {

std::string_view statusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "Ok";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kConflict: return "Conflict";
    case StatusCode::kLimitExceeded: return "LimitExceeded";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kTooManyRequests: return "TooManyRequests";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kProtocolError: return "ProtocolError";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kIOError: return "IOError";
    case StatusCode::kCancelled: return "Cancelled";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kTriggerFailed: return "TriggerFailed";
    case StatusCode::kTriggerThrottled: return "TriggerThrottled";
  }
  return "Unknown";
}

std::string Status::toString() const {
  std::string out(statusCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.toString(); }

void detailResultAbort(const Status& s) {
  std::fprintf(stderr, "tether: value() of a failed Result: %s\n", s.toString().c_str());
  std::abort();
}

void detailAssertFail(const char* file, int line, const char* expr, const char* msg) {
  std::fprintf(stderr, "tether: assertion failed at %s:%d: %s (%s)\n", file, line, expr, msg);
  std::abort();
}

}  // namespace tether
