// PushSender: one provider's way of delivering a silent "dataset changed" notification to one
// device (ApnsSender, FcmSender), and what became of it. PushService owns the senders and calls
// each only from that provider's worker thread, with that worker's HttpClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "outbound/http_client.h"

namespace tether::server::push {

// The data of spec cognito-compat.md 5.3: exactly these keys go to the device.
struct PushData {
  std::string identityPoolId;
  std::string identityId;
  std::string datasetName;
  int64_t syncCount = 0;
};

enum class PushResult {
  kSent,       // the provider accepted it
  kRetry,      // network error, 429, 5xx, expired provider credentials: try again later
  kTokenGone,  // the provider says the device token is no longer valid: remove the device
  kRejected,   // refused for another reason (bad topic, payload, credentials): dropped
};

struct PushOutcome {
  PushResult result = PushResult::kSent;
  // For /metrics and the log: "http_<status>", "timeout", "unreachable", "oauth_http_<status>"...
  // (a bounded set: never text from the provider).
  std::string reason;
  std::chrono::milliseconds retryAfter{0};  // the provider's Retry-After, 0 = none
  std::string detail;                        // for the log only (the provider's reason, curl's error)
};

class PushSender {
 public:
  virtual ~PushSender() = default;
  // REQUIRES: called on the owning worker thread only.
  virtual PushOutcome send(outbound::HttpClient& http, const std::string& deviceToken, const PushData& data) = 0;
};

// Shared by the senders: classify a transport failure, parse Retry-After (seconds only, capped).
PushOutcome transportFailure(const outbound::HttpOutcome& out, const std::string& prefix = "");
std::chrono::milliseconds retryAfterOf(const outbound::HttpResponse& response);
// Percent-encodes everything but RFC 3986 unreserved characters (a path segment, a form value).
std::string percentEncode(std::string_view s);

}  // namespace tether::server::push
