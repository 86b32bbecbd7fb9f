// Integration tests of the real tetherd binary over loopback: native protocol over ws:// and
// wss://, the HTTP operations endpoints, bad input of every kind, concurrency, shutdown and
// crash recovery.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "auth/token_issuer.h"
#include "http_test_client.h"
#include "tetherd_process.h"
#include "tether/codec.h"
#include "tether/limits.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

RecordPatch put(std::string key, std::string value, int64_t syncCount = 0) {
  return RecordPatch{PatchOp::kReplace, std::move(key), std::move(value), syncCount, nowMs()};
}

RecordPatch removal(std::string key, int64_t syncCount) {
  return RecordPatch{PatchOp::kRemove, std::move(key), "", syncCount, nowMs()};
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = TetherdProcess::start().release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // A connected client logged in as a new guest of the test pool.
  std::unique_ptr<WsTestClient> guest(std::string* identity = nullptr) {
    auto c = WsTestClient::connect(server_->url());
    EXPECT_NE(c, nullptr);
    if (!c) return nullptr;
    Result<std::string> id = c->loginAsNewGuest(server_->poolId());
    EXPECT_TRUE(id.isOk()) << id.status();
    if (identity && id.isOk()) *identity = *id;
    return c;
  }

  static Result<ListRecordsResponse> pull(WsTestClient& c, const std::string& ds, int64_t since = 0) {
    return c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, since, 0, ""});
  }

  static Result<UpdateRecordsResponse> push(WsTestClient& c, const std::string& ds,
                                            std::vector<RecordPatch> patches, const std::string& device = "dev-a") {
    Result<ListRecordsResponse> p = pull(c, ds);
    if (!p.isOk()) return p.status();
    return c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{ds, p->syncSessionToken, device, std::move(patches)});
  }

  static TetherdProcess* server_;
};

TetherdProcess* ServerTest::server_ = nullptr;

TEST_F(ServerTest, HealthzAndWellKnownEndpoints) {
  std::string health = httpGet(server_->port(), "/healthz");
  EXPECT_NE(health.find("200"), std::string::npos) << health;
  EXPECT_NE(health.find("\"ok\""), std::string::npos);

  std::string jwks = httpGet(server_->port(), "/.well-known/jwks.json");
  EXPECT_NE(jwks.find("\"keys\""), std::string::npos) << jwks;
  EXPECT_NE(jwks.find("\"kid\""), std::string::npos);
  EXPECT_NE(jwks.find("ES256"), std::string::npos);

  std::string disco = httpGet(server_->port(), "/.well-known/openid-configuration");
  EXPECT_NE(disco.find("\"issuer\":\"http://127.0.0.1:" + std::to_string(server_->port()) + "\""), std::string::npos) << disco;
  EXPECT_NE(disco.find("/.well-known/jwks.json"), std::string::npos);

  std::string metrics = httpGet(server_->port(), "/metrics");
  EXPECT_NE(metrics.find("tether_requests_total"), std::string::npos);

  std::string missing = httpGet(server_->port(), "/no/such/thing");
  EXPECT_NE(missing.find("404"), std::string::npos);
}

TEST_F(ServerTest, GuestIdentityGetsWellFormedIdAndToken) {
  auto c = WsTestClient::connect(server_->url());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->helloAck());
  EXPECT_EQ(c->helloAck()->protocolVersion, 1u);
  auto id = c->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
  ASSERT_TRUE(id.isOk()) << id.status();
  EXPECT_TRUE(validateIdentityId(id->identityId).isOk()) << id->identityId;
  EXPECT_EQ(id->identityId.substr(0, 6), "local:");
  auto tok = c->callAs<GetTokenResponse>(GetTokenRequest{id->identityId, {}});
  ASSERT_TRUE(tok.isOk()) << tok.status();
  EXPECT_EQ(std::count(tok->token.begin(), tok->token.end(), '.'), 2);
  EXPECT_GT(tok->expiresAtMs, nowMs());
  auto auth = c->callAs<AuthenticateResponse>(AuthenticateRequest{tok->token});
  ASSERT_TRUE(auth.isOk()) << auth.status();
  EXPECT_EQ(auth->identityId, id->identityId);
  EXPECT_EQ(auth->identityPoolId, server_->poolId());

  // Two guests never share an ID.
  auto id2 = c->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
  ASSERT_TRUE(id2.isOk());
  EXPECT_NE(id2->identityId, id->identityId);
}

