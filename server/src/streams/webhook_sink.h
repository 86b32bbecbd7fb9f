// WebhookSink: delivers stream records as a batched JSON POST to the operator's URL
// (docs/events.md): body {"records":[<record>, ...]} in outbox order, at most batch_size
// records, Content-Type application/json, signed with X-Tether-Signature (outbound/
// webhook_signature.h) when hmac_secret is set, and X-Tether-Stream naming the stream. Any 2xx
// answer delivers the whole batch; anything else (a non-2xx status, a timeout, a refused
// connection, a body past 64 KB) delivers none: the publisher retries with backoff, and a
// 429/503 Retry-After (seconds) is honoured.
// Threading: deliver() from the publisher's thread only (StreamSink).
#pragma once

#include <memory>

#include "auth/config_streams.h"
#include "outbound/http_client.h"
#include "streams/stream_sink.h"

namespace tether::server::streams {

class WebhookSink final : public StreamSink {
 public:
  WebhookSink(std::string streamName, WebhookSinkConfig config);

  std::string_view kind() const override { return "webhook"; }
  size_t maxBatchRecords() const override { return static_cast<size_t>(config_.batchSize); }
  SinkDelivery deliver(std::span<const StreamRecord> records) override;

 private:
  std::string streamName_;
  WebhookSinkConfig config_;
  outbound::HttpClient client_;
};

}  // namespace tether::server::streams
