// Plain HTTP request/response values passed between the network thread and HTTP handlers
// (operations endpoints now; the Cognito-compatible APIs later). No libwebsockets types.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tether::server {

struct HttpRequest {
  std::string method;   // "GET", "POST", "DELETE", "OPTIONS", "PUT", "PATCH", "HEAD"
  // libwebsockets percent-decodes the path before we see it ("%2F" arrives as "/"), so a
  // handler that needs exact segments (SigV4's canonical URI) rebuilds them from the route's
  // parameters; the last segment of a route can safely absorb any '/'.
  std::string path;
  // Query parameters in order, split at the first '=' and percent-decoded by libwebsockets
  // (which also turns a raw '+' into a space; AWS clients always send %2B and %20).
  std::vector<std::pair<std::string, std::string>> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string peer;     // remote address, for logs
  // Set by the HttpObserver when the request arrives (a UUID): the x-amzn-RequestId of its
  // answer and the request_id of its log lines.
  std::string requestId;
  // The body passed tuning::kMaxHttpBodyBytes: it was dropped (`body` is empty) and the handler
  // answers with its own error format.
  bool bodyTooLarge = false;

  const std::string* queryParam(const std::string& name) const {
    for (const auto& [k, v] : query)
      if (k == name) return &v;
    return nullptr;
  }
  const std::string* header(const std::string& lowerName) const {
    auto it = headers.find(lowerName);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, exact case kept
  std::string body;
};

// Handles HTTP requests. Called on the network thread: it must not block. It may answer at
// once (call `reply` before returning) or later from any thread (post the work elsewhere and
// call `reply` there). `reply` must be called exactly once.
class HttpHandler {
 public:
  using Reply = std::function<void(HttpResponse)>;
  virtual ~HttpHandler() = default;
  virtual void handle(HttpRequest request, Reply reply) = 0;
};

}  // namespace tether::server
