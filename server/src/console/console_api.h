// The console's JSON API, split into sections (docs/console.md, "API").
//
// ConsoleHttp (console_http.h) owns everything HTTP about /console: the embedded assets, the
// operator's session cookie, CSRF, sign-in throttling and the audit log. Behind it, each
// ApiSection answers the calls under /console/api/ that it claims, for a signed-in operator
// whose CSRF token has already been checked. A section never sees cookies or tokens.
//
// Errors: a section answers {"error": "<Name>", "message": "<text for the operator>"} with
//   400 InvalidParameter   malformed JSON, a bad identity ID, a value over a limit
//   404 NotFound           no such pool / identity / dataset / record
//   409 Conflict           a record's sync count moved (a device wrote first): the body also
//                          carries "current": the record as the server holds it now
//   409 AlreadyExists      creating something that exists
//   500 InternalError      the store failed (message says what, never a stack)
// Changes (any method but GET) fill auditTarget/auditDetail; ConsoleHttp writes the audit entry
// (operator, time, method + path, target, detail, outcome) after the call returns.
//
// Thread-safety: call() runs on a worker-pool thread and may block on the store; sections are
// shared by every request, so they keep no per-request state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tether::server::console {

struct ApiCall {
  std::string method;                 // GET, POST, PUT, DELETE
  std::vector<std::string> segments;  // the path after "/console/api/", split at '/'
  std::vector<std::pair<std::string, std::string>> query;
  nlohmann::json body;                // the parsed JSON body; null when there was none
  std::string operatorName;           // the signed-in operator
  std::string requestId;              // for log lines

  const std::string* queryParam(const std::string& name) const {
    for (const auto& [k, v] : query)
      if (k == name) return &v;
    return nullptr;
  }
};

struct ApiResult {
  int status = 200;
  nlohmann::json body = nlohmann::json::object();
  std::string auditTarget;  // changes: what changed ("identity eu-west-1:...", "pool ...")
  std::string auditDetail;  // changes: a short summary; never a record's value or a secret

  static ApiResult error(int status, std::string name, std::string message) {
    ApiResult r;
    r.status = status;
    r.body = {{"error", std::move(name)}, {"message", std::move(message)}};
    return r;
  }
};

class ApiSection {
 public:
  virtual ~ApiSection() = default;
  // True if this section answers `call` (by its first segment(s)); cheap, no I/O.
  virtual bool handles(const ApiCall& call) const = 0;
  virtual ApiResult call(const ApiCall& call) = 0;
};

}  // namespace tether::server::console
