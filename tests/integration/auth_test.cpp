// Issue 5 against the real tetherd: logins from an OpenID issuer whose keys the test generates
// (config [[pools.oidc_providers]] with the JWKS file the TestOidcIssuer wrote), on the native
// protocol (WsTestClient) and the Cognito Identity HTTP API (raw HTTP, SigV4 for developer
// operations): every bad token refused on both surfaces with nothing created or changed; first
// login / same login / guest upgrade with data kept / "Logins don't match" / merge (loser's
// token refused, merged dataset names reported, subscribers told); the native developer-token
// request; and `tetherd pool add-oidc-provider`, `set-developer-provider` and `credentials
// create|list|delete` run as commands and then used against the running server.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/developer_signature.h"
#include "cognito/sigv4.h"
#include "cognito/sigv4_signer.h"
#include "http_test_client.h"
#include "test_oidc_issuer.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using nlohmann::json;
using namespace proto;

constexpr const char* kPool = "local:a0a0a0a0-1111-4222-8333-444455556666";
constexpr const char* kProvider = "login.test.example";
constexpr const char* kAud = "client-1";
constexpr const char* kDevProvider = "login.tether.test";
constexpr const char* kConfigKey = "AKIACONFIGDEV0000001";
constexpr const char* kConfigSecret = "config-dev-secret-0123456789";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using HttpResult = HttpReply;

// A POST to / (the Cognito Identity API).
HttpResult httpPost(int port, const std::map<std::string, std::string>& headers, const std::string& body) {
  return httpRequest(port, "POST", "/", headers, body);
}

using tether::server::cognito::amzDate;

class AuthIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("auth-it");
    jwks_ = dir_ / "jwks.json";
    oidc_.writeJwks(jwks_);
    std::ofstream cfg(dir_ / "tetherd.toml");
    cfg << "[[pools]]\nid = \"" << kPool << "\"\nname = \"auth\"\nallow_guests = true\n"
        << "developer_provider = \"" << kDevProvider << "\"\n\n"
        << "[[pools.oidc_providers]]\nname = \"" << kProvider << "\"\nissuer = \"" << oidc_.issuer() << "\"\n"
        << "audiences = [\"" << kAud << "\"]\njwks_file = \"jwks.json\"\nleeway_seconds = 30\n\n"
        << "[[developer_credentials]]\naccess_key_id = \"" << kConfigKey << "\"\nsecret_access_key = \""
        << kConfigSecret << "\"\n";
    cfg.close();
    TetherdOptions o;
    o.createPool = false;
    o.extraArgs = {"--config", (dir_ / "tetherd.toml").string()};
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
    ws_ = WsTestClient::connect(server_->url());
    ASSERT_NE(ws_, nullptr);
  }

  Login login(const std::string& subject, const char* alg = "RS256") {
    return Login{kProvider, oidc_.sign(oidc_.claims(subject, kAud), alg)};
  }

  // An unsigned Cognito Identity operation.
  HttpResult identity(const std::string& op, const json& body) {
    return httpPost(server_->port(),
                    {{"Host", "127.0.0.1:" + std::to_string(server_->port())},
                     {"Content-Type", "application/x-amz-json-1.1"},
                     {"X-Amz-Target", "AWSCognitoIdentityService." + op}},
                    body.dump());
  }

  // A developer operation signed with SigV4 as an AWS SDK signs it.
  HttpResult signedIdentity(const std::string& op, const json& body, const std::string& key, const std::string& secret) {
    std::string date = amzDate(nowMs());
    std::map<std::string, std::string> h = {{"content-type", "application/x-amz-json-1.1"},
                                            {"host", "127.0.0.1:" + std::to_string(server_->port())},
                                            {"x-amz-date", date},
                                            {"x-amz-target", "AWSCognitoIdentityService." + op}};
    std::string text = body.dump();
    std::string header = "AWS4-HMAC-SHA256 Credential=" + key + "/" + date.substr(0, 8) +
                         "/local/cognito-identity/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                         "Signature=" + std::string(64, '0');
    auto auth = server::cognito::parseAuthorization(header);
    EXPECT_TRUE(auth.isOk()) << auth.status();
    std::string hash = server::cognito::sha256Hex(text);
    server::cognito::CanonicalInput in{"POST", "/", "", &h, hash};
    auto creq = server::cognito::canonicalRequest(in, *auth);
    EXPECT_TRUE(creq.isOk()) << creq.status();
    std::string sig = server::cognito::computeSignature(secret, *auth, server::cognito::stringToSign(date, auth->scope(), *creq));
    header.replace(header.size() - 64, 64, sig);
    std::map<std::string, std::string> headers = {{"Host", h["host"]},
                                                  {"Content-Type", h["content-type"]},
                                                  {"X-Amz-Date", date},
                                                  {"X-Amz-Target", h["x-amz-target"]},
                                                  {"Authorization", header}};
    return httpPost(server_->port(), headers, text);
  }

  // The pool's identities (ListIdentities with the config's developer credential).
  size_t identityCount() {
    HttpResult r = signedIdentity("ListIdentities", {{"IdentityPoolId", kPool}, {"MaxResults", 60}}, kConfigKey, kConfigSecret);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body.contains("Identities") ? r.body["Identities"].size() : 0;
  }
  json describe(const std::string& id) {
    HttpResult r = signedIdentity("DescribeIdentity", {{"IdentityId", id}}, kConfigKey, kConfigSecret);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body;
  }

  // A token from the native GetToken with these logins; empty on error (reported).
  GetTokenResponse nativeToken(WsTestClient& c, const std::string& id, std::vector<Login> logins) {
    auto t = c.callAs<GetTokenResponse>(GetTokenRequest{id, std::move(logins)});
    EXPECT_TRUE(t.isOk()) << t.status();
    return t.isOk() ? *t : GetTokenResponse{};
  }
  void writeRecord(WsTestClient& c, const std::string& dataset, const std::string& key, const std::string& value) {
    auto list = c.callAs<ListRecordsResponse>(ListRecordsRequest{dataset, 0, 0, ""});
    ASSERT_TRUE(list.isOk()) << list.status();
    auto up = c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
        dataset, list->syncSessionToken, "dev", {RecordPatch{PatchOp::kReplace, key, value, 0, nowMs()}}});
    ASSERT_TRUE(up.isOk()) << up.status();
  }

  std::filesystem::path dir_, jwks_;
  TestOidcIssuer oidc_{"https://issuer.test.example"};
  std::unique_ptr<TetherdProcess> server_;
  std::unique_ptr<WsTestClient> ws_;
};