TEST_F(ServerTest, PushPullAcrossTwoDevicesOfOneIdentity) {
  std::string identity;
  auto a = guest(&identity);
  ASSERT_NE(a, nullptr);
  auto up = push(*a, "prefs", {put("theme", "dark"), put("lang", "fr")});
  ASSERT_TRUE(up.isOk()) << up.status();
  ASSERT_EQ(up->records.size(), 2u);
  EXPECT_EQ(up->records[0].syncCount, 1);
  EXPECT_EQ(up->records[0].lastModifiedBy, "dev-a");

  // Device B of the same guest user: only the identity ID is needed.
  auto b = WsTestClient::connect(server_->url());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->loginAs(identity).isOk());
  auto got = pull(*b, "prefs");
  ASSERT_TRUE(got.isOk()) << got.status();
  EXPECT_TRUE(got->datasetExists);
  EXPECT_EQ(got->datasetSyncCount, 1);
  ASSERT_EQ(got->records.size(), 2u);
  std::set<std::string> keys;
  for (auto& r : got->records) keys.insert(r.key + "=" + r.value.value_or("<none>"));
  EXPECT_EQ(keys, (std::set<std::string>{"theme=dark", "lang=fr"}));

  // B removes a key; A pulls since 1 and sees only the tombstone.
  auto rm = b->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"prefs", got->syncSessionToken, "dev-b", {removal("lang", 1)}});
  ASSERT_TRUE(rm.isOk()) << rm.status();
  auto since = pull(*a, "prefs", 1);
  ASSERT_TRUE(since.isOk());
  ASSERT_EQ(since->records.size(), 1u);
  EXPECT_EQ(since->records[0].key, "lang");
  EXPECT_TRUE(since->records[0].isDeleted());
  EXPECT_EQ(since->datasetSyncCount, 2);

  auto desc = a->callAs<DescribeDatasetResponse>(DescribeDatasetRequest{"prefs"});
  ASSERT_TRUE(desc.isOk());
  EXPECT_EQ(desc->dataset.numRecords, 1);
  EXPECT_EQ(desc->dataset.dataStorage, static_cast<int64_t>(std::string("themedark").size()));
}

TEST_F(ServerTest, StaleSyncCountRejectsWholeBatch) {
  auto a = guest();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(push(*a, "game", {put("score", "1")}).isOk());
  // A second writer that never saw "score" (count 0) conflicts; its other key is not written.
  auto r = push(*a, "game", {put("level", "3"), put("score", "9", 0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("Current SyncCount for: score is: 1 not: 0"), std::string::npos)
      << r.status().message();
  auto all = pull(*a, "game");
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(all->datasetSyncCount, 1);
  ASSERT_EQ(all->records.size(), 1u);
  EXPECT_EQ(all->records[0].value, "1");
}

TEST_F(ServerTest, LimitsAreEnforcedBeforeWriting) {
  auto a = guest();
  ASSERT_NE(a, nullptr);
  // 20 datasets fit, the 21st does not.
  for (int i = 0; i < kMaxDatasetsPerIdentity; ++i)
    ASSERT_TRUE(push(*a, "ds" + std::to_string(i), {put("k", "v")}).isOk()) << i;
  auto over = push(*a, "ds-too-many", {put("k", "v")});
  EXPECT_EQ(over.status().code(), StatusCode::kLimitExceeded);
  auto list = a->callAs<ListDatasetsResponse>(ListDatasetsRequest{0, ""});
  ASSERT_TRUE(list.isOk());
  EXPECT_EQ(list->datasets.size(), 20u);

  // 1 MB per dataset: a batch that would pass it is refused whole.
  auto b = guest();
  ASSERT_NE(b, nullptr);
  std::string big(600000, 'x');
  ASSERT_TRUE(push(*b, "blob", {put("a", big)}).isOk());
  auto tooBig = push(*b, "blob", {put("b", big), put("c", "small")});
  EXPECT_EQ(tooBig.status().code(), StatusCode::kLimitExceeded);
  auto state = pull(*b, "blob");
  ASSERT_TRUE(state.isOk());
  EXPECT_EQ(state->records.size(), 1u);
  EXPECT_EQ(state->datasetSyncCount, 1);
}

TEST_F(ServerTest, DeleteAndRecreateKeepsCountsMonotonic) {
  auto a = guest();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(push(*a, "notes", {put("n1", "hello")}).isOk());
  ASSERT_TRUE(push(*a, "notes", {put("n2", "world")}).isOk());
  auto del = a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"notes"});
  ASSERT_TRUE(del.isOk()) << del.status();
  EXPECT_EQ(del->dataset.name, "notes");
  EXPECT_EQ(del->dataset.numRecords, 2);

  auto gone = a->callAs<DescribeDatasetResponse>(DescribeDatasetRequest{"notes"});
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  auto again = a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"notes"});
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound);

  auto after = pull(*a, "notes", 2);
  ASSERT_TRUE(after.isOk());
  EXPECT_FALSE(after->datasetExists);
  EXPECT_TRUE(after->datasetDeletedAfterRequestedSyncCount);

  auto re = push(*a, "notes", {put("n3", "again")});
  ASSERT_TRUE(re.isOk()) << re.status();
  EXPECT_GT(re->records[0].syncCount, 2);  // never reuses a count
  auto fresh = pull(*a, "notes", 0);
  ASSERT_TRUE(fresh.isOk());
  EXPECT_TRUE(fresh->datasetExists);
  ASSERT_EQ(fresh->records.size(), 1u);
  EXPECT_EQ(fresh->records[0].key, "n3");
}

