// HttpObserver: the first HTTP handler of the port, in front of the operations endpoints and
// the Cognito APIs. For each request it
//   - gives it a request ID (HttpRequest::requestId), current on the network thread while the
//     request is routed and carried to its worker by WorkPool (common/request_context.h), and
//     sent back as x-amzn-RequestId on every answer (replacing any a handler made up);
//   - times it from arrival to answer into tether_request_duration_seconds{surface,operation};
//   - counts error answers into tether_request_errors_total{surface,error}, the error being
//     the name the client sees (x-amzn-ErrorType) or "HTTP<status>" when there is none;
//   - writes one debug log line per answer (method, path, status, milliseconds).
// The surface and operation come from `classify` (the Cognito front end knows its routes);
// requests it does not know are classified here (ops endpoints, OAuth2, the changes feed).
// Operation names are bounded: anything but [A-Za-z0-9._-]{1,64}, and operations the API
// answered with UnknownOperationException, are counted as "other".
//
// Threading: handle() runs on the network thread; the wrapped reply may run on any thread.
// The observer must outlive every reply (serve joins the pool before it goes).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "net/http.h"
#include "net/server_metrics.h"

namespace tether::server {

struct HttpOperation {
  std::string surface;    // "cognito-identity", "cognito-sync", "cognito-idp", "ops", ...
  std::string operation;  // "GetId", "UpdateRecords", "healthz", ... or "other"
};

class HttpObserver final : public HttpHandler {
 public:
  using Classifier = std::function<std::optional<HttpOperation>(const HttpRequest&)>;
  HttpObserver(HttpHandler& next, ServerMetrics& metrics, Classifier classify = {})
      : next_(next), metrics_(metrics), classify_(std::move(classify)) {}

  void handle(HttpRequest request, Reply reply) override;

  // The surface and operation of a request (classify_ first, then the built-in rules).
  HttpOperation classify(const HttpRequest& request) const;
  // The error name of an answer, "" if it is not an error.
  static std::string errorName(const HttpResponse& response);

 private:
  HttpHandler& next_;
  ServerMetrics& metrics_;
  Classifier classify_;
};

// "other" unless `op` is a plausible operation name ([A-Za-z0-9._-]{1,64}).
std::string boundedOperation(std::string_view op);

}  // namespace tether::server
