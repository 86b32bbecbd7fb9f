// OpsHttp: the operations endpoints on the HTTP side of the port — /healthz (liveness: the
// process serves), /readyz (readiness: the store answers; docs/operations.md), /metrics,
// /.well-known/jwks.json and /.well-known/openid-configuration. Answers on the network thread
// from memory (nothing here touches disk), except /readyz, which the ReadinessProbe answers
// from its own thread. Requests for other paths go to `next` (the
// Cognito-compatible APIs, when present) or get a JSON 404.
#pragma once

#include <functional>
#include <string>

#include "net/http.h"
#include "net/readiness.h"
#include "net/server_metrics.h"

namespace tether::server {

class OpsHttp final : public HttpHandler {
 public:
  // `jwksJson` is called for each request (the signing keys rotate); it must answer from memory.
  OpsHttp(std::function<std::string()> jwksJson, std::string discoveryJson, ServerMetrics& metrics,
          HttpHandler* next = nullptr)
      : jwks_(std::move(jwksJson)), discovery_(std::move(discoveryJson)), metrics_(metrics), next_(next) {}

  void handle(HttpRequest request, Reply reply) override;
  // The store check behind /readyz (null: always ready). Set before serving; it must outlive
  // the requests it answers.
  void setReadiness(ReadinessProbe* readiness) { readiness_ = readiness; }

 private:
  std::function<std::string()> jwks_;
  std::string discovery_;
  ServerMetrics& metrics_;
  HttpHandler* next_;
  ReadinessProbe* readiness_ = nullptr;
};

}  // namespace tether::server
