// User-pool HTTP endpoints; see idp_http.h.
#include "idp/idp_http.h"

#include <nlohmann/json.hpp>

#include "idp/code_delivery.h"

namespace tether::server::idp {
namespace {

using nlohmann::json;

HttpResponse jsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "application/json";
  r.body = body.dump();
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return r;
}

bool plausiblePoolId(std::string_view id) {
  size_t us = id.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 >= id.size() || id.size() > 55) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

}  // namespace

void IdpHttp::handle(HttpRequest request, Reply reply) {
  const std::string& path = request.path;
  std::string poolId, document, devUser;
  if (path.size() > 1 && path[0] == '/') {
    size_t slash = path.find('/', 1);
    if (slash != std::string::npos && path.compare(slash, 13, "/.well-known/") == 0) {
      poolId = path.substr(1, slash - 1);
      document = path.substr(slash + 13);
    }
  }
  const std::string kDevPrefix = "/_tether/cognito-idp/codes/";
  if (path.starts_with(kDevPrefix)) {
    std::string rest = path.substr(kDevPrefix.size());
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
      poolId = rest.substr(0, slash);
      devUser = rest.substr(slash + 1);
    }
  }
  const bool known = (!document.empty() && (document == "jwks.json" || document == "openid-configuration")) ||
                     !devUser.empty();
  if (!known || !plausiblePoolId(poolId)) {
    if (next_) return next_->handle(std::move(request), std::move(reply));
    return reply(jsonResponse(404, json{{"message", "no such endpoint"}}));
  }
  if (request.method != "GET" && request.method != "HEAD")
    return reply(jsonResponse(405, json{{"message", "use GET"}}));
  pool_.post([this, poolId, document, devUser, reply = std::move(reply)]() mutable {
    reply(devUser.empty() ? wellKnown(poolId, document) : devCode(poolId, devUser));
  });
}

HttpResponse IdpHttp::wellKnown(const std::string& poolId, const std::string& document) {
  Result<std::optional<UserPoolRow>> pool = ctx_.store.getUserPool(poolId);
  if (!pool.isOk()) return jsonResponse(503, json{{"message", "store unavailable"}});
  if (!*pool) return jsonResponse(404, json{{"message", "User pool " + poolId + " does not exist."}});
  if (document == "jwks.json") {
    Result<std::string> jwks = tokens_.jwks(poolId);
    if (!jwks.isOk()) return jsonResponse(500, json{{"message", "keys unavailable"}});
    HttpResponse r = jsonResponse(200, json::object());
    r.body = *jwks;
    r.headers.emplace_back("Cache-Control", "public, max-age=300");
    return r;
  }
  const std::string issuer = ctx_.settings.issuerFor(poolId);
  const std::string base = ctx_.settings.hostedUiBase.empty() ? ctx_.settings.issuerBase : ctx_.settings.hostedUiBase;
  const std::string jwksBase = ctx_.settings.awsIssuer ? ctx_.settings.issuerBase + "/" + poolId : issuer;
  json doc = {{"issuer", issuer},
              {"jwks_uri", jwksBase + "/.well-known/jwks.json"},
              {"authorization_endpoint", base + "/oauth2/authorize"},
              {"token_endpoint", base + "/oauth2/token"},
              {"userinfo_endpoint", base + "/oauth2/userInfo"},
              {"revocation_endpoint", base + "/oauth2/revoke"},
              {"end_session_endpoint", base + "/logout"},
              {"response_types_supported", {"code", "token"}},
              {"scopes_supported", {"openid", "email", "phone", "profile"}},
              {"subject_types_supported", {"public"}},
              {"id_token_signing_alg_values_supported", {"RS256"}},
              {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
              {"code_challenge_methods_supported", {"S256"}}};
  return jsonResponse(200, doc);
}

HttpResponse IdpHttp::devCode(const std::string& poolId, const std::string& user) {
  if (!ctx_.delivery.devCodes())
    return jsonResponse(404, json{{"message", "dev_codes is off on this server"}});
  auto code = ctx_.delivery.lastCode(poolId, user);
  if (!code) return jsonResponse(404, json{{"message", "no code was sent to " + user}});
  return jsonResponse(200, json{{"code", code->first}, {"purpose", code->second}});
}

}  // namespace tether::server::idp
