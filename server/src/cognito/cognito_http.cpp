// Cognito HTTP front end; see cognito_http.h.
#include "cognito/cognito_http.h"

#include <ctime>
#include <memory>

#include <spdlog/spdlog.h>

#include "auth/ids.h"
#include "net/tuning.h"

namespace tether::server::cognito {
namespace {

constexpr const char* kIdentityContentType = "application/x-amz-json-1.1";
constexpr const char* kSyncContentType = "application/json";
constexpr std::string_view kTargetPrefix = "AWSCognitoIdentityService.";
constexpr std::string_view kUserPoolsPrefix = "AWSCognitoIdentityProviderService.";
constexpr const char* kExposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date";

std::string httpDate() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string requestId() {
  std::string id = newRandomId("x");
  return id.substr(2);  // a bare UUID
}

HttpResponse okResponse(const Json& body, const char* contentType) {
  HttpResponse r;
  r.status = 200;
  r.contentType = contentType;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace

HttpResponse CognitoHttp::errorResponse(const ApiError& error, std::string contentType) {
  HttpResponse r;
  r.status = error.status;
  r.contentType = std::move(contentType);
  r.headers.emplace_back("x-amzn-ErrorType", error.type + ":");
  r.body = Json{{"__type", error.type}, {"message", error.message}}.dump(-1, ' ', false,
                                                                         Json::error_handler_t::replace);
  return r;
}

void CognitoHttp::addCommonHeaders(HttpResponse& response, const HttpRequest& request) {
  // The ID the HttpObserver gave the request (it also writes it into the request's log lines).
  response.headers.emplace_back("x-amzn-RequestId", request.requestId.empty() ? requestId() : request.requestId);
  response.headers.emplace_back("Date", httpDate());
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  response.headers.emplace_back("Access-Control-Expose-Headers", kExposeHeaders);
}

std::optional<std::pair<std::string, std::string>> CognitoHttp::classify(const HttpRequest& request) {
  if (request.path == "/" || request.path.empty()) {
    const std::string* target = request.header("x-amz-target");
    if (target && target->starts_with(kUserPoolsPrefix))
      return std::make_pair(std::string("cognito-idp"), target->substr(kUserPoolsPrefix.size()));
    if (target && target->starts_with(kTargetPrefix))
      return std::make_pair(std::string("cognito-identity"), target->substr(kTargetPrefix.size()));
    return std::make_pair(std::string("cognito-identity"), std::string("other"));
  }
  if (request.path == "/identitypools" || request.path.starts_with("/identitypools/")) {
    std::optional<SyncRoute> route = matchSyncRoute(request.method, request.path);
    return std::make_pair(std::string("cognito-sync"), route ? std::string(syncOpName(route->op)) : std::string("other"));
  }
  return std::nullopt;
}

void CognitoHttp::handle(HttpRequest request, Reply reply) {
  const bool identityApi = request.path == "/" || request.path.empty();
  const bool syncApi = request.path == "/identitypools" || request.path.starts_with("/identitypools/");
  if (!identityApi && !syncApi) {
    if (next_) return next_->handle(std::move(request), std::move(reply));
    return reply(HttpResponse{404, "application/json", {}, R"({"message":"no such endpoint"})"});
  }
  if (request.bodyTooLarge) {
    // Nothing a Cognito client sends legitimately is this big (a dataset holds at most 1 MB).
    // LimitExceededException is what the SDKs map to "data limit exceeded"; the status says why.
    HttpResponse r = errorResponse(
        ApiError{413, "LimitExceededException",
                 "Request body is larger than " + std::to_string(tuning::kMaxHttpBodyBytes) + " bytes"},
        identityApi ? kIdentityContentType : kSyncContentType);
    addCommonHeaders(r, request);
    return reply(std::move(r));
  }
  if (request.method == "OPTIONS") {
    // CORS preflight (browser SDKs): allow what the browser asks for.
    HttpResponse r{200, "text/plain", {}, ""};
    addCommonHeaders(r, request);
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    const std::string* asked = request.header("access-control-request-headers");
    r.headers.emplace_back("Access-Control-Allow-Headers", asked && !asked->empty() ? *asked : "*");
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    return reply(std::move(r));
  }

  if (identityApi) {
    const std::string* target = request.header("x-amz-target");
    const bool userPools = userPools_ && target && target->starts_with(kUserPoolsPrefix);
    if (request.method != "POST" || target == nullptr || (!userPools && !target->starts_with(kTargetPrefix))) {
      HttpResponse r = errorResponse(
          ApiError{400, "UnknownOperationException",
                   request.method != "POST" ? "Cognito Identity operations use POST /"
                                            : "X-Amz-Target must name an AWSCognitoIdentityService operation"},
          kIdentityContentType);
      addCommonHeaders(r, request);
      return reply(std::move(r));
    }
    ctx_.pool.post([this, userPools, req = std::move(request), reply = std::move(reply)]() mutable {
      const std::string_view prefix = userPools ? kUserPoolsPrefix : kTargetPrefix;
      std::string op = req.header("x-amz-target")->substr(prefix.size());
      ApiResult<Json> out = userPools ? userPools_->call(op, req) : identity_.call(op, req);
      HttpResponse r = out.isOk() ? okResponse(out.value(), kIdentityContentType)
                                  : errorResponse(out.error(), kIdentityContentType);
      if (!out.isOk())
        spdlog::debug("{} {} -> {} {}", userPools ? "cognito-idp" : "cognito-identity", op, out.error().type,
                      out.error().message);
      addCommonHeaders(r, req);
      reply(std::move(r));
    });
    return;
  }

  std::optional<SyncRoute> route = matchSyncRoute(request.method, request.path);
  if (!route) {
    HttpResponse r = errorResponse(ApiError{404, "UnknownOperationException",
                                            "No Cognito Sync operation for " + request.method + " " + request.path},
                                   kSyncContentType);
    addCommonHeaders(r, request);
    return reply(std::move(r));
  }
  std::string identityId = route->identityId;
  auto work = [this, rt = std::move(*route), req = std::move(request), reply = std::move(reply)]() mutable {
    // Answered now, or (UpdateRecords through a sync trigger) later from the identity's strand.
    SyncOp op = rt.op;
    auto held = std::make_shared<HttpRequest>(std::move(req));  // lives until the answer
    sync_.callAsync(rt, *held, [op, held, reply = std::move(reply)](ApiResult<Json> out) mutable {
      HttpResponse r = out.isOk() ? okResponse(out.value(), kSyncContentType) : errorResponse(out.error(), kSyncContentType);
      if (!out.isOk())
        spdlog::debug("cognito-sync {} -> {} {}", syncOpName(op), out.error().type, out.error().message);
      addCommonHeaders(r, *held);
      reply(std::move(r));
    });
  };
  // Dataset work of one identity runs on its strand, in order with its native-protocol work.
  if (!identityId.empty()) {
    ctx_.pool.postForIdentity(identityId, std::move(work));
  } else {
    ctx_.pool.post(std::move(work));
  }
}

}  // namespace tether::server::cognito
