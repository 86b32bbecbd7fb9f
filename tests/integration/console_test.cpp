// The web console's server side (issue 17, docs/console.md) against the real tetherd, on SQLite
// and PostgreSQL: sign-in (wrong password 401, throttling 429 then success after the window),
// the cookie's flags, expired and signed-out sessions, CSRF (missing, forged, foreign Origin:
// 403 and nothing written, no audit entry), the audit log of changes, pools (create, list, get,
// edit, config pools refusing edits, usage history), the live view moving after Cognito
// requests, the assets' headers and content, the admin listener, `[console] enabled = false`,
// the stored hash being Argon2id, and the `tetherd admin` subcommands.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "http_test_client.h"
#include "pg_test_cluster.h"
#include "storage/pg_store.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"
#include "sync/pool_settings.h"
#include "test_oidc_issuer.h"
#include "tetherd_process.h"

namespace tether::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kConfigPool = "local:00000000-0000-4000-8000-00000000c0f9";
constexpr const char* kPassword = "correct horse battery";

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string sha256Hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// The value of response header `name` (case-insensitive), "" if absent.
std::string header(const HttpReply& r, const std::string& name) {
  std::regex re("\r\n" + name + ":[ \t]*([^\r\n]*)", std::regex::icase);
  std::smatch m;
  return std::regex_search(r.raw, m, re) ? m[1].str() : "";
}

std::string bodyOf(const HttpReply& r) {
  size_t p = r.raw.find("\r\n\r\n");
  return p == std::string::npos ? "" : r.raw.substr(p + 4);
}

enum class Backend { kSqlite, kPostgres };

class ConsoleTest : public ::testing::TestWithParam<Backend> {
 protected:
  bool postgres() const { return GetParam() == Backend::kPostgres; }

