// Tests for auth/config.h.
#include "auth/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

using testing::TempDir;

Result<ServerConfig> parse(std::string_view text) { return parseConfig(text, "test.toml", "/etc/tether"); }

void expectError(std::string_view text, std::string_view needle, const std::string& why) {
  auto c = parse(text);
  ASSERT_FALSE(c.isOk()) << why;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << why;
  EXPECT_NE(c.status().message().find(needle), std::string::npos)
      << why << ": message was: " << c.status().message();
}

constexpr const char* kFull = R"(
[server]
listen = "0.0.0.0:9443"
data_dir = "data"
issuer = "https://sync.example.com"
tls_cert = "/etc/tls/cert.pem"
tls_key = "tls/key.pem"
log_level = "debug"

[[pools]]
id = "local:6f1c2a0e-1111-4222-8333-444455556666"
name = "My app"
allow_guests = true

[[pools]]
id = "eu-west-1:00000000-0000-4000-8000-000000000001"
name = "Other app"
)";

TEST(ConfigTest, FullExample) {
  auto c = parse(kFull);
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->listen.host, "0.0.0.0");
  EXPECT_EQ(c->listen.port, 9443);
  EXPECT_EQ(c->dataDir, "/etc/tether/data") << "relative to the file's directory";
  EXPECT_EQ(c->issuer, "https://sync.example.com");
  EXPECT_EQ(c->tlsCert, std::filesystem::path("/etc/tls/cert.pem"));
  EXPECT_EQ(c->tlsKey, std::filesystem::path("/etc/tether/tls/key.pem"));
  EXPECT_TRUE(c->tlsEnabled());
  EXPECT_EQ(c->logLevel, LogLevel::kDebug);
  ASSERT_EQ(c->pools.size(), 2u);
  EXPECT_EQ(c->pools[0], (PoolConfig{"local:6f1c2a0e-1111-4222-8333-444455556666", "My app", true, "", {}}));
  EXPECT_EQ(c->pools[1], (PoolConfig{"eu-west-1:00000000-0000-4000-8000-000000000001", "Other app", false, "", {}}));
  EXPECT_EQ(c->effectiveIssuer(9443), "https://sync.example.com");
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  auto c = parse("");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->listen, (ListenAddress{"127.0.0.1", 8080}));
  EXPECT_EQ(c->dataDir, "./tether-data");
  EXPECT_FALSE(c->issuer.has_value());
  EXPECT_FALSE(c->tlsEnabled());
  EXPECT_EQ(c->logLevel, LogLevel::kInfo);
  EXPECT_TRUE(c->pools.empty());
  EXPECT_EQ(c->effectiveIssuer(8080), "http://127.0.0.1:8080");
  EXPECT_EQ(c->effectiveIssuer(41234), "http://127.0.0.1:41234") << "port 0 resolved by caller";
}

TEST(ConfigTest, StoreUrlInsteadOfDataDir) {
  auto pg = parse("[server]\nstore = \"postgresql://tether@db:5432/tether?pool_size=4\"\n");
  ASSERT_TRUE(pg.isOk()) << pg.status();
  EXPECT_EQ(pg->storeUrl(), "postgresql://tether@db:5432/tether?pool_size=4");
  auto sqlite = parse("[server]\nstore = \"sqlite:data\"\n");
  ASSERT_TRUE(sqlite.isOk()) << sqlite.status();
  EXPECT_EQ(sqlite->storeUrl(), "sqlite:/etc/tether/data") << "relative to the file's directory";
  EXPECT_EQ(parse("")->storeUrl(), "sqlite:./tether-data") << "the default";
  expectError("[server]\ndata_dir = \"d\"\nstore = \"sqlite:d\"\n", "give one of them", "both");
  expectError("[server]\nstore = \"\"\n", "must not be empty", "empty store");
}

