// OAuth 2.0 authorization checks and the token, userInfo and revoke endpoints; see oauth2.h.
#include "idp/oauth2.h"

#include <algorithm>
#include <set>

#include "auth/base64url.h"
#include "idp/crypto/crypto_util.h"
#include "idp/idp_secrets.h"

namespace tether::server::idp {
namespace {

const std::set<std::string>& reservedScopes() {
  static const std::set<std::string> k = {"openid", "email", "phone", "profile", kAdminScope};
  return k;
}

std::vector<std::string> splitScopes(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = std::min(text.find(' ', pos), text.size());
    if (end > pos) {
      std::string s(text.substr(pos, end - pos));
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
    }
    pos = end + 1;
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// RFC 7636: 43..128 characters of [A-Za-z0-9-._~].
bool pkceShaped(std::string_view s) {
  return s.size() >= 43 && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
         });
}

std::string codeKey(const std::string& poolId, const std::string& code) {
  return poolId + "/oauth-code/" + auth::base64UrlEncode(detail::sha256(code));
}

std::string withParams(const std::string& uri, char separator, const Params& params) {
  if (separator == '?') return uri + (uri.find('?') == std::string::npos ? "?" : "&") + encodeParams(params);
  return uri + "#" + encodeParams(params);
}

std::string lowerHost(const HttpRequest& request) {
  const std::string* h = request.header("host");
  if (!h) return "";
  std::string host = *h;
  if (host.starts_with("[")) return "";  // an IPv6 literal: never a domain
  host = host.substr(0, host.find(':'));
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!host.empty() && host.find_first_not_of("0123456789.") == std::string::npos) return "";  // IPv4 literal
  return host;
}

bool insensitivePrefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  return true;
}

HttpResponse withCors(HttpResponse r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return r;
}

}  // namespace

HttpResponse oauthJson(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.contentType = "application/json;charset=UTF-8";
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
  return withCors(std::move(r));
}

HttpResponse oauthError(int status, const std::string& error, const std::string& description) {
  Json body = {{"error", error}};
  if (!description.empty()) body["error_description"] = description;
  HttpResponse r = oauthJson(status, body);
  if (status == 401 && error == "invalid_client") r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"oauth2\"");
  return r;
}

// ---- the authorization request

AuthorizeRequest AuthorizeRequest::fromParams(const Params& params) {
  AuthorizeRequest ar;
  auto get = [&](const char* name) {
    const std::string* v = findParam(params, name);
    return v ? *v : std::string();
  };
  ar.responseType = get("response_type");
  ar.clientId = get("client_id");
  ar.redirectUri = get("redirect_uri");
  ar.state = get("state");
  ar.scope = get("scope");
  ar.nonce = get("nonce");
  ar.codeChallenge = get("code_challenge");
  ar.codeChallengeMethod = get("code_challenge_method");
  ar.identityProvider = get("identity_provider");
  ar.idpIdentifier = get("idp_identifier");
  return ar;
}

Params AuthorizeRequest::toParams() const {
  Params out;
  auto put = [&](const char* name, const std::string& v) {
    if (!v.empty()) out.emplace_back(name, v);
  };
  put("response_type", responseType);
  put("client_id", clientId);
  put("redirect_uri", redirectUri);
  put("state", state);
  put("scope", scope);
  put("nonce", nonce);
  put("code_challenge", codeChallenge);
  put("code_challenge_method", codeChallengeMethod);
  put("identity_provider", identityProvider);
  put("idp_identifier", idpIdentifier);
  return out;
}

ApiResult<IdpApi::Client> OAuth2::resolveClient(const HttpRequest& request, const std::string& clientId) {
  if (clientId.empty() || clientId.size() > 128) return resourceNotFound("client_id is missing or malformed.");
  // The Host names a pool when it is a domain of one (a custom domain, or <prefix>.<anything>).
  std::optional<UserPoolRow> byHost;
  if (std::string host = lowerHost(request); !host.empty()) {
    IDP_TRY_RESULT(byHost, ctx_.store.findUserPoolByDomain(host));
    if (!byHost && host.find('.') != std::string::npos) {
      IDP_TRY_RESULT(byHost, ctx_.store.findUserPoolByDomain(host.substr(0, host.find('.'))));
    }
  }
  API_TRY(IdpApi::Client client, api_.findClient(clientId));
  if (byHost && client.pool.row.id != byHost->id)
    return resourceNotFound("User pool client " + clientId + " does not exist.");
  return client;
}