TEST_F(ServerTest, PaginationCarriesStableDatasetFields) {
  auto a = guest();
  ASSERT_NE(a, nullptr);
  std::vector<RecordPatch> patches;
  for (int i = 0; i < 250; ++i) patches.push_back(put("key" + std::to_string(i), "value" + std::to_string(i)));
  ASSERT_TRUE(push(*a, "paged", std::move(patches)).isOk());

  std::set<std::string> seen;
  std::string next;
  int pages = 0;
  int64_t firstCount = -1;
  do {
    auto page = a->callAs<ListRecordsResponse>(ListRecordsRequest{"paged", 0, 100, next});
    ASSERT_TRUE(page.isOk()) << page.status();
    if (firstCount < 0) firstCount = page->datasetSyncCount;
    EXPECT_EQ(page->datasetSyncCount, firstCount);
    EXPECT_TRUE(page->datasetExists);
    EXPECT_FALSE(page->syncSessionToken.empty());
    EXPECT_LE(page->records.size(), 100u);
    for (auto& r : page->records) seen.insert(r.key);
    next = page->nextToken;
    ++pages;
    if (pages == 1) ASSERT_TRUE(push(*a, "paged", {put("late", "x")}).isOk());  // a write between pages
  } while (!next.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(seen.count("late"), 0u);  // it arrives on the next pull, since firstCount
  auto rest = pull(*a, "paged", firstCount);
  ASSERT_TRUE(rest.isOk());
  ASSERT_EQ(rest->records.size(), 1u);
  EXPECT_EQ(rest->records[0].key, "late");

  auto garbage = a->callAs<ListRecordsResponse>(ListRecordsRequest{"paged", 0, 100, "not-a-token"});
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServerTest, IdentitiesAreIsolated) {
  auto a = guest();
  auto b = guest();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(push(*a, "secret", {put("pin", "1234")}).isOk());
  auto other = pull(*b, "secret");
  ASSERT_TRUE(other.isOk());
  EXPECT_FALSE(other->datasetExists);
  EXPECT_TRUE(other->records.empty());
  // A's session token is useless to B.
  auto tokA = pull(*a, "secret");
  ASSERT_TRUE(tokA.isOk());
  auto steal = b->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"secret", tokA->syncSessionToken, "x", {put("pin", "0")}});
  EXPECT_EQ(steal.status().code(), StatusCode::kInvalidArgument);
  auto still = pull(*a, "secret");
  ASSERT_TRUE(still.isOk());
  EXPECT_EQ(still->records[0].value, "1234");
}