TEST(ConfigTest, LimitsHaveDefaultsAndAreChecked) {
  auto d = parse("");
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->limits, LimitsConfig{});
  EXPECT_TRUE(d->limits.rate(RateKind::kIdentityCreation).perAddress.enabled());
  auto c = parse(R"([limits]
max_connections_per_address = 0
request_head_timeout_seconds = 3
max_header_bytes = 4096
max_header_count = 10
max_url_bytes = 1024
[limits.writes]
per_address_per_second = 2.5
per_address_burst = 10
per_pool_per_second = 0
[limits.sign_in]
per_pool_per_second = 7
per_pool_burst = 70
)");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->limits.maxConnectionsPerAddress, 0);
  EXPECT_EQ(c->limits.requestHeadTimeoutSeconds, 3);
  EXPECT_EQ(c->limits.maxHeaderBytes, 4096u);
  EXPECT_EQ(c->limits.maxHeaderCount, 10u);
  EXPECT_EQ(c->limits.maxUrlBytes, 1024u);
  EXPECT_EQ(c->limits.rate(RateKind::kWrites).perAddress, (TokenBucketSpec{2.5, 10}));
  EXPECT_FALSE(c->limits.rate(RateKind::kWrites).perPool.enabled());
  EXPECT_EQ(c->limits.rate(RateKind::kSignIn).perPool, (TokenBucketSpec{7, 70}));
  EXPECT_EQ(c->limits.rate(RateKind::kSignIn).perAddress, LimitsConfig{}.rate(RateKind::kSignIn).perAddress);
  for (const char* bad : {"[limits]\nmax_header_count = 65\n", "[limits]\nmax_header_bytes = 100\n",
                          "[limits]\nrequest_head_timeout_seconds = 0\n", "[limits]\nmax_url_bytes = 20000\n",
                          "[limits]\nmax_connections_per_address = -1\n", "[limits]\nmax_conections = 1\n",
                          "[limits.writes]\nper_address_per_second = -1\n",
                          "[limits.writes]\nper_address_per_second = 1\nper_address_burst = 0\n",
                          "[limits.writes]\nper_adress_burst = 1\n", "[limits.reads]\n",
                          "[limits]\nwrites = 3\n"}) {
    auto r = parse(bad);
    EXPECT_FALSE(r.isOk()) << bad;
  }
}

TEST(ConfigTest, DerivedIssuerUsesSchemeAndBrackets) {
  auto c = parse("[server]\nlisten = \"[::1]:0\"\ntls_cert = \"c\"\ntls_key = \"k\"\n");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->listen, (ListenAddress{"::1", 0}));
  EXPECT_EQ(c->effectiveIssuer(5555), "https://[::1]:5555");
}

