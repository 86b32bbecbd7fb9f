// Strict HTTP/1.1 request-head check (RFC 9112), run on the raw bytes of a connection's first
// request before libwebsockets parses them (see docs/security.md, "HTTP framing"). lws 4.1 frames
// a request that has both Content-Length and Transfer-Encoding by Content-Length (request
// smuggling), never answers chunked bodies or invalid lengths, and closes without a status on
// oversized heads and %00: those requests are answered here, with the status the RFCs ask for,
// and the connection is closed. Pure function, no I/O; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::server {

struct HeadLimits {
  size_t maxHeadBytes = 16384;    // request line + headers + blank line: 431 past it
  size_t maxTargetBytes = 8192;   // the request target (path and query): 414 past it
  // Header fields: 431 past it. lws 4.1 keeps at most 94 "fragments" per request (one per known
  // header occurrence and one per query parameter) and drops the connection without a status
  // past them, so the two limits below must stay within that together.
  size_t maxHeaderCount = 64;
  size_t maxQueryParams = 24;     // '&'-separated query parameters: 414 past it
};

struct HeadCheck {
  enum class State { kIncomplete, kOk, kReject };
  State state = State::kIncomplete;
  int status = 0;             // kReject: 400, 411, 414, 431, 501 or 505
  std::string reason;         // kReject: one line for the response body and the log
  size_t headBytes = 0;       // kOk: bytes of the head, blank line included
  uint64_t contentLength = 0; // kOk: the body's length (0 when there is no Content-Length)
  bool webSocketUpgrade = false;  // kOk: a GET with "Upgrade: websocket"
};

// `bytes` is everything received so far on the connection. kIncomplete means "read more"; it is
// only returned while no limit has been passed yet, so a caller that reads until the state
// changes holds at most maxHeadBytes per connection.
HeadCheck checkRequestHead(std::string_view bytes, const HeadLimits& limits);

// The JSON error body and headers tetherd answers a rejected head with: the Cognito error shape
// ({"__type", "message"} and x-amzn-ErrorType), which AWS SDKs parse whatever the operation, and
// "Connection: close". A whole HTTP/1.1 response.
std::string headRejectResponse(int status, std::string_view reason);

// The parts of that response: reason phrase, error type (x-amzn-ErrorType / __type), JSON body.
struct RejectParts {
  std::string reasonPhrase;
  std::string errorType;
  std::string body;
};
RejectParts headRejectParts(int status, std::string_view reason);

}  // namespace tether::server
