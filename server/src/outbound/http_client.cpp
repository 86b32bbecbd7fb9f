#include "outbound/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace tether::server::outbound {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// curl_global_init is not thread-safe; run it once, before the first handle.
void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The most reserved for a body up front; a larger cap grows past it by doubling.
constexpr size_t kReserveBytes = 8 << 20;

struct Collect {
  HttpResponse* response;
  size_t maxBody;
  bool tooLarge = false;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* c = static_cast<Collect*>(user);
  const size_t n = size * count;
  if (c->response->body.size() + n > c->maxBody) {
    c->tooLarge = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  // The whole cap at once (up to kReserveBytes): a large reservation is a mapping the system
  // backs only as bytes arrive, and growing by doubling would copy (and briefly hold 1.5x) a
  // large body such as a sync trigger's reply.
  if (c->response->body.empty()) c->response->body.reserve(std::min(c->maxBody, kReserveBytes));
  c->response->body.append(data, n);
  return n;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* c = static_cast<Collect*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    c->response->headers.clear();  // a new response (after 100 Continue): start over
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  // Bound header memory the same way as the body.
  if (c->response->headers.size() >= 200) return n;
  c->response->headers.emplace_back(lower(trim(line.substr(0, colon))),
                                    std::string(trim(line.substr(colon + 1))));
  return n;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel->load() ? 1 : 0;  // non-zero: CURLE_ABORTED_BY_CALLBACK
}

HttpFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return HttpFailure::kTimeout;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return HttpFailure::kBadRequest;
    default:
      return HttpFailure::kUnreachable;
  }
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return &v;
  return nullptr;
}

std::string_view httpFailureName(HttpFailure failure) {
  switch (failure) {
    case HttpFailure::kNone: return "none";
    case HttpFailure::kTimeout: return "timeout";
    case HttpFailure::kUnreachable: return "unreachable";
    case HttpFailure::kTooLarge: return "too_large";
    case HttpFailure::kBadRequest: return "bad_request";
    case HttpFailure::kCancelled: return "cancelled";
  }
  return "unknown";
}

struct HttpClient::Impl {
  CURL* curl = nullptr;
  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  globalInit();
  impl_->curl = curl_easy_init();
}

HttpClient::~HttpClient() = default;

HttpOutcome HttpClient::send(const HttpRequest& request) {
  HttpOutcome out;
  CURL* curl = impl_->curl;
  if (curl == nullptr) {
    out.failure = HttpFailure::kUnreachable;
    out.error = "curl_easy_init failed";
    return out;
  }
  if (request.url.rfind("http://", 0) != 0 && request.url.rfind("https://", 0) != 0) {
    out.failure = HttpFailure::kBadRequest;
    out.error = "only http:// and https:// URLs are supported";
    return out;
  }
  curl_easy_reset(curl);  // keeps the connection cache, drops the previous request's options

  Collect collect{&out.response, request.maxResponseBytes};
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers)
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  // libcurl adds "Expect: 100-continue" to large POSTs; endpoints that do not answer it would
  // cost a second of waiting.
  headers = curl_slist_append(headers, "Expect:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we are threaded
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &collect);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &collect);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);  // bodies as sent: the cap is exact
  if (!request.caFile.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.caFile.c_str());
  if (cancel_ != nullptr) {
    if (cancel_->load()) {
      curl_slist_free_all(headers);
      out.failure = HttpFailure::kCancelled;
      out.error = "cancelled";
      return out;
    }
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(cancel_));
  }
  if (request.http2) {
    const bool tls = request.url.rfind("https://", 0) == 0;
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  }
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }

  const auto start = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(curl);
  out.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    out.failure = collect.tooLarge                 ? HttpFailure::kTooLarge
                  : code == CURLE_ABORTED_BY_CALLBACK ? HttpFailure::kCancelled
                                                      : classify(code);
    out.error = collect.tooLarge ? "response body larger than " + std::to_string(request.maxResponseBytes) + " bytes"
                                 : curl_easy_strerror(code);
    out.response.body.clear();
    return out;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.response.status);
  return out;
}

}  // namespace tether::server::outbound
