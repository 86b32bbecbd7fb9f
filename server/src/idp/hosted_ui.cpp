// Hosted UI routing, authorize, sign-in, MFA and logout; see hosted_ui.h.
#include "idp/hosted_ui.h"

#include <set>

#include <spdlog/spdlog.h>

#include "idp/crypto/sealer.h"
#include "idp/user_validation.h"

namespace tether::server::idp {
namespace {

const std::set<std::string>& pagePaths() {
  static const std::set<std::string> k = {"/login",  "/newPassword",    "/mfa",
                                          "/signup", "/confirmUser",    "/forgotPassword",
                                          "/confirmForgotPassword"};
  return k;
}
const std::set<std::string>& apiPaths() {
  static const std::set<std::string> k = {"/oauth2/token", "/oauth2/userInfo", "/oauth2/userinfo", "/oauth2/revoke"};
  return k;
}

constexpr std::string_view kSetupAd = "tether-hosted-mfa-setup-v1";

void securityHeaders(HttpResponse& r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  // No scripts at all; inline style only; the QR code is inline SVG.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
                         "base-uri 'none'");
}

std::string basePath(const IdpSettings& s) {
  const std::string& base = s.hostedUiBase.empty() ? s.issuerBase : s.hostedUiBase;
  size_t scheme = base.find("://");
  size_t slash = scheme == std::string::npos ? std::string::npos : base.find('/', scheme + 3);
  std::string path = slash == std::string::npos ? "" : base.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

HostedUi::HostedUi(IdpContext& ctx, IdpApi& api, WorkPool& pool, HttpHandler* next)
    : ctx_(ctx), api_(api), pool_(pool), next_(next), sessions_(ctx), oauth_(ctx, api), prefix_(basePath(ctx.settings)) {}

bool HostedUi::serves(const std::string& path) {
  return path == "/oauth2/authorize" || path == "/logout" || pagePaths().count(path) || apiPaths().count(path);
}

void HostedUi::handle(HttpRequest request, Reply reply) {
  if (!serves(request.path)) {
    if (next_) return next_->handle(std::move(request), std::move(reply));
    return reply(HttpResponse{404, "application/json", {}, R"({"message":"no such endpoint"})"});
  }
  if (request.method == "OPTIONS" && apiPaths().count(request.path)) {
    // CORS preflight of browser apps calling the token, userInfo and revoke endpoints.
    HttpResponse r{204, "text/plain", {}, ""};
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    return reply(std::move(r));
  }
  if (request.bodyTooLarge) return reply(errorPage(413, "The request is too large."));
  pool_.post([this, request = std::move(request), reply = std::move(reply)]() mutable { reply(serve(request)); });
}

HttpResponse HostedUi::serve(const HttpRequest& request) {
  const std::string& path = request.path;
  if (path == "/oauth2/token") return oauth_.token(request);
  if (path == "/oauth2/userInfo" || path == "/oauth2/userinfo") return oauth_.userInfo(request);
  if (path == "/oauth2/revoke") return oauth_.revoke(request);
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (!get && !(request.method == "POST" && pagePaths().count(path))) return errorPage(405, "This page does not take " + request.method + " requests.");
  if (path == "/oauth2/authorize") return authorize(request);
  if (path == "/logout") return logout(request);

  Visit v{request, {}, HostedSessions::handleOf(request), false, std::nullopt};
  if (get) {
    v.params = request.query;
  } else {
    const std::string* type = request.header("content-type");
    std::optional<Params> form = type && type->starts_with("application/x-www-form-urlencoded") ? parseForm(request.body)
                                                                                                 : std::nullopt;
    if (!form) return errorPage(400, "The form could not be read.");
    v.params = std::move(*form);
  }
  if (v.handle.empty()) {
    v.handle = HostedSessions::newHandle();
    v.newHandle = true;
  }
  AuthorizeCheck check = oauth_.checkAuthorize(request, AuthorizeRequest::fromParams(v.params));
  if (auto* e = std::get_if<AuthorizeError>(&check)) {
    if (e->location.empty()) return errorPage(400, e->message);
    return redirect(v, e->location, get ? 302 : 303);
  }
  v.authz = std::move(std::get<CheckedAuthorize>(check));
  if (!get && v.newHandle) return errorPage(403, "Your browser did not send the sign-in cookie. Allow cookies for this site and start again.");
  if (path == "/login") return login(v);
  if (path == "/newPassword") return newPassword(v);
  if (path == "/mfa") return mfa(v);
  if (path == "/signup") return signup(v);
  if (path == "/confirmUser") return confirmUser(v);
  if (path == "/forgotPassword") return forgotPassword(v);
  return confirmForgotPassword(v);
}

// ---- responses

HttpResponse HostedUi::page(Visit& v, int status, Page p) {
  HttpResponse r{status, "text/html; charset=utf-8", {}, renderPage(p)};
  securityHeaders(r);
  if (v.newHandle) r.headers.emplace_back("Set-Cookie", sessions_.cookie(v.handle, -1));
  return r;
}

HttpResponse HostedUi::errorPage(int status, const std::string& message) {
  Page p;
  p.title = "Something went wrong";
  p.error = message;
  HttpResponse r{status, "text/html; charset=utf-8", {}, renderPage(p)};
  securityHeaders(r);
  return r;
}

HttpResponse HostedUi::redirect(Visit& v, const std::string& location, int status) {
  HttpResponse r{status, "text/html; charset=utf-8", {}, ""};
  r.headers.emplace_back("Location", location);
  r.headers.emplace_back("Cache-Control", "no-store");
  if (v.newHandle) r.headers.emplace_back("Set-Cookie", sessions_.cookie(v.handle, -1));
  return r;
}

std::string HostedUi::link(const Visit& v, const std::string& path, const Params& extra) const {
  Params p = v.authz->request.toParams();
  p.insert(p.end(), extra.begin(), extra.end());
  return prefix_ + path + "?" + encodeParams(p);
}

Form HostedUi::form(const Visit& v, const std::string& path, const std::string& name, std::vector<Field> fields,
                    std::string submit, const Params& extra) const {
  Form f;
  f.action = prefix_ + path;
  f.hidden = v.authz->request.toParams();
  f.hidden.emplace_back("csrf", sessions_.csrfToken(v.poolId(), name, v.handle));
  f.hidden.emplace_back("form", name);
  f.hidden.insert(f.hidden.end(), extra.begin(), extra.end());
  f.fields = std::move(fields);
  f.submit = std::move(submit);
  return f;
}

bool HostedUi::csrfOk(const Visit& v, const std::string& name) const {
  const std::string* token = v.param("csrf");
  return token && sessions_.csrfValid(v.poolId(), name, v.handle, *token);
}

std::string HostedUi::friendly(const ApiError& error) {
  if (error.status >= 500) return "Something went wrong on the server. Try again later.";
  if (error.type == "TooManyRequestsException") return "Too many attempts. Wait a moment and try again.";
  return error.message;  // the API's wording, as AWS's hosted UI shows it (escaped when rendered)
}

// ---- /oauth2/authorize

HttpResponse HostedUi::authorize(const HttpRequest& request) {
  Visit v{request, request.query, HostedSessions::handleOf(request), false, std::nullopt};
  AuthorizeCheck check = oauth_.checkAuthorize(request, AuthorizeRequest::fromParams(v.params));
  if (auto* e = std::get_if<AuthorizeError>(&check)) {
    if (e->location.empty()) return errorPage(400, e->message);
    return redirect(v, e->location, 302);
  }
  v.authz = std::move(std::get<CheckedAuthorize>(check));
  Result<std::optional<SignedIn>> who = sessions_.signedIn(v.poolId(), v.handle);
  if (!who.isOk()) return redirect(v, OAuth2::errorLocation(v.authz->request, "server_error", ""), 302);
  if (!*who) return redirect(v, link(v, "/login"), 302);
  return redirect(v, oauth_.complete(*v.authz, **who), 302);
}

// ---- /login

HttpResponse HostedUi::login(Visit& v) {
  const std::string* typed = v.param("username");
  auto render = [&](int status, const std::string& error, const std::string& notice) {
    Page p;
    p.title = "Sign in";
    p.error = error;
    p.notice = notice;
    p.forms.push_back(form(v, "/login", "login",
                           {Field{"username", "Username", "text", typed ? *typed : "", "username"},
                            Field{"password", "Password", "password", "", "current-password"}},
                           "Sign in"));
    p.links = {{link(v, "/forgotPassword"), "Forgot your password?"},
               {link(v, "/signup"), "Need an account? Sign up"}};
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") {
    const std::string* notice = v.param("notice");
    std::string text = !notice                           ? ""
                       : *notice == "confirmed"          ? "Your account is confirmed. Sign in to continue."
                       : *notice == "password_reset"     ? "Your password has been reset. Sign in with the new one."
                       : *notice == "expired"            ? "Your sign-in took too long. Please sign in again."
                                                         : "";
    return render(200, "", text);
  }
  if (!csrfOk(v, "login")) return render(403, "The form expired. Please sign in again.", "");
  const std::string* password = v.param("password");
  if (!typed || typed->empty() || !password || password->empty())
    return render(400, "Enter your username and password.", "");
  ApiResult<Json> result = api_.hostedSignIn(v.clientId(), *typed, *password, v.request);
  if (!result.isOk()) {
    if (result.error().type == "UserNotConfirmedException")
      return redirect(v, link(v, "/confirmUser", {{"username", *typed}}));
    return render(400, friendly(result.error()), "");
  }
  return afterStep(v, *result, *typed);
}

HttpResponse HostedUi::afterStep(Visit& v, const Json& result, const std::string& username) {
  if (result.contains("HostedSignIn")) return finishSignIn(v, result["HostedSignIn"]);
  const std::string challenge = result.value("ChallengeName", "");
  const std::string session = result.value("Session", "");
  if (challenge == "SELECT_MFA_TYPE") {  // TOTP is the only factor here: choose it
    ApiResult<Json> next = api_.hostedRespond(v.clientId(), challenge, session,
                                              {{"USERNAME", username}, {"ANSWER", "SOFTWARE_TOKEN_MFA"}}, v.request);
    if (!next.isOk()) return errorPage(400, friendly(next.error()));
    return afterStep(v, *next, username);
  }
  if (challenge != "NEW_PASSWORD_REQUIRED" && challenge != "SOFTWARE_TOKEN_MFA" && challenge != "MFA_SETUP")
    return errorPage(400, "This sign-in needs a step the hosted UI does not offer (" + challenge + ").");
  Json flow = {{"challenge", challenge}, {"session", session}, {"username", username}};
  if (challenge == "NEW_PASSWORD_REQUIRED") {
    Json required = Json::parse(result["ChallengeParameters"].value("requiredAttributes", "[]"), nullptr, false);
    flow["required"] = required.is_array() ? required : Json::array();
  }
  const int64_t ttlMs = int64_t{v.authz->client.config.authSessionMinutes()} * 60 * 1000;
  if (Status s = sessions_.putFlow(v.poolId(), v.handle, flow, ttlMs); !s.isOk())
    return errorPage(500, "Something went wrong on the server. Try again later.");
  return redirect(v, link(v, challenge == "NEW_PASSWORD_REQUIRED" ? "/newPassword" : "/mfa"));
}

HttpResponse HostedUi::finishSignIn(Visit& v, const Json& signedIn) {
  SignedIn who{signedIn.value("sub", ""), signedIn.value("username", ""), signedIn.value("authTime", int64_t{0})};
  // A new handle for the signed-in browser: a handle planted before the sign-in is worth nothing.
  std::string old = v.handle;
  Status dropped = sessions_.signOut(v.poolId(), old);
  v.handle = HostedSessions::newHandle();
  v.newHandle = false;
  Status s = sessions_.signIn(v.poolId(), v.handle, who);
  if (!s.isOk() || !dropped.isOk()) return errorPage(500, "Something went wrong on the server. Try again later.");
  HttpResponse r = redirect(v, oauth_.complete(*v.authz, who));
  r.headers.emplace_back("Set-Cookie", sessions_.cookie(v.handle, kSessionTtlMs / 1000));
  return r;
}

// ---- /newPassword (NEW_PASSWORD_REQUIRED)

HttpResponse HostedUi::newPassword(Visit& v) {
  Result<std::optional<Json>> flow = sessions_.flow(v.poolId(), v.handle);
  if (!flow.isOk()) return errorPage(500, "Something went wrong on the server. Try again later.");
  if (!*flow || (**flow).value("challenge", "") != "NEW_PASSWORD_REQUIRED")
    return redirect(v, link(v, "/login", {{"notice", "expired"}}));
  const Json& f = **flow;
  std::vector<std::string> required;
  for (const Json& a : f.value("required", Json::array()))
    if (a.is_string() && a.get<std::string>().starts_with("userAttributes.")) required.push_back(a.get<std::string>().substr(15));
  auto render = [&](int status, const std::string& error) {
    std::vector<Field> fields = {Field{"password", "New password", "password", "", "new-password"},
                                 Field{"confirm", "Confirm the new password", "password", "", "new-password"}};
    for (const std::string& a : required) fields.push_back(Field{"attr_" + a, a, "text", "", ""});
    Page p;
    p.title = "Change your password";
    p.error = error;
    p.paragraphs = {"Your password is temporary: choose a new one to continue."};
    p.forms.push_back(form(v, "/newPassword", "newPassword", std::move(fields), "Change password"));
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") return render(200, "");
  if (!csrfOk(v, "newPassword")) return render(403, "The form expired. Please try again.");
  const std::string* password = v.param("password");
  const std::string* confirm = v.param("confirm");
  if (!password || password->empty() || !confirm || *password != *confirm) return render(400, "The passwords do not match.");
  // The challenge's Session is spent by any answer: check the policy first, so that a password
  // the pool refuses can be typed again on this page.
  if (auto e = checkPasswordFormat(*password, "password")) return render(400, friendly(*e));
  if (auto e = checkPasswordPolicy(v.authz->client.pool.config.passwordPolicy(), *password)) return render(400, friendly(*e));
  std::map<std::string, std::string> responses = {{"USERNAME", f.value("username", "")}, {"NEW_PASSWORD", *password}};
  for (const std::string& a : required)
    if (const std::string* value = v.param("attr_" + a)) responses["userAttributes." + a] = *value;
  ApiResult<Json> result = api_.hostedRespond(v.clientId(), "NEW_PASSWORD_REQUIRED", f.value("session", ""), responses, v.request);
  if (!result.isOk()) {
    if (result.error().type == "NotAuthorizedException") {
      (void)sessions_.dropFlow(v.poolId(), v.handle);
      return redirect(v, link(v, "/login", {{"notice", "expired"}}));
    }
    return render(400, friendly(result.error()));
  }
  return afterStep(v, *result, f.value("username", ""));
}

// ---- /mfa (SOFTWARE_TOKEN_MFA and MFA_SETUP)

HttpResponse HostedUi::mfa(Visit& v) {
  Result<std::optional<Json>> flow = sessions_.flow(v.poolId(), v.handle);
  if (!flow.isOk()) return errorPage(500, "Something went wrong on the server. Try again later.");
  const std::string challenge = *flow ? (**flow).value("challenge", "") : "";
  if (challenge != "SOFTWARE_TOKEN_MFA" && challenge != "MFA_SETUP")
    return redirect(v, link(v, "/login", {{"notice", "expired"}}));
  Json f = **flow;
  const std::string username = f.value("username", "");
  const bool setup = challenge == "MFA_SETUP";
  const int64_t ttlMs = int64_t{v.authz->client.config.authSessionMinutes()} * 60 * 1000;
  std::string secret;
  if (setup) {
    // One secret per setup: made on the first visit, kept (sealed) in the flow for reloads.
    if (f.contains("secret")) {
      Result<std::string> opened = ctx_.atRestSealer->openBase64(f.value("secret", ""), kSetupAd);
      if (!opened.isOk()) return errorPage(500, "Something went wrong on the server. Try again later.");
      secret = *opened;
    } else {
      ApiResult<Json> assoc = api_.callForHostedUi("AssociateSoftwareToken", {{"Session", f.value("session", "")}}, v.request);
      if (!assoc.isOk()) {
        (void)sessions_.dropFlow(v.poolId(), v.handle);
        return redirect(v, link(v, "/login", {{"notice", "expired"}}));
      }
      secret = assoc->value("SecretCode", "");
      Result<std::string> sealed = ctx_.atRestSealer->sealToBase64(secret, kSetupAd);
      if (!sealed.isOk()) return errorPage(500, "Something went wrong on the server. Try again later.");
      f["secret"] = *sealed;
      f["session"] = assoc->value("Session", "");
      if (Status s = sessions_.putFlow(v.poolId(), v.handle, f, ttlMs); !s.isOk())
        return errorPage(500, "Something went wrong on the server. Try again later.");
    }
  }
  auto render = [&](int status, const std::string& error) {
    Page p;
    p.error = error;
    std::vector<Field> fields = {Field{"code", "6-digit code from your authenticator app", "text", "", "one-time-code",
                                       "", "numeric"}};
    if (setup) {
      p.title = "Set up your authenticator app";
      std::string label = v.authz->client.pool.row.name + ":" + username;
      std::string uri = "otpauth://totp/" + urlEncode(label) + "?secret=" + secret + "&issuer=" +
                        urlEncode(v.authz->client.pool.row.name);
      p.paragraphs = {"This account needs a second sign-in step. Scan the QR code with an authenticator app, or "
                      "enter the secret key below in it, then type the code the app shows."};
      p.imageSvg = qrCodeSvg(uri);
      p.imageLabel = "QR code of the secret key for your authenticator app";
      p.preformatted = secret;
      fields.push_back(Field{"device", "Device name (optional)", "text", "", "off", "", "", false});
    } else {
      p.title = "Enter your authentication code";
      p.paragraphs = {"Open your authenticator app and type the 6-digit code it shows for this account."};
    }
    p.forms.push_back(form(v, "/mfa", "mfa", std::move(fields), setup ? "Verify and sign in" : "Sign in"));
    return page(v, status, std::move(p));
  };
  if (v.request.method != "POST") return render(200, "");
  if (!csrfOk(v, "mfa")) return render(403, "The form expired. Please try again.");
  const std::string* code = v.param("code");
  if (!code || code->empty()) return render(400, "Enter the code from your authenticator app.");
  ApiResult<Json> result = [&]() -> ApiResult<Json> {
    if (!setup)
      return api_.hostedRespond(v.clientId(), challenge, f.value("session", ""),
                                {{"USERNAME", username}, {"SOFTWARE_TOKEN_MFA_CODE", *code}}, v.request);
    Json verify = {{"Session", f.value("session", "")}, {"UserCode", *code}};
    if (const std::string* device = v.param("device"); device && !device->empty()) verify["FriendlyDeviceName"] = *device;
    API_TRY(Json verified, api_.callForHostedUi("VerifySoftwareToken", verify, v.request));
    return api_.hostedRespond(v.clientId(), challenge, verified.value("Session", ""), {{"USERNAME", username}}, v.request);
  }();
  if (!result.isOk()) {
    const std::string& type = result.error().type;
    if (type == "CodeMismatchException" || type == "EnableSoftwareTokenMFAException")
      return render(400, "That code is not right. Check your authenticator app and try again.");
    (void)sessions_.dropFlow(v.poolId(), v.handle);
    if (type == "NotAuthorizedException") return redirect(v, link(v, "/login", {{"notice", "expired"}}));
    return errorPage(400, friendly(result.error()));
  }
  return afterStep(v, *result, username);
}

// ---- /logout

HttpResponse HostedUi::logout(const HttpRequest& request) {
  Visit v{request, request.query, HostedSessions::handleOf(request), false, std::nullopt};
  const std::string* clientId = v.param("client_id");
  if (!clientId || clientId->empty()) return errorPage(400, "The request has no client_id.");
  ApiResult<IdpApi::Client> client = oauth_.resolveClient(request, *clientId);
  if (!client.isOk()) return errorPage(400, "There is no app client " + *clientId + ".");
  std::string location;
  if (const std::string* uri = v.param("logout_uri"); uri && !uri->empty()) {
    const auto& allowed = client->config.logoutUrls();
    if (std::find(allowed.begin(), allowed.end(), *uri) == allowed.end())
      return errorPage(400, "logout_uri is not one of the app client's sign-out URLs.");
    location = *uri;
  } else if (v.param("redirect_uri") && v.param("response_type")) {
    // Sign out, then sign in again for the same request.
    AuthorizeCheck check = oauth_.checkAuthorize(request, AuthorizeRequest::fromParams(v.params));
    if (auto* e = std::get_if<AuthorizeError>(&check)) {
      if (e->location.empty()) return errorPage(400, e->message);
      location = e->location;
    } else {
      v.authz = std::move(std::get<CheckedAuthorize>(check));
      location = link(v, "/login");
    }
  } else {
    return errorPage(400, "The request needs logout_uri, or redirect_uri and response_type.");
  }
  if (Status s = sessions_.signOut(client->pool.row.id, v.handle); !s.isOk())
    spdlog::warn("hosted UI: sign-out of a session in {} failed: {}", client->pool.row.id, s.message());
  HttpResponse r = redirect(v, location, 302);
  r.headers.emplace_back("Set-Cookie", sessions_.cookie("", 0));
  return r;
}

}  // namespace tether::server::idp
