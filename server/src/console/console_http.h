// ConsoleHttp: everything HTTP about the web console (docs/console.md): the assets built into
// the binary (console_assets.h) under /console, and the JSON API under /console/api/ — the
// operator's session cookie, CSRF, sign-in throttling, the audit log, and dispatch to the
// ApiSections (console_api.h) that answer the calls.
//
// Order of checks for an API call: parse (400), session cookie (401), for any method but GET the
// Origin (if present, it must be this host) and the X-CSRF-Token header (constant-time compare;
// 403), then the section runs on the worker pool and, for a change, one audit entry is written
// with its outcome. A refused request writes nothing (a failed sign-in only logs a line).
//
// Sessions: a random 32-byte handle in the cookie `tether_console` (HttpOnly, SameSite=Strict,
// Path=/console, Secure on a TLS listener); the store keeps only its SHA-256. A session ends
// after `idleMs` unused or `absoluteMs` after sign-in, at sign-out, or when its operator's
// password changes or the operator is deleted.
//
// Thread-safety: handle() runs on the network thread and never blocks: everything that touches
// the store or verifies a password runs on the WorkPool. Sections and the store are shared.
// Ownership: borrows the store, pool, clock and sections; they must outlive it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/work_pool.h"
#include "console/console_api.h"
#include "console/sign_in_throttle.h"
#include "net/http.h"
#include "storage/store.h"

namespace tether::server::console {

struct ConsoleHttpOptions {
  bool enabled = true;     // false: /console answers 404 here (disabled, or served on the admin listener)
  bool adminOnly = false;  // the admin listener: /console and /healthz, everything else 404
  bool tls = false;        // the listener is TLS: the cookie gets Secure
  int64_t idleMs = 30 * 60 * 1000;
  int64_t absoluteMs = 12 * 60 * 60 * 1000;
  int64_t lockoutBaseMs = 2000;
};

class ConsoleHttp final : public HttpHandler {
 public:
  static constexpr const char* kCookieName = "tether_console";
  static constexpr const char* kContentSecurityPolicy =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
      "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

  // `next` answers every path outside /console (null: a JSON 404).
  ConsoleHttp(Store& store, WorkPool& pool, const Clock& clock, ConsoleHttpOptions options,
              std::vector<ApiSection*> sections, HttpHandler* next);

  void handle(HttpRequest request, Reply reply) override;

 private:
  void serveAsset(const HttpRequest& request, Reply& reply);
  void serveApi(HttpRequest request, Reply reply);
  // Runs on the pool: the session of the request's cookie, or a 401 answer.
  Result<ConsoleSessionRow> authenticate(const HttpRequest& request);
  HttpResponse signIn(const HttpRequest& request);
  HttpResponse signOut(const HttpRequest& request, const ConsoleSessionRow& session);
  HttpResponse sessionBody(const ConsoleSessionRow& session, int status);
  bool originAllowed(const HttpRequest& request) const;

  Store& store_;
  WorkPool& pool_;
  const Clock& clock_;
  ConsoleHttpOptions options_;
  std::vector<ApiSection*> sections_;
  HttpHandler* next_;
  SignInThrottle throttle_;
  static constexpr int kMaxConcurrentVerifies = 2;
  std::atomic<int> verifying_{0};
};

// Headers every console answer carries (CSP, nosniff, no referrer, no framing).
void addSecurityHeaders(HttpResponse& response);
// {"error": name, "message": message} with the security headers and Cache-Control: no-store.
HttpResponse apiError(int status, const std::string& name, const std::string& message);

}  // namespace tether::server::console
