// See console_http.h.
#include "console/console_http.h"

#include <cstring>

#include <spdlog/spdlog.h>

#include "console/console_assets.h"
#include "console/password.h"

namespace tether::server::console {
namespace {

using Json = nlohmann::json;

constexpr const char* kApiPrefix = "/console/api/";
constexpr int64_t kTouchEveryMs = 30 * 1000;  // last-seen writes at most this often per session
// A valid hash with the cost of real ones: a sign-in naming no operator is checked against it
// (and fails whatever its outcome), so it takes as long as one naming a real operator. A
// constant, so that starting the server costs no hashing.
constexpr const char* kDummyHash =
    "$argon2id$v=19$m=65536,t=3,p=1$AQAAAAAAAAAAAAAAAAAAAA$sQGMXG9u2J9BYb0cdodVXnex4uBYTfTZU6vJw2BGgbw";

HttpResponse jsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.body = status == 204 ? std::string() : body.dump(-1, ' ', false, Json::error_handler_t::replace);
  addSecurityHeaders(r);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// The value of cookie `name` in the Cookie header, or "".
std::string cookieValue(const HttpRequest& request, std::string_view name) {
  const std::string* header = request.header("cookie");
  if (header == nullptr) return "";
  std::string_view rest = *header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view part = rest.substr(0, end);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return "";
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::string errorName(const Json& body) {
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"].get<std::string>();
  return "ok";
}

}  // namespace

void addSecurityHeaders(HttpResponse& response) {
  response.headers.emplace_back("Content-Security-Policy", ConsoleHttp::kContentSecurityPolicy);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
}

HttpResponse apiError(int status, const std::string& name, const std::string& message) {
  return jsonResponse(status, Json{{"error", name}, {"message", message}});
}

ConsoleHttp::ConsoleHttp(Store& store, WorkPool& pool, const Clock& clock, ConsoleHttpOptions options,
                         std::vector<ApiSection*> sections, HttpHandler* next)
    : store_(store), pool_(pool), clock_(clock), options_(options), sections_(std::move(sections)), next_(next),
      throttle_(options.lockoutBaseMs) {}

void ConsoleHttp::handle(HttpRequest request, Reply reply) {
  const std::string& path = request.path;
  const bool console = path == "/console" || path.starts_with("/console/");
  if (!console) {
    if (options_.adminOnly) {
      HttpResponse r;
      if (path == "/healthz" && request.method == "GET") {
        r.body = "{\"status\":\"ok\"}";
      } else {
        r.status = 404;
        r.body = "{\"error\":\"NotFound\",\"message\":\"the admin listener serves /console only\"}";
      }
      reply(std::move(r));
      return;
    }
    if (next_ != nullptr) {
      next_->handle(std::move(request), std::move(reply));
      return;
    }
    reply(apiError(404, "NotFound", "no such path"));
    return;
  }
  if (!options_.enabled) {
    reply(apiError(404, "NotFound", "the console is not served here"));
    return;
  }
  if (path.starts_with(kApiPrefix) || path == "/console/api") {
    serveApi(std::move(request), std::move(reply));
    return;
  }
  serveAsset(request, reply);
}

void ConsoleHttp::serveAsset(const HttpRequest& request, Reply& reply) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = apiError(405, "MethodNotAllowed", "the console's pages are read with GET");
    r.headers.emplace_back("Allow", "GET, HEAD");
    reply(std::move(r));
    return;
  }
  std::string_view name;
  if (request.path == "/console" || request.path == "/console/") name = "index.html";
  else if (request.path.starts_with("/console/assets/")) name = std::string_view(request.path).substr(16);
  const Asset* asset = name.empty() || name.find('/') != std::string_view::npos ? nullptr : findAsset(name);
  if (asset == nullptr) {
    reply(apiError(404, "NotFound", "no such console page"));
    return;
  }
  HttpResponse r;
  r.contentType = std::string(asset->contentType);
  r.body = request.method == "HEAD" ? std::string() : std::string(asset->bytes);
  addSecurityHeaders(r);
  // index.html names the assets without a version: revalidate rather than cache forever.
  r.headers.emplace_back("Cache-Control", "no-cache");
  reply(std::move(r));
}