TEST_F(AuthIntegrationTest, EveryBadTokenIsRefusedOnBothSurfacesAndNothingChanges) {
  auto guest = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {}});
  ASSERT_TRUE(guest.isOk()) << guest.status();
  size_t before = identityCount();
  ASSERT_EQ(before, 1u);
  auto bad = oidc_.badTokens("eve", kAud);
  ASSERT_GE(bad.size(), 12u);
  for (const auto& b : bad) {
    SCOPED_TRACE(b.name);
    StatusCode code = b.invalidParameter ? StatusCode::kInvalidArgument : StatusCode::kUnauthenticated;
    const char* type = b.invalidParameter ? "InvalidParameterException" : "NotAuthorizedException";
    // Native.
    auto id = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {Login{kProvider, b.token}}});
    EXPECT_EQ(id.status().code(), code) << id.status();
    auto tok = ws_->callAs<GetTokenResponse>(GetTokenRequest{guest->identityId, {Login{kProvider, b.token}}});
    EXPECT_EQ(tok.status().code(), code) << tok.status();
    // HTTP.
    HttpResult h = identity("GetId", {{"IdentityPoolId", kPool}, {"Logins", {{kProvider, b.token}}}});
    EXPECT_EQ(h.status, 400);
    EXPECT_EQ(h.body.value("__type", ""), type) << h.body.dump();
    h = identity("GetCredentialsForIdentity", {{"IdentityId", guest->identityId}, {"Logins", {{kProvider, b.token}}}});
    EXPECT_EQ(h.body.value("__type", ""), type) << h.body.dump();
    h = identity("GetOpenIdToken", {{"IdentityId", guest->identityId}, {"Logins", {{kProvider, b.token}}}});
    EXPECT_EQ(h.body.value("__type", ""), type) << h.body.dump();
  }
  // Unknown provider and too many logins.
  auto unknown = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {Login{"accounts.google.com", oidc_.sign(oidc_.claims("u", kAud))}}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  HttpResult h = identity("GetId", {{"IdentityPoolId", kPool}, {"Logins", {{"accounts.google.com", "x.y.z"}}}});
  EXPECT_EQ(h.body.value("__type", ""), "NotAuthorizedException");
  EXPECT_EQ(h.body.value("message", ""), "Token is not from a supported provider of this identity pool.");
  std::vector<Login> eleven;
  json elevenJson = json::object();
  for (int i = 0; i < 11; ++i) {
    // Built with append: GCC 12 warns (-Wrestrict, a false positive) on "p" + std::to_string(i).
    std::string name = "p";
    name.append(std::to_string(i)).append(".example");
    eleven.push_back(Login{name, "t"});
    elevenJson[name] = "t";
  }
  EXPECT_EQ(ws_->callAs<GetIdResponse>(GetIdRequest{kPool, eleven}).status().code(), StatusCode::kInvalidArgument);
  h = identity("GetId", {{"IdentityPoolId", kPool}, {"Logins", elevenJson}});
  EXPECT_EQ(h.body.value("__type", ""), "InvalidParameterException");
  // The developer provider is not a device login on either surface.
  EXPECT_EQ(ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {Login{kDevProvider, "user-1"}}}).status().code(),
            StatusCode::kUnauthenticated);
  h = identity("GetId", {{"IdentityPoolId", kPool}, {"Logins", {{kDevProvider, "user-1"}}}});
  EXPECT_EQ(h.body.value("__type", ""), "NotAuthorizedException");

  EXPECT_EQ(identityCount(), before) << "no identity was created";
  EXPECT_FALSE(describe(guest->identityId).contains("Logins")) << "the guest is still a guest";
}

TEST_F(AuthIntegrationTest, LoginsOnBothSurfaces) {
  // First login creates; the same login later (either surface, either algorithm) finds it.
  auto a = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {login("alice")}});
  ASSERT_TRUE(a.isOk()) << a.status();
  HttpResult h = identity("GetId", {{"IdentityPoolId", kPool}, {"Logins", {{kProvider, login("alice", "ES256").token}}}});
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["IdentityId"], a->identityId);
  EXPECT_EQ(describe(a->identityId)["Logins"], json::array({kProvider}));
  GetTokenResponse t = nativeToken(*ws_, a->identityId, {login("alice")});
  auto auth = ws_->callAs<AuthenticateResponse>(AuthenticateRequest{t.token});
  ASSERT_TRUE(auth.isOk()) << auth.status();
  EXPECT_EQ(auth->identityId, a->identityId);
  // Without its login an authenticated identity gets nothing.
  EXPECT_EQ(ws_->callAs<GetTokenResponse>(GetTokenRequest{a->identityId, {}}).status().code(), StatusCode::kUnauthenticated);
  h = identity("GetCredentialsForIdentity", {{"IdentityId", a->identityId}});
  EXPECT_EQ(h.body.value("__type", ""), "NotAuthorizedException");
  // HTTP credentials with the login.
  h = identity("GetCredentialsForIdentity", {{"IdentityId", a->identityId}, {"Logins", {{kProvider, login("alice").token}}}});
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["IdentityId"], a->identityId);

  // Another user's login presented for alice's identity: Logins don't match, nothing changes.
  auto b = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {login("bob")}});
  ASSERT_TRUE(b.isOk());
  h = identity("GetOpenIdToken", {{"IdentityId", a->identityId}, {"Logins", {{kProvider, login("bob").token}}}});
  EXPECT_EQ(h.body.value("__type", ""), "NotAuthorizedException");
  EXPECT_EQ(h.body.value("message", ""),
            "Logins don't match. Please include at least one valid login for this identity or identity pool.");
  auto mismatch = ws_->callAs<GetTokenResponse>(GetTokenRequest{a->identityId, {login("bob")}});
  EXPECT_EQ(mismatch.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(identityCount(), 2u);
}

