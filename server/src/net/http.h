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
  std::string path;     // as received, without the query string
  std::string query;    // raw query string without '?', may be empty
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string peer;     // remote address, for logs

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