std::string OAuth2::errorLocation(const AuthorizeRequest& ar, const std::string& error, const std::string& description) {
  Params p = {{"error", error}};
  if (!description.empty()) p.emplace_back("error_description", description);
  if (!ar.state.empty()) p.emplace_back("state", ar.state);
  return withParams(ar.redirectUri, ar.responseType == "token" ? '#' : '?', p);
}

AuthorizeCheck OAuth2::checkAuthorize(const HttpRequest& request, const AuthorizeRequest& ar) {
  if (ar.clientId.empty()) return AuthorizeError{"The request has no client_id."};
  ApiResult<IdpApi::Client> client = resolveClient(request, ar.clientId);
  if (!client.isOk()) {
    if (client.error().status >= 500) return AuthorizeError{"The server could not look the client up; try again later."};
    return AuthorizeError{"There is no app client " + ar.clientId + "."};
  }
  if (ar.redirectUri.empty()) return AuthorizeError{"The request has no redirect_uri."};
  if (!contains(client->config.callbackUrls(), ar.redirectUri))
    return AuthorizeError{"redirect_uri is not one of the app client's callback URLs."};
  // From here on the redirect_uri is trusted: errors go back to it.
  auto fail = [&](const char* error, const std::string& why) { return AuthorizeError{why, errorLocation(ar, error, why)}; };
  const AppClientConfig& config = client->config;
  if (!config.oauthEnabled()) return fail("unauthorized_client", "The app client is not enabled for OAuth flows.");
  if (ar.responseType.empty()) return fail("invalid_request", "response_type is required.");
  if (ar.responseType != "code" && ar.responseType != "token")
    return fail("unsupported_response_type", "response_type must be code or token.");
  if (!config.oauthFlows().count(ar.responseType == "code" ? "code" : "implicit"))
    return fail("unauthorized_client", "The app client does not allow this OAuth flow.");
  if ((!ar.identityProvider.empty() && ar.identityProvider != "COGNITO") || !ar.idpIdentifier.empty())
    return fail("invalid_request", "Only the COGNITO identity provider is available on this server.");
  if (!config.identityProviders().empty() && !contains(config.identityProviders(), "COGNITO"))
    return fail("unauthorized_client", "The app client does not support the COGNITO identity provider.");
  if (!ar.codeChallengeMethod.empty() && ar.codeChallenge.empty())
    return fail("invalid_request", "code_challenge_method without code_challenge.");
  if (!ar.codeChallenge.empty()) {
    if (ar.codeChallengeMethod.empty()) return fail("invalid_request", "code_challenge requires code_challenge_method.");
    if (ar.codeChallengeMethod != "S256") return fail("invalid_request", "code_challenge_method must be S256.");
    if (!pkceShaped(ar.codeChallenge)) return fail("invalid_request", "code_challenge is malformed.");
  }
  // Scopes: the requested ones the client allows and the pool knows (others are dropped); none
  // requested means all of the client's.
  std::vector<std::string> requested = splitScopes(ar.scope);
  if (requested.empty()) requested = config.oauthScopes();
  std::vector<std::string> granted;
  for (const std::string& s : requested)
    if (contains(config.oauthScopes(), s) && (reservedScopes().count(s) || client->pool.config.scopeExists(s)))
      granted.push_back(s);
  const bool openid = contains(granted, "openid");
  for (const char* oidc : {"email", "phone", "profile"})
    if (!openid && contains(granted, oidc))
      return fail("invalid_scope", std::string("The ") + oidc + " scope requires openid.");
  if (granted.empty()) return fail("invalid_scope", "None of the requested scopes is allowed for this app client.");
  return CheckedAuthorize{std::move(*client), ar, std::move(granted)};
}

