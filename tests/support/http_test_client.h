// Plain HTTP/1.1 requests to a local tetherd for tests: one request per connection
// (Connection: close), the whole response read. Blocking; any thread.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace tether::testing {

struct HttpReply {
  int status = 0;          // 0 if the connection or the response failed
  std::string raw;         // status line, headers and body as received
  nlohmann::json body;     // the JSON body (a discarded value if none or not JSON)
};

// `headers` are sent as given (add Host yourself when it matters); Content-Length is added.
HttpReply httpRequest(int port, const std::string& method, const std::string& path,
                      const std::map<std::string, std::string>& headers = {},
                      const std::string& body = "");

// GET `path`; the whole raw response ("" if the connection failed).
std::string httpGet(int port, const std::string& path);

}  // namespace tether::testing