  // Starts tetherd with a [console] config (lockout 1 s) and one [[pools]] pool, and an operator
  // `ops` with kPassword (on SQLite the first operator `admin` is made by tetherd itself).
  void startServer(const std::string& consoleToml = "lockout_base_seconds = 1\n",
                   std::vector<std::string> extra = {}) {
    dir_ = makeTempDir("console");
    fs::path config = dir_ / "tetherd.toml";
    std::ofstream(config) << "[console]\n" << consoleToml << "\n[[pools]]\nid = \"" << kConfigPool
                          << "\"\nname = \"from-config\"\nallow_guests = true\n";
    TetherdOptions opts;
    opts.extraArgs = {"--config", config.string()};
    for (auto& e : extra) opts.extraArgs.push_back(e);
    std::string conninfo;
    if (postgres()) {
      PG_TEST_OR_SKIP(pg);
      const std::string schema = "console_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++);
      ASSERT_TRUE(pg->adminExec("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).isOk());
      storeUrl_ = pg->url(schema);
      conninfo = pg->conninfo(schema);
      opts.store = storeUrl_;
      opts.extraArgs.push_back("--issuer");
      opts.extraArgs.push_back("http://tether-console.test");
    }
    server_ = TetherdProcess::start(opts);
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(admin({"create-user", "ops", "--password-file", writePasswordFile(kPassword).string()}), 0) << toolErr_;
    auto s = postgres() ? server::openPgStore(conninfo, server::PgStoreOptions{})
                        : server::openSqliteStore(server_->dataDir() / "tether.db");
    ASSERT_TRUE(s.isOk()) << s.status();
    store_ = std::move(s).value();
  }

  fs::path writePasswordFile(const std::string& password) {
    fs::path f = dir_ / ("pw-" + std::to_string(counter_++));
    std::ofstream(f) << password << "\n";
    return f;
  }
  std::string storeArg() const {
    return postgres() ? "--store=" + storeUrl_ : "--data-dir=" + server_->dataDir().string();
  }
  int admin(std::vector<std::string> args) {
    args.insert(args.begin(), "admin");
    args.push_back(storeArg());
    toolOut_.clear();
    toolErr_.clear();
    return TetherdProcess::runTool(args, &toolOut_, &toolErr_);
  }

  HttpReply api(const std::string& method, const std::string& path, const Json& body = nullptr,
                std::map<std::string, std::string> headers = {}, int port = 0) {
    headers.emplace("Host", "127.0.0.1:" + std::to_string(port ? port : server_->port()));
    if (!cookie_.empty()) headers.emplace("Cookie", "tether_console=" + cookie_);
    if (!body.is_null()) headers.emplace("Content-Type", "application/json");
    return httpRequest(port ? port : server_->port(), method, "/console/api/" + path, headers,
                       body.is_null() ? "" : body.dump());
  }
  HttpReply change(const std::string& method, const std::string& path, const Json& body = nullptr) {
    return api(method, path, body, {{"X-CSRF-Token", csrf_}});
  }
  HttpReply signIn(const std::string& user, const std::string& password, int port = 0) {
    std::string saved = cookie_;
    cookie_.clear();
    HttpReply r = api("POST", "session", Json{{"username", user}, {"password", password}}, {}, port);
    cookie_ = saved;
    if (r.status == 200) {
      std::smatch m;
      std::string setCookie = header(r, "Set-Cookie");
      if (std::regex_search(setCookie, m, std::regex("tether_console=([0-9a-f]+)"))) cookie_ = m[1].str();
      csrf_ = r.body.value("csrfToken", "");
    }
    return r;
  }
  std::vector<server::AuditEntry> audit() {
    auto r = store_->listAudit(0, 100);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : std::vector<server::AuditEntry>{};
  }
  size_t poolCount() {
    auto r = store_->listPools();
    EXPECT_TRUE(r.isOk());
    return r.isOk() ? r->size() : 0;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::string storeUrl_;
  std::unique_ptr<TetherdProcess> server_;
  std::unique_ptr<server::Store> store_;
  std::string cookie_, csrf_, toolOut_, toolErr_;
};

// Sign-in: a wrong password (and an unknown name) 401, the right one 200 with the cookie's flags;
// GET session answers with the same CSRF token; the stored hash is Argon2id.
TEST_P(ConsoleTest, SignInCookieFlagsAndArgon2idHash) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  HttpReply bad = signIn("ops", "wrong password!!");
  EXPECT_EQ(bad.status, 401) << bad.raw;
  EXPECT_EQ(bad.body.value("error", ""), "NotAuthorized");
  EXPECT_TRUE(header(bad, "Set-Cookie").empty());
  HttpReply unknown = signIn("nobody", "wrong password!!");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body.value("message", ""), bad.body.value("message", "")) << "must not tell users apart";

  HttpReply ok = signIn("ops", kPassword);
  ASSERT_EQ(ok.status, 200) << ok.raw;
  std::string setCookie = header(ok, "Set-Cookie");
  EXPECT_NE(setCookie.find("HttpOnly"), std::string::npos) << setCookie;
  EXPECT_NE(setCookie.find("SameSite=Strict"), std::string::npos) << setCookie;
  EXPECT_NE(setCookie.find("Path=/console"), std::string::npos) << setCookie;
  EXPECT_EQ(setCookie.find("Secure"), std::string::npos) << "no Secure on a plain-HTTP listener: " << setCookie;
  EXPECT_EQ(cookie_.size(), 64u) << "32 random bytes, hex";
  EXPECT_EQ(ok.body.value("username", ""), "ops");
  EXPECT_EQ(header(ok, "Cache-Control"), "no-store");

  HttpReply me = api("GET", "session");
  EXPECT_EQ(me.status, 200) << me.raw;
  EXPECT_EQ(me.body.value("csrfToken", ""), csrf_);

  auto op = store_->getOperator("ops");
  ASSERT_TRUE(op.isOk() && op->has_value());
  EXPECT_TRUE((*op)->passwordHash.starts_with("$argon2id$")) << (*op)->passwordHash;
  EXPECT_GT((*op)->lastSignInMs, 0);
  // The store keeps the handle's hash, never the handle.
  EXPECT_TRUE((*store_->getConsoleSession(sha256Hex(cookie_))).has_value());
  EXPECT_FALSE((*store_->getConsoleSession(cookie_)).has_value());
  // A second sign-in gets a new handle.
  std::string first = cookie_;
  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  EXPECT_NE(cookie_, first);
}

// Five failures lock the name out (429 with Retry-After), even for the right password; after the
// window (1 s base in this config) the right password signs in.
TEST_P(ConsoleTest, ThrottlingThenSuccessAfterTheWindow) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(signIn("ops", "wrong password!!").status, 401) << i;
  HttpReply locked = signIn("ops", kPassword);
  EXPECT_EQ(locked.status, 429) << locked.raw;
  EXPECT_EQ(locked.body.value("error", ""), "TooManyRequests");
  EXPECT_EQ(header(locked, "Retry-After"), "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  HttpReply ok = signIn("ops", kPassword);
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

// No cookie, a made-up cookie, an expired session and a signed-out one: 401.
TEST_P(ConsoleTest, ExpiredAndSignedOutSessionsAre401) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(api("GET", "pools").status, 401);
  cookie_ = std::string(64, 'a');
  EXPECT_EQ(api("GET", "pools").status, 401);

  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  ASSERT_EQ(api("GET", "pools").status, 200);
  // Expire it in the store: its absolute expiry passed.
  const std::string hash = sha256Hex(cookie_);
  auto row = store_->getConsoleSession(hash);
  ASSERT_TRUE(row.isOk() && row->has_value());
  server::ConsoleSessionRow expired = **row;
  expired.expiresMs = expired.createdMs + 1;
  ASSERT_TRUE(store_->deleteConsoleSession(hash).isOk());
  ASSERT_TRUE(store_->createConsoleSession(expired).isOk());
  HttpReply r = api("GET", "pools");
  EXPECT_EQ(r.status, 401) << r.raw;
  EXPECT_FALSE((*store_->getConsoleSession(hash)).has_value()) << "an expired session is deleted";

  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  std::string old = cookie_;
  HttpReply out = change("DELETE", "session");
  EXPECT_EQ(out.status, 204) << out.raw;
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  cookie_ = old;
  EXPECT_EQ(api("GET", "session").status, 401);
  EXPECT_FALSE((*store_->getConsoleSession(sha256Hex(old))).has_value());
}

// A change without the CSRF token, with a forged one, or from a foreign Origin: 403, no pool
// created and no audit entry. With the token: created and audited.
TEST_P(ConsoleTest, CsrfRefusalsWriteNothingAndChangesAreAudited) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  const size_t pools = poolCount();
  const size_t entries = audit().size();  // the sign-in's
  Json body = {{"name", "csrf-test"}, {"allowGuests", true}};
  HttpReply missing = api("POST", "pools", body);
  EXPECT_EQ(missing.status, 403) << missing.raw;
  EXPECT_EQ(missing.body.value("error", ""), "CsrfTokenMismatch");
  std::string forgedToken = csrf_;
  forgedToken[0] = forgedToken[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(api("POST", "pools", body, {{"X-CSRF-Token", forgedToken}}).status, 403);
  EXPECT_EQ(api("POST", "pools", body, {{"X-CSRF-Token", ""}}).status, 403);
  EXPECT_EQ(api("POST", "pools", body, {{"X-CSRF-Token", csrf_}, {"Origin", "http://evil.example"}}).status, 403);
  EXPECT_EQ(poolCount(), pools);
  EXPECT_EQ(audit().size(), entries) << "a refused request writes no audit entry";

  HttpReply sameOrigin = api("POST", "pools", body,
                             {{"X-CSRF-Token", csrf_}, {"Origin", "http://127.0.0.1:" + std::to_string(server_->port())}});
  EXPECT_EQ(sameOrigin.status, 201) << sameOrigin.raw;
  EXPECT_EQ(poolCount(), pools + 1);
  auto log = audit();
  ASSERT_EQ(log.size(), entries + 1);
  EXPECT_EQ(log[0].operatorName, "ops");
  EXPECT_EQ(log[0].action, "POST pools");
  EXPECT_EQ(log[0].outcome, "ok");
  EXPECT_EQ(log[0].target, "pool " + sameOrigin.body["pool"].value("id", ""));

  // The audit API shows it, newest first, with paging.
  HttpReply page = api("GET", "audit?limit=1");
  ASSERT_EQ(page.status, 200) << page.raw;
  ASSERT_EQ(page.body["entries"].size(), 1u);
  EXPECT_EQ(page.body["entries"][0].value("action", ""), "POST pools");
  ASSERT_TRUE(page.body["next"].is_number());
  HttpReply rest = api("GET", "audit?before=" + std::to_string(page.body["next"].get<int64_t>()));
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(rest.body["entries"][0].value("action", ""), "POST session");
  EXPECT_EQ(api("GET", "audit?limit=abc").status, 400);
}

// Pools: create, list with usage, get, edit (audited with the outcome), config pools refuse
// edits, bad input 400, unknown pool 404, and the usage history the sampler recorded at start.
TEST_P(ConsoleTest, PoolsCreateListEditUsageHistory) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  HttpReply created = change("POST", "pools", Json{{"name", "app one"}, {"allowGuests", false},
                                                   {"developerProvider", "login.example"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = created.body["pool"].value("id", "");
  EXPECT_EQ(created.body["pool"].value("developerProvider", ""), "login.example");
  EXPECT_FALSE(created.body["pool"].value("fromConfig", true));

  HttpReply list = api("GET", "pools");
  ASSERT_EQ(list.status, 200);
  bool seenNew = false, seenConfig = false;
  for (const Json& p : list.body["pools"]) {
    if (p.value("id", "") == id) seenNew = true;
    if (p.value("id", "") == kConfigPool) {
      seenConfig = true;
      EXPECT_TRUE(p.value("fromConfig", false));
    }
    EXPECT_TRUE(p["usage"].contains("identities"));
  }
  EXPECT_TRUE(seenNew && seenConfig) << list.raw;

  HttpReply edited = change("PUT", "pools/" + id, Json{{"name", "app two"}, {"allowGuests", true}});
  ASSERT_EQ(edited.status, 200) << edited.raw;
  EXPECT_EQ(edited.body["pool"].value("name", ""), "app two");
  auto stored = store_->getPool(id);
  ASSERT_TRUE(stored.isOk() && stored->has_value());
  EXPECT_EQ((*stored)->name, "app two");
  EXPECT_TRUE((*stored)->allowGuests);
  EXPECT_EQ(audit()[0].detail, "name \"app one\" -> \"app two\"; guests on");

  HttpReply devChange = change("PUT", "pools/" + id, Json{{"developerProvider", "other"}});
  EXPECT_EQ(devChange.status, 400) << devChange.raw;
  EXPECT_EQ(audit()[0].outcome, "InvalidParameter") << "a change that passed auth and CSRF is audited with its outcome";
  HttpReply configEdit = change("PUT", "pools/" + kConfigPool, Json{{"allowGuests", false}});
  EXPECT_EQ(configEdit.status, 400) << configEdit.raw;
  EXPECT_TRUE((*store_->getPool(kConfigPool))->allowGuests);
  EXPECT_EQ(change("POST", "pools", Json{{"name", "<script>"}}).status, 400);
  EXPECT_EQ(change("POST", "pools", Json{{"name", 5}}).status, 400);
  EXPECT_EQ(httpRequest(server_->port(), "POST", "/console/api/pools",
                        {{"Cookie", "tether_console=" + cookie_}, {"X-CSRF-Token", csrf_}}, "{nope").status,
            400);
  EXPECT_EQ(api("GET", "pools/local:00000000-0000-4000-8000-000000000000").status, 404);
  EXPECT_EQ(api("GET", "pools/not-a-pool-id").status, 400);

  // The sampler recorded every pool once at start: the config pool has a point.
  HttpReply history = api("GET", "pools/" + kConfigPool + "/usage-history");
  ASSERT_EQ(history.status, 200) << history.raw;
  ASSERT_GE(history.body["points"].size(), 1u) << history.raw;
  EXPECT_TRUE(history.body["points"][0].contains("identities"));
}

// A pool's login providers, sync trigger and streams/push settings: edited as a whole list /
// document, written to the same rows and meta documents as the CLI and Cognito's Set* calls
// (so GetCognitoEvents sees the trigger), and a bad member refuses the whole edit unwritten.
TEST_P(ConsoleTest, PoolSettingsLoginProvidersEventsStreams) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  HttpReply created = change("POST", "pools", Json{{"name", "settings"}, {"allowGuests", true}});
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = created.body["pool"].value("id", "");
  EXPECT_EQ(created.body["pool"]["oidcProviders"], Json::array());
  EXPECT_EQ(created.body["pool"].value("syncTrigger", "?"), "");

  TestOidcIssuer issuer("https://login.example.test");
  const Json provider = {{"name", "login.example.test"}, {"issuer", issuer.issuer()},
                         {"audiences", {"app-1"}}, {"jwks", Json::parse(issuer.jwksJson())}};
  const Json streams = {{"StreamName", "changes"}, {"StreamingStatus", "ENABLED"}};
  HttpReply edited = change("PUT", "pools/" + id, Json{{"oidcProviders", {provider}},
                                                       {"syncTrigger", "arn:aws:lambda:us-east-1:1:function:check"},
                                                       {"cognitoStreams", streams}});
  ASSERT_EQ(edited.status, 200) << edited.raw;
  auto rows = store_->listOidcProviders(id);
  ASSERT_TRUE(rows.isOk());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].issuer, issuer.issuer());
  EXPECT_EQ((*rows)[0].audiences, std::vector<std::string>{"app-1"});
  EXPECT_EQ(edited.body["pool"].value("syncTrigger", ""), "arn:aws:lambda:us-east-1:1:function:check");
  EXPECT_EQ(edited.body["pool"]["cognitoStreams"], streams);
  auto eventsAny = store_->getMeta(server::cognitoEventsMetaKey(id));
  ASSERT_TRUE(eventsAny.isOk() && eventsAny->has_value());
  EXPECT_EQ(Json::parse(**eventsAny)["SyncTrigger"], "arn:aws:lambda:us-east-1:1:function:check");
  EXPECT_NE(audit()[0].detail.find("login provider login.example.test added"), std::string::npos) << audit()[0].detail;