std::string OAuth2::complete(const CheckedAuthorize& checked, const SignedIn& who) {
  const AuthorizeRequest& ar = checked.request;
  const std::string& poolId = checked.client.pool.row.id;
  if (ar.responseType == "code") {
    std::string code = newSessionHandle();
    Json ticket = {{"c", checked.client.row.clientId}, {"r", ar.redirectUri}, {"s", who.sub},
                   {"a", who.authTimeSec},          {"sc", checked.scopes},  {"n", ar.nonce},
                   {"p", ar.codeChallenge}};
    Status s = ctx_.store.putTicket(codeKey(poolId, code), ticket.dump(), ctx_.clock.nowMs() + kAuthorizationCodeTtlMs);
    if (!s.isOk()) return errorLocation(ar, "server_error", "The authorization code could not be stored.");
    Params p = {{"code", code}};
    if (!ar.state.empty()) p.emplace_back("state", ar.state);
    return withParams(ar.redirectUri, '?', p);
  }
  IdpApi::HostedGrant grant{checked.client.row.clientId, who.sub, who.authTimeSec, checked.scopes, ar.nonce, false};
  ApiResult<Json> tokens = api_.hostedTokens(grant);
  if (!tokens.isOk()) return errorLocation(ar, "access_denied", tokens.error().message);
  Params p = {{"access_token", tokens->value("AccessToken", "")}};
  if (tokens->contains("IdToken")) p.emplace_back("id_token", (*tokens)["IdToken"].get<std::string>());
  p.emplace_back("token_type", "Bearer");
  p.emplace_back("expires_in", std::to_string(tokens->value("ExpiresIn", int64_t{0})));
  if (!ar.state.empty()) p.emplace_back("state", ar.state);
  return withParams(ar.redirectUri, '#', p);
}

// ---- /oauth2/token

