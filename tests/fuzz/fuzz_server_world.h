// ServerWorld: tetherd as `tetherd serve` wires it (tests/fuzz targets 2-4), minus the network:
// a real SQLite store in a temp dir, SyncService, IdentityService with a developer provider and
// an OpenID Connect provider (a TestOidcIssuer), the token issuer, temporary credentials,
// RequestAuthenticator, the WorkPool, the NativeHandler (with a FakeNetServer standing in for
// libwebsockets: the WsHandler/NetServer seam) and the Cognito HTTP router. A pool allowing
// guests with two identities (A, B) that have data, a second pool without guests, valid
// tokens, credentials and session tokens for them: the vocabulary structure-aware inputs pick
// from, so requests get past authentication into the code behind it.
//
// One world per process, renewed every kRenewEvery inputs (fresh database) so that state from
// millions of inputs (identities created by GetId, datasets up to their limits) cannot pile up.
// The clock is fixed (tokens stay valid, timing cannot make a replay differ).
#pragma once

#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/developer_signature.h"
#include "auth/identity_service.h"
#include "auth/login_providers.h"
#include "auth/session_token_signer.h"
#include "auth/token_issuer.h"
#include "cognito/cognito_http.h"
#include "cognito/request_auth.h"
#include "cognito/sigv4.h"
#include "cognito/temporary_credentials.h"
#include "common/work_pool.h"
#include "fuzz_messages.h"
#include "fuzz_support.h"
#include "net/native_handler.h"
#include "net/server_metrics.h"
#include "storage/sqlite_store.h"
#include "sync/sync_service.h"
#include "test_oidc_issuer.h"
#include "tether/codec.h"

namespace tether::fuzz {

constexpr int64_t kWorldNowMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr const char* kPoolA = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kPoolNoGuests = "local:22222222-2222-3333-4444-555555555555";
constexpr const char* kDevProvider = "login.dev";
constexpr const char* kDevKey = "AKIAFUZZDEVELOPER001";
constexpr const char* kDevSecret = "fuzz-developer-secret-0123456789";
constexpr const char* kOidcName = "issuer.test.example";
constexpr const char* kOidcAudience = "client-app-1";

class FixedClock final : public server::Clock {
 public:
  int64_t nowMs() const override { return kWorldNowMs; }
};

// Stands in for libwebsockets behind NativeHandler: records what the handler sends and closes.
// Every frame sent must decode as a ServerMessage (checked).
class FakeNetServer final : public server::NetServer {
 public:
  int port() const override { return 0; }
  bool tls() const override { return false; }
  void send(server::ConnId conn, std::string frame) override { record(conn, std::move(frame)); }
  void sendCoalesced(server::ConnId conn, std::string, std::string frame) override { record(conn, std::move(frame)); }
  void close(server::ConnId conn, uint16_t code, std::string reason) override {
    std::lock_guard lock(mu_);
    TETHER_FUZZ_CHECK(code >= 1000 && code < 5000, reason);
    closed_[conn] = true;
  }
  void stop() override {}

  bool closed(server::ConnId conn) {
    std::lock_guard lock(mu_);
    return closed_[conn];
  }
  void forget(server::ConnId conn) {
    std::lock_guard lock(mu_);
    closed_.erase(conn);
  }
  int64_t framesSent() {
    std::lock_guard lock(mu_);
    return frames_;
  }

 private:
  void record(server::ConnId conn, std::string frame) {
    Result<proto::ServerMessage> m = codec::decodeServerMessage(frame);
    TETHER_FUZZ_CHECK(m.isOk(), "the server sent an undecodable frame: " + m.status().toString());
    std::lock_guard lock(mu_);
    (void)conn;
    ++frames_;
  }
  std::mutex mu_;
  std::map<server::ConnId, bool> closed_;
  int64_t frames_ = 0;
};

struct ServerWorld {
  static constexpr int kRenewEvery = 3000;

  std::filesystem::path dir = makeTempDir("server");
  FixedClock clock;
  std::unique_ptr<server::Store> store;
  std::unique_ptr<server::TokenIssuer> issuer;
  std::unique_ptr<server::SessionTokenSigner> sessions;
  std::unique_ptr<server::SyncService> sync;
  std::unique_ptr<server::LoginProviders> providers;
  std::unique_ptr<server::IdentityService> identities;
  std::unique_ptr<server::cognito::TemporaryCredentials> creds;
  std::unique_ptr<server::cognito::RequestAuthenticator> auth;
  server::ServerMetrics metrics;
  std::unique_ptr<server::WorkPool> pool;
  std::unique_ptr<server::NativeHandler> native;
  FakeNetServer net;
  std::unique_ptr<server::cognito::CognitoContext> ctx;
  std::unique_ptr<server::cognito::CognitoHttp> http;