  // A bad member (an audience list that is empty) refuses everything: the name, the trigger
  // and the provider list stay as they were.
  Json bad = provider;
  bad["audiences"] = Json::array();
  HttpReply refused = change("PUT", "pools/" + id, Json{{"name", "renamed"}, {"syncTrigger", ""},
                                                        {"oidcProviders", {bad}}});
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_EQ((*store_->getPool(id))->name, "settings");
  EXPECT_EQ(Json::parse(**store_->getMeta(server::cognitoEventsMetaKey(id)))["SyncTrigger"],
            "arn:aws:lambda:us-east-1:1:function:check");
  EXPECT_EQ(store_->listOidcProviders(id)->size(), 1u);
  EXPECT_EQ(change("PUT", "pools/" + id, Json{{"cognitoStreams", {{"StreamingStatus", "MAYBE"}}}}).status, 400);
  Json badJwks = provider;
  badJwks["jwks"] = "not a jwks";
  EXPECT_EQ(change("PUT", "pools/" + id, Json{{"oidcProviders", {badJwks}}}).status, 400);

  // The whole list: an empty one removes the provider; {} and "" remove streams and trigger.
  HttpReply cleared = change("PUT", "pools/" + id, Json{{"oidcProviders", Json::array()}, {"syncTrigger", ""},
                                                        {"cognitoStreams", Json::object()}});
  ASSERT_EQ(cleared.status, 200) << cleared.raw;
  EXPECT_TRUE(store_->listOidcProviders(id)->empty());
  EXPECT_EQ(cleared.body["pool"].value("syncTrigger", "?"), "");
  EXPECT_EQ(cleared.body["pool"]["cognitoStreams"], Json::object());
}

