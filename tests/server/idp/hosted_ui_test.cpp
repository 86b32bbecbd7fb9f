// The hosted UI and OAuth2 endpoints in process (HostedUi::serve), on both store backends, with a
// clock the test moves: what the end-to-end suites (tests/compat/hosted_ui_*_test.mjs) cannot wait
// for (the 5-minute authorization code, the 1-hour session cookie) and what they do not reach
// cheaply (NEW_PASSWORD_REQUIRED and the lockout through the pages, the stored domain and resource
// servers on PostgreSQL). Also the escaping and form codecs of hosted_ui_html.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>

#include "auth/base64url.h"
#include "auth/secret_store.h"
#include "cognito/request_auth.h"
#include "cognito/temporary_credentials.h"
#include "idp/code_delivery.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/crypto_util.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/sealer.h"
#include "idp/hosted_ui.h"
#include "idp/idp_api.h"
#include "store_backend.h"

namespace tether::server::idp {
namespace {

using cognito::Json;
using ::tether::testing::StoreBackendFixture;

class FakeClock final : public Clock {
 public:
  int64_t nowMs() const override { return now_.load(); }
  void advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_{1'800'000'000'000};
};

constexpr const char* kPassword = "Passw0rd!";
constexpr const char* kCallback = "https://app.example/cb";

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

class HostedUiTest : public StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (::testing::Test::IsSkipped() || HasFatalFailure()) return;
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
    secrets_ = std::make_unique<auth::DatabaseSecretStore>(*store_);
    auto creds = cognito::TemporaryCredentials::open(*secrets_);
    ASSERT_TRUE(creds.isOk()) << creds.status();
    credentials_ = std::move(creds).value();
    authenticator_ = std::make_unique<cognito::RequestAuthenticator>(*credentials_, std::map<std::string, std::string>{},
                                                                     clock_, store_.get());
    keys_ = std::make_unique<IdpKeyring>(*secrets_, *secrets_);
    auto tokenSealer = keys_->tokenSealer();
    auto atRest = keys_->atRestSealer();
    auto hasher = keys_->codeHasher();
    ASSERT_TRUE(tokenSealer.isOk() && atRest.isOk() && hasher.isOk());
    delivery_ = std::make_unique<CodeDelivery>(nullptr, "", true);
    IdpSettings settings;
    settings.issuerBase = "https://idp.test";
    ctx_ = std::make_unique<IdpContext>(IdpContext{*store_, *keys_, *tokenSealer, *atRest, *hasher, *authenticator_,
                                                   clock_, *delivery_, settings});
    api_ = std::make_unique<IdpApi>(*ctx_);
    ui_ = std::make_unique<HostedUi>(*ctx_, *api_, workers_, nullptr);
    poolId_ = admin("CreateUserPool", {{"PoolName", "p"}})["UserPool"]["Id"];
    clientId_ = admin("CreateUserPoolClient", {{"UserPoolId", poolId_},
                                               {"ClientName", "web"},
                                               {"AllowedOAuthFlowsUserPoolClient", true},
                                               {"AllowedOAuthFlows", {"code"}},
                                               {"AllowedOAuthScopes", {"openid", "email"}},
                                               {"CallbackURLs", {kCallback}}})["UserPoolClient"]["ClientId"];
  }

  Json admin(const std::string& op, const Json& in) {
    cognito::ApiResult<Json> r = api_->callAsAdministrator(op, in);
    EXPECT_TRUE(r.isOk()) << op << ": " << (r.isOk() ? "" : r.error().type + " " + r.error().message);
    return r.isOk() ? *r : Json();
  }
  void makeUser(const std::string& name, bool permanent = true) {
    admin("AdminCreateUser", {{"UserPoolId", poolId_}, {"Username", name}, {"MessageAction", "SUPPRESS"},
                              {"TemporaryPassword", kPassword}});
    if (permanent)
      admin("AdminSetUserPassword", {{"UserPoolId", poolId_}, {"Username", name}, {"Password", kPassword}, {"Permanent", true}});
  }

