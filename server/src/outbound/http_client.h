// HttpClient: tetherd's outgoing HTTP(S) requests (sync-trigger webhooks, stream sinks such as
// Kinesis and webhooks, APNs and FCM), over libcurl. One blocking request at a time per client;
// the connection is kept and reused for the next request to the same host, which is what makes
// a publisher or a push worker that owns one client cheap per request.
//
// Every request has a deadline (the whole exchange, connect included) and a cap on the response
// body: a peer that never answers or answers 10 MB costs a bounded time and bounded memory. No
// redirect is followed (a webhook that redirects is misconfigured; following it would send a
// signed body somewhere the operator did not name).
//
// Threading: an HttpClient is used by one thread at a time (it owns a curl easy handle); make
// one per worker. Different clients may be used concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tether::server::outbound {

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
  size_t maxResponseBytes = 1 << 20;
  // Require HTTP/2 (APNs accepts nothing else): negotiated by ALPN over TLS, with prior knowledge
  // over plain http:// (test endpoints).
  bool http2 = false;
  // A PEM CA bundle to trust instead of the system's (a private or test endpoint); empty = the
  // system's trust store.
  std::string caFile;
};

struct HttpResponse {
  long status = 0;
  // Names lower-cased (HTTP/2 sends them so; HTTP/1.1 senders vary), in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header of that (case-insensitive) name, or nullptr.
  const std::string* header(std::string_view name) const;
};

// What became of a request. Anything but kNone means no complete response arrived (and the peer
// may or may not have acted on the request: a caller that retries must be idempotent).
enum class HttpFailure {
  kNone,
  kTimeout,      // the deadline passed (connecting, sending or waiting for the answer)
  kUnreachable,  // DNS, connect, TLS handshake or certificate failure, connection reset
  kTooLarge,     // the response body exceeded maxResponseBytes
  kBadRequest,   // our side: malformed URL, unsupported scheme
  kCancelled,    // the client's cancel flag was raised (setCancelFlag) while it ran
};

struct HttpOutcome {
  HttpFailure failure = HttpFailure::kNone;
  std::string error;  // curl's description when failure != kNone
  HttpResponse response;
  std::chrono::microseconds elapsed{0};

  bool ok() const { return failure == HttpFailure::kNone; }
};

std::string_view httpFailureName(HttpFailure failure);

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpOutcome send(const HttpRequest& request);

  // While `*cancel` is true, requests stop within about a second (libcurl checks it from its
  // progress callback, at least once a second even when the peer is silent) with kCancelled:
  // a worker that owns this client can shut down without waiting out a request's deadline.
  // nullptr (the default) = never. The flag must outlive the client.
  void setCancelFlag(const std::atomic<bool>* cancel) { cancel_ = cancel; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const std::atomic<bool>* cancel_ = nullptr;
};

}  // namespace tether::server::outbound