// The live view's request counts move after Cognito requests; connections are reported.
TEST_P(ConsoleTest, LiveCountsMoveAfterCognitoRequests) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  auto getIdCount = [&]() -> int64_t {
    HttpReply live = api("GET", "live");
    EXPECT_EQ(live.status, 200) << live.raw;
    EXPECT_TRUE(live.body["connections"].contains("ws"));
    for (const Json& r : live.body["requests"])
      if (r.value("operation", "") == "GetId") return r.value("count", int64_t{0});
    return 0;
  };
  const int64_t before = getIdCount();
  for (int i = 0; i < 3; ++i) {
    HttpReply r = httpRequest(server_->port(), "POST", "/",
                              {{"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                              Json{{"IdentityPoolId", kConfigPool}}.dump());
    EXPECT_EQ(r.status, 200) << r.raw;
  }
  EXPECT_EQ(getIdCount(), before + 3);
}

// Assets: index at /console and /console/, the CSP and friends on every one, no URL to another
// host in any asset, unknown assets 404.
TEST_P(ConsoleTest, AssetsServedWithCspAndNoForeignUrls) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  for (const char* path : {"/console", "/console/", "/console/assets/console.js", "/console/assets/console.css"}) {
    HttpReply r = httpRequest(server_->port(), "GET", path);
    ASSERT_EQ(r.status, 200) << path << r.raw;
    EXPECT_EQ(header(r, "Content-Security-Policy"),
              "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        << path;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
    std::string body = bodyOf(r);
    EXPECT_FALSE(body.empty()) << path;
    EXPECT_EQ(body.find("http://"), std::string::npos) << path;
    EXPECT_EQ(body.find("https://"), std::string::npos) << path;
  }
  EXPECT_NE(header(httpRequest(server_->port(), "GET", "/console"), "Content-Type").find("text/html"),
            std::string::npos);
  EXPECT_EQ(httpRequest(server_->port(), "GET", "/console/assets/nope.js").status, 404);
  EXPECT_EQ(httpRequest(server_->port(), "GET", "/console/assets/").status, 404);
  EXPECT_EQ(httpRequest(server_->port(), "GET", "/console/nothing-here").status, 404);
  EXPECT_EQ(httpRequest(server_->port(), "GET", "/healthz").status, 200) << "other paths still served";
}

// --admin-listen: the console there (and /healthz), 404 for it on the public port, and nothing
// but the console on the admin port.
TEST_P(ConsoleTest, AdminListenerSeparation) {
  const int adminPort = freePort();
  startServer("lockout_base_seconds = 1\n", {"--admin-listen", "127.0.0.1:" + std::to_string(adminPort)});
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(httpRequest(server_->port(), "GET", "/console").status, 404);
  EXPECT_EQ(httpRequest(server_->port(), "POST", "/console/api/session", {{"Content-Type", "application/json"}},
                        Json{{"username", "ops"}, {"password", kPassword}}.dump()).status,
            404);
  EXPECT_EQ(httpRequest(adminPort, "GET", "/console").status, 200);
  EXPECT_EQ(httpRequest(adminPort, "GET", "/healthz").status, 200);
  EXPECT_EQ(httpRequest(adminPort, "GET", "/metrics").status, 404);
  EXPECT_EQ(httpRequest(adminPort, "POST", "/", {{"X-Amz-Target", "AWSCognitoIdentityService.GetId"}}, "{}").status,
            404);
  ASSERT_EQ(signIn("ops", kPassword, adminPort).status, 200);
  EXPECT_EQ(api("GET", "pools", nullptr, {}, adminPort).status, 200);
}

// [console] enabled = false: no console anywhere.
TEST_P(ConsoleTest, DisabledConsoleAnswers404) {
  startServer("enabled = false\n");
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(httpRequest(server_->port(), "GET", "/console").status, 404);
  EXPECT_EQ(signIn("ops", kPassword).status, 404);
}

// tetherd admin: short passwords refused, duplicates refused, list, set-password (old password
// stops working, sessions end), delete (sessions end, deleting again fails).
TEST_P(ConsoleTest, AdminSubcommands) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(admin({"create-user", "shorty", "--password-file", writePasswordFile("short").string()}), 2);
  EXPECT_NE(toolErr_.find("at least 12"), std::string::npos) << toolErr_;
  EXPECT_EQ(admin({"create-user", "ops", "--password-file", writePasswordFile("another long one").string()}), 2);
  EXPECT_EQ(admin({"create-user", "bad name!", "--password-file", writePasswordFile(kPassword).string()}), 2);
  ASSERT_EQ(admin({"list-users"}), 0);
  EXPECT_NE(toolOut_.find("ops\t"), std::string::npos) << toolOut_;
  EXPECT_FALSE((*store_->getOperator("shorty")).has_value());

  ASSERT_EQ(signIn("ops", kPassword).status, 200);
  ASSERT_EQ(admin({"set-password", "ops", "--password-file", writePasswordFile("a brand new password").string()}), 0)
      << toolErr_;
  EXPECT_EQ(api("GET", "session").status, 401) << "a password change ends the sessions";
  EXPECT_EQ(signIn("ops", kPassword).status, 401);
  ASSERT_EQ(signIn("ops", "a brand new password").status, 200);
  ASSERT_EQ(admin({"delete-user", "ops"}), 0);
  EXPECT_EQ(api("GET", "session").status, 401);
  EXPECT_EQ(admin({"delete-user", "ops"}), 2);
  EXPECT_EQ(admin({"set-password", "ops", "--password-file", writePasswordFile(kPassword).string()}), 2);
}

// SQLite: the first start made `admin` with its password in a 0600 file next to the data.
TEST_P(ConsoleTest, FirstOperatorOnSqlite) {
  startServer();
  if (IsSkipped() || HasFatalFailure()) return;
  fs::path file = server_->dataDir() / "console-admin-password";
  if (postgres()) {
    EXPECT_FALSE(fs::exists(file));
    EXPECT_FALSE((*store_->getOperator("admin")).has_value()) << "no first operator on a shared store";
    return;
  }
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  std::string password;
  std::getline(std::ifstream(file), password);
  EXPECT_GE(password.size(), 12u);
  EXPECT_EQ(signIn("admin", password).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsoleTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& i) {
                           return i.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace tether::testing
