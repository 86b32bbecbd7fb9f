// See request_head.h. Section numbers are RFC 9112's unless said otherwise.
#include "net/request_head.h"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "common/request_context.h"

namespace tether::server {
namespace {

HeadCheck reject(int status, std::string reason) {
  HeadCheck c;
  c.state = HeadCheck::State::kReject;
  c.status = status;
  c.reason = std::move(reason);
  return c;
}

// RFC 9110 §5.6.2 tchar.
bool isTchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

int hexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsLower(std::string_view a, std::string_view lowerB) {
  if (a.size() != lowerB.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lowerB[i]) return false;
  return true;
}

bool containsTokenLower(std::string_view list, std::string_view lowerToken) {
  // A comma-separated list (Connection, Upgrade, Transfer-Encoding): any element equal to it.
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view e = list.substr(start, comma - start);
    while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.remove_prefix(1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.remove_suffix(1);
    size_t slash = e.find('/');  // "websocket/13"-style versions are not used, but harmless
    if (equalsLower(e.substr(0, slash), lowerToken)) return true;
    start = comma + 1;
  }
  return false;
}

// The request target (§3.2): origin-form "/path?query", "*" for OPTIONS, or absolute-form.
// Every byte must be visible ASCII, every '%' a valid escape, and no escape may decode to a
// control character (%00-%1F, %7F): lws would cut the path at %00 and hand handlers (and logs)
// raw control bytes otherwise.
std::string checkTarget(std::string_view target) {
  if (target.empty()) return "empty request target";
  for (size_t i = 0; i < target.size(); ++i) {
    auto c = static_cast<unsigned char>(target[i]);
    if (c <= 0x20 || c >= 0x7f) return "request target contains a control, space or non-ASCII byte";
    if (c == '%') {
      if (i + 2 >= target.size()) return "truncated percent escape in the request target";
      int hi = hexValue(static_cast<unsigned char>(target[i + 1]));
      int lo = hexValue(static_cast<unsigned char>(target[i + 2]));
      if (hi < 0 || lo < 0) return "invalid percent escape in the request target";
      int v = hi * 16 + lo;
      if (v < 0x20 || v == 0x7f) return "request target encodes a control character (%" + std::string(target.substr(i + 1, 2)) + ")";
      i += 2;
    }
  }
  if (target == "*") return "";
  if (target.front() == '/') return "";
  if (target.starts_with("http://") || target.starts_with("https://")) return "";
  return "request target must start with '/'";
}

}  // namespace

HeadCheck checkRequestHead(std::string_view bytes, const HeadLimits& limits) {
  // The head ends at the first empty line. Lines end in CRLF; a bare LF is tolerated (§2.2),
  // a bare CR is not.
  size_t pos = 0;
  size_t lineNo = 0;
  size_t headerCount = 0;
  int contentLengths = 0;
  bool transferEncoding = false;
  bool chunkedLast = false;
  bool upgradeWebSocket = false;
  bool isGet = false;
  uint64_t contentLength = 0;
  std::string_view firstLine;
  while (true) {
    size_t lf = bytes.find('\n', pos);
    if (lf == std::string_view::npos) {
      // Incomplete: only a limit already passed is an answer now.
      std::string_view partial = bytes.substr(pos);
      if (lineNo == 0 && partial.size() > limits.maxTargetBytes + 32)
        return reject(414, "request target longer than " + std::to_string(limits.maxTargetBytes) + " bytes");
      if (bytes.size() > limits.maxHeadBytes)
        return reject(431, "request head larger than " + std::to_string(limits.maxHeadBytes) + " bytes");
      return {};
    }
    size_t end = lf;
    if (end > pos && bytes[end - 1] == '\r') --end;
    std::string_view line = bytes.substr(pos, end - pos);
    size_t next = lf + 1;
    if (line.find('\r') != std::string_view::npos) return reject(400, "bare CR in the request head");

    if (lineNo == 0) {
      // §2.2: a server SHOULD ignore at least one empty line before the request line.
      if (line.empty() && pos == 0 && next <= 2) {
        pos = next;
        continue;
      }
      firstLine = line;
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp1 != std::string_view::npos && sp2 == std::string_view::npos && sp1 + 1 < line.size() &&
          line.size() - sp1 - 1 > limits.maxTargetBytes)
        return reject(414, "request target longer than " + std::to_string(limits.maxTargetBytes) + " bytes");
      if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
          line.find(' ', sp2 + 1) != std::string_view::npos)
        return reject(400, "malformed request line");
      std::string_view method = line.substr(0, sp1);
      std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string_view version = line.substr(sp2 + 1);
      if (method.empty()) return reject(400, "malformed request line");
      for (char c : method)
        if (!isTchar(static_cast<unsigned char>(c))) return reject(400, "invalid method");
      if (target.size() > limits.maxTargetBytes)
        return reject(414, "request target longer than " + std::to_string(limits.maxTargetBytes) + " bytes");
      if (std::string why = checkTarget(target); !why.empty()) return reject(400, why);
      if (size_t q = target.find('?'); q != std::string_view::npos) {
        size_t params = 1;
        for (size_t i = q + 1; i < target.size(); ++i) params += target[i] == '&';
        if (params > limits.maxQueryParams)
          return reject(414, "more than " + std::to_string(limits.maxQueryParams) + " query parameters");
      }
      if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
          version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return reject(400, "malformed HTTP version");
      if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return reject(505, "only HTTP/1.1 and HTTP/1.0 are supported");
      isGet = method == "GET";
      ++lineNo;
      pos = next;
      continue;
    }