  // Identities with data, and what they authenticate with.
  std::string idA, idB, idOther;  // idOther: in kPoolNoGuests (a developer identity)
  std::string tokenA, tokenB;
  server::cognito::IssuedCredentials credsA, credsB;
  Vocabulary vocab;

  static testing::TestOidcIssuer& oidc() {
    static testing::TestOidcIssuer* i = new testing::TestOidcIssuer("https://issuer.test.example");
    return *i;
  }

  ServerWorld() {
    auto s = server::openSqliteStore(dir / "tether.db");
    must(s.isOk(), "store");
    store = std::move(*s);
    must(store->putPool(server::PoolInfo{kPoolA, "fuzz", true, kWorldNowMs}).isOk(), "pool");
    must(store->putPool(server::PoolInfo{kPoolNoGuests, "members", false, kWorldNowMs}).isOk(), "pool 2");
    must(store->setPoolDeveloperProvider(kPoolA, kDevProvider).isOk(), "dev provider");
    must(store->setPoolDeveloperProvider(kPoolNoGuests, kDevProvider).isOk(), "dev provider 2");
    auto i = server::TokenIssuer::open(dir, "http://tetherd.test");
    must(i.isOk(), "issuer");
    issuer = std::move(*i);
    sessions = std::make_unique<server::SessionTokenSigner>(std::string(32, 's'));
    sync = std::make_unique<server::SyncService>(*store, *sessions, clock);
    providers = std::make_unique<server::LoginProviders>(*store, clock);
    server::OidcProviderConfig oc;
    oc.name = kOidcName;
    oc.issuer = oidc().issuer();
    oc.audiences = {kOidcAudience};
    oc.jwksInline = oidc().jwksJson();
    must(providers->addConfigured(kPoolA, oc).isOk(), "oidc provider");
    must(providers->refresh().isOk(), "providers refresh");
    identities = std::make_unique<server::IdentityService>(*store, *issuer, clock, providers.get());
    identities->setDeveloperKeys({{kDevKey, kDevSecret}});
    creds = std::make_unique<server::cognito::TemporaryCredentials>(std::string(32, 'c'));
    auth = std::make_unique<server::cognito::RequestAuthenticator>(
        *creds, std::map<std::string, std::string>{{kDevKey, kDevSecret}}, clock, store.get());
    pool = std::make_unique<server::WorkPool>(1);
    native = std::make_unique<server::NativeHandler>(*identities, *sync, *pool, clock, metrics);
    sync->addChangeListener(&native->changes());
    identities->resolver().setChangeListener(&native->changes());
    native->setDeviceStore(store.get());
    native->attach(net);
    ctx = std::make_unique<server::cognito::CognitoContext>(server::cognito::CognitoContext{
        *store, *sync, *identities, *issuer, *creds, *auth, clock, *pool, {}});
    ctx->developerProviders = {{kPoolA, kDevProvider}, {kPoolNoGuests, kDevProvider}};
    ctx->deviceSubscriptions = &native->changes();
    http = std::make_unique<server::cognito::CognitoHttp>(*ctx);

    // Two guests with data, one developer identity in the second pool.
    auto a = identities->getId(proto::GetIdRequest{kPoolA, {}});
    auto b = identities->getId(proto::GetIdRequest{kPoolA, {}});
    must(a.isOk() && b.isOk(), "guests");
    idA = a->identityId;
    idB = b->identityId;
    proto::GetDeveloperTokenRequest dev;
    dev.identityPoolId = kPoolNoGuests;
    dev.developerUserId = "user-1";
    dev.accessKeyId = kDevKey;
    dev.timestampMs = kWorldNowMs;
    dev.signature = server::signDeveloperRequest(kDevSecret, dev);
    auto d = identities->getDeveloperToken(dev);
    must(d.isOk(), "developer identity");
    idOther = d->identityId;
    auto ta = identities->getToken(proto::GetTokenRequest{idA, {}});
    auto tb = identities->getToken(proto::GetTokenRequest{idB, {}});
    must(ta.isOk() && tb.isOk(), "tokens");
    tokenA = ta->token;
    tokenB = tb->token;
    credsA = creds->issue(kPoolA, idA, false, kWorldNowMs);
    credsB = creds->issue(kPoolA, idB, false, kWorldNowMs);
    for (const std::string& id : {idA, idB}) {
      server::Caller c{kPoolA, id, "seed-device", 0};
      for (const char* ds : {"prefs", "scores"}) {
        proto::UpdateRecordsRequest u;
        u.datasetName = ds;
        u.syncSessionToken = sessions->issue(kPoolA, id, ds, kWorldNowMs);
        u.deviceId = "seed-device";
        u.patches = {RecordPatch{PatchOp::kReplace, "theme", "dark", 0, kWorldNowMs},
                     RecordPatch{PatchOp::kReplace, "k", "v", 0, kWorldNowMs}};
        must(sync->updateRecords(c, u).isOk(), "seed data");
      }
    }

    vocab.pools = {kPoolA, kPoolNoGuests, "local:99999999-2222-3333-4444-555555555555", "bad pool"};
    vocab.identities = {idA, idB, idOther, "local:99999999-aaaa-bbbb-cccc-dddddddddddd"};
    vocab.tokens = {tokenA, tokenB, "", "x.y.z"};
    for (const std::string& id : {idA, idB})
      for (const std::string& ds : vocab.datasets) vocab.tokens.push_back(sessions->issue(kPoolA, id, ds, kWorldNowMs));
    vocab.tokens.push_back(oidc().sign(oidcClaims("oidc-user-1"), "RS256"));
    vocab.tokens.push_back(oidc().sign(oidcClaims("oidc-user-2"), "ES256"));
    vocab.providers = {kOidcName, kDevProvider, "accounts.google.com", "cognito-identity.amazonaws.com"};
    vocab.devices = {"device-1", "seed-device", ""};
  }