TEST_F(AuthIntegrationTest, GuestUpgradesInPlaceWithItsData) {
  auto guest = ws_->loginAsNewGuest(kPool);
  ASSERT_TRUE(guest.isOk()) << guest.status();
  writeRecord(*ws_, "prefs", "theme", "dark");
  GetTokenResponse t = nativeToken(*ws_, *guest, {login("carol")});
  EXPECT_EQ(t.identityId, *guest) << "same identity ID";
  auto again = WsTestClient::connect(server_->url());
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->callAs<AuthenticateResponse>(AuthenticateRequest{t.token}).isOk());
  auto list = again->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(list.isOk()) << list.status();
  ASSERT_EQ(list->records.size(), 1u);
  EXPECT_EQ(list->records[0].value, "dark");
  HttpResult h = identity("GetId", {{"IdentityPoolId", kPool}, {"Logins", {{kProvider, login("carol").token}}}});
  EXPECT_EQ(h.body["IdentityId"], *guest);
  // Upgrade over HTTP too.
  HttpResult g = identity("GetId", {{"IdentityPoolId", kPool}});
  std::string guest2 = g.body["IdentityId"];
  h = identity("GetCredentialsForIdentity", {{"IdentityId", guest2}, {"Logins", {{kProvider, login("dave").token}}}});
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["IdentityId"], guest2);
  EXPECT_EQ(describe(guest2)["Logins"], json::array({kProvider}));
}

