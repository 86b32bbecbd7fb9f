// KinesisSink: publishes Cognito Streams records to an Amazon Kinesis data stream with
// PutRecords (JSON 1.1 over HTTPS, SigV4 service `kinesis`), the way Cognito Streams did, so an
// existing analytics pipeline (a Kinesis consumer, Firehose, a Lambda) keeps consuming unchanged.
// Each record's partition key is its identity ID (all of an identity's changes land in one
// shard, in order); the data is the record's JSON exactly as the outbox holds it.
//
// Records over Kinesis's limit (1 MiB of data + partition key): Cognito uploaded such a record
// to S3 and published `payloadType: "S3Url"` with a presigned URL. This sink does the same when
// an S3-compatible bucket is configured (`s3` below). Without one it splits the record: several
// Kinesis records with the same envelope (identityPoolId, identityId, dataSetName, operation,
// syncCount, lastModifiedDate, payloadType "Inline"), each holding a consecutive slice of
// kinesisSyncRecords, in order; a consumer that merges the slices of one syncCount gets the whole
// batch. A single synced record whose JSON alone exceeds the limit cannot be split: it is
// logged and counted (tether_stream_kinesis_undeliverable_total) and skipped — documented in
// docs/events.md; it cannot happen with S3 configured.
//
// Failures: throttling (ProvisionedThroughputExceededException, LimitExceededException, HTTP 429)
// returns the records undelivered with a retryAfter; network errors, 5xx, a missing stream
// (ResourceNotFoundException) and per-record errors return them undelivered for the publisher's
// backoff. A record split in several Kinesis records counts as delivered only when every slice
// was accepted; a retry re-sends all its slices (so a consumer may see a slice twice: at-least-
// once, like every sink).
//
// Threading: deliver() on the publisher's thread only (stream_sink.h); stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <toml++/toml.h>

#include "cognito/sigv4_signer.h"
#include "common/clock.h"
#include "outbound/http_client.h"
#include "streams/stream_sink.h"

namespace tether::server::streams {

struct S3Options {
  std::string bucket;
  std::string endpoint;   // "https://s3.<region>.amazonaws.com" by default; path-style requests
  std::string region;     // default: the Kinesis region
  std::string prefix = "cognito-streams/";
  cognito::AwsCredentials credentials;  // default: the Kinesis credentials
  int64_t urlExpirySeconds = 7 * 24 * 3600;  // S3's maximum for a presigned URL
};

struct KinesisSinkOptions {
  std::string streamName;  // the Kinesis stream (default: the Cognito StreamName)
  std::string region = "us-east-1";
  std::string endpoint;    // default "https://kinesis.<region>.amazonaws.com"
  cognito::AwsCredentials credentials;
  std::string caFile;      // a private CA for the endpoints (tests); empty = system trust
  std::chrono::milliseconds timeout{10000};
  std::optional<S3Options> s3;
  // Kinesis's limits; smaller values only in tests.
  size_t maxRecordBytes = 1 << 20;          // data + partition key of one record
  size_t maxRequestBytes = 5 * (1 << 20);   // all data + partition keys of one PutRecords
  size_t maxRequestRecords = 500;
};

// The `[streams.kinesis]` table of a `[[streams]]` entry (docs/config.md): stream_name, region,
// endpoint, access_key_id, secret_access_key, session_token, ca_file, timeout_ms, and an optional
// `[streams.kinesis.s3]` with bucket, endpoint, region, prefix, access_key_id, secret_access_key,
// url_expiry_seconds. `cognitoStreamName` is the default stream_name. Strict: an unknown key or a
// wrong type is kInvalidArgument naming it.
Result<KinesisSinkOptions> kinesisOptionsFromToml(const toml::table& table, std::string_view cognitoStreamName);

struct KinesisStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> recordsPut{0};       // Kinesis records accepted (slices count one each)
  std::atomic<uint64_t> throttled{0};        // requests or records refused for throughput
  std::atomic<uint64_t> failed{0};           // other refused requests/records, network errors
  std::atomic<uint64_t> split{0};            // stream records sent as several slices
  std::atomic<uint64_t> viaS3{0};            // stream records sent as S3Url
  std::atomic<uint64_t> undeliverable{0};    // stream records skipped (see above)
};

class KinesisSink : public StreamSink {
 public:
  KinesisSink(KinesisSinkOptions options, const Clock& clock);

  std::string_view kind() const override { return "kinesis"; }
  size_t maxBatchRecords() const override { return options_.maxRequestRecords; }
  SinkDelivery deliver(std::span<const StreamRecord> records) override;

  const KinesisStats& stats() const { return stats_; }
  // Prometheus text for this sink's counters, labelled with the stream name.
  std::string metricsText() const;

 private:
  struct Piece;  // one Kinesis record: a slice of a stream record
  // The Kinesis records for one stream record (one, its slices, or its S3Url form); empty when
  // it cannot be sent (counted undeliverable). kUnavailable when the S3 upload failed.
  Result<std::vector<std::string>> piecesOf(const StreamRecord& record);
  Result<std::string> uploadToS3(const StreamRecord& record);
  outbound::HttpOutcome post(const std::string& host, const std::string& url, const std::string& target,
                             const std::string& body);

  KinesisSinkOptions options_;
  const Clock& clock_;
  outbound::HttpClient http_;
  KinesisStats stats_;
};

}  // namespace tether::server::streams