bool ConsoleHttp::originAllowed(const HttpRequest& request) const {
  const std::string* origin = request.header("origin");
  if (origin == nullptr) return true;
  const std::string* host = request.header("host");
  if (host == nullptr) return false;
  const std::string scheme = options_.tls ? "https://" : "http://";
  return *origin == scheme + *host;
}

void ConsoleHttp::serveApi(HttpRequest request, Reply reply) {
  ApiCall call;
  call.method = request.method;
  call.segments = splitPath(std::string_view(request.path).substr(std::min(request.path.size(), strlen(kApiPrefix))));
  call.query = request.query;
  call.requestId = request.requestId;
  if (request.bodyTooLarge) {
    reply(apiError(413, "InvalidParameter", "the request body is too large"));
    return;
  }
  if (!request.body.empty()) {
    call.body = Json::parse(request.body, nullptr, false);
    if (call.body.is_discarded()) {
      reply(apiError(400, "InvalidParameter", "the body is not JSON"));
      return;
    }
  }
  if (call.segments.empty()) {
    reply(apiError(404, "NotFound", "no such API call"));
    return;
  }
  // Everything below reads the store or checks a password: off the network thread.
  pool_.post([this, request = std::move(request), call = std::move(call), reply = std::move(reply)]() mutable {
    const bool isSession = call.segments.size() == 1 && call.segments[0] == "session";
    if (isSession && call.method == "POST") {
      reply(signIn(request));
      return;
    }
    Result<ConsoleSessionRow> session = authenticate(request);
    if (!session.isOk()) {
      reply(apiError(401, "NotAuthorized", session.status().message()));
      return;
    }
    if (call.method != "GET") {
      if (!originAllowed(request)) {
        reply(apiError(403, "CsrfTokenMismatch", "the request comes from another site"));
        return;
      }
      const std::string* token = request.header("x-csrf-token");
      if (token == nullptr || !constantTimeEquals(*token, session->csrfToken)) {
        reply(apiError(403, "CsrfTokenMismatch", "the X-CSRF-Token header is missing or wrong; reload the page"));
        return;
      }
    }
    call.operatorName = session->operatorName;
    if (isSession) {
      if (call.method == "GET") reply(sessionBody(*session, 200));
      else if (call.method == "DELETE") reply(signOut(request, *session));
      else reply(apiError(405, "InvalidParameter", "session takes GET, POST or DELETE"));
      return;
    }
    ApiSection* section = nullptr;
    for (ApiSection* s : sections_)
      if (s->handles(call)) {
        section = s;
        break;
      }
    if (section == nullptr) {
      reply(apiError(404, "NotFound", "no such API call"));
      return;
    }
    ApiResult result;
    try {
      result = section->call(call);
    } catch (const std::exception& e) {
      spdlog::error("console: {} {}: {}", call.method, request.path, e.what());
      result = ApiResult::error(500, "InternalError", "the server failed; see its log");
    }
    if (call.method != "GET") {
      AuditEntry entry{0, clock_.nowMs(), call.operatorName, call.method + " " + request.path.substr(strlen(kApiPrefix)),
                       result.auditTarget, result.auditDetail, errorName(result.body)};
      if (Result<int64_t> id = store_.appendAudit(entry); !id.isOk())
        spdlog::error("console: cannot write the audit entry for {} {}: {}", call.method, request.path,
                      id.status().message());
    }
    reply(jsonResponse(result.status, result.body));
  });
}

Result<ConsoleSessionRow> ConsoleHttp::authenticate(const HttpRequest& request) {
  std::string handle = cookieValue(request, kCookieName);
  if (handle.empty()) return Status::unauthenticated("sign in first");
  const std::string hash = sha256Hex(handle);
  Result<std::optional<ConsoleSessionRow>> found = store_.getConsoleSession(hash);
  if (!found.isOk()) return Status::unauthenticated("the session cannot be read: " + found.status().message());
  if (!found->has_value()) return Status::unauthenticated("the session has ended; sign in again");
  ConsoleSessionRow session = **found;
  const int64_t now = clock_.nowMs();
  if (now >= session.expiresMs || now - session.lastSeenMs >= options_.idleMs) {
    (void)store_.deleteConsoleSession(hash);
    return Status::unauthenticated("the session has expired; sign in again");
  }
  if (now - session.lastSeenMs >= kTouchEveryMs) {
    (void)store_.touchConsoleSession(hash, now);
    session.lastSeenMs = now;
  }
  return session;
}

