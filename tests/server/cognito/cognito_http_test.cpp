// CognitoHttp end to end in one process: real SQLite store, SyncService, token issuer and
// credentials behind the handler; requests signed as an SDK signs them.
#include "cognito/cognito_http.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "auth/session_token_signer.h"
#include "cognito/sigv4.h"
#include "storage/sqlite_store.h"
#include "store_backend.h"

namespace tether::server::cognito {
namespace {

constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";

std::filesystem::path makeTempDir() {
  const char* root = std::getenv("TETHER_TEST_TMP");
  std::filesystem::path base = root ? root : "/tmp";
  std::filesystem::create_directories(base);
  std::string tmpl = (base / "cognito-http-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return made ? std::filesystem::path(made) : base;
}

std::string amzDateNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Runs on both store backends (tests/support/store_backend.h).
class CognitoHttpTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    dir_ = makeTempDir();
    auto store = tryOpenStore();
    ASSERT_TRUE(store.isOk()) << store.status();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->putPool(PoolInfo{kPool, "test", true, 1}).isOk());
    auto issuer = TokenIssuer::open(dir_, "http://test");
    ASSERT_TRUE(issuer.isOk()) << issuer.status();
    issuer_ = std::move(issuer).value();
    sessions_ = std::make_unique<SessionTokenSigner>(std::string(32, 's'));
    sync_ = std::make_unique<SyncService>(*store_, *sessions_, clock_);
    identities_ = std::make_unique<IdentityService>(*store_, *issuer_, clock_);
    creds_ = std::make_unique<TemporaryCredentials>(std::string(32, 'c'));
    auth_ = std::make_unique<RequestAuthenticator>(*creds_, std::map<std::string, std::string>{}, clock_);
    ctx_ = std::make_unique<CognitoContext>(CognitoContext{*store_, *sync_, *identities_, *issuer_, *creds_, *auth_,
                                                           clock_, pool_, {}});
    http_ = std::make_unique<CognitoHttp>(*ctx_);
  }
  void TearDown() override {
    pool_.join();
    StoreBackendFixture::TearDown();
  }

  HttpResponse call(HttpRequest req) {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    std::future<HttpResponse> f = promise->get_future();
    http_->handle(std::move(req), [promise](HttpResponse r) { promise->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return f.get();
  }

  Json identityCall(const std::string& op, const Json& body) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"x-amz-target", "AWSCognitoIdentityService." + op}, {"host", "h"}};
    r.body = body.dump();
    HttpResponse resp = call(r);
    lastStatus_ = resp.status;
    return Json::parse(resp.body);
  }

  // A signed Cognito Sync request with `c`.
  HttpResponse syncCall(const IssuedCredentials& c, const std::string& method, const std::vector<std::string>& segs,
                        std::vector<std::pair<std::string, std::string>> query = {}, std::string body = "") {
    HttpRequest r;
    r.method = method;
    for (const std::string& s : segs) r.path += "/" + s;
    r.query = std::move(query);
    r.body = std::move(body);
    r.headers = {{"host", "127.0.0.1:1"}, {"x-amz-date", amzDateNow()}, {"x-amz-security-token", c.sessionToken}};
    std::string date = r.headers["x-amz-date"].substr(0, 8);
    r.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=" + c.accessKeyId + "/" + date +
                                 "/local/cognito-sync/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, "
                                 "Signature=" + std::string(64, '0');
    auto auth = parseAuthorization(r.headers["authorization"]);
    std::string uri = canonicalUri(segs), q = canonicalQuery(r.query), hash = sha256Hex(r.body);
    CanonicalInput in{r.method, uri, q, &r.headers, hash};
    auto creq = canonicalRequest(in, *auth);
    std::string sig = computeSignature(c.secretKey, *auth, stringToSign(r.headers["x-amz-date"], auth->scope(), *creq));
    r.headers["authorization"].replace(r.headers["authorization"].size() - 64, 64, sig);
    return call(r);
  }

  IssuedCredentials guest(std::string& identityId) {
    identityId = identityCall("GetId", {{"IdentityPoolId", kPool}})["IdentityId"];
    Json c = identityCall("GetCredentialsForIdentity", {{"IdentityId", identityId}})["Credentials"];
    return IssuedCredentials{c["AccessKeyId"], c["SecretKey"], c["SessionToken"], 0};
  }

  static std::string errorType(const HttpResponse& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "x-amzn-ErrorType") return v;
    return "";
  }

  std::filesystem::path dir_;
  SystemClock clock_;
  WorkPool pool_{2};
  std::unique_ptr<Store> store_;
  std::unique_ptr<TokenIssuer> issuer_;
  std::unique_ptr<SessionTokenSigner> sessions_;
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<IdentityService> identities_;
  std::unique_ptr<TemporaryCredentials> creds_;
  std::unique_ptr<RequestAuthenticator> auth_;
  std::unique_ptr<CognitoContext> ctx_;
  std::unique_ptr<CognitoHttp> http_;
  int lastStatus_ = 0;
};

TETHER_INSTANTIATE_BACKENDS(CognitoHttpTest);