TEST_F(AuthIntegrationTest, MergeFoldsTheGuestIntoTheLoginsIdentity) {
  // alice's identity, with a connection subscribed to "prefs".
  auto a = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {login("alice")}});
  ASSERT_TRUE(a.isOk()) << a.status();
  ASSERT_TRUE(ws_->callAs<AuthenticateResponse>(AuthenticateRequest{nativeToken(*ws_, a->identityId, {login("alice")}).token}).isOk());
  writeRecord(*ws_, "prefs", "theme", "light");
  ASSERT_TRUE(ws_->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  // A guest on another device with its own data.
  auto other = WsTestClient::connect(server_->url());
  ASSERT_NE(other, nullptr);
  auto guest = other->loginAsNewGuest(kPool);
  ASSERT_TRUE(guest.isOk());
  writeRecord(*other, "prefs", "theme", "dark");
  GetTokenResponse guestToken = nativeToken(*other, *guest, {});

  // The guest device logs in as alice over HTTP: the survivor's ID comes back.
  HttpResult h = identity("GetCredentialsForIdentity", {{"IdentityId", *guest}, {"Logins", {{kProvider, login("alice").token}}}});
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["IdentityId"], a->identityId);

  // The subscriber hears about prefs (its MergedDatasetNames changed) ...
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool told = false;
  while (!told && std::chrono::steady_clock::now() < deadline) {
    for (const DatasetChanged& d : ws_->pushes()) told = told || d.datasetName == "prefs";
    if (!told) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(told) << "datasetChanged for prefs after the merge";
  // ... and reads the merged copy.
  auto list = ws_->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(list.isOk()) << list.status();
  EXPECT_EQ(list->mergedDatasetNames, std::vector<std::string>{"prefs." + *guest});
  auto merged = ws_->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs." + *guest, 0, 0, ""});
  ASSERT_TRUE(merged.isOk()) << merged.status();
  ASSERT_EQ(merged->records.size(), 1u);
  EXPECT_EQ(merged->records[0].value, "dark");

  // The loser is disabled: its token, its credentials and GetToken are refused.
  auto fresh = WsTestClient::connect(server_->url());
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->callAs<AuthenticateResponse>(AuthenticateRequest{guestToken.token}).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(fresh->callAs<GetTokenResponse>(GetTokenRequest{*guest, {}}).status().code(), StatusCode::kUnauthenticated);
  h = identity("GetCredentialsForIdentity", {{"IdentityId", *guest}});
  EXPECT_EQ(h.body.value("__type", ""), "NotAuthorizedException");
  // The guest's connection, authenticated before the merge with a token still unexpired, can
  // no longer write: nothing lands in the retired identity.
  auto stale = other->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(stale.isOk()) << stale.status();
  auto late = other->callAs<UpdateRecordsResponse>(
      UpdateRecordsRequest{"prefs", stale->syncSessionToken, "d", {RecordPatch{PatchOp::kReplace, "theme", "late", 0, nowMs()}}});
  EXPECT_EQ(late.status().code(), StatusCode::kUnauthenticated) << late.status();
  EXPECT_EQ(other->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"prefs.x"}).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthIntegrationTest, NativeDeveloperTokenAndHttpDeveloperOpsAgree) {
  GetDeveloperTokenRequest rq{kPool, "", "app-user-1", 0, kConfigKey, nowMs(), ""};
  rq.signature = server::signDeveloperRequest(kConfigSecret, rq);
  auto t = ws_->callAs<GetTokenResponse>(rq);
  ASSERT_TRUE(t.isOk()) << t.status();
  EXPECT_GT(t->expiresAtMs, nowMs() + 14 * 60 * 1000);
  auto auth = ws_->callAs<AuthenticateResponse>(AuthenticateRequest{t->token});
  ASSERT_TRUE(auth.isOk()) << auth.status();
  HttpResult h = signedIdentity("LookupDeveloperIdentity",
                                {{"IdentityPoolId", kPool}, {"DeveloperUserIdentifier", "app-user-1"}}, kConfigKey,
                                kConfigSecret);
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["IdentityId"], t->identityId);
  h = signedIdentity("GetOpenIdTokenForDeveloperIdentity",
                     {{"IdentityPoolId", kPool}, {"Logins", {{kDevProvider, "app-user-1"}}}, {"TokenDuration", 60}},
                     kConfigKey, kConfigSecret);
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["IdentityId"], t->identityId);
  // The device then uses that token as its login.
  HttpResult c = identity("GetCredentialsForIdentity",
                          {{"IdentityId", t->identityId}, {"Logins", {{"cognito-identity.amazonaws.com", h.body["Token"]}}}});
  EXPECT_EQ(c.status, 200) << c.body.dump();
  // A bad signature is refused and creates nothing.
  size_t before = identityCount();
  GetDeveloperTokenRequest bad{kPool, "", "app-user-2", 0, kConfigKey, nowMs(), ""};
  bad.signature = server::signDeveloperRequest("not-the-secret", bad);
  EXPECT_EQ(ws_->callAs<GetTokenResponse>(bad).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(identityCount(), before);
}

