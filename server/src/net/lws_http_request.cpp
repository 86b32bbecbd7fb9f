// See lws_http_request.h.
#include "net/lws_http_request.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

namespace tether::server {
namespace {

// Headers lws does not know by name that the Cognito APIs (and the console) use.
const char* const kCustomHeaders[] = {
    "x-amz-target:", "x-amz-date:", "x-amz-security-token:", "x-amz-content-sha256:",
    "x-amz-user-agent:", "x-amz-client-context:", "amz-sdk-invocation-id:", "amz-sdk-request:",
    "x-amz-requestsupertrace:", "x-amz-api-version:", "x-amzn-trace-id:",
    "x-csrf-token:"};  // the web console's CSRF token (issue 17, docs/console.md)

}  // namespace

// RFC 9112 section 6 checks on a request lws has parsed: what the gate (request_head.h) checks
// on a connection's first request, for the requests lws parses alone (later requests of a
// keep-alive connection, and every request over TLS). lws frames by Content-Length, so a
// request that has both, two lengths or an invalid one must be answered and its connection
// closed before lws reads a "next request" out of its body. Returns 0 or the status to answer.
int framingStatus(lws* wsi, std::string& why) {
  char buf[64];
  if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
    // A repeated header is a second fragment.
    if (lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH, 1) >= 0) {
      why = "more than one Content-Length (RFC 9112 section 6.3)";
      return 400;
    }
    int n = lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    bool digits = n > 0 && n <= 18;
    for (int i = 0; digits && i < n; ++i) digits = buf[i] >= '0' && buf[i] <= '9';
    if (!digits) {
      why = "invalid Content-Length";
      return 400;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
      why = "both Content-Length and Transfer-Encoding (RFC 9112 section 6.1)";
      return 400;
    }
  }
  if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
    why = "chunked request bodies are not accepted: send Content-Length";
    return 411;
  }
  return 0;
}

std::string methodOf(lws* wsi) {
  struct { lws_token_indexes tok; const char* name; } methods[] = {
      {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
      {WSI_TOKEN_OPTIONS_URI, "OPTIONS"}, {WSI_TOKEN_PUT_URI, "PUT"},
      {WSI_TOKEN_PATCH_URI, "PATCH"},   {WSI_TOKEN_DELETE_URI, "DELETE"},
      {WSI_TOKEN_HEAD_URI, "HEAD"},
  };
  for (auto& m : methods)
    if (lws_hdr_total_length(wsi, m.tok) > 0) return m.name;
  return "";
}

std::string copyHeader(lws* wsi, lws_token_indexes tok) {
  int len = lws_hdr_total_length(wsi, tok);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len) + 1, '\0');
  int n = lws_hdr_copy(wsi, out.data(), len + 1, tok);
  if (n < 0) return {};
  out.resize(static_cast<size_t>(n));
  return out;
}

void collectHeaders(lws* wsi, HttpRequest& req) {
  for (int t = 0; t < WSI_TOKEN_COUNT; ++t) {
    auto tok = static_cast<lws_token_indexes>(t);
    if (tok == WSI_TOKEN_GET_URI || tok == WSI_TOKEN_POST_URI || tok == WSI_TOKEN_OPTIONS_URI ||
        tok == WSI_TOKEN_PUT_URI || tok == WSI_TOKEN_PATCH_URI || tok == WSI_TOKEN_DELETE_URI ||
        tok == WSI_TOKEN_HEAD_URI || tok == WSI_TOKEN_HTTP_URI_ARGS)
      continue;
    if (lws_hdr_total_length(wsi, tok) <= 0) continue;
    const unsigned char* name = lws_token_to_string(tok);
    if (!name) continue;
    std::string n(reinterpret_cast<const char*>(name));
    if (n.empty() || n.back() != ':') continue;  // pseudo tokens
    n.pop_back();
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[n] = copyHeader(wsi, tok);
  }
  auto custom = [&](std::string_view key) {  // lower-case name without the colon
    std::string name = std::string(key) + ":";
    int len = lws_hdr_custom_length(wsi, name.c_str(), static_cast<int>(name.size()));
    if (len <= 0) return;
    std::string v(static_cast<size_t>(len) + 1, '\0');
    int n = lws_hdr_custom_copy(wsi, v.data(), len + 1, name.c_str(), static_cast<int>(name.size()));
    if (n < 0) return;
    v.resize(static_cast<size_t>(n));
    req.headers[std::string(key)] = std::move(v);
  };
  for (const char* name : kCustomHeaders) custom(std::string_view(name, std::strlen(name) - 1));
  // SigV4 covers whatever headers the client chose to sign (e.g. Android's content-md5), and
  // lws only collects the headers it knows: fetch each signed header not collected yet.
  auto auth = req.headers.find("authorization");
  if (auth == req.headers.end()) return;
  size_t at = auth->second.find("SignedHeaders=");
  if (at == std::string::npos) return;
  std::string_view list(auth->second);
  list.remove_prefix(at + std::strlen("SignedHeaders="));
  list = list.substr(0, std::min(list.find(','), list.size()));
  int fetched = 0;
  while (!list.empty() && fetched < 32) {  // a bound: the header is attacker-controlled
    size_t semi = std::min(list.find(';'), list.size());
    std::string key(list.substr(0, semi));
    list.remove_prefix(std::min(semi + 1, list.size()));
    if (key.empty() || key.size() > 64 || req.headers.count(key)) continue;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    custom(key);
    ++fetched;
  }
}

std::vector<std::pair<std::string, std::string>> queryOf(lws* wsi) {
  std::vector<std::pair<std::string, std::string>> q;
  std::vector<char> buf(16384);
  // lws stores the query as '&'-separated fragments, already percent-decoded; -1 = no more.
  for (int i = 0;; ++i) {
    int n = lws_hdr_copy_fragment(wsi, buf.data(), static_cast<int>(buf.size()), WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0) break;
    if (n == 0) continue;
    std::string frag(buf.data(), static_cast<size_t>(n));
    size_t eq = frag.find('=');
    if (eq == std::string::npos) q.emplace_back(frag, "");
    else q.emplace_back(frag.substr(0, eq), frag.substr(eq + 1));
  }
  return q;
}

}  // namespace tether::server
