#include "net/ops_http.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace tether::server {

void OpsHttp::handle(HttpRequest request, Reply reply) {
  spdlog::debug("http {} path={} query_params={} body_bytes={} peer={}", request.method, request.path, request.query.size(),
                request.body.size(), request.peer);
  const std::string& path = request.path;
  bool get = request.method == "GET" || request.method == "HEAD";
  auto json = [&](int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    reply(HttpResponse{status, "application/json", std::move(headers), std::move(body)});
  };
  if (path == "/healthz") {
    if (!get) return json(405, R"({"message":"use GET"})");
    return json(200, R"({"status":"ok"})", {{"Cache-Control", "no-store"}});
  }
  if (path == "/readyz") {
    if (!get) return json(405, R"({"message":"use GET"})");
    if (!readiness_) return json(200, R"({"status":"ready"})", {{"Cache-Control", "no-store"}});
    // Answered from the probe's thread (readiness.h): the store may block, this thread must not.
    readiness_->check([reply = std::move(reply)](Status s) {
      if (s.isOk())
        return reply(HttpResponse{200, "application/json", {{"Cache-Control", "no-store"}}, R"({"status":"ready"})"});
      spdlog::warn("readyz: not ready: {}", s.message());
      std::string body = nlohmann::json{{"status", "unavailable"}, {"reason", s.message()}}.dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace);
      reply(HttpResponse{503, "application/json", {{"Cache-Control", "no-store"}}, std::move(body)});
    });
    return;
  }
  if (path == "/metrics") {
    if (!get) return json(405, R"({"message":"use GET"})");
    return reply(HttpResponse{200, "text/plain; version=0.0.4", {}, metrics_.prometheusText()});
  }
  if (path == "/.well-known/jwks.json") {
    if (!get) return json(405, R"({"message":"use GET"})");
    return json(200, jwks_(), {{"Cache-Control", "public, max-age=300"}});
  }
  if (path == "/.well-known/openid-configuration") {
    if (!get) return json(405, R"({"message":"use GET"})");
    return json(200, discovery_, {{"Cache-Control", "public, max-age=300"}});
  }
  if (next_) return next_->handle(std::move(request), std::move(reply));
  json(404, R"({"message":"no such endpoint"})");
}

}  // namespace tether::server