// [console] (issue 17): defaults, every key, and refusals naming the key.
TEST(ConfigTest, ConsoleTable) {
  auto d = parse("");
  ASSERT_TRUE(d.isOk()) << d.status();
  EXPECT_EQ(d->console, ConsoleConfig{});
  EXPECT_TRUE(d->console.enabled);
  EXPECT_EQ(d->console.usageSampleMinutes, 15);
  auto c = parse("[console]\nenabled = false\nadmin_listen = \"127.0.0.1:8081\"\nusage_sample_minutes = 5\n"
                 "idle_timeout_minutes = 10\nsession_hours = 2\nlockout_base_seconds = 3\n");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_FALSE(c->console.enabled);
  EXPECT_EQ(c->console.adminListen, "127.0.0.1:8081");
  EXPECT_EQ(c->console.usageSampleMinutes, 5);
  EXPECT_EQ(c->console.idleTimeoutMinutes, 10);
  EXPECT_EQ(c->console.sessionHours, 2);
  EXPECT_EQ(c->console.lockoutBaseSeconds, 3);
  for (const char* bad : {"[console]\nenable = true\n", "[console]\nadmin_listen = \"nope\"\n",
                          "[console]\nusage_sample_minutes = 0\n", "[console]\nenabled = \"yes\"\n",
                          "console = 1\n"}) {
    auto r = parse(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_NE(r.status().message().find("console"), std::string::npos) << r.status();
  }
}

TEST(ConfigTest, UnknownKeysNamed) {
  expectError("[server]\nlisten = \"127.0.0.1:1\"\nlistn = \"x\"\n", "unknown key 'server.listn'", "server");
  expectError("[[pools]]\nid = \"local:1\"\nname = \"a\"\nallow_guest = true\n", "unknown key 'pools.allow_guest'", "pool");
  expectError("[sever]\n", "unknown key 'sever'", "top-level table");
  expectError("debug = true\n", "unknown key 'debug'", "top-level key");
  expectError("[server]\nlistn = \"x\"\n", "test.toml:2:", "line of the unknown key");
}

TEST(ConfigTest, WrongTypesGiveLineNumbers) {
  expectError("[server]\n\nlisten = 8080\n", "test.toml:3:", "listen int");
  expectError("[server]\n\nlisten = 8080\n", "server.listen must be a string, not an integer", "listen int message");
  expectError("[[pools]]\nid = \"local:1\"\nname = \"a\"\nallow_guests = \"yes\"\n", "test.toml:4:", "allow_guests string");
  expectError("[[pools]]\nid = \"local:1\"\nname = \"a\"\nallow_guests = \"yes\"\n", "must be true or false", "allow_guests message");
  expectError("server = 3\n", "server must be a table", "server scalar");
  expectError("[pools]\nid = \"local:1\"\n", "pools must be an array of tables", "pools as table");
  expectError("pools = [1, 2]\n", "pools entry must be a table", "pools of ints");
  expectError("[server]\ndata_dir = [\"a\"]\n", "test.toml:2:", "data_dir array");
}

TEST(ConfigTest, SyntaxErrorsGiveLineNumbers) {
  expectError("[server]\nlisten = \"unterminated\n", "test.toml:2:", "unterminated string");
  expectError("[server]\nlisten = \"a:1\"\nlisten = \"b:2\"\n", "test.toml:3:", "duplicate key");
}

TEST(ConfigTest, BadValues) {
  expectError("[server]\nlisten = \"localhost\"\n", "listen address", "no port");
  expectError("[server]\nlisten = \"localhost:70000\"\n", "listen address", "port too big");
  expectError("[server]\nlisten = \"::1:80\"\n", "listen address", "v6 without brackets");
  expectError("[server]\nlisten = \":80\"\n", "listen address", "no host");
  expectError("[server]\nlog_level = \"verbose\"\n", "log level 'verbose'", "log level");
  expectError("[server]\nissuer = \"sync.example.com\"\n", "http:// or https://", "issuer scheme");
  expectError("[server]\ndata_dir = \"\"\n", "must not be empty", "empty data_dir");
  expectError("[server]\ntls_cert = \"c.pem\"\n", "must be set together", "cert without key");
  expectError("[[pools]]\nid = \"Local:ABC\"\nname = \"a\"\n", "test.toml:2:", "bad pool id");
  expectError("[[pools]]\nid = \"local:1\"\nname = \"\"\n", "pool name", "empty name");
  expectError("[[pools]]\nid = \"local:1\"\nname = \"semi;colon\"\n", "pool name", "bad name char");
  expectError("[[pools]]\nid = \"local:1\"\nname = \"a\"\n[[pools]]\nid = \"local:1\"\nname = \"b\"\n",
              "appears twice", "duplicate id");
  expectError("[[pools]]\nid = \"local:1\"\n", "has no name", "missing name");
}

TEST(ConfigTest, PoolWithoutIdSuggestsOne) {
  auto c = parse("[[pools]]\nname = \"My app\"\n");
  ASSERT_FALSE(c.isOk());
  const std::string m = c.status().message();
  EXPECT_NE(m.find("pool has no id"), std::string::npos) << m;
  size_t q = m.find("id = \"");
  ASSERT_NE(q, std::string::npos) << m;
  std::string suggested = m.substr(q + 6, m.find('"', q + 6) - (q + 6));
  EXPECT_TRUE(validatePoolId(suggested).isOk()) << suggested;
}

TEST(ConfigTest, ListenAndLogLevelHelpers) {
  EXPECT_EQ(*parseListenAddress("example.com:443"), (ListenAddress{"example.com", 443}));
  EXPECT_EQ(*parseListenAddress("[fe80::1]:65535"), (ListenAddress{"fe80::1", 65535}));
  EXPECT_FALSE(parseListenAddress("example.com:-1").isOk());
  EXPECT_FALSE(parseListenAddress("example.com:8o").isOk());
  EXPECT_FALSE(parseListenAddress("[::1]80").isOk());
  EXPECT_FALSE(parseListenAddress("").isOk());
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError})
    EXPECT_EQ(*parseLogLevel(logLevelName(l)), l);
}

