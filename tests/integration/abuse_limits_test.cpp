// Issue 13, point 5 against the real tetherd: connection caps per address, slow clients (408),
// idle and half-open connections, and the rate limits of each kind on both surfaces (and behind a
// trusted proxy). Split from http_hardening_test.cpp (framing and TLS) to keep both readable.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_test_client.h"
#include "raw_conn.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::unique_ptr<TetherdProcess> startWith(const std::string& name, const std::string& toml) {
  TetherdOptions o;
  o.extraArgs = {"--config", writeConfig(name, toml)};
  return TetherdProcess::start(o);
}

// Reads until the peer closes (up to `timeout`); the status of what it sent, 0 if nothing.
int statusBeforeClose(RawConn& c, std::chrono::milliseconds timeout, bool* closed) {
  return statusOf(c.readUntilClose(timeout, closed));
}

std::string limitLine(const char* limit) { return std::string("tether_limit_rejections_total{limit=\"") + limit + "\"}"; }

TEST(LimitsTest, ConnectionsPerAddressAreCappedAndSlotsComeBack) {
  auto server = startWith("cap", "[limits]\nmax_connections_per_address = 20\n");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  // 20 from 127.0.0.2 still sending their head (held by the gate), 20 from 127.0.0.3 that
  // finished a request and sit idle on keep-alive (held by lws).
  std::vector<std::unique_ptr<RawConn>> pending, idle;
  for (int i = 0; i < 20; ++i) {
    pending.push_back(RawConn::open(port, "127.0.0.2"));
    ASSERT_NE(pending.back(), nullptr);
    ASSERT_TRUE(pending.back()->send("GET /healthz HTTP/1.1\r\n"));
    idle.push_back(RawConn::open(port, "127.0.0.3"));
    ASSERT_NE(idle.back(), nullptr);
    ASSERT_TRUE(idle.back()->send(kHealthz));
    ASSERT_EQ(statusOf(idle.back()->readResponse()), 200);
  }
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {
    auto extra = RawConn::open(port, source);
    ASSERT_NE(extra, nullptr);
    bool closed = false;
    EXPECT_EQ(statusBeforeClose(*extra, 5000ms, &closed), 503) << source;
    EXPECT_TRUE(closed);
  }
  // Other addresses are not affected.
  EXPECT_NE(httpGet(port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_GE(metric(port, limitLine("connections_per_address")), 2);
  EXPECT_GE(metric(port, "tether_tcp_connections_open"), 40);
  // Closed connections give their slots back (the gate's and lws's).
  pending.clear();
  idle.clear();
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {
    bool served = false;
    for (auto deadline = Clock::now() + 10s; !served && Clock::now() < deadline;) {
      auto c = RawConn::open(port, source);
      ASSERT_NE(c, nullptr);
      ASSERT_TRUE(c->send(kHealthz));
      served = statusOf(c->readResponse()) == 200;
      if (!served) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(served) << source;
  }
}

TEST(LimitsTest, SlowClientsGet408WhenTheirHeadIsLate) {
  auto server = startWith("slow", "[limits]\nrequest_head_timeout_seconds = 1\n");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto partial = RawConn::open(port);
  ASSERT_TRUE(partial->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-"));
  // A slow-loris trickle: one byte every 100 ms never finishes in time either.
  auto trickle = RawConn::open(port);
  auto start = Clock::now();
  std::thread feeder([&] {
    std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(100, 'z');
    for (char ch : head) {
      if (!trickle->send(std::string(1, ch))) break;
      std::this_thread::sleep_for(100ms);
      if (Clock::now() - start > 4s) break;
    }
  });
  bool closed = false;
  EXPECT_EQ(statusBeforeClose(*partial, 5000ms, &closed), 408);
  EXPECT_TRUE(closed);
  feeder.join();
  std::string got = trickle->readUntilClose(2000ms, &closed);
  EXPECT_EQ(statusOf(got), 408) << got;
  EXPECT_GE(metric(port, limitLine("request_head_timeout")), 2);
}

// Issue 13's scenario: 1,000 idle WebSocket connections and 200 half-open ones (connected,
// partial head) from other addresses, under the default limits; a legitimate client still gets
// an identity within 1 s on both surfaces.
TEST(LimitsTest, IdleAndHalfOpenConnectionsDoNotStarveALegitimateClient) {
  // 1,200 sockets here: raise the soft open-files limit to the hard one (tetherd does the same).
  if (rlimit rl; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rlimit rl; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1400)
    GTEST_SKIP() << "open-files limit " << rl.rlim_cur << " is below the 1,400 this test needs";
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  std::vector<std::unique_ptr<RawConn>> crowd;
  crowd.reserve(1200);
  for (int i = 0; i < 1000; ++i) {
    std::string source = "127.0.0." + std::to_string(2 + i / 250);
    auto c = RawConn::open(port, source.c_str());
    ASSERT_NE(c, nullptr) << i;
    ASSERT_TRUE(c->send(kWsUpgrade));
    std::string r = c->readResponse();
    ASSERT_EQ(statusOf(r), 101) << i << ": " << r;
    crowd.push_back(std::move(c));
  }
  for (int i = 0; i < 200; ++i) {
    auto c = RawConn::open(port, "127.0.0.7");
    ASSERT_NE(c, nullptr) << i;
    ASSERT_TRUE(c->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar"));
    crowd.push_back(std::move(c));
  }
  EXPECT_GE(metric(port, "tether_tcp_connections_open"), 1200);

  auto start = Clock::now();
  HttpReply id = httpRequest(port, "POST", "/",
                             {{"Content-Type", "application/x-amz-json-1.1"},
                              {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                             "{\"IdentityPoolId\":\"" + server->poolId() + "\"}");
  auto httpTook = Clock::now() - start;
  EXPECT_EQ(id.status, 200) << id.raw;
  EXPECT_TRUE(id.body.contains("IdentityId")) << id.raw;
  EXPECT_LT(httpTook, 1000ms);

  start = Clock::now();
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  Result<std::string> guest = native->loginAsNewGuest(server->poolId());
  auto nativeTook = Clock::now() - start;
  EXPECT_TRUE(guest.isOk()) << guest.status();
  EXPECT_LT(nativeTook, 1000ms);
  std::printf("legitimate client with 1,200 idle/half-open connections open: HTTP GetId %lld ms, "
              "native connect+GetId+GetToken+Authenticate %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(httpTook).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(nativeTook).count()));
}

std::string getIdBody(const std::string& pool, const std::string& logins = "") {
  return "{\"IdentityPoolId\":\"" + pool + "\"" + (logins.empty() ? "" : ",\"Logins\":" + logins) + "}";
}

HttpReply identityCall(int port, const std::string& op, const std::string& body) {
  return httpRequest(port, "POST", "/",
                     {{"Content-Type", "application/x-amz-json-1.1"},
                      {"X-Amz-Target", "AWSCognitoIdentityService." + op}},
                     body);
}

bool throttledHttp(const HttpReply& r, int status) {
  return r.status == status && r.body.is_object() && r.body.value("__type", "") == "TooManyRequestsException";
}

// A bucket that does not refill during the test: `burst` requests, then refusals.
std::string rate(const char* kind, const char* scope, int burst) {
  return std::string("[limits.") + kind + "]\n" + scope + "_per_second = 0.001\n" + scope + "_burst = " +
         std::to_string(burst) + "\n" + (std::string(scope) == "per_address" ? "per_pool" : "per_address") +
         "_per_second = 0\n";
}

TEST(RateLimitTest, IdentityCreationPerAddressOnBothSurfaces) {
  auto server = startWith("rl-id", rate("identity_creation", "per_address", 5));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(identityCall(port, "GetId", getIdBody(server->poolId())).status, 200) << i;
  HttpReply refused = identityCall(port, "GetId", getIdBody(server->poolId()));
  EXPECT_TRUE(throttledHttp(refused, 400)) << refused.raw;
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  auto r = native->callAs<proto::GetIdResponse>(proto::GetIdRequest{server->poolId(), {}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kTooManyRequests) << r.status();
  // Another address has its own bucket.
  auto other = RawConn::open(port, "127.0.0.9");
  std::string body = getIdBody(server->poolId());
  ASSERT_TRUE(other->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n"
                          "Content-Type: application/x-amz-json-1.1\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body));
  EXPECT_EQ(statusOf(other->readResponse()), 200);
  EXPECT_EQ(metric(port, limitLine("identity_creation_per_address")), 2);
}

TEST(RateLimitTest, IdentityCreationPerPoolAcrossAddresses) {
  auto server = startWith("rl-pool", rate("identity_creation", "per_pool", 3));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(identityCall(port, "GetId", getIdBody(server->poolId())).status, 200) << i;
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  auto r = native->callAs<proto::GetIdResponse>(proto::GetIdRequest{server->poolId(), {}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kTooManyRequests) << r.status();
  EXPECT_EQ(metric(port, limitLine("identity_creation_per_pool")), 1);
}

TEST(RateLimitTest, TokenIssuance) {
  auto server = startWith("rl-token", rate("token_issuance", "per_address", 4));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  Result<std::string> id = native->loginAsNewGuest(server->poolId());  // one token
  ASSERT_TRUE(id.isOk()) << id.status();
  std::string body = "{\"IdentityId\":\"" + *id + "\"}";
  EXPECT_EQ(identityCall(port, "GetOpenIdToken", body).status, 200);
  EXPECT_EQ(identityCall(port, "GetCredentialsForIdentity", body).status, 200);
  EXPECT_TRUE(native->callAs<proto::GetTokenResponse>(proto::GetTokenRequest{*id, {}}).isOk());
  EXPECT_TRUE(throttledHttp(identityCall(port, "GetOpenIdToken", body), 400));
  EXPECT_TRUE(throttledHttp(identityCall(port, "GetCredentialsForIdentity", body), 400));
  auto t = native->callAs<proto::GetTokenResponse>(proto::GetTokenRequest{*id, {}});
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().code(), StatusCode::kTooManyRequests);
  EXPECT_EQ(metric(port, limitLine("token_issuance_per_address")), 3);
}

TEST(RateLimitTest, SignInAttempts) {
  auto server = startWith("rl-signin", rate("sign_in", "per_address", 3));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  // Logins from a provider the pool does not know: refused as such until the bucket is empty,
  // then refused as throttled, before any verification.
  std::string logins = "{\"accounts.example.com\":\"not-a-token\"}";
  for (int i = 0; i < 3; ++i) {
    HttpReply r = identityCall(port, "GetId", getIdBody(server->poolId(), logins));
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_NE(r.body.value("__type", ""), "TooManyRequestsException") << r.raw;
  }
  EXPECT_TRUE(throttledHttp(identityCall(port, "GetId", getIdBody(server->poolId(), logins)), 400));
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  auto r = native->callAs<proto::GetIdResponse>(
      proto::GetIdRequest{server->poolId(), {Login{"accounts.example.com", "not-a-token"}}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kTooManyRequests) << r.status();
  // Guests are another kind: still served.
  EXPECT_EQ(identityCall(port, "GetId", getIdBody(server->poolId())).status, 200);
  EXPECT_EQ(metric(port, limitLine("sign_in_per_address")), 2);
}

TEST(RateLimitTest, WritesOnBothSurfaces) {
  auto server = startWith("rl-writes", rate("writes", "per_address", 3));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  Result<std::string> id = native->loginAsNewGuest(server->poolId());
  ASSERT_TRUE(id.isOk()) << id.status();
  auto write = [&](int i) {
    auto p = native->callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{"ds", 0, 0, ""});
    if (!p.isOk()) return p.status();
    RecordPatch patch{PatchOp::kReplace, "k" + std::to_string(i), "v", 0, 1};
    return native->callAs<proto::UpdateRecordsResponse>(
                     proto::UpdateRecordsRequest{"ds", p->syncSessionToken, "dev", {patch}})
        .status();
  };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(write(i).isOk()) << i;
  EXPECT_EQ(write(3).code(), StatusCode::kTooManyRequests);
  // The HTTP surface shares the address's bucket: Cognito Sync answers 429.
  SignedSyncClient http(port, server->poolId(), *id);
  ASSERT_TRUE(http.fetchCredentials());
  std::vector<std::string> records = {"identitypools", server->poolId(), "identities", *id, "datasets", "ds", "records"};
  HttpReply list = http.call("GET", records, "");
  ASSERT_EQ(list.status, 200) << list.raw;
  std::string body = "{\"SyncSessionToken\":\"" + list.body.value("SyncSessionToken", "") +
                     "\",\"RecordPatches\":[{\"Op\":\"replace\",\"Key\":\"h\",\"Value\":\"v\",\"SyncCount\":0}]}";
  HttpReply update = http.call("POST", {"identitypools", server->poolId(), "identities", *id, "datasets", "ds"}, body);
  EXPECT_TRUE(throttledHttp(update, 429)) << update.raw;
  // Reads are not writes.
  EXPECT_EQ(http.call("GET", records, "").status, 200);
  EXPECT_EQ(metric(port, limitLine("writes_per_address")), 2);
}


// GetId over a fresh connection from `source`, with an X-Forwarded-For header if given.
int getIdFrom(int port, const char* source, const std::string& pool, const std::string& forwardedFor) {
  auto c = RawConn::open(port, source);
  if (!c) return 0;
  std::string body = getIdBody(pool);
  std::string head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n"
                     "Content-Type: application/x-amz-json-1.1\r\n";
  if (!forwardedFor.empty()) head += "X-Forwarded-For: " + forwardedFor + "\r\n";
  if (!c->send(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body)) return 0;
  return statusOf(c->readResponse());
}

// Behind a load balancer every connection comes from its address (docs/scale-out.md): with it
// in trusted_proxies its connections are not capped per address, and the rate limits apply to
// the client address it forwards (the last X-Forwarded-For entry). Anyone else's header is
// ignored, so a client cannot pick its own bucket.
TEST(RateLimitTest, BehindATrustedProxyLimitsApplyToTheForwardedAddress) {
  auto server = startWith("rl-proxy", rate("identity_creation", "per_address", 2) +
                                          "[limits]\ntrusted_proxies = [\"127.0.0.1\"]\n"
                                          "max_connections_per_address = 3\n");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  const std::string pool = server->poolId();
  // The proxy (127.0.0.1) forwards two clients; each has its own bucket of 2.
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "10.0.0.1"), 200);
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "203.0.113.9, 10.0.0.1"), 200);  // the last entry counts
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "10.0.0.1"), 400);
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "10.0.0.2"), 200);
  // Many connections from the proxy at once: not capped.
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(RawConn::open(port, "127.0.0.1"));
    ASSERT_NE(held.back(), nullptr);
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }
  for (auto& c : held) EXPECT_EQ(statusOf(c->readResponse()), 200);
  held.clear();
  // An untrusted address's X-Forwarded-For is ignored: its own bucket, and its cap of 3.
  EXPECT_EQ(getIdFrom(port, "127.0.0.9", pool, "10.0.0.50"), 200);
  EXPECT_EQ(getIdFrom(port, "127.0.0.9", pool, "10.0.0.51"), 200);
  EXPECT_EQ(getIdFrom(port, "127.0.0.9", pool, "10.0.0.52"), 400);
  for (int i = 0; i < 3; ++i) held.push_back(RawConn::open(port, "127.0.0.9"));
  auto fourth = RawConn::open(port, "127.0.0.9");
  ASSERT_NE(fourth, nullptr);
  ASSERT_TRUE(fourth->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") || true);
  EXPECT_NE(statusOf(fourth->readResponse()), 200);
}

}  // namespace
}  // namespace tether::testing
