#include "push/push_sender.h"

#include <charconv>

namespace tether::server::push {

PushOutcome transportFailure(const outbound::HttpOutcome& out, const std::string& prefix) {
  PushOutcome o;
  o.result = out.failure == outbound::HttpFailure::kBadRequest ? PushResult::kRejected : PushResult::kRetry;
  o.reason = prefix + std::string(outbound::httpFailureName(out.failure));
  o.detail = out.error;
  return o;
}

std::chrono::milliseconds retryAfterOf(const outbound::HttpResponse& response) {
  const std::string* v = response.header("retry-after");
  if (v == nullptr) return std::chrono::milliseconds(0);
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), seconds);
  // An HTTP date instead of seconds: ignored (our own backoff applies). Capped at an hour: a
  // misbehaving provider cannot park a device's push for days.
  if (ec != std::errc() || end != v->data() + v->size() || seconds < 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::min<int64_t>(seconds, 3600) * 1000);
}

std::string percentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace tether::server::push
