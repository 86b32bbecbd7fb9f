// See webhook_sink.h.
#include "streams/webhook_sink.h"

#include <charconv>
#include <ctime>

#include "outbound/webhook_signature.h"

namespace tether::server::streams {
namespace {

// The receiver's answer is not used: a small cap keeps a misbehaving one cheap.
constexpr size_t kMaxAnswerBytes = 64 * 1024;
// A Retry-After beyond this is taken as this (the publisher's own cap still applies).
constexpr int64_t kMaxRetryAfterSeconds = 3600;

}  // namespace

WebhookSink::WebhookSink(std::string streamName, WebhookSinkConfig config)
    : streamName_(std::move(streamName)), config_(std::move(config)) {}

SinkDelivery WebhookSink::deliver(std::span<const StreamRecord> records) {
  SinkDelivery out;
  out.delivered.assign(records.size(), false);
  // The records are JSON already: splice them in, no re-parse.
  std::string body = "{\"records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) body += ',';
    body += records[i].json;
  }
  body += "]}";
  outbound::HttpRequest request;
  request.url = config_.url;
  request.body = std::move(body);
  request.timeout = std::chrono::milliseconds(config_.timeoutMs);
  request.maxResponseBytes = kMaxAnswerBytes;
  request.caFile = config_.caFile;
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("X-Tether-Stream", streamName_);
  if (!config_.hmacSecret.empty())
    request.headers.emplace_back(std::string(outbound::kSignatureHeader),
                                 outbound::webhookSignature(config_.hmacSecret, std::time(nullptr), request.body));
  outbound::HttpOutcome outcome = client_.send(request);
  if (!outcome.ok()) {
    out.status = Status::unavailable("webhook " + std::string(outbound::httpFailureName(outcome.failure)) + ": " +
                                     outcome.error);
    return out;
  }
  const long status = outcome.response.status;
  if (status >= 200 && status < 300) {
    out.delivered.assign(records.size(), true);
    return out;
  }
  out.status = Status::unavailable("webhook answered HTTP " + std::to_string(status));
  if (const std::string* ra = outcome.response.header("retry-after")) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(ra->data(), ra->data() + ra->size(), seconds);
    if (ec == std::errc() && seconds > 0)
      out.retryAfter = std::chrono::seconds(std::min(seconds, kMaxRetryAfterSeconds));
  }
  return out;
}

}  // namespace tether::server::streams
