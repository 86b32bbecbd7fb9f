// tetherd behind the deployment's HAProxy config (docs/scale-out/haproxy.cfg): the native
// protocol's WebSocket upgrade, live-sync pushes and SigV4-signed Cognito HTTP requests pass
// through the balancer unchanged. The multi-node suites on PostgreSQL use the same launcher
// and file.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "haproxy_process.h"
#include "http_test_client.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;

std::filesystem::path haproxyConfig() {
  const char* cfg = std::getenv("TETHER_HAPROXY_CFG");
  return cfg != nullptr ? cfg : "docs/scale-out/haproxy.cfg";
}

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

TEST(BalancerTest, WebSocketHttpAndSignedRequestsPassThroughTheDeploymentConfig) {
  auto node = TetherdProcess::start();
  ASSERT_NE(node, nullptr);
  std::string addr = "127.0.0.1:" + std::to_string(node->port());
  // One node listed three times: the point here is what the balancer passes, not spreading.
  auto lb = HaproxyProcess::start(haproxyConfig(), {addr, addr, addr});
  ASSERT_NE(lb, nullptr);

  HttpReply health = httpRequest(lb->port(), "GET", "/healthz", {{"Host", "127.0.0.1"}});
  EXPECT_EQ(health.status, 200) << health.raw;

  // Native protocol through the balancer: a guest writes, a second device of it is told.
  auto a = WsTestClient::connect(lb->url());
  ASSERT_NE(a, nullptr);
  Result<std::string> id = a->loginAsNewGuest(node->poolId());
  ASSERT_TRUE(id.isOk()) << id.status();
  auto b = WsTestClient::connect(lb->url());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->loginAs(*id).isOk());
  ASSERT_TRUE(b->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, ""}).isOk());
  auto pulled = a->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(pulled.isOk()) << pulled.status();
  auto written = a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
      "prefs", pulled->syncSessionToken, "dev-a", {RecordPatch{PatchOp::kReplace, "theme", "dark", 0, 1}}});
  ASSERT_TRUE(written.isOk()) << written.status();
  EXPECT_TRUE(waitUntil([&] { return !b->pushes().empty(); }, 10000));
  ASSERT_FALSE(b->pushes().empty());
  EXPECT_EQ(b->pushes().back().syncCount, written->syncCount);

  // Cognito HTTP through the balancer: credentials, then a SigV4-signed request whose signed
  // Host header is the balancer's.
  SignedSyncClient cognito(lb->port(), node->poolId(), *id);
  ASSERT_TRUE(cognito.fetchCredentials());
  HttpReply reg = cognito.registerDevice("GCM", "token-through-lb");
  EXPECT_EQ(reg.status, 200) << reg.raw;
}

}  // namespace
}  // namespace tether::testing
