// Signing our own outgoing AWS requests with SigV4 (the other half of sigv4.h, which verifies
// incoming ones): the Kinesis stream sink's PutRecords, the S3 upload of an oversized stream
// record and its presigned GET URL. Also used by the tests' clients, so that every SigV4 request
// tetherd makes or checks is built by one implementation.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tether::server::cognito {

struct AwsCredentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken;  // empty for long-term credentials
};

// Owns its strings except `body`, which must outlive the signRequest() call (it may be megabytes).
struct SignInput {
  std::string method;           // "POST"
  std::string host;             // "kinesis.us-east-1.amazonaws.com" or "127.0.0.1:4567"
  std::vector<std::string> pathSegments;  // decoded; empty = "/"
  std::vector<std::pair<std::string, std::string>> query;  // decoded pairs
  // Headers to send and sign besides host/x-amz-date/x-amz-security-token (names in any case).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
  std::string region;
  std::string service;          // "kinesis", "s3", "cognito-sync"
  int64_t nowMs = 0;
  // S3 signs the path encoded once and sends x-amz-content-sha256; every other service encodes
  // twice (sigv4.h).
  bool s3 = false;
};

// "20240102T030405Z" for a time in ms since the epoch (the inverse of parseAmzDate).
std::string amzDate(int64_t ms);

// The headers to send: the input's own, plus Host, X-Amz-Date, X-Amz-Security-Token (when the
// credentials have one), X-Amz-Content-Sha256 (S3) and Authorization.
std::vector<std::pair<std::string, std::string>> signRequest(const SignInput& in, const AwsCredentials& creds);

// The request path as sent on the wire for `pathSegments` (each segment encoded once).
std::string encodedPath(const std::vector<std::string>& pathSegments);

// A presigned URL (query-string SigV4, UNSIGNED-PAYLOAD) for a GET of `in` valid for
// `expiresSeconds` (S3 allows at most 7 days): "<scheme>://<host><path>?X-Amz-…".
std::string presignGetUrl(std::string_view scheme, const SignInput& in, const AwsCredentials& creds,
                          int64_t expiresSeconds);

}  // namespace tether::server::cognito