TEST_P(CognitoHttpTest, GuestWritesThroughHttpAndSyncServiceReadsIt) {
  std::string id;
  IssuedCredentials c = guest(id);
  std::vector<std::string> ds = {"identitypools", kPool, "identities", id, "datasets", "prefs"};
  std::vector<std::string> recs = ds;
  recs.push_back("records");
  HttpResponse list = syncCall(c, "GET", recs);
  ASSERT_EQ(list.status, 200) << list.body;
  Json l = Json::parse(list.body);
  EXPECT_FALSE(l["DatasetExists"]);
  Json body = {{"SyncSessionToken", l["SyncSessionToken"]},
               {"DeviceId", "dev-1"},
               {"RecordPatches", {{{"Op", "replace"}, {"Key", "theme"}, {"Value", "dark"}, {"SyncCount", 0},
                                   {"DeviceLastModifiedDate", 1700000000.5}}}}};
  HttpResponse up = syncCall(c, "POST", ds, {}, body.dump());
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(Json::parse(up.body)["Records"][0]["DeviceLastModifiedDate"].dump(), "1700000000.5");

  auto native = sync_->listRecords(Caller{kPool, id, ""}, proto::ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(native.isOk());
  ASSERT_EQ(native->records.size(), 1u);
  EXPECT_EQ(native->records[0].value, "dark");
  EXPECT_EQ(native->records[0].deviceLastModifiedMs, 1700000000500);
}

TEST_P(CognitoHttpTest, CredentialsOfOneIdentityCannotTouchAnother) {
  std::string a, b;
  IssuedCredentials ca = guest(a);
  guest(b);
  HttpResponse r = syncCall(ca, "GET", {"identitypools", kPool, "identities", b, "datasets"});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(errorType(r), "NotAuthorizedException:");
  Json body = {{"SyncSessionToken", "x"}, {"RecordPatches", {{{"Op", "replace"}, {"Key", "k"}, {"SyncCount", 0}}}}};
  r = syncCall(ca, "POST", {"identitypools", kPool, "identities", b, "datasets", "d"}, {}, body.dump());
  EXPECT_EQ(r.status, 403);
  auto usage = sync_->describeIdentityUsage(Caller{kPool, b, ""});
  ASSERT_TRUE(usage.isOk());
  EXPECT_EQ(usage->datasetCount, 0);
  // Pool-level operations need developer credentials.
  r = syncCall(ca, "GET", {"identitypools", kPool});
  EXPECT_EQ(r.status, 403);
}

TEST_P(CognitoHttpTest, BadInputGetsTypedErrorsAndWritesNothing) {
  std::string id;
  IssuedCredentials c = guest(id);
  std::vector<std::string> ds = {"identitypools", kPool, "identities", id, "datasets", "d"};
  HttpResponse r = syncCall(c, "POST", ds, {}, "{\"SyncSessionToken\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(errorType(r), "SerializationException:");
  r = syncCall(c, "POST", ds, {}, R"({"SyncSessionToken":"t","RecordPatches":[{"Op":"replace","Key":"k","SyncCount":"0"}]})");
  EXPECT_EQ(errorType(r), "InvalidParameterException:");
  r = syncCall(c, "POST", ds, {}, R"({"RecordPatches":[]})");
  EXPECT_EQ(errorType(r), "InvalidParameterException:");
  r = syncCall(c, "POST", ds, {}, R"({"SyncSessionToken":"forged","RecordPatches":[{"Op":"replace","Key":"k","SyncCount":0}]})");
  EXPECT_EQ(errorType(r), "InvalidParameterException:");
  r = syncCall(c, "POST", ds, {}, R"({"SyncSessionToken":"t","RecordPatches":[{"Op":"upsert","Key":"k","SyncCount":0}]})");
  EXPECT_EQ(errorType(r), "InvalidParameterException:");
  r = syncCall(c, "GET", {"identitypools", kPool, "identities", id, "datasets", "bad name"});
  EXPECT_EQ(errorType(r), "InvalidParameterException:");
  r = syncCall(c, "GET", {"identitypools", kPool, "identities", id, "datasets", "d", "records"},
               {{"lastSyncCount", "abc"}});
  EXPECT_EQ(r.status, 400);
  r = syncCall(c, "GET", {"identitypools", kPool, "identities", id, "datasets", "d"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errorType(r), "ResourceNotFoundException:");
  auto usage = sync_->describeIdentityUsage(Caller{kPool, id, ""});
  ASSERT_TRUE(usage.isOk());
  EXPECT_EQ(usage->datasetCount, 0);

  Json e = identityCall("NoSuchOperation", Json::object());
  EXPECT_EQ(e["__type"], "UnknownOperationException");
  e = identityCall("GetId", {{"IdentityPoolId", 5}});
  EXPECT_EQ(e["__type"], "InvalidParameterException");
  EXPECT_EQ(lastStatus_, 400);
  e = identityCall("GetId", {{"IdentityPoolId", "local:99999999-2222-3333-4444-555555555555"}});
  EXPECT_EQ(e["__type"], "ResourceNotFoundException");
  e = identityCall("GetCredentialsForIdentity", {{"IdentityId", id}, {"Logins", {{"graph.facebook.com", "x"}}}});
  EXPECT_EQ(e["__type"], "NotAuthorizedException");
  e = identityCall("ListIdentities", {{"IdentityPoolId", kPool}, {"MaxResults", 10}});
  EXPECT_EQ(e["__type"], "MissingAuthenticationTokenException");
}

TEST_P(CognitoHttpTest, CorsPreflightAndHeaders) {
  HttpRequest r;
  r.method = "OPTIONS";
  r.path = "/identitypools/x";
  r.headers = {{"access-control-request-headers", "authorization,x-amz-date"}};
  HttpResponse resp = call(r);
  EXPECT_EQ(resp.status, 200);
  std::map<std::string, std::string> h(resp.headers.begin(), resp.headers.end());
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(h["Access-Control-Allow-Headers"], "authorization,x-amz-date");
  EXPECT_NE(h["Access-Control-Allow-Methods"].find("DELETE"), std::string::npos);
  EXPECT_FALSE(h["x-amzn-RequestId"].empty());
}

}  // namespace
}  // namespace tether::server::cognito