  ~ServerWorld() {
    pool->join();
    http.reset();
    ctx.reset();
    native.reset();
    store.reset();
    removeTempDir(dir);
  }

  static nlohmann::json oidcClaims(const std::string& subject) {
    nlohmann::json c = oidc().claims(subject, kOidcAudience);
    // Valid at the world's fixed clock.
    c["iat"] = kWorldNowMs / 1000 - 10;
    c["exp"] = kWorldNowMs / 1000 + 3600;
    return c;
  }

  // Waits until the pool has run everything posted so far (one worker: FIFO).
  void drain() {
    std::promise<void> done;
    std::future<void> f = done.get_future();
    pool->post([&done] { done.set_value(); });
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      std::fprintf(stderr, "fuzz: the worker pool did not finish within 60 s (a hang)\n");
      std::abort();
    }
  }

  // One HTTP request through the Cognito router; the reply (from a worker) within 60 s.
  server::HttpResponse call(server::HttpRequest req) {
    auto promise = std::make_shared<std::promise<server::HttpResponse>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::future<server::HttpResponse> f = promise->get_future();
    http->handle(std::move(req), [promise, calls](server::HttpResponse r) {
      TETHER_FUZZ_CHECK(calls->fetch_add(1) == 0, "reply called twice");
      promise->set_value(std::move(r));
    });
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      std::fprintf(stderr, "fuzz: no HTTP reply within 60 s (a hang)\n");
      std::abort();
    }
    return f.get();
  }

  static void must(bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "fuzz: world setup failed: %s\n", what);
      std::abort();
    }
  }

  // The process's world, renewed every kRenewEvery calls.
  static ServerWorld& get() {
    static std::unique_ptr<ServerWorld>* w = new std::unique_ptr<ServerWorld>();
    static int uses = 0;
    if (!*w || ++uses % kRenewEvery == 0) {
      w->reset();
      *w = std::make_unique<ServerWorld>();
    }
    return **w;
  }
};

// SigV4-signs `req` as an AWS SDK does (host, x-amz-date and, for temporary credentials,
// x-amz-security-token signed), for `service`, with the request's path split into `segments`
// (decoded) as the router will rebuild them.
inline void signRequest(server::HttpRequest& req, const std::vector<std::string>& segments,
                        const std::string& accessKeyId, const std::string& secret,
                        const std::string& sessionToken, const std::string& service) {
  namespace c = server::cognito;
  req.headers["host"] = "127.0.0.1:8080";
  req.headers["x-amz-date"] = "20231114T221320Z";  // kWorldNowMs
  std::string signedNames = "host;x-amz-date";
  if (!sessionToken.empty()) {
    req.headers["x-amz-security-token"] = sessionToken;
    signedNames += ";x-amz-security-token";
  }
  std::string authz = "AWS4-HMAC-SHA256 Credential=" + accessKeyId + "/20231114/local/" + service +
                      "/aws4_request, SignedHeaders=" + signedNames + ", Signature=" + std::string(64, '0');
  Result<c::SigV4Authorization> parsed = c::parseAuthorization(authz);
  if (!parsed.isOk()) return;  // a fuzzed key ID that breaks the header: sent unsigned-looking
  std::string uri = c::canonicalUri(segments), query = c::canonicalQuery(req.query), hash = c::sha256Hex(req.body);
  c::CanonicalInput in{req.method, uri, query, &req.headers, hash};  // views: the strings must outlive it
  Result<std::string> creq = c::canonicalRequest(in, *parsed);
  if (!creq.isOk()) return;
  std::string sig = c::computeSignature(secret, *parsed, c::stringToSign(req.headers["x-amz-date"], parsed->scope(), *creq));
  authz.replace(authz.size() - 64, 64, sig);
  req.headers["authorization"] = authz;
}

}  // namespace tether::fuzz