TEST(ConfigTest, ValidateAfterOverrides) {
  auto c = parse(kFull);
  ASSERT_TRUE(c.isOk());
  ServerConfig config = *c;
  EXPECT_TRUE(validateConfig(config).isOk());
  config.tlsKey.reset();  // e.g. a flag cleared one of them
  EXPECT_EQ(validateConfig(config).code(), StatusCode::kInvalidArgument);
}

TEST(ConfigTest, LoadFromFile) {
  TempDir dir;
  std::filesystem::path file = dir.path() / "tetherd.toml";
  { std::ofstream(file) << kFull; }
  auto c = loadConfig(file);
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->dataDir, dir.path() / "data");
  EXPECT_EQ(c->pools.size(), 2u);

  auto missing = loadConfig(dir.path() / "nope.toml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(loadConfig(dir.path()).status().code(), StatusCode::kIOError) << "a directory";

  { std::ofstream(file) << "[server]\nlisten = 1\n"; }
  auto bad = loadConfig(file);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find(file.string() + ":2:"), std::string::npos) << bad.status();
}

TEST(ConfigTest, DocsExampleParses) {
  // docs/config.md's full example is kept verbatim between these markers; it must stay valid.
  std::filesystem::path doc = std::filesystem::path(TETHER_SOURCE_ROOT) / "docs" / "config.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- example:begin -->\n```toml\n";
  size_t a = text.find(begin);
  ASSERT_NE(a, std::string::npos);
  a += begin.size();
  size_t b = text.find("```\n<!-- example:end -->", a);
  ASSERT_NE(b, std::string::npos);
  auto c = parseConfig(text.substr(a, b - a), "docs/config.md", "/srv/tether");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_FALSE(c->pools.empty());
}

constexpr const char* kOidcPool = R"(
[[pools]]
id = "local:6f1c2a0e-1111-4222-8333-444455556666"
name = "app"
developer_provider = "login.example.app"
)";

TEST(ConfigTest, OidcProviders) {
  std::string text = std::string(kOidcPool) + R"(
[[pools.oidc_providers]]
name = "accounts.google.com"
issuer = "https://accounts.google.com"
audiences = ["123.apps.googleusercontent.com", "456.apps.googleusercontent.com"]
jwks_file = "keys/google.json"
leeway_seconds = 30

[[pools.oidc_providers]]
name = "auth.example.com"
issuer = "https://auth.example.com/"
audiences = ["app"]
jwks = '{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}'
)";
  auto c = parse(text);
  ASSERT_TRUE(c.isOk()) << c.status();
  ASSERT_EQ(c->pools.size(), 1u);
  const auto& providers = c->pools[0].oidcProviders;
  ASSERT_EQ(providers.size(), 2u);
  EXPECT_EQ(providers[0].name, "accounts.google.com");
  EXPECT_EQ(providers[0].issuer, "https://accounts.google.com");
  EXPECT_EQ(providers[0].audiences.size(), 2u);
  EXPECT_EQ(providers[0].jwksFile, std::filesystem::path("/etc/tether/keys/google.json"));
  EXPECT_EQ(providers[0].leewaySeconds, 30);
  EXPECT_FALSE(providers[1].jwksFile.has_value());
  EXPECT_EQ(providers[1].leewaySeconds, 60) << "default leeway";
  EXPECT_NE(providers[1].jwksInline.find("k1"), std::string::npos);
}