HttpResponse ConsoleHttp::sessionBody(const ConsoleSessionRow& session, int status) {
  return jsonResponse(status, Json{{"username", session.operatorName},
                                   {"csrfToken", session.csrfToken},
                                   {"expiresAt", std::min(session.expiresMs, session.lastSeenMs + options_.idleMs)}});
}

HttpResponse ConsoleHttp::signIn(const HttpRequest& request) {
  Json body = Json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("username") || !body["username"].is_string() ||
      !body.contains("password") || !body["password"].is_string())
    return apiError(400, "InvalidParameter", "give username and password as strings");
  const std::string username = body["username"].get<std::string>();
  const std::string password = body["password"].get<std::string>();
  if (username.size() > 256 || password.size() > kMaxPasswordLength)
    return apiError(400, "InvalidParameter", "username or password too long");
  const int64_t now = clock_.nowMs();
  if (int64_t wait = throttle_.retryAfterMs(username, request.peer, now); wait > 0) {
    spdlog::warn("console: sign-in throttled user={} peer={} retry_after_ms={}", username, request.peer, wait);
    HttpResponse r = apiError(429, "TooManyRequests", "too many failed sign-ins; wait and try again");
    r.headers.emplace_back("Retry-After", std::to_string((wait + 999) / 1000));
    return r;
  }
  Result<std::optional<OperatorRow>> op = store_.getOperator(username);
  if (!op.isOk()) return apiError(500, "InternalError", "the store failed: " + op.status().message());
  // At most kMaxConcurrentVerifies password checks at once (64 MiB and a worker thread each):
  // a flood of sign-ins must not take every worker from the sync traffic.
  if (verifying_.fetch_add(1) >= kMaxConcurrentVerifies) {
    verifying_.fetch_sub(1);
    HttpResponse r = apiError(429, "TooManyRequests", "too many sign-ins at once; try again");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  const bool ok = op->has_value() ? verifyPassword(password, (*op)->passwordHash)
                                  : (verifyPassword(password, kDummyHash), false);
  verifying_.fetch_sub(1);
  if (!ok) {
    // The lockout counts from now, after the (slow) check, not from the request's arrival.
    throttle_.recordFailure(username, request.peer, clock_.nowMs());
    spdlog::warn("console: failed sign-in user={} peer={}", username, request.peer);
    return apiError(401, "NotAuthorized", "wrong username or password");
  }
  throttle_.recordSuccess(username, request.peer);
  std::string handle = randomHexToken(32);
  ConsoleSessionRow session{sha256Hex(handle), username, randomHexToken(32), now, now, now + options_.absoluteMs};
  if (Status s = store_.createConsoleSession(session); !s.isOk())
    return apiError(500, "InternalError", "the session cannot be stored: " + s.message());
  (void)store_.recordOperatorSignIn(username, now);
  (void)store_.pruneConsoleSessions(now - options_.idleMs, now);
  (void)store_.appendAudit({0, now, username, "POST session", "operator " + username, "signed in from " + request.peer, "ok"});
  spdlog::info("console: sign-in user={} peer={}", username, request.peer);
  HttpResponse r = sessionBody(session, 200);
  std::string cookie = std::string(kCookieName) + "=" + handle + "; Path=/console; HttpOnly; SameSite=Strict";
  if (options_.tls) cookie += "; Secure";
  r.headers.emplace_back("Set-Cookie", cookie);
  return r;
}

HttpResponse ConsoleHttp::signOut(const HttpRequest& request, const ConsoleSessionRow& session) {
  Status s = store_.deleteConsoleSession(session.handleHash);
  if (!s.isOk()) return apiError(500, "InternalError", "the session cannot be deleted: " + s.message());
  (void)store_.appendAudit({0, clock_.nowMs(), session.operatorName, "DELETE session", "operator " + session.operatorName,
                            "signed out from " + request.peer, "ok"});
  HttpResponse r = jsonResponse(204, Json());
  std::string cookie = std::string(kCookieName) + "=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0";
  if (options_.tls) cookie += "; Secure";
  r.headers.emplace_back("Set-Cookie", cookie);
  return r;
}

}  // namespace tether::server::console