    if (line.empty()) {  // end of the head
      if (next > limits.maxHeadBytes)
        return reject(431, "request head larger than " + std::to_string(limits.maxHeadBytes) + " bytes");
      if (transferEncoding && contentLengths > 0)
        return reject(400, "both Content-Length and Transfer-Encoding (RFC 9112 section 6.1)");
      if (transferEncoding) {
        if (!chunkedLast) return reject(501, "unsupported Transfer-Encoding");
        return reject(411, "chunked request bodies are not accepted: send Content-Length");
      }
      HeadCheck ok;
      ok.state = HeadCheck::State::kOk;
      ok.headBytes = next;
      ok.webSocketUpgrade = isGet && upgradeWebSocket;
      ok.contentLength = contentLength;
      return ok;
    }

    if (next > limits.maxHeadBytes)
      return reject(431, "request head larger than " + std::to_string(limits.maxHeadBytes) + " bytes");
    if (++headerCount > limits.maxHeaderCount)
      return reject(431, "more than " + std::to_string(limits.maxHeaderCount) + " header fields");
    if (line.front() == ' ' || line.front() == '\t')
      return reject(400, "obsolete line folding in a header field (RFC 9112 section 5.2)");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return reject(400, "malformed header field");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!isTchar(static_cast<unsigned char>(c)))
        return reject(400, "invalid header field name (no whitespace before the colon, RFC 9112 section 5.1)");
    std::string_view value = line.substr(colon + 1);
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return reject(400, "control character in a header field value");
    }
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);

    if (equalsLower(name, "content-length")) {
      // §6.3: duplicate or conflicting lengths are unrecoverable framing errors. Identical
      // duplicates could be merged, but nothing legitimate sends them: refused too.
      if (++contentLengths > 1) return reject(400, "more than one Content-Length (RFC 9112 section 6.3)");
      if (value.empty() || value.size() > 18) return reject(400, "invalid Content-Length");
      for (char c : value) {
        if (c < '0' || c > '9') return reject(400, "invalid Content-Length");
        contentLength = contentLength * 10 + static_cast<uint64_t>(c - '0');  // <= 18 digits
      }
    } else if (equalsLower(name, "transfer-encoding")) {
      transferEncoding = true;
      // The final coding decides the framing (§6.3); an element list like "gzip, chunked".
      size_t comma = value.rfind(',');
      std::string_view last = comma == std::string_view::npos ? value : value.substr(comma + 1);
      while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
      chunkedLast = equalsLower(last, "chunked");
    } else if (equalsLower(name, "upgrade")) {
      if (containsTokenLower(value, "websocket")) upgradeWebSocket = true;
    }
    pos = next;
  }
}

RejectParts headRejectParts(int status, std::string_view reason) {
  const char* text = "Bad Request";
  const char* type = "BadRequestException";
  switch (status) {
    case 408: text = "Request Timeout"; type = "RequestTimeoutException"; break;
    case 411: text = "Length Required"; type = "LengthRequiredException"; break;
    case 413: text = "Content Too Large"; type = "LimitExceededException"; break;
    case 414: text = "URI Too Long"; type = "URITooLongException"; break;
    case 429: text = "Too Many Requests"; type = "TooManyRequestsException"; break;
    case 431: text = "Request Header Fields Too Large"; type = "RequestHeaderFieldsTooLargeException"; break;
    case 501: text = "Not Implemented"; type = "NotImplementedException"; break;
    case 503: text = "Service Unavailable"; type = "ServiceUnavailableException"; break;
    case 505: text = "HTTP Version Not Supported"; type = "HttpVersionNotSupportedException"; break;
    default: break;
  }
  return {text, type, nlohmann::json{{"__type", type}, {"message", std::string(reason)}}.dump()};
}

std::string headRejectResponse(int status, std::string_view reason) {
  RejectParts p = headRejectParts(status, reason);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + p.reasonPhrase + "\r\n";
  out += "Content-Type: application/x-amz-json-1.1\r\n";
  out += "x-amzn-ErrorType: " + p.errorType + "\r\n";
  // Refused before it became a request, it still gets an ID like every answer (operations.md).
  out += "x-amzn-RequestId: " + newRequestId() + "\r\n";
  out += "Content-Length: " + std::to_string(p.body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += p.body;
  return out;
}

}  // namespace tether::server