TEST(ConfigTest, OidcProviderMistakesAreNamed) {
  auto with = [](const std::string& body) { return std::string(kOidcPool) + "\n[[pools.oidc_providers]]\n" + body; };
  const std::string ok = "name = \"p.example\"\nissuer = \"https://p.example\"\naudiences = [\"a\"]\n";
  expectError(with(ok + "jwks_file = \"k.json\"\naudience = \"x\"\n"), "unknown key 'pools.oidc_providers.audience'",
              "typo");
  expectError(with(ok), "exactly one of jwks_file and jwks", "no keys");
  const std::string validJwks =
      "jwks = '{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
      "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}'\n";
  expectError(with(ok + "jwks_file = \"k.json\"\n" + validJwks), "exactly one of jwks_file and jwks", "both");
  expectError(with(ok + "jwks = '{\"keys\":[]}'\n"), "no usable", "keyless inline JWKS");
  expectError(with(ok + "jwks = 'not json'\n"), "pools.oidc_providers.jwks", "bad inline JWKS");
  expectError(with("name = \"p.example\"\nissuer = \"https://p.example\"\njwks_file = \"k\"\n"), "needs audiences",
              "no audiences");
  expectError(with("name = \"p.example\"\nissuer = \"https://p.example\"\naudiences = []\njwks_file = \"k\"\n"),
              "needs audiences", "empty audiences");
  expectError(with("name = \"p.example\"\nissuer = \"https://p.example\"\naudiences = [1]\njwks_file = \"k\"\n"),
              "must be a string", "audience type");
  expectError(with("issuer = \"https://p.example\"\naudiences = [\"a\"]\njwks_file = \"k\"\n"), "has no name", "no name");
  expectError(with("name = \"p.example\"\naudiences = [\"a\"]\njwks_file = \"k\"\n"), "has no issuer", "no issuer");
  expectError(with(ok + "jwks_file = \"k\"\nleeway_seconds = 601\n"), "0-600", "leeway");
  expectError(with(ok + "jwks_file = \"k\"\nleeway_seconds = \"60\"\n"), "must be an integer", "leeway type");
  expectError(with("name = \"cognito-identity.amazonaws.com\"\nissuer = \"https://p\"\naudiences = [\"a\"]\njwks_file = \"k\"\n"),
              "reserved", "reserved name");
  expectError(with("name = \"login.example.app\"\nissuer = \"https://p\"\naudiences = [\"a\"]\njwks_file = \"k\"\n"),
              "developer_provider", "clashes with the developer provider");
  expectError(with(ok + "jwks_file = \"k\"\n") + "\n[[pools.oidc_providers]]\n" + ok + "jwks_file = \"k\"\n",
              "appears twice", "duplicate");
}

TEST(ConfigTest, AuthenticationDocExampleParses) {
  // docs/authentication.md's generic OIDC example is kept verbatim between these markers.
  std::filesystem::path doc = std::filesystem::path(TETHER_SOURCE_ROOT) / "docs" / "authentication.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- example:begin -->\n```toml\n";
  size_t a = text.find(begin);
  ASSERT_NE(a, std::string::npos);
  a += begin.size();
  size_t b = text.find("```\n<!-- example:end -->", a);
  ASSERT_NE(b, std::string::npos);
  auto c = parseConfig(text.substr(a, b - a), "docs/authentication.md", "/srv/tether");
  ASSERT_TRUE(c.isOk()) << c.status();
  ASSERT_FALSE(c->pools.empty());
  EXPECT_FALSE(c->pools[0].oidcProviders.empty());
}

}  // namespace
}  // namespace tether::server