  Params authorizeParams() const {
    return {{"response_type", "code"}, {"client_id", clientId_}, {"redirect_uri", kCallback}, {"scope", "openid"},
            {"code_challenge", auth::base64UrlEncode(detail::sha256(verifier_))}, {"code_challenge_method", "S256"}};
  }
  HttpResponse get(const std::string& path, const Params& query) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.query = query;
    r.peer = "127.0.0.1";
    if (!cookie_.empty()) r.headers["cookie"] = "cognito=" + cookie_;
    return keepCookie(ui_->serve(r));
  }
  HttpResponse post(const std::string& path, const Params& form) {
    HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.body = encodeParams(form);
    r.headers["content-type"] = "application/x-www-form-urlencoded";
    r.peer = "127.0.0.1";
    if (!cookie_.empty()) r.headers["cookie"] = "cognito=" + cookie_;
    return keepCookie(ui_->serve(r));
  }
  HttpResponse keepCookie(HttpResponse r) {
    for (const auto& [k, v] : r.headers)
      if (k == "Set-Cookie") cookie_ = v.substr(8, v.find(';') - 8);
    return r;
  }
  // Submits the page's form `name` (its hidden fields plus `values`).
  HttpResponse submit(const std::string& path, const std::string& html, const std::string& form, Params values) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(html, m, std::regex("name=\"csrf\" value=\"([^\"]+)\">\\s*<input type=\"hidden\" name=\"form\" value=\"" + form + "\"")))
        << html;
    Params p = authorizeParams();
    p.emplace_back("csrf", m.size() > 1 ? m[1].str() : "");
    p.emplace_back("form", form);
    p.insert(p.end(), values.begin(), values.end());
    return post(path, p);
  }
  // Signs in through /login; returns the response to the POST.
  HttpResponse signIn(const std::string& name, const std::string& password = kPassword) {
    HttpResponse page = get("/login", authorizeParams());
    EXPECT_EQ(page.status, 200);
    return submit("/login", page.body, "login", {{"username", name}, {"password", password}});
  }
  static std::string codeOf(const std::string& location) {
    size_t at = location.find("code=");
    return at == std::string::npos ? "" : location.substr(at + 5, location.find('&', at) - at - 5);
  }
  HttpResponse token(const Params& form) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/oauth2/token";
    r.body = encodeParams(form);
    r.headers["content-type"] = "application/x-www-form-urlencoded";
    return ui_->serve(r);
  }
  std::string exchange(const std::string& code) {
    HttpResponse r = token({{"grant_type", "authorization_code"}, {"client_id", clientId_}, {"code", code},
                            {"redirect_uri", kCallback}, {"code_verifier", verifier_}});
    Json body = Json::parse(r.body, nullptr, false);
    return r.status == 200 ? "ok" : body.value("error", "?");
  }

  FakeClock clock_;
  WorkPool workers_{1};
  std::unique_ptr<Store> store_;
  std::unique_ptr<auth::DatabaseSecretStore> secrets_;
  std::unique_ptr<cognito::TemporaryCredentials> credentials_;
  std::unique_ptr<cognito::RequestAuthenticator> authenticator_;
  std::unique_ptr<IdpKeyring> keys_;
  std::unique_ptr<CodeDelivery> delivery_;
  std::unique_ptr<IdpContext> ctx_;
  std::unique_ptr<IdpApi> api_;
  std::unique_ptr<HostedUi> ui_;
  std::string poolId_, clientId_, cookie_;
  const std::string verifier_ = std::string(48, 'v');
};