TEST_F(ServerTest, InvalidNamesKeysAndTokensAreTypedErrors) {
  auto a = guest();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(pull(*a, "bad name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pull(*a, std::string(129, 'x')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(push(*a, "ok", {put("", "v")}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(push(*a, "ok", {put(std::string(1025, 'k'), "v")}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(push(*a, "ok", {put("k", "\xff\xfe")}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(push(*a, "ok", {put("dup", "1"), put("dup", "2")}).status().code(), StatusCode::kInvalidArgument);
  auto noToken = a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"ok", "", "d", {put("k", "v")}});
  EXPECT_EQ(noToken.status().code(), StatusCode::kInvalidArgument);
  auto forged = a->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"ok", "abc.def", "d", {put("k", "v")}});
  EXPECT_EQ(forged.status().code(), StatusCode::kInvalidArgument);
  // Nothing of the above was written.
  auto ok = pull(*a, "ok");
  ASSERT_TRUE(ok.isOk());
  EXPECT_FALSE(ok->datasetExists);
}

TEST_F(ServerTest, RequestsBeforeAuthenticationAreRefused) {
  auto c = WsTestClient::connect(server_->url());
  ASSERT_NE(c, nullptr);
  auto r = c->callAs<ListDatasetsResponse>(ListDatasetsRequest{0, ""});
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  auto bad = c->callAs<AuthenticateResponse>(AuthenticateRequest{"not.a.jwt"});
  EXPECT_EQ(bad.status().code(), StatusCode::kUnauthenticated);
  auto still = c->callAs<ListDatasetsResponse>(ListDatasetsRequest{0, ""});
  EXPECT_EQ(still.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(ServerTest, ForgedExpiredAndForeignTokensAreRefused) {
  auto c = WsTestClient::connect(server_->url());
  ASSERT_NE(c, nullptr);
  auto id = c->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
  ASSERT_TRUE(id.isOk());
  auto tok = c->callAs<GetTokenResponse>(GetTokenRequest{id->identityId, {}});
  ASSERT_TRUE(tok.isOk());

  // Tampered payload: swap one character of the claims.
  std::string t = tok->token;
  size_t dot = t.find('.');
  t[dot + 5] = t[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(c->callAs<AuthenticateResponse>(AuthenticateRequest{t}).status().code(), StatusCode::kUnauthenticated);
  // Signature cut off / alg none.
  std::string noSig = tok->token.substr(0, tok->token.rfind('.') + 1);
  EXPECT_EQ(c->callAs<AuthenticateResponse>(AuthenticateRequest{noSig}).status().code(), StatusCode::kUnauthenticated);

  // Expired: signed with the server's own key (read from its data dir), but long ago.
  std::string issuerUrl = "http://127.0.0.1:" + std::to_string(server_->port());
  auto issuer = server::TokenIssuer::open(server_->dataDir(), issuerUrl);
  ASSERT_TRUE(issuer.isOk()) << issuer.status();
  auto old = (*issuer)->issue(server::TokenClaims{server_->poolId(), id->identityId, {"unauthenticated"}, 600},
                              nowMs() - 3600 * 1000);
  ASSERT_TRUE(old.isOk());
  auto expired = c->callAs<AuthenticateResponse>(AuthenticateRequest{old->token});
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  // Same key and time, but claiming another pool, or an identity that does not exist.
  auto otherPool = (*issuer)->issue(server::TokenClaims{"local:00000000-0000-4000-8000-000000000000", id->identityId,
                                                        {"unauthenticated"}, 600}, nowMs());
  ASSERT_TRUE(otherPool.isOk());
  EXPECT_EQ(c->callAs<AuthenticateResponse>(AuthenticateRequest{otherPool->token}).status().code(),
            StatusCode::kUnauthenticated);
  auto ghost = (*issuer)->issue(server::TokenClaims{server_->poolId(), "local:00000000-0000-4000-8000-0000000000ff",
                                                    {"unauthenticated"}, 600}, nowMs());
  ASSERT_TRUE(ghost.isOk());
  EXPECT_EQ(c->callAs<AuthenticateResponse>(AuthenticateRequest{ghost->token}).status().code(),
            StatusCode::kUnauthenticated);
  // A token from another server (another key) is refused.
  auto strangerDir = makeTempDir("stranger");
  auto stranger = server::TokenIssuer::open(strangerDir, issuerUrl);
  ASSERT_TRUE(stranger.isOk());
  auto foreign = (*stranger)->issue(server::TokenClaims{server_->poolId(), id->identityId, {"unauthenticated"}, 600}, nowMs());
  ASSERT_TRUE(foreign.isOk());
  EXPECT_EQ(c->callAs<AuthenticateResponse>(AuthenticateRequest{foreign->token}).status().code(),
            StatusCode::kUnauthenticated);
  // None of this authenticated the connection.
  EXPECT_EQ(c->callAs<ListDatasetsResponse>(ListDatasetsRequest{0, ""}).status().code(), StatusCode::kUnauthenticated);

  // Unknown pool / unknown identity for GetId / GetToken.
  EXPECT_EQ(c->callAs<GetIdResponse>(GetIdRequest{"local:00000000-0000-4000-8000-000000000000", {}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(c->callAs<GetIdResponse>(GetIdRequest{"nonsense", {}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->callAs<GetTokenResponse>(GetTokenRequest{"local:00000000-0000-4000-8000-0000000000ff", {}}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ServerTest, MalformedFramesCloseWithReasonOthersUnaffected) {
  auto bystander = guest();
  ASSERT_NE(bystander, nullptr);

  struct Case { std::string name; std::string bytes; bool binary; };
  std::string valid = codec::encode(ClientMessage{Request{1, ListDatasetsRequest{0, ""}}});
  std::vector<Case> cases = {
      {"garbage", std::string(24, '\x7f'), true},
      {"truncated", valid.substr(0, valid.size() - 8), true},
      {"odd length", valid.substr(0, valid.size() - 3), true},
      {"text frame", "hello", false},
      {"empty", "", true},
  };
  for (const auto& c : cases) {
    auto bad = WsTestClient::connect(server_->url());
    ASSERT_NE(bad, nullptr) << c.name;
    bad->sendRaw(c.bytes, c.binary);
    int code = 0;
    std::string reason;
    EXPECT_TRUE(bad->waitClosed(5000, &code, &reason)) << c.name;
    EXPECT_TRUE(code == 1007 || code == 1003 || code == 1002) << c.name << " code " << code;
    EXPECT_FALSE(reason.empty()) << c.name;
  }
  // The server still serves everyone else.
  EXPECT_TRUE(bystander->callAs<ListDatasetsResponse>(ListDatasetsRequest{0, ""}).isOk());
}

TEST_F(ServerTest, OversizedFrameIsRefused) {
  auto c = WsTestClient::connect(server_->url());
  ASSERT_NE(c, nullptr);
  c->sendRaw(std::string(kMaxFrameBytes + 1024, '\0'));
  int code = 0;
  std::string reason;
  EXPECT_TRUE(c->waitClosed(10000, &code, &reason));
  EXPECT_EQ(code, 1009);
  EXPECT_NE(reason.find("larger"), std::string::npos) << reason;
}

TEST_F(ServerTest, ProtocolVersionAndHelloRules) {
  WsTestClient::Options o;
  o.url = server_->url();
  o.sendHello = false;
  auto old = WsTestClient::connect(o);
  ASSERT_NE(old, nullptr);
  old->sendHello(0);
  int code = 0;
  EXPECT_TRUE(old->waitClosed(5000, &code));
  EXPECT_EQ(code, 1002);

  auto noHello = WsTestClient::connect(o);
  ASSERT_NE(noHello, nullptr);
  noHello->sendRaw(codec::encode(ClientMessage{Request{1, ListDatasetsRequest{0, ""}}}));
  EXPECT_TRUE(noHello->waitClosed(5000, &code));
  EXPECT_EQ(code, 1002);

  // A newer client is told which version to speak.
  auto newer = WsTestClient::connect(o);
  ASSERT_NE(newer, nullptr);
  newer->sendHello(7);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!newer->helloAck() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(newer->helloAck());
  EXPECT_EQ(newer->helloAck()->protocolVersion, 1u);
}

TEST_F(ServerTest, WrongSubprotocolIsRejected) {
  WsTestClient::Options o;
  o.url = server_->url();
  o.subprotocol = "";
  o.sendHello = false;
  auto c = WsTestClient::connect(o);
  if (c) EXPECT_TRUE(c->waitClosed(5000));
}

TEST_F(ServerTest, ManyRequestsInFlightOnOneConnection) {
  auto a = guest();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(push(*a, "multi", {put("k", "v")}).isOk());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(a->sendRequest(ListRecordsRequest{"multi", 0, 0, ""}));
  for (uint64_t id : ids) {
    auto r = a->waitResponse(id);
    ASSERT_TRUE(r.has_value()) << id;
    auto* lr = std::get_if<ListRecordsResponse>(&r->body);
    ASSERT_NE(lr, nullptr);
    EXPECT_EQ(lr->records.size(), 1u);
  }
}

TEST_F(ServerTest, HammeredIdentityLosesNoUpdate) {
  std::string identity;
  auto first = guest(&identity);
  ASSERT_NE(first, nullptr);
  constexpr int kDevices = 6, kRounds = 15;
  std::atomic<int> accepted{0}, conflicts{0}, failures{0};
  std::vector<std::thread> threads;
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      auto c = WsTestClient::connect(server_->url());
      if (!c || !c->loginAs(identity).isOk()) { failures++; return; }
      for (int r = 0; r < kRounds; ++r) {
        // Read-modify-write of a shared counter plus a key of our own, retried on conflict.
        for (int attempt = 0; attempt < 200; ++attempt) {
          auto cur = pull(*c, "counter");
          if (!cur.isOk()) { failures++; return; }
          int64_t value = 0, count = 0;
          for (auto& rec : cur->records)
            if (rec.key == "n") { value = std::stoll(*rec.value); count = rec.syncCount; }
          auto up = c->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
              "counter", cur->syncSessionToken, std::string("dev").append(std::to_string(d)),
              {put("n", std::to_string(value + 1), count), put("d" + std::to_string(d) + "-" + std::to_string(r), "x")}});
          if (up.isOk()) { accepted++; break; }
          if (up.status().code() != StatusCode::kConflict) { failures++; return; }
          conflicts++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(accepted.load(), kDevices * kRounds);
  auto final = pull(*first, "counter");
  ASSERT_TRUE(final.isOk());
  std::map<std::string, std::string> kv;
  for (auto& r : final->records) kv[r.key] = r.value.value_or("");
  EXPECT_EQ(kv["n"], std::to_string(kDevices * kRounds));      // no lost increment
  EXPECT_EQ(kv.size(), static_cast<size_t>(kDevices * kRounds + 1));
  EXPECT_EQ(final->datasetSyncCount, kDevices * kRounds);      // one count per accepted batch
}

TEST_F(ServerTest, ManyConnectionsAndIdentitiesAtOnce) {
  constexpr int kClients = 24;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = WsTestClient::connect(server_->url());
      if (!c || !c->loginAsNewGuest(server_->poolId()).isOk()) return;
      bool good = true;
      for (int r = 0; r < 5 && good; ++r) {
        auto p = pull(*c, "mine");
        if (!p.isOk()) { good = false; break; }
        int64_t cnt = 0;
        for (auto& rec : p->records) if (rec.key == "v") cnt = rec.syncCount;
        auto u = c->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
            "mine", p->syncSessionToken, "d", {put("v", std::to_string(i * 100 + r), cnt)}});
        good = u.isOk();
      }
      auto last = pull(*c, "mine");
      if (good && last.isOk() && last->datasetSyncCount == 5 && last->records.size() == 1 &&
          last->records[0].value == std::to_string(i * 100 + 4))
        ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
}

TEST_F(ServerTest, SlowReaderIsCutOffWithoutSlowingOthers) {
  std::string identity;
  auto writer = guest(&identity);
  ASSERT_NE(writer, nullptr);
  std::vector<RecordPatch> patches;
  for (int i = 0; i < 15; ++i) patches.push_back(put("blob" + std::to_string(i), std::string(65536, 'a' + i)));
  ASSERT_TRUE(push(*writer, "big", std::move(patches)).isOk());

  auto metric = [&](const std::string& name) -> long {
    std::string text = httpGet(server_->port(), "/metrics");
    size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stol(text.substr(at + name.size() + 2));
  };
  // Read before the stalled reader exists: the server may cut it off at any moment after.
  const long before = metric("tether_slow_readers_closed_total");
  ASSERT_GE(before, 0);

  auto slow = WsTestClient::connect(server_->url());
  ASSERT_NE(slow, nullptr);
  ASSERT_TRUE(slow->loginAs(identity).isOk());
  slow->setReading(false);
  for (int i = 0; i < 60; ++i) slow->sendRequest(ListRecordsRequest{"big", 0, 0, ""});  // ~60 MB of replies

  // Meanwhile another client is served promptly.
  auto fast = guest();
  ASSERT_NE(fast, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(fast->callAs<ListDatasetsResponse>(ListDatasetsRequest{0, ""}).isOk());
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 5000);

  // The stalled reader stays stalled until the server has given up on it: the 60 replies
  // (~60 MB) are far past the 16 MiB bound plus what the kernel's socket buffers hold.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (metric("tether_slow_readers_closed_total") == before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(metric("tether_slow_readers_closed_total"), before + 1);
  // Reading again, it drains what the kernel held and then finds the policy close.
  slow->setReading(true);
  int code = 0;
  EXPECT_TRUE(slow->waitClosed(15000, &code));
  EXPECT_EQ(code, 1008);
  // The server is alive and well.
  EXPECT_NE(httpGet(server_->port(), "/healthz").find("200"), std::string::npos);
}

// ---------------------------------------------------------------- own-server tests

TEST(ServerLifecycleTest, WssWithVerifiedCertificate) {
  TetherdOptions o;
  o.tls = true;
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  auto c = WsTestClient::connect(server->url(), server->caFile());
  ASSERT_NE(c, nullptr);
  auto id = c->loginAsNewGuest(server->poolId());
  ASSERT_TRUE(id.isOk()) << id.status();
  auto p = c->callAs<ListRecordsResponse>(ListRecordsRequest{"tls", 0, 0, ""});
  ASSERT_TRUE(p.isOk());
  auto u = c->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"tls", p->syncSessionToken, "d", {put("k", "v")}});
  ASSERT_TRUE(u.isOk()) << u.status();
  // A client that does not trust the test CA is refused.
  EXPECT_EQ(WsTestClient::connect(server->url(), ""), nullptr);
}

TEST(ServerLifecycleTest, SigtermShutsDownCleanlyAndDataSurvives) {
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  std::string identity;
  {
    auto c = WsTestClient::connect(server->url());
    ASSERT_NE(c, nullptr);
    auto id = c->loginAsNewGuest(server->poolId());
    ASSERT_TRUE(id.isOk());
    identity = *id;
    auto p = c->callAs<ListRecordsResponse>(ListRecordsRequest{"keep", 0, 0, ""});
    ASSERT_TRUE(p.isOk());
    ASSERT_TRUE(c->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{"keep", p->syncSessionToken, "d", {put("k", "v")}}).isOk());
    // Connection still open while the server stops: it gets a going-away close.
    EXPECT_EQ(server->stop(), 0);
    int code = 0;
    EXPECT_TRUE(c->waitClosed(5000, &code));
  }
  ASSERT_TRUE(server->restart());
  auto c = WsTestClient::connect(server->url());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->loginAs(identity).isOk());
  auto p = c->callAs<ListRecordsResponse>(ListRecordsRequest{"keep", 0, 0, ""});
  ASSERT_TRUE(p.isOk());
  ASSERT_EQ(p->records.size(), 1u);
  EXPECT_EQ(p->records[0].value, "v");
}

TEST(ServerLifecycleTest, AcknowledgedWritesSurviveKill9) {
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  std::string identity;
  int acknowledged = 0;
  {
    auto c = WsTestClient::connect(server->url());
    ASSERT_NE(c, nullptr);
    auto id = c->loginAsNewGuest(server->poolId());
    ASSERT_TRUE(id.isOk());
    identity = *id;
    for (int i = 0; i < 30; ++i) {
      auto p = c->callAs<ListRecordsResponse>(ListRecordsRequest{"crash", 0, 0, ""});
      ASSERT_TRUE(p.isOk());
      auto u = c->callAs<UpdateRecordsResponse>(
          UpdateRecordsRequest{"crash", p->syncSessionToken, "d", {put("k" + std::to_string(i), "v")}});
      ASSERT_TRUE(u.isOk());
      ++acknowledged;
    }
  }
  server->kill9();
  ASSERT_TRUE(server->restart());
  auto c = WsTestClient::connect(server->url());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->loginAs(identity).isOk());
  auto p = c->callAs<ListRecordsResponse>(ListRecordsRequest{"crash", 0, 0, ""});
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(static_cast<int>(p->records.size()), acknowledged);
  EXPECT_EQ(p->datasetSyncCount, acknowledged);
}

TEST(ServerToolTest, PoolCreateAndList) {
  auto dir = makeTempDir("pools");
  std::string out, err;
  ASSERT_EQ(TetherdProcess::runTool({"pool", "create", "--name", "My App", "--allow-guests", "--data-dir", dir.string()}, &out), 0);
  std::string id = out.substr(0, out.find('\n'));
  EXPECT_TRUE(validatePoolId(id).isOk()) << id;
  ASSERT_EQ(TetherdProcess::runTool({"pool", "create", "--name", "Closed", "--data-dir", dir.string()}, &out), 0);
  ASSERT_EQ(TetherdProcess::runTool({"pool", "list", "--data-dir", dir.string()}, &out), 0);
  EXPECT_NE(out.find(id + "\tguests\tMy App"), std::string::npos) << out;
  EXPECT_NE(out.find("no-guests\tClosed"), std::string::npos) << out;
  EXPECT_NE(TetherdProcess::runTool({"pool", "create", "--data-dir", dir.string()}, &out, &err), 0);  // --name missing
  EXPECT_EQ(TetherdProcess::runTool({"serve", "--help"}, &out), 0);
  EXPECT_NE(out.find("--listen"), std::string::npos);
  EXPECT_NE(TetherdProcess::runTool({"serve", "--listen", "nonsense"}, &out, &err), 0);
  EXPECT_NE(TetherdProcess::runTool({"serve", "--log-level", "loud", "--data-dir", dir.string()}, &out, &err), 0);
}

TEST(ServerToolTest, PoolWithoutGuestsRefusesGuests) {
  TetherdOptions o;
  o.createPool = false;
  o.dataDir = makeTempDir("noguests");
  std::string out;
  ASSERT_EQ(TetherdProcess::runTool({"pool", "create", "--name", "closed", "--data-dir", o.dataDir.string()}, &out), 0);
  std::string closedPool = out.substr(0, out.find('\n'));
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  auto c = WsTestClient::connect(server->url());
  ASSERT_NE(c, nullptr);
  auto r = c->callAs<GetIdResponse>(GetIdRequest{closedPool, {}});
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
}

TEST(ServerToolTest, DemoPoolCreatedWhenNoneExists) {
  TetherdOptions o;
  o.createPool = false;
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  std::string out;
  ASSERT_EQ(TetherdProcess::runTool({"pool", "list", "--data-dir", server->dataDir().string()}, &out), 0);
  EXPECT_NE(out.find("\tguests\tdemo"), std::string::npos) << out;
}

}  // namespace
}  // namespace tether::testing

namespace tether::testing {
namespace {

// A peer that completes the WebSocket handshake and then says nothing (answers no ping) is
// dropped after the idle timeout.
TEST(ServerLifecycleTest, SilentPeerIsDroppedAfterIdleTimeout) {
  TetherdOptions o;
  o.extraArgs = {"--idle-timeout", "2"};
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: tether.v1\r\n\r\n";
  ASSERT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = std::chrono::steady_clock::now();
  std::string got;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  auto secs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() / 1000.0;
  ::close(fd);
  EXPECT_NE(got.find("101"), std::string::npos) << got.substr(0, 200);
  EXPECT_EQ(n, 0) << "connection should be closed by the server, not time out";
  EXPECT_GE(secs, 1.5);
  EXPECT_LT(secs, 9.0);
}

}  // namespace
}  // namespace tether::testing