TEST_F(AuthIntegrationTest, CommandsAddProvidersAndCredentialsToARunningServer) {
  std::string dataDir = server_->dataDir().string();
  // A second issuer, added with the CLI while the server runs.
  TestOidcIssuer late("https://late.test.example");
  late.writeJwks(dir_ / "late.json");
  std::string out, err;
  ASSERT_EQ(TetherdProcess::runTool({"pool", "add-oidc-provider", "--pool", kPool, "--name", "late.test.example",
                                     "--issuer", late.issuer(), "--audience", "late-client", "--audience", "other",
                                     "--jwks-file", (dir_ / "late.json").string(), "--leeway", "30", "--data-dir", dataDir},
                                    &out, &err),
            0)
      << err;
  // Refused: bad JWKS, unknown pool.
  std::ofstream(dir_ / "junk.json") << "{}";
  EXPECT_EQ(TetherdProcess::runTool({"pool", "add-oidc-provider", "--pool", kPool, "--name", "x.example", "--issuer",
                                     "https://x", "--audience", "a", "--jwks-file", (dir_ / "junk.json").string(),
                                     "--data-dir", dataDir},
                                    &out, &err),
            2);
  EXPECT_NE(TetherdProcess::runTool({"pool", "add-oidc-provider", "--pool", "local:00000000-1111-4222-8333-444455556666",
                                     "--name", "x.example", "--issuer", "https://x", "--audience", "a", "--jwks",
                                     late.jwksJson(), "--data-dir", dataDir},
                                    &out, &err),
            0);
  ASSERT_EQ(TetherdProcess::runTool({"pool", "list", "--data-dir", dataDir}, &out, &err), 0) << err;
  EXPECT_NE(out.find("oidc-provider\tlate.test.example\tissuer=https://late.test.example\taudiences=late-client,other"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("developer-provider\tlogin.tether.test"), std::string::npos) << out;

  // The running server picks the provider up (an unknown name re-reads the database at most
  // every 2 s): poll until it answers, within a deadline.
  Login l{"late.test.example", late.sign(late.claims("dora", "late-client"))};
  Result<GetIdResponse> id = Status::unavailable("not tried");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    id = ws_->callAs<GetIdResponse>(GetIdRequest{kPool, {l}});
    if (id.isOk()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(id.isOk()) << id.status();

  // A developer credential created with the CLI works at once, on both surfaces.
  ASSERT_EQ(TetherdProcess::runTool({"credentials", "create", "--description", "backend", "--data-dir", dataDir}, &out, &err), 0)
      << err;
  auto field = [&out](const std::string& name) {
    size_t a = out.find(name + ": ");
    if (a == std::string::npos) return std::string();
    a += name.size() + 2;
    return out.substr(a, out.find('\n', a) - a);
  };
  std::string key = field("AccessKeyId"), secret = field("SecretAccessKey");
  ASSERT_EQ(key.size(), 20u) << out;
  ASSERT_EQ(secret.size(), 40u) << out;
  EXPECT_TRUE(key.starts_with("AKIA"));
  GetDeveloperTokenRequest rq{kPool, "", "cli-user", 120, key, nowMs(), ""};
  rq.signature = server::signDeveloperRequest(secret, rq);
  auto t = ws_->callAs<GetTokenResponse>(rq);
  ASSERT_TRUE(t.isOk()) << t.status();
  HttpResult h = signedIdentity("DescribeIdentity", {{"IdentityId", t->identityId}}, key, secret);
  ASSERT_EQ(h.status, 200) << h.body.dump();
  EXPECT_EQ(h.body["Logins"], json::array({kDevProvider}));
  ASSERT_EQ(TetherdProcess::runTool({"credentials", "list", "--data-dir", dataDir}, &out, &err), 0);
  EXPECT_NE(out.find(key + "\tbackend"), std::string::npos) << out;
  EXPECT_EQ(out.find(secret), std::string::npos) << "list never shows secrets";
  // Deleted: refused at once.
  ASSERT_EQ(TetherdProcess::runTool({"credentials", "delete", "--access-key-id", key, "--data-dir", dataDir}, &out, &err), 0)
      << err;
  h = signedIdentity("DescribeIdentity", {{"IdentityId", t->identityId}}, key, secret);
  EXPECT_EQ(h.status, 403);
  EXPECT_EQ(h.body.value("__type", ""), "UnrecognizedClientException");
  rq.timestampMs = nowMs();
  rq.signature = server::signDeveloperRequest(secret, rq);
  EXPECT_EQ(ws_->callAs<GetTokenResponse>(rq).status().code(), StatusCode::kUnauthenticated);

  // remove-oidc-provider; the developer provider cannot be renamed.
  EXPECT_EQ(TetherdProcess::runTool({"pool", "remove-oidc-provider", "--pool", kPool, "--name", "late.test.example",
                                     "--data-dir", dataDir},
                                    &out, &err),
            0)
      << err;
  EXPECT_EQ(TetherdProcess::runTool({"pool", "set-developer-provider", "--pool", kPool, "--name", "other.name",
                                     "--data-dir", dataDir},
                                    &out, &err),
            2);
}

}  // namespace
}  // namespace tether::testing