namespace tether::server {
namespace {

// [[push_apps]] (auth/config_push.h): APNs and FCM credentials per SNS platform-application ARN.
TEST(ConfigPushAppsTest, ApnsAndFcmEntriesParse) {
  auto c = parseConfig(
      "[[push_apps]]\n"
      "arn = \"arn:aws:sns:us-east-1:123456789012:app/APNS_SANDBOX/my-app\"\n"
      "team_id = \"TEAM\"\nkey_id = \"KEY\"\nkey_file = \"keys/AuthKey.p8\"\ntopic = \"com.example.app\"\n"
      "[[push_apps]]\n"
      "arn = \"arn:aws:sns:eu-west-1:123456789012:app/GCM/my-app\"\n"
      "service_account_file = \"/abs/sa.json\"\nendpoint = \"https://fcm.example/\"\n",
      "test.toml", "/etc/tether");
  ASSERT_TRUE(c.isOk()) << c.status();
  ASSERT_EQ(c->pushApps.size(), 2u);
  const PushAppConfig& apns = c->pushApps[0];
  EXPECT_EQ(apns.platform, "APNS_SANDBOX");
  EXPECT_EQ(apns.teamId, "TEAM");
  EXPECT_EQ(apns.keyId, "KEY");
  EXPECT_EQ(apns.keyFile, "/etc/tether/keys/AuthKey.p8");  // relative to the file
  EXPECT_EQ(apns.topic, "com.example.app");
  EXPECT_EQ(apns.endpoint, "");  // the default, by platform:
  EXPECT_EQ(defaultPushEndpoint(apns.platform), "https://api.sandbox.push.apple.com");
  const PushAppConfig& fcm = c->pushApps[1];
  EXPECT_EQ(fcm.platform, "GCM");
  EXPECT_EQ(fcm.serviceAccountFile, "/abs/sa.json");
  EXPECT_EQ(fcm.endpoint, "https://fcm.example");  // trailing slash dropped
}

TEST(ConfigPushAppsTest, BadEntriesAreNamedWithTheirLine) {
  const std::string fcmArn = "arn = \"arn:aws:sns:us-east-1:1:app/GCM/a\"\n";
  const std::string apnsKeys = "team_id = \"T\"\nkey_id = \"K\"\nkey_file = \"k.p8\"\ntopic = \"b\"\n";
  struct Case {
    std::string text, needle;
  } cases[] = {
      {"push_apps = 1\n", "push_apps must be an array of tables"},
      {"[[push_apps]]\n" + fcmArn + "service_account_file = \"s\"\nkey = \"x\"\n", "test.toml:4:7: unknown key 'push_apps.key'"},
      {"[[push_apps]]\n" + fcmArn + "service_account_file = 5\n", "push_apps.service_account_file must be a string"},
      {"[[push_apps]]\n" + fcmArn, "needs service_account_file"},
      {"[[push_apps]]\n" + fcmArn + "service_account_file = \"s\"\nteam_id = \"T\"\n", "team_id does not apply to GCM"},
      {"[[push_apps]]\narn = \"arn:aws:sns:us-east-1:1:app/APNS/a\"\nteam_id = \"T\"\n", "needs key_id"},
      {"[[push_apps]]\narn = \"arn:aws:sns:us-east-1:1:app/ADM/a\"\n", "platform ADM is not supported"},
      {"[[push_apps]]\narn = \"arn:aws:sns:us-east-1:1:topic/x\"\n", "is not an SNS platform application ARN"},
      {"[[push_apps]]\narn = \"app/GCM/a\"\n", "is not an SNS platform application ARN"},
      {"[[push_apps]]\narn = \"arn:aws:sns:us-east-1:1:app/GCM/a/b\"\n", "is not an SNS platform application ARN"},
      {"[[push_apps]]\nservice_account_file = \"s\"\n", "push_apps entry needs arn"},
      {"[[push_apps]]\n" + fcmArn + "service_account_file = \"\"\n", "must not be empty"},
      {"[[push_apps]]\n" + fcmArn + "service_account_file = \"s\"\nendpoint = \"ftp://x\"\n", "must be an http:// or https:// URL"},
      {"[[push_apps]]\n" + fcmArn + "service_account_file = \"s\"\n[[push_apps]]\n" + fcmArn +
           "service_account_file = \"t\"\n",
       "appears twice"},
      {"[[push_apps]]\narn = \"arn:aws:sns:us-east-1:1:app/APNS/a\"\n" + apnsKeys + "service_account_file = \"s\"\n",
       "service_account_file does not apply to APNS"},
  };
  for (const Case& c : cases) {
    auto r = parseConfig(c.text, "test.toml", "/etc/tether");
    ASSERT_FALSE(r.isOk()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message() << "\nfor:\n" << c.text;
  }
}

}  // namespace
}  // namespace tether::server
