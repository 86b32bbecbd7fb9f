// OAuth2: the OAuth 2.0 / OpenID Connect side of the hosted UI (spec cognito-user-pools.md
// 7.1, 7.2, 7.4, 7.5, 7.6):
//   - which pool and app client a request is for (the Host header when it is a pool's domain,
//     else the client_id, which is unique over all pools);
//   - checking an authorization request (client, exact redirect_uri, response_type, flows,
//     scopes, PKCE S256) and completing it for a signed-in user: an authorization code (single
//     use, 5 minutes, bound to the client, redirect_uri, PKCE challenge, nonce, scopes and
//     sign-in) or, for the implicit flow, the tokens in the redirect's fragment;
//   - the token endpoint (authorization_code, refresh_token, client_credentials), userInfo and
//     revoke, with the errors and status codes of the spec.
// The sign-in pages themselves are HostedUi's (hosted_ui.h).
// Thread-safety: stateless over the context and the API; any worker thread.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "idp/hosted_session.h"
#include "idp/hosted_ui_html.h"
#include "idp/idp_api.h"
#include "net/http.h"

namespace tether::server::idp {

inline constexpr int64_t kAuthorizationCodeTtlMs = 5 * 60 * 1000;

// The parameters of /oauth2/authorize, which /login and the other pages carry along.
struct AuthorizeRequest {
  std::string responseType, clientId, redirectUri, state, scope, nonce, codeChallenge, codeChallengeMethod,
      identityProvider, idpIdentifier;
  static AuthorizeRequest fromParams(const Params& params);
  Params toParams() const;  // the non-empty members
};

// A request that passed the checks: its client and the scopes it is granted.
struct CheckedAuthorize {
  IdpApi::Client client;
  AuthorizeRequest request;
  std::vector<std::string> scopes;
};

// A request that did not: shown as a 400 page (bad client or redirect_uri: never redirect to an
// unchecked address) or sent to the redirect_uri as ?error= (`location` set).
struct AuthorizeError {
  explicit AuthorizeError(std::string m, std::string l = "") : message(std::move(m)), location(std::move(l)) {}
  std::string message;
  std::string location;
};

using AuthorizeCheck = std::variant<CheckedAuthorize, AuthorizeError>;

class OAuth2 {
 public:
  OAuth2(IdpContext& ctx, IdpApi& api) : ctx_(ctx), api_(api) {}

  // The app client `clientId` as seen from this request's Host (a pool's domain restricts the
  // clients to that pool's). ResourceNotFound when unknown.
  ApiResult<IdpApi::Client> resolveClient(const HttpRequest& request, const std::string& clientId);

  AuthorizeCheck checkAuthorize(const HttpRequest& request, const AuthorizeRequest& ar);
  // The Location that completes a checked request for `who`: the redirect_uri with a code, or
  // with the tokens in the fragment (implicit), or with an error.
  std::string complete(const CheckedAuthorize& checked, const SignedIn& who);
  // The redirect_uri with ?error= (or #error= for the implicit flow).
  static std::string errorLocation(const AuthorizeRequest& ar, const std::string& error, const std::string& description);

  HttpResponse token(const HttpRequest& request);
  HttpResponse userInfo(const HttpRequest& request);
  HttpResponse revoke(const HttpRequest& request);

 private:
  struct ClientAuth {
    std::optional<IdpApi::Client> client;
    HttpResponse error;  // when !client
  };
  // client_secret_basic / client_secret_post / a public client's client_id.
  ClientAuth authenticateClient(const HttpRequest& request, const Params& form);
  HttpResponse codeGrant(const IdpApi::Client& client, const Params& form);
  HttpResponse refreshGrant(const IdpApi::Client& client, const Params& form);
  HttpResponse clientCredentialsGrant(const IdpApi::Client& client, const Params& form);

  IdpContext& ctx_;
  IdpApi& api_;
};

// JSON responses of the OAuth endpoints (Content-Type application/json;charset=UTF-8, no-store).
HttpResponse oauthJson(int status, const Json& body);
HttpResponse oauthError(int status, const std::string& error, const std::string& description = "");

}  // namespace tether::server::idp