TEST_P(HostedUiTest, CodesLiveFiveMinutesAndOnceSessionsOneHour) {
  makeUser("alice");
  HttpResponse r = signIn("alice");
  ASSERT_EQ(r.status, 303) << r.body;
  EXPECT_NE(header(r, "Set-Cookie").find("; Max-Age=3600; Secure"), std::string::npos) << header(r, "Set-Cookie");
  // A code exchanged in time works once.
  EXPECT_EQ(exchange(codeOf(header(r, "Location"))), "ok");
  EXPECT_EQ(exchange(codeOf(header(r, "Location"))), "invalid_grant");
  // The session answers authorize without a password; a code unused for 5 minutes is void.
  r = get("/oauth2/authorize", authorizeParams());
  ASSERT_EQ(r.status, 302);
  ASSERT_EQ(header(r, "Location").rfind(std::string(kCallback) + "?code=", 0), 0u) << header(r, "Location");
  clock_.advance(5 * 60 * 1000);
  EXPECT_EQ(exchange(codeOf(header(r, "Location"))), "invalid_grant");
  // The session ends an hour after the sign-in.
  clock_.advance(55 * 60 * 1000 - 1);
  EXPECT_EQ(header(get("/oauth2/authorize", authorizeParams()), "Location").rfind(kCallback, 0), 0u);
  clock_.advance(1);
  EXPECT_EQ(header(get("/oauth2/authorize", authorizeParams()), "Location").rfind("/login?", 0), 0u);
}

