// The Cognito Streams part of tetherd's config file (docs/config.md, docs/events.md): the
// [outbox] table (the bound and the publisher's retry pacing) and one [[streams]] entry per
// stream name a pool's CognitoStreams.StreamName may use, each naming its sink. Strict like the
// rest of config.h: unknown keys and wrong types are errors with their place in the file.
// Thread-safety: plain values and a pure parser.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tether/status.h"

namespace tether::server {

struct WebhookSinkConfig {
  std::string url;           // http:// or https://
  std::string hmacSecret;    // "" = no X-Tether-Signature header
  int batchSize = 100;       // records per POST (1..500)
  std::string caFile;        // PEM bundle to trust instead of the system's ("" = system)
  int timeoutMs = 5000;      // per POST (100..60000)
  friend bool operator==(const WebhookSinkConfig&, const WebhookSinkConfig&) = default;
};

struct FeedSinkConfig {
  int64_t retentionSeconds = 86400;  // records older than this leave the feed (1 s..30 days)
  friend bool operator==(const FeedSinkConfig&, const FeedSinkConfig&) = default;
};

struct StreamConfig {
  std::string name;          // = a pool's CognitoStreams.StreamName (1..128)
  std::string sink;          // "webhook" | "feed" | "kinesis"
  WebhookSinkConfig webhook;
  FeedSinkConfig feed;
  // sink = "kinesis": the [streams.kinesis] sub-table as TOML text, handed unchanged to the
  // Kinesis sink's own parser (streams/kinesis_sink.h), which owns its keys.
  std::string kinesisToml;
  friend bool operator==(const StreamConfig&, const StreamConfig&) = default;
};

struct StreamsConfig {
  std::vector<StreamConfig> streams;
  // [outbox]: undelivered records kept at most; a write that would add one more to a full
  // outbox is refused (TooManyRequestsException / kTooManyRequests, retryable).
  int64_t maxRecords = 100000;
  int retryInitialMs = 500;     // first backoff after a failed delivery
  int retryMaxMs = 60000;       // backoff cap
  int pollIntervalMs = 1000;    // how often the publisher looks when nobody woke it
  friend bool operator==(const StreamsConfig&, const StreamsConfig&) = default;
};

// The parser is in config_streams_parse.h (it needs toml++, which stays out of this header).

}  // namespace tether::server
