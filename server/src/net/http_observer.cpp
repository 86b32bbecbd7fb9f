// HttpObserver; see http_observer.h.
#include "net/http_observer.h"

#include <chrono>
#include <memory>

#include <spdlog/spdlog.h>

#include "common/request_context.h"

namespace tether::server {
namespace {

constexpr const char* kRequestIdHeader = "x-amzn-RequestId";

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void setRequestId(HttpResponse& response, const std::string& id) {
  for (auto& [name, value] : response.headers) {
    if (equalsIgnoreCase(name, kRequestIdHeader)) {
      value = id;
      return;
    }
  }
  response.headers.emplace_back(kRequestIdHeader, id);
}

}  // namespace

std::string boundedOperation(std::string_view op) {
  if (op.empty() || op.size() > 64) return "other";
  for (char c : op) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return "other";
  }
  return std::string(op);
}

HttpOperation HttpObserver::classify(const HttpRequest& request) const {
  const std::string& path = request.path;
  if (path == "/healthz") return {"ops", "healthz"};
  if (path == "/readyz") return {"ops", "readyz"};
  if (path == "/metrics") return {"ops", "metrics"};
  if (path == "/.well-known/jwks.json") return {"ops", "jwks"};
  if (path == "/.well-known/openid-configuration") return {"ops", "openid-configuration"};
  if (classify_) {
    if (std::optional<HttpOperation> op = classify_(request)) {
      op->operation = boundedOperation(op->operation);
      return *op;
    }
  }
  if (path.starts_with("/oauth2/")) {
    std::string_view rest = std::string_view(path).substr(8);
    if (rest == "authorize" || rest == "token" || rest == "userInfo" || rest == "userinfo" || rest == "revoke")
      return {"oauth2", std::string(rest)};
    return {"oauth2", "other"};
  }
  if (path.starts_with("/streams/")) return {"streams-feed", request.method == "GET" ? "read" : "other"};
  return {"other", "other"};
}

std::string HttpObserver::errorName(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (equalsIgnoreCase(name, "x-amzn-ErrorType")) {
      std::string type = value.substr(0, value.find(':'));
      if (!type.empty()) return boundedOperation(type);
    }
  }
  if (response.status >= 400) return "HTTP" + std::to_string(response.status);
  return "";
}

void HttpObserver::handle(HttpRequest request, Reply reply) {
  const auto start = std::chrono::steady_clock::now();
  metrics_.httpRequestsTotal++;
  request.requestId = newRequestId();
  RequestScope scope(request.requestId);
  HttpOperation op = classify(request);
  auto wrapped = [this, start, id = request.requestId, method = request.method, path = request.path,
                  op = std::move(op), reply = std::move(reply)](HttpResponse response) mutable {
    RequestScope inner(id);
    setRequestId(response, id);
    std::string error = errorName(response);
    // An operation the API itself does not know is not a label of its own.
    std::string operation = error == "UnknownOperationException" ? "other" : op.operation;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.requestSeconds.with({op.surface, operation}).observe(seconds);
    if (!error.empty()) metrics_.requestErrors.with({op.surface, error}).add();
    spdlog::debug("http {} {} surface={} operation={} status={} ms={:.3f}", method, path, op.surface, operation,
                  response.status, seconds * 1000);
    reply(std::move(response));
  };
  next_.handle(std::move(request), std::move(wrapped));
}

}  // namespace tether::server
