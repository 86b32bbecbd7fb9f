// HostedUi: the hosted UI and OAuth 2.0 endpoints of Cognito User Pools on tetherd's port (spec
// cognito-user-pools.md 7):
//   GET  /oauth2/authorize                 code (PKCE S256) and implicit flows
//   POST /oauth2/token, GET|POST /oauth2/userInfo, POST /oauth2/revoke   (OAuth2, oauth2.h)
//   GET|POST /login, /newPassword, /mfa    sign-in, NEW_PASSWORD_REQUIRED, TOTP and MFA setup
//   GET|POST /signup, /confirmUser, /forgotPassword, /confirmForgotPassword
//   GET  /logout                           clears the session (logout_uri, or back to /login)
// Anything else goes to `next`. The pages are plain HTML forms (hosted_ui_html.h) carrying the
// authorization request along; each page checks it again (client, exact redirect_uri), and each
// POST its CSRF token. The sign-in steps are IdpApi's (its hosted entry points), the browser
// state HostedSessions'.
// Threading: handle() runs on the network thread and only routes; serve() does the work on the
// worker pool (store, keys, password checks). The references outlive this object.
#pragma once

#include <string>

#include "common/work_pool.h"
#include "idp/hosted_session.h"
#include "idp/hosted_ui_html.h"
#include "idp/idp_api.h"
#include "idp/oauth2.h"
#include "net/http.h"

namespace tether::server::idp {

class HostedUi final : public HttpHandler {
 public:
  HostedUi(IdpContext& ctx, IdpApi& api, WorkPool& pool, HttpHandler* next);
  void handle(HttpRequest request, Reply reply) override;
  // Whether `path` is one of the endpoints above.
  static bool serves(const std::string& path);
  // One request, synchronously (what handle() runs on a worker; tests call it directly).
  HttpResponse serve(const HttpRequest& request);

  // One browser request to a page: its parameters (query, or form body for POST), its cookie
  // handle (a new one if it had none) and the checked authorization request.
  struct Visit {
    const HttpRequest& request;
    Params params;
    std::string handle;
    bool newHandle = false;
    std::optional<CheckedAuthorize> authz;
    const std::string& poolId() const { return authz->client.pool.row.id; }
    const std::string& clientId() const { return authz->client.row.clientId; }
    const std::string* param(std::string_view name) const { return findParam(params, name); }
  };

 private:
  HttpResponse authorize(const HttpRequest& request);
  HttpResponse logout(const HttpRequest& request);
  HttpResponse login(Visit& v);
  HttpResponse newPassword(Visit& v);
  HttpResponse mfa(Visit& v);
  // hosted_ui_account.cpp
  HttpResponse signup(Visit& v);
  HttpResponse confirmUser(Visit& v);
  HttpResponse forgotPassword(Visit& v);
  HttpResponse confirmForgotPassword(Visit& v);

  // What a sign-in step returned: a challenge (-> its page) or HostedSignIn (-> the app).
  HttpResponse afterStep(Visit& v, const Json& result, const std::string& username);
  HttpResponse finishSignIn(Visit& v, const Json& signedIn);

  // ---- responses
  HttpResponse page(Visit& v, int status, Page p);
  HttpResponse errorPage(int status, const std::string& message);
  HttpResponse redirect(Visit& v, const std::string& location, int status = 303);
  // prefix + path + "?" + the authorization request (+ extra parameters).
  std::string link(const Visit& v, const std::string& path, const Params& extra = {}) const;
  // A form posting to `path` with the request's parameters, the CSRF token of `name`, `extra`
  // hidden fields and the given inputs.
  Form form(const Visit& v, const std::string& path, const std::string& name, std::vector<Field> fields,
            std::string submit, const Params& extra = {}) const;
  bool csrfOk(const Visit& v, const std::string& name) const;
  static std::string friendly(const ApiError& error);

  IdpContext& ctx_;
  IdpApi& api_;
  WorkPool& pool_;
  HttpHandler* next_;
  HostedSessions sessions_;
  OAuth2 oauth_;
  std::string prefix_;  // the path of the hosted UI's base URL ("" at the root)
};

}  // namespace tether::server::idp