OAuth2::ClientAuth OAuth2::authenticateClient(const HttpRequest& request, const Params& form) {
  std::string basicId, basicSecret;
  bool basic = false;
  if (const std::string* h = request.header("authorization"); h && insensitivePrefix(*h, "basic ")) {
    basic = true;
    std::optional<std::string> decoded = auth::base64Decode(std::string_view(*h).substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return {std::nullopt, oauthError(401, "invalid_client", "Malformed Basic credentials.")};
    // RFC 6749 2.3.1 form-encodes both parts; many clients send them raw. Ids and secrets are
    // [\w+]: decode only what has a % escape (a raw '+' stays a '+').
    auto part = [](std::string raw) {
      if (raw.find('%') == std::string::npos) return raw;
      std::optional<std::string> d = formDecode(raw);
      return d ? *d : raw;
    };
    basicId = part(decoded->substr(0, colon));
    basicSecret = part(decoded->substr(colon + 1));
  }
  const std::string* formId = findParam(form, "client_id");
  const std::string* formSecret = findParam(form, "client_secret");
  const int status = basic ? 401 : 400;
  if (basic && formId && *formId != basicId)
    return {std::nullopt, oauthError(400, "invalid_request", "client_id differs from the Basic credentials.")};
  std::string clientId = basic ? basicId : formId ? *formId : "";
  if (clientId.empty()) return {std::nullopt, oauthError(400, "invalid_client", "The client is not identified.")};
  ApiResult<IdpApi::Client> client = resolveClient(request, clientId);
  if (!client.isOk()) {
    if (client.error().status >= 500) return {std::nullopt, oauthError(500, "server_error")};
    return {std::nullopt, oauthError(status, "invalid_client", "Unknown client.")};
  }
  std::string secret = basic ? basicSecret : formSecret ? *formSecret : "";
  const bool ok = client->config.hasSecret() ? detail::constantTimeEquals(secret, client->config.secret()) : secret.empty();
  if (!ok) return {std::nullopt, oauthError(status, "invalid_client", "Client authentication failed.")};
  return {std::move(*client), {}};
}

HttpResponse OAuth2::token(const HttpRequest& request) {
  if (request.method != "POST") return oauthError(405, "invalid_request", "Use POST.");
  const std::string* type = request.header("content-type");
  if (!type || !insensitivePrefix(*type, "application/x-www-form-urlencoded"))
    return oauthError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.");
  std::optional<Params> form = parseForm(request.body);
  if (!form) return oauthError(400, "invalid_request", "Malformed form body.");
  ClientAuth auth = authenticateClient(request, *form);
  if (!auth.client) return auth.error;
  if (!auth.client->config.oauthEnabled())
    return oauthError(400, "unauthorized_client", "The app client is not enabled for OAuth flows.");
  const std::string* grant = findParam(*form, "grant_type");
  if (!grant || grant->empty()) return oauthError(400, "invalid_request", "grant_type is required.");
  if (*grant == "authorization_code") return codeGrant(*auth.client, *form);
  if (*grant == "refresh_token") return refreshGrant(*auth.client, *form);
  if (*grant == "client_credentials") return clientCredentialsGrant(*auth.client, *form);
  return oauthError(400, "unsupported_grant_type");
}

HttpResponse OAuth2::codeGrant(const IdpApi::Client& client, const Params& form) {
  const std::string* code = findParam(form, "code");
  const std::string* redirect = findParam(form, "redirect_uri");
  const std::string* verifier = findParam(form, "code_verifier");
  if (!code || code->empty()) return oauthError(400, "invalid_request", "code is required.");
  if (!client.config.oauthFlows().count("code")) return oauthError(400, "unauthorized_client");
  // Taken before any other check: a code is spent by its first use, right or wrong.
  Result<std::optional<std::string>> ticket = ctx_.store.takeTicket(codeKey(client.pool.row.id, *code), ctx_.clock.nowMs());
  if (!ticket.isOk()) return oauthError(500, "server_error");
  if (!*ticket) return oauthError(400, "invalid_grant", "The code is unknown, used or expired.");
  Json t = Json::parse(**ticket, nullptr, false);
  if (!t.is_object() || t.value("c", "") != client.row.clientId)
    return oauthError(400, "invalid_grant", "The code was issued to another client.");
  if (!redirect || *redirect != t.value("r", "")) return oauthError(400, "invalid_grant", "redirect_uri does not match.");
  const std::string challenge = t.value("p", "");
  if (!challenge.empty()) {
    if (!verifier || !pkceShaped(*verifier) ||
        !detail::constantTimeEquals(auth::base64UrlEncode(detail::sha256(*verifier)), challenge))
      return oauthError(400, "invalid_grant", "code_verifier does not match the code_challenge.");
  } else if (verifier) {
    return oauthError(400, "invalid_grant", "The authorization request had no code_challenge.");
  }
  IdpApi::HostedGrant grant{client.row.clientId, t.value("s", ""), t.value("a", int64_t{0}),
                            t.value("sc", std::vector<std::string>()), t.value("n", ""), true};
  ApiResult<Json> tokens = api_.hostedTokens(grant);
  if (!tokens.isOk())
    return tokens.error().status >= 500 ? oauthError(500, "server_error") : oauthError(400, "invalid_grant", tokens.error().message);
  Json out = {{"access_token", (*tokens)["AccessToken"]}, {"token_type", "Bearer"}, {"expires_in", (*tokens)["ExpiresIn"]}};
  if (tokens->contains("IdToken")) out["id_token"] = (*tokens)["IdToken"];
  if (tokens->contains("RefreshToken")) out["refresh_token"] = (*tokens)["RefreshToken"];
  return oauthJson(200, out);
}

HttpResponse OAuth2::refreshGrant(const IdpApi::Client& client, const Params& form) {
  const std::string* token = findParam(form, "refresh_token");
  if (!token || token->empty()) return oauthError(400, "invalid_request", "refresh_token is required.");
  ApiResult<Json> tokens = api_.hostedRefresh(client.row.clientId, *token);
  if (!tokens.isOk())
    return tokens.error().status >= 500 ? oauthError(500, "server_error") : oauthError(400, "invalid_grant", tokens.error().message);
  Json out = {{"access_token", (*tokens)["AccessToken"]}, {"token_type", "Bearer"}, {"expires_in", (*tokens)["ExpiresIn"]}};
  if (tokens->contains("IdToken")) out["id_token"] = (*tokens)["IdToken"];
  return oauthJson(200, out);
}

HttpResponse OAuth2::clientCredentialsGrant(const IdpApi::Client& client, const Params& form) {
  if (!client.config.oauthFlows().count("client_credentials") || !client.config.hasSecret())
    return oauthError(400, "unauthorized_client", "The app client does not allow client_credentials.");
  std::vector<std::string> allowed;
  for (const std::string& s : client.config.oauthScopes())
    if (client.pool.config.scopeExists(s)) allowed.push_back(s);
  const std::string* scope = findParam(form, "scope");
  std::vector<std::string> granted = scope ? splitScopes(*scope) : std::vector<std::string>();
  for (const std::string& s : granted)
    if (!contains(allowed, s)) return oauthError(400, "invalid_scope", "Scope " + s + " is not allowed for this client.");
  if (granted.empty()) granted = allowed;
  if (granted.empty()) return oauthError(400, "invalid_scope", "The app client has no custom scopes.");
  ApiResult<Json> tokens = api_.clientCredentialsToken(client.row.clientId, granted);
  if (!tokens.isOk()) return oauthError(500, "server_error");
  return oauthJson(200, {{"access_token", (*tokens)["AccessToken"]}, {"token_type", "Bearer"},
                         {"expires_in", (*tokens)["ExpiresIn"]}});
}

// ---- /oauth2/userInfo

HttpResponse OAuth2::userInfo(const HttpRequest& request) {
  auto refuse = [](int status, const char* error, const char* description) {
    HttpResponse r = oauthJson(status, {{"error", error}, {"error_description", description}});
    r.headers.emplace_back("WWW-Authenticate",
                           std::string("error=\"") + error + "\", error_description=\"" + description + "\"");
    return r;
  };
  if (request.method != "GET" && request.method != "POST")
    return refuse(400, "invalid_request", "Bad OAuth2 request at UserInfo Endpoint");
  const std::string* h = request.header("authorization");
  if (!h || !insensitivePrefix(*h, "bearer ") || h->size() <= 7)
    return refuse(400, "invalid_request", "Bad OAuth2 request at UserInfo Endpoint");
  ApiResult<Json> info = api_.userInfo(h->substr(7));
  if (!info.isOk()) {
    if (info.error().status >= 500) return oauthError(500, "server_error");
    return refuse(401, "invalid_token",
                  "Access token is expired, disabled, or deleted, or the user has globally signed out.");
  }
  return oauthJson(200, *info);
}

// ---- /oauth2/revoke

HttpResponse OAuth2::revoke(const HttpRequest& request) {
  if (request.method != "POST") return oauthError(405, "invalid_request", "Use POST.");
  std::optional<Params> form = parseForm(request.body);
  if (!form) return oauthError(400, "invalid_request", "Malformed form body.");
  const std::string* token = findParam(*form, "token");
  if (!token || token->empty()) return oauthError(400, "invalid_request", "token is required.");
  ClientAuth auth = authenticateClient(request, *form);
  if (!auth.client) return auth.error;
  Json in = {{"Token", *token}, {"ClientId", auth.client->row.clientId}};
  if (auth.client->config.hasSecret()) in["ClientSecret"] = auth.client->config.secret();
  ApiResult<Json> out = api_.callForHostedUi("RevokeToken", in, request);
  if (out.isOk()) {
    HttpResponse r = withCors(HttpResponse{200, "application/json;charset=UTF-8", {}, ""});
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }
  const std::string& type = out.error().type;
  if (type == "UnsupportedTokenTypeException") return oauthError(400, "unsupported_token_type");
  if (type == "UnauthorizedException") return oauthError(401, "invalid_client");
  if (type == "UnsupportedOperationException") return oauthError(400, "invalid_request", out.error().message);
  if (out.error().status >= 500) return oauthError(500, "server_error");
  return oauthError(400, "invalid_request", out.error().message);
}

}  // namespace tether::server::idp