TEST_P(HostedUiTest, PkceAndRedirectUriAreBoundToTheCode) {
  makeUser("bob");
  std::string code = codeOf(header(signIn("bob"), "Location"));
  HttpResponse r = token({{"grant_type", "authorization_code"}, {"client_id", clientId_}, {"code", code},
                          {"redirect_uri", kCallback}, {"code_verifier", std::string(48, 'w')}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"], "invalid_grant");
  // Authorize again (signed in): a code for the right verifier but another redirect_uri.
  code = codeOf(header(get("/oauth2/authorize", authorizeParams()), "Location"));
  r = token({{"grant_type", "authorization_code"}, {"client_id", clientId_}, {"code", code},
             {"redirect_uri", "https://app.example/other"}, {"code_verifier", verifier_}});
  EXPECT_EQ(Json::parse(r.body)["error"], "invalid_grant");
}

TEST_P(HostedUiTest, PagesRunTheApiChecks) {
  // NEW_PASSWORD_REQUIRED through /newPassword, then back to the app.
  makeUser("carol", false);
  HttpResponse r = signIn("carol");
  ASSERT_EQ(r.status, 303);
  ASSERT_EQ(header(r, "Location").rfind("/newPassword?", 0), 0u) << header(r, "Location");
  HttpResponse page = get("/newPassword", authorizeParams());
  ASSERT_EQ(page.status, 200);
  r = submit("/newPassword", page.body, "newPassword", {{"password", "weak"}, {"confirm", "weak"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Password did not conform with policy"), std::string::npos);
  r = submit("/newPassword", r.body, "newPassword", {{"password", "N3w-Passw0rd"}, {"confirm", "N3w-Passw0rd"}});
  ASSERT_EQ(r.status, 303) << r.body;
  ASSERT_EQ(header(r, "Location").rfind(std::string(kCallback) + "?code=", 0), 0u) << header(r, "Location");
  EXPECT_EQ(exchange(codeOf(header(r, "Location"))), "ok");

  // Lockout and disabled users, as the API words them.
  cookie_.clear();
  makeUser("dave");
  for (int i = 0; i < 5; ++i) EXPECT_NE(signIn("dave", "Wrong0ne!").body.find("Incorrect username or password."), std::string::npos);
  EXPECT_NE(signIn("dave").body.find("Password attempts exceeded"), std::string::npos);
  admin("AdminDisableUser", {{"UserPoolId", poolId_}, {"Username", "dave"}});
  clock_.advance(60 * 1000);
  EXPECT_NE(signIn("dave").body.find("User is disabled."), std::string::npos);
  // Unconfirmed users are sent to the confirmation page.
  ASSERT_TRUE(api_->callForHostedUi("SignUp", {{"ClientId", clientId_}, {"Username", "erin"}, {"Password", kPassword}},
                                    HttpRequest{}).isOk());
  r = signIn("erin");
  EXPECT_EQ(header(r, "Location").rfind("/confirmUser?", 0), 0u) << header(r, "Location");
}

TEST_P(HostedUiTest, DomainsAndResourceServersAreStored) {
  admin("CreateUserPoolDomain", {{"UserPoolId", poolId_}, {"Domain", "my-app"}});
  auto found = store_->findUserPoolByDomain("my-app");
  ASSERT_TRUE(found.isOk() && *found);
  EXPECT_EQ((*found)->id, poolId_);
  admin("CreateResourceServer", {{"UserPoolId", poolId_}, {"Identifier", "api"}, {"Name", "api"},
                                 {"Scopes", {{{"ScopeName", "read"}, {"ScopeDescription", "r"}}}}});
  admin("UpdateUserPool", {{"UserPoolId", poolId_}});  // resets the settings, not the resource servers
  EXPECT_EQ(admin("DescribeResourceServer", {{"UserPoolId", poolId_}, {"Identifier", "api"}})["ResourceServer"]["Scopes"][0]["ScopeName"], "read");
  EXPECT_FALSE(admin("DescribeUserPool", {{"UserPoolId", poolId_}})["UserPool"].contains(UserPoolConfig::kResourceServersKey));
  auto bad = api_->callAsAdministrator("UpdateUserPoolClient", {{"UserPoolId", poolId_}, {"ClientId", clientId_},
                                                                {"AllowedOAuthScopes", {"api/write"}}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.error().type, "ScopeDoesNotExistException");
  // A pool's Host: another pool's client is not found through it.
  std::string other = admin("CreateUserPool", {{"PoolName", "q"}})["UserPool"]["Id"];
  admin("CreateUserPoolDomain", {{"UserPoolId", other}, {"Domain", "other-app"}});
  HttpRequest r;
  r.method = "GET";
  r.path = "/oauth2/authorize";
  r.query = authorizeParams();
  r.headers["host"] = "other-app.auth.example.com";
  EXPECT_EQ(ui_->serve(r).status, 400);
  r.headers["host"] = "my-app.auth.example.com:8443";
  EXPECT_EQ(ui_->serve(r).status, 302);
  admin("DeleteUserPoolDomain", {{"UserPoolId", poolId_}, {"Domain", "my-app"}});
  found = store_->findUserPoolByDomain("my-app");
  EXPECT_TRUE(found.isOk() && !*found);
}

TETHER_INSTANTIATE_BACKENDS(HostedUiTest);

TEST(HostedUiHtml, EscapesAndDecodes) {
  EXPECT_EQ(htmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(urlEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  auto form = parseForm("a=1+2&b=%3Cx%3E&c&=v&d=%zz");
  EXPECT_FALSE(form);  // %zz is malformed
  form = parseForm("a=1+2&b=%3Cx%3E&c&&d=");
  ASSERT_TRUE(form);
  EXPECT_EQ(*form, (Params{{"a", "1 2"}, {"b", "<x>"}, {"c", ""}, {"d", ""}}));
  EXPECT_FALSE(parseForm("a=%4"));
  auto cookies = parseCookies("x=1; cognito=abc ;y=2");
  EXPECT_EQ(cookies["cognito"], "abc");
  Page p;
  p.title = "<script>";
  p.error = "\"bad\"";
  p.forms.push_back(Form{"/login?a=1&b=<2>", {{"state", "\"><script>"}}, {Field{"u", "User <name>"}}, "Go"});
  std::string html = renderPage(p);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(html.find("action=\"/login?a=1&amp;b=&lt;2&gt;\""), std::string::npos);
  EXPECT_NE(html.find("<label for=\"f0-u\">User &lt;name&gt;</label>"), std::string::npos);
  EXPECT_NE(html.find("role=\"alert\">&quot;bad&quot;<"), std::string::npos);
}

}  // namespace
}  // namespace tether::server::idp
