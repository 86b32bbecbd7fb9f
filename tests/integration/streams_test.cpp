// Cognito Streams through a real tetherd (docs/events.md, "Cognito Streams"), on SQLite and on
// PostgreSQL: stream records delivered by the webhook sink to a receiver the test runs, checked
// field by field against spec cognito-compat.md 5.2; order per dataset; a deletion record; a
// webhook answering 500 while writes keep succeeding, the records waiting (depth and retries in
// /metrics) and the outbox bound refusing writes (TooManyRequestsException) until it drains;
// kill -9 with undelivered records, then every record delivered after the restart; and the
// records/s the publisher delivers to the webhook.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http_test_client.h"
#include "signed_sync_client.h"
#include "store_backend.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using Json = nlohmann::json;

constexpr const char* kPool = "us-east-1:5e7ea111-0000-4000-8000-00000000a001";
constexpr const char* kDevKey = "AKIASTREAMSTEST00001";
constexpr const char* kDevSecret = "streams-test-secret-0123456789abcdef";

std::string hmacHex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[mac[i] >> 4];
    out += digits[mac[i] & 15];
  }
  return out;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The webhook receiver: HTTP/1.1 on 127.0.0.1, one request per connection, answers `status`.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 64);
    thread_ = std::thread([this] { loop(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::atomic<int> status{200};

  std::vector<Json> records() {
    std::lock_guard<std::mutex> l(mu_);
    return records_;
  }
  size_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return records_.size();
  }
  std::vector<std::map<std::string, std::string>> headers() {
    std::lock_guard<std::mutex> l(mu_);
    return headers_;
  }
  int posts() const { return posts_.load(); }
  // When the first and the last accepted POST arrived (0 = none yet).
  std::pair<int64_t, int64_t> okWindow() {
    std::lock_guard<std::mutex> l(mu_);
    return {firstOkMs_, lastOkMs_};
  }

 private:
  void loop() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      serve(c);
      ::close(c);
    }
  }
  void serve(int c) {
    std::string in;
    char buf[65536];
    size_t headEnd = std::string::npos;
    size_t want = 0;
    for (;;) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      if (headEnd == std::string::npos && (headEnd = in.find("\r\n\r\n")) != std::string::npos) {
        std::string lower;
        for (char ch : in.substr(0, headEnd)) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        size_t cl = lower.find("content-length:");
        want = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
      }
      if (headEnd != std::string::npos && in.size() >= headEnd + 4 + want) break;
    }
    posts_++;
    const int st = status.load();
    if (st == 200) {
      std::map<std::string, std::string> h;
      size_t pos = in.find("\r\n") + 2;
      while (pos < headEnd) {
        size_t eol = in.find("\r\n", pos);
        std::string line = in.substr(pos, eol - pos);
        size_t colon = line.find(':');
        std::string name;
        for (char ch : line.substr(0, colon)) name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        h[name] = line.substr(colon + 2);
        pos = eol + 2;
      }
      Json body = Json::parse(in.substr(headEnd + 4, want), nullptr, false);
      h["@body"] = in.substr(headEnd + 4, want);
      std::lock_guard<std::mutex> l(mu_);
      if (firstOkMs_ == 0) firstOkMs_ = nowMs();
      lastOkMs_ = nowMs();
      headers_.push_back(h);
      if (body.is_object() && body["records"].is_array())
        for (const Json& r : body["records"]) records_.push_back(r);
    }
    std::string reply = "HTTP/1.1 " + std::to_string(st) + (st == 200 ? " OK" : " Error") +
                        "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> posts_{0};
  std::mutex mu_;
  std::vector<Json> records_;
  std::vector<std::map<std::string, std::string>> headers_;
  int64_t firstOkMs_ = 0, lastOkMs_ = 0;
  std::thread thread_;
};

template <class Pred>
bool waitFor(Pred pred, int timeoutMs = 15000) {
  const int64_t end = nowMs() + timeoutMs;
  while (nowMs() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class StreamsTest : public StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = makeTempDir("streams-it");
  }

  void TearDown() override {
    if (HasFailure() && server_) {
      std::ifstream log(server_->logFile());
      std::string line, tail;
      while (std::getline(log, line))
        if (line.find("streams") != std::string::npos || line.find("level=error") != std::string::npos)
          tail += line + "\n";
      std::printf("tetherd log (streams lines):\n%s", tail.substr(tail.size() > 6000 ? tail.size() - 6000 : 0).c_str());
    }
    server_.reset();
    StoreBackendFixture::TearDown();
  }

  void startServer(int64_t maxRecords = 100000, int feedRetentionSeconds = 0) {
    std::ofstream cfg(dir_ / "tetherd.toml");
    cfg << "[[pools]]\nid = \"" << kPool << "\"\nname = \"streams\"\nallow_guests = true\n\n"
        << "[[developer_credentials]]\naccess_key_id = \"" << kDevKey << "\"\nsecret_access_key = \"" << kDevSecret
        << "\"\n\n[limits.identity_creation]\nper_address_per_second = 0\nper_pool_per_second = 0\n"
        << "\n[outbox]\nmax_records = " << maxRecords
        << "\nretry_initial_ms = 50\nretry_max_ms = 200\npoll_interval_ms = 100\n\n"
        << "[[streams]]\nname = \"hooked\"\nsink = \"webhook\"\nurl = \"" << receiver_.url()
        << "\"\nhmac_secret = \"s3cret\"\nbatch_size = 50\n";
    if (feedRetentionSeconds > 0)
      cfg << "\n[[streams]]\nname = \"pulled\"\nsink = \"feed\"\nretention_seconds = " << feedRetentionSeconds << "\n";
    cfg.close();
    TetherdOptions o;
    o.createPool = false;
    o.logLevel = "info";
    o.extraArgs = {"--config", (dir_ / "tetherd.toml").string()};
    if (postgres()) {
      o.store = cluster_->url(pgSchema_);
      o.extraArgs.push_back("--issuer");
      o.extraArgs.push_back("http://tether-streams.test");
    }
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
  }

  HttpReply setStreaming(const std::string& status, const std::string& stream = "hooked") {
    SignedSyncClient dev(server_->port(), kPool, "");
    dev.useDeveloperCredentials(kDevKey, kDevSecret);
    return dev.call("POST", {"identitypools", kPool, "configuration"},
                    Json{{"CognitoStreams", {{"StreamName", stream}, {"StreamingStatus", status}}}}.dump());
  }

  std::unique_ptr<SignedSyncClient> identity() {
    HttpReply r = httpRequest(server_->port(), "POST", "/",
                              {{"Host", "127.0.0.1"},
                               {"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                              Json{{"IdentityPoolId", kPool}}.dump());
    EXPECT_EQ(r.status, 200) << r.raw;
    auto c = std::make_unique<SignedSyncClient>(server_->port(), kPool, r.body.value("IdentityId", ""));
    EXPECT_TRUE(c->fetchCredentials());
    return c;
  }

  // One UpdateRecords of `patches` on `dataset` (sync counts from a ListRecords first).
  HttpReply write(SignedSyncClient& c, const std::string& dataset, const std::map<std::string, std::string>& puts,
                  const std::vector<std::string>& removes = {}) {
    HttpReply list = c.listRecords(dataset);
    EXPECT_EQ(list.status, 200) << list.raw;
    std::map<std::string, int64_t> counts;
    for (const Json& r : list.body["Records"]) counts[r["Key"]] = r["SyncCount"];
    Json patches = Json::array();
    for (const auto& [k, v] : puts)
      patches.push_back({{"Op", "replace"}, {"Key", k}, {"Value", v}, {"SyncCount", counts[k]},
                         {"DeviceLastModifiedDate", 1700000000.5}});
    for (const std::string& k : removes)
      patches.push_back({{"Op", "remove"}, {"Key", k}, {"SyncCount", counts[k]}});
    return c.updateRecords(dataset, list.body.value("SyncSessionToken", ""), patches);
  }

  double metric(const std::string& line) {
    std::string text = httpGet(server_->port(), "/metrics");
    size_t at = text.find("\n" + line + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + line.size() + 2));
  }

  std::filesystem::path dir_;
  WebhookReceiver receiver_;
  std::unique_ptr<TetherdProcess> server_;
};

TEST_P(StreamsTest, WebhookRecordsMatchTheSpecFieldByFieldInOrderPerDataset) {
  startServer();
  auto alice = identity();
  // Before streaming is enabled nothing is recorded.
  ASSERT_EQ(write(*alice, "early", {{"k", "v"}}).status, 200);
  HttpReply cfg = setStreaming("ENABLED");
  ASSERT_EQ(cfg.status, 200) << cfg.raw;
  const int64_t before = nowMs();
  ASSERT_EQ(write(*alice, "prefs", {{"color", "red"}, {"size", "L"}}).status, 200);
  ASSERT_EQ(write(*alice, "prefs", {{"color", "blue"}}, {"size"}).status, 200);
  ASSERT_EQ(write(*alice, "other", {{"x", "1"}}).status, 200);
  ASSERT_EQ(write(*alice, "prefs", {{"color", "green"}}).status, 200);
  ASSERT_EQ(alice->deleteDataset("other").status, 200);
  ASSERT_TRUE(waitFor([&] { return receiver_.count() >= 5; })) << receiver_.count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<Json> got = receiver_.records();
  ASSERT_EQ(got.size(), 5u);

  const std::set<std::string> top = {"identityPoolId", "identityId", "dataSetName", "operation",
                                     "kinesisSyncRecords", "lastModifiedDate", "payloadType", "syncCount"};
  const std::set<std::string> rec = {"key", "value", "syncCount", "lastModifiedDate", "deviceLastModifiedDate", "op"};
  std::map<std::string, std::vector<Json>> byDataset;
  for (const Json& r : got) {
    std::set<std::string> names;
    for (auto it = r.begin(); it != r.end(); ++it) names.insert(it.key());
    EXPECT_EQ(names, top) << r.dump();
    EXPECT_EQ(r["identityPoolId"], kPool);
    EXPECT_EQ(r["identityId"], alice->identityId());
    EXPECT_EQ(r["payloadType"], "Inline");
    EXPECT_GE(r["lastModifiedDate"].get<int64_t>(), before - 1000);  // epoch milliseconds
    for (const Json& k : r["kinesisSyncRecords"]) {
      std::set<std::string> kn;
      for (auto it = k.begin(); it != k.end(); ++it) kn.insert(it.key());
      EXPECT_EQ(kn, rec) << k.dump();
    }
    byDataset[r["dataSetName"]].push_back(r);
  }
  EXPECT_EQ(byDataset.count("early"), 0u);
  ASSERT_EQ(byDataset["prefs"].size(), 3u);
  // Per dataset in commit order.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(byDataset["prefs"][i]["syncCount"], i + 1);
  const Json& first = byDataset["prefs"][0];
  EXPECT_EQ(first["operation"], "replace");
  ASSERT_EQ(first["kinesisSyncRecords"].size(), 2u);
  EXPECT_EQ(first["kinesisSyncRecords"][0]["key"], "color");
  EXPECT_EQ(first["kinesisSyncRecords"][0]["value"], "red");
  EXPECT_EQ(first["kinesisSyncRecords"][0]["op"], "replace");
  EXPECT_EQ(first["kinesisSyncRecords"][0]["syncCount"], 1);
  EXPECT_EQ(first["kinesisSyncRecords"][0]["deviceLastModifiedDate"], 1700000000500);
  const Json& second = byDataset["prefs"][1];
  bool sawRemove = false;
  for (const Json& k : second["kinesisSyncRecords"]) {
    if (k["key"] == "size") {
      sawRemove = true;
      EXPECT_EQ(k["op"], "remove");
      EXPECT_TRUE(k["value"].is_null());
    }
  }
  EXPECT_TRUE(sawRemove) << second.dump();
  // The deletion: operation remove, no records, the count the deletion consumed.
  ASSERT_EQ(byDataset["other"].size(), 2u);
  EXPECT_EQ(byDataset["other"][1]["operation"], "remove");
  EXPECT_TRUE(byDataset["other"][1]["kinesisSyncRecords"].empty());
  EXPECT_EQ(byDataset["other"][1]["syncCount"], 2);
  // Signed (X-Tether-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>),
  // and named.
  for (const auto& h : receiver_.headers()) {
    ASSERT_TRUE(h.count("x-tether-signature")) << "no signature header";
    const std::string& sig = h.at("x-tether-signature");
    ASSERT_TRUE(sig.starts_with("t=")) << sig;
    const std::string t = sig.substr(2, sig.find(',') - 2);
    EXPECT_LT(std::abs(std::stoll(t) - nowMs() / 1000), 60) << sig;
    EXPECT_EQ(sig.substr(sig.find(",v1=") + 4), hmacHex("s3cret", t + "." + h.at("@body"))) << sig;
    EXPECT_EQ(h.count("x-tether-stream") ? h.at("x-tether-stream") : "", "hooked");
    EXPECT_EQ(h.count("content-type") ? h.at("content-type") : "", "application/json");
  }
  // Streaming off: writes record nothing.
  ASSERT_EQ(setStreaming("DISABLED").status, 200);
  ASSERT_EQ(write(*alice, "prefs", {{"color", "pink"}}).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(receiver_.count(), 5u);
}

TEST_P(StreamsTest, SinkDownWritesSucceedBoundRefusesKill9ThenAllDeliveredAfterRestart) {
  startServer(/*maxRecords=*/40);
  ASSERT_EQ(setStreaming("ENABLED").status, 200);
  receiver_.status = 500;
  auto bob = identity();
  // 40 writes over 4 datasets while the webhook answers 500: all accepted, all waiting.
  for (int i = 0; i < 40; ++i) {
    HttpReply r = write(*bob, "ds" + std::to_string(i % 4), {{"n", std::to_string(i)}});
    ASSERT_EQ(r.status, 200) << i << " " << r.raw;
  }
  ASSERT_TRUE(waitFor([&] { return metric("tether_stream_outbox_depth") == 40; })) << metric("tether_stream_outbox_depth");
  ASSERT_TRUE(waitFor([&] { return metric("tether_stream_retries_total{stream=\"hooked\",sink=\"webhook\"}") > 0; }));
  EXPECT_EQ(receiver_.count(), 0u);
  // The bound: the 41st write is refused, retryably, and nothing of it is written.
  HttpReply full = write(*bob, "ds0", {{"n", "refused"}});
  EXPECT_EQ(full.status, 429) << full.raw;
  EXPECT_NE(full.raw.find("TooManyRequestsException"), std::string::npos) << full.raw;
  EXPECT_EQ(metric("tether_stream_outbox_refused_total"), 1);
  // The native protocol refuses it too, with the retryable kTooManyRequests.
  {
    auto ws = WsTestClient::connect(server_->url());
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->loginAs(bob->identityId()).isOk());
    proto::UpdateRecordsRequest up{"ds0", "", "", {RecordPatch{PatchOp::kReplace, "n", "native", 10, 0}}, 10};
    auto refused = ws->callAs<proto::UpdateRecordsResponse>(up);
    ASSERT_FALSE(refused.isOk());
    EXPECT_EQ(refused.status().code(), StatusCode::kTooManyRequests) << refused.status();
    EXPECT_TRUE(refused.status().isRetryable());
  }
  EXPECT_EQ(metric("tether_stream_outbox_refused_total"), 2);
  HttpReply list = bob->listRecords("ds0");
  EXPECT_EQ(list.body["DatasetSyncCount"], 10) << list.raw;

  // kill -9 with 40 undelivered records; the webhook recovers; a restart delivers every one.
  server_->kill9();
  receiver_.status = 200;
  ASSERT_TRUE(server_->restart());
  const int64_t t0 = nowMs();
  ASSERT_TRUE(waitFor([&] { return receiver_.count() >= 40; })) << receiver_.count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<Json> got = receiver_.records();
  std::set<std::pair<std::string, int64_t>> distinct;
  std::map<std::string, int64_t> lastCount;
  for (const Json& r : got) {
    distinct.emplace(r["dataSetName"], r["syncCount"]);
    // Per dataset in order.
    EXPECT_GT(r["syncCount"].get<int64_t>(), lastCount[r["dataSetName"]]) << r.dump();
    lastCount[r["dataSetName"]] = r["syncCount"];
  }
  EXPECT_EQ(distinct.size(), 40u) << "records lost";
  // Nothing was ever acknowledged before the kill: no duplicate is allowed here.
  EXPECT_EQ(got.size(), 40u) << "duplicates";
  std::printf("[ streams ] 40 records delivered %lld ms after restart\n", static_cast<long long>(nowMs() - t0));
  // Drained: writes accepted again.
  ASSERT_TRUE(waitFor([&] { return metric("tether_stream_outbox_depth") == 0; }));
  EXPECT_EQ(write(*bob, "ds0", {{"n", "after"}}).status, 200);
}

TEST_P(StreamsTest, PublisherThroughputToTheWebhook) {
  startServer();
  ASSERT_EQ(setStreaming("ENABLED").status, 200);
  receiver_.status = 500;
  constexpr int kIdentities = 4, kDatasets = 20, kRounds = 5;
  std::vector<std::unique_ptr<SignedSyncClient>> ids;
  for (int i = 0; i < kIdentities; ++i) ids.push_back(identity());
  for (int r = 0; r < kRounds; ++r)
    for (auto& c : ids)
      for (int d = 0; d < kDatasets; ++d) ASSERT_EQ(write(*c, "d" + std::to_string(d), {{"r", std::to_string(r)}}).status, 200);
  const size_t total = kIdentities * kDatasets * kRounds;
  ASSERT_TRUE(waitFor([&] { return metric("tether_stream_outbox_depth") == total; }));
  const int failedPosts = receiver_.posts();
  receiver_.status = 200;
  ASSERT_TRUE(waitFor([&] { return receiver_.count() >= total; }, 60000)) << receiver_.count();
  // From the first accepted POST to the last: the publisher's pace, without the backoff it was
  // in when the webhook came back. The first POST's records are not counted (it opens the window).
  auto [first, last] = receiver_.okWindow();
  const int posts = receiver_.posts() - failedPosts;
  const int64_t ms = std::max<int64_t>(1, last - first);
  const double perPost = static_cast<double>(total) / posts;
  std::printf("[ streams ] %s: %zu records in %d POSTs (batch <= 50, one record per dataset per batch), "
              "%lld ms from first to last POST: %.0f records/s\n",
              postgres() ? "postgres" : "sqlite", total, posts, static_cast<long long>(ms),
              (total - perPost) * 1000.0 / ms);
  EXPECT_EQ(receiver_.count(), total) << "duplicates";
}

// BulkPublish of a pool with 200 identities x 2 datasets: refused while streaming is off;
// paced by the outbox bound while the webhook is down (IN_PROGRESS, DuplicateRequestException);
// kill -9 in the middle; after the restart the run resumes and every dataset arrives exactly
// once; then AlreadyStreamedException.
TEST_P(StreamsTest, BulkPublishOfManyIdentitiesSurvivesKill9AndRefusesDuplicates) {
  startServer(/*maxRecords=*/40);
  SignedSyncClient dev(server_->port(), kPool, "");
  dev.useDeveloperCredentials(kDevKey, kDevSecret);
  auto bulk = [&] { return dev.call("POST", {"identitypools", kPool, "bulkpublish"}, ""); };
  auto details = [&] { return dev.call("POST", {"identitypools", kPool, "getBulkPublishDetails"}, ""); };
  EXPECT_EQ(details().body.value("BulkPublishStatus", ""), "NOT_STARTED");
  HttpReply off = bulk();
  EXPECT_EQ(off.status, 400) << off.raw;
  EXPECT_NE(off.raw.find("InvalidParameterException"), std::string::npos) << off.raw;

  constexpr int kIdentities = 200;
  std::set<std::pair<std::string, std::string>> expected;
  for (int i = 0; i < kIdentities; ++i) {
    HttpReply r = httpRequest(server_->port(), "POST", "/",
                              {{"Host", "127.0.0.1"},
                               {"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                              Json{{"IdentityPoolId", kPool}}.dump());
    ASSERT_EQ(r.status, 200) << r.raw;
    SignedSyncClient c(server_->port(), kPool, r.body["IdentityId"]);
    c.useDeveloperCredentials(kDevKey, kDevSecret);
    for (const char* ds : {"profile", "scores"}) {
      ASSERT_EQ(write(c, ds, {{"k", std::to_string(i)}}).status, 200);
      expected.emplace(c.identityId(), ds);
    }
  }
  receiver_.status = 500;
  ASSERT_EQ(setStreaming("ENABLED").status, 200);
  HttpReply started = bulk();
  ASSERT_EQ(started.status, 200) << started.raw;
  EXPECT_EQ(started.body["IdentityPoolId"], kPool);
  HttpReply dup = bulk();
  EXPECT_EQ(dup.status, 400) << dup.raw;
  EXPECT_NE(dup.raw.find("DuplicateRequestException"), std::string::npos) << dup.raw;
  HttpReply d = details();
  EXPECT_EQ(d.body.value("BulkPublishStatus", ""), "IN_PROGRESS") << d.raw;
  EXPECT_TRUE(d.body.contains("BulkPublishStartTime")) << d.raw;
  // Paced: the run stops at half the bound while the webhook is down.
  ASSERT_TRUE(waitFor([&] { return metric("tether_stream_outbox_depth") == 20; })) << metric("tether_stream_outbox_depth");

  server_->kill9();
  receiver_.status = 200;
  ASSERT_TRUE(server_->restart());
  ASSERT_TRUE(waitFor([&] { return details().body.value("BulkPublishStatus", "") == "SUCCEEDED"; }, 60000))
      << details().raw;
  ASSERT_TRUE(waitFor([&] { return receiver_.count() >= expected.size(); }, 30000)) << receiver_.count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::set<std::pair<std::string, std::string>> got;
  for (const Json& r : receiver_.records()) {
    got.emplace(r["identityId"], r["dataSetName"]);
    EXPECT_EQ(r["operation"], "replace");
    EXPECT_EQ(r["kinesisSyncRecords"].size(), 1u) << r.dump();
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(receiver_.count(), expected.size()) << "duplicates";
  d = details();
  EXPECT_TRUE(d.body.contains("BulkPublishCompleteTime")) << d.raw;
  HttpReply again = bulk();
  EXPECT_EQ(again.status, 400) << again.raw;
  EXPECT_NE(again.raw.find("AlreadyStreamedException"), std::string::npos) << again.raw;
}

// The changes feed: read with a cursor, resume after a "disconnect" with no gap and no loss,
// a long-poll answered promptly when a record arrives, only developer credentials, and a cursor
// older than the retention window refused with a clear error.
TEST_P(StreamsTest, ChangesFeedResumesFromCursorLongPollsAndExpiresOldCursors) {
  startServer(100000, /*feedRetentionSeconds=*/3);
  ASSERT_EQ(setStreaming("ENABLED", "pulled").status, 200);
  SignedSyncClient dev(server_->port(), kPool, "");
  dev.useDeveloperCredentials(kDevKey, kDevSecret);
  auto feed = [&](int64_t after, int limit, int wait = 0) {
    return dev.call("GET", {"streams", "pulled", "records"}, "",
                    {{"after", std::to_string(after)}, {"limit", std::to_string(limit)}, {"wait", std::to_string(wait)}});
  };
  auto carol = identity();
  for (int i = 1; i <= 5; ++i) ASSERT_EQ(write(*carol, "notes", {{"n", std::to_string(i)}}).status, 200);
  ASSERT_EQ(write(*carol, "todo", {{"t", "x"}}).status, 200);
  ASSERT_TRUE(waitFor([&] { return feed(0, 1000).body["records"].size() == 6; })) << feed(0, 1000).raw;

  // Page of 4, then resume from its cursor (a new connection each time): 6 records, positions
  // 1..6 without a gap, each dataset's sync counts in order.
  HttpReply first = feed(0, 4);
  ASSERT_EQ(first.status, 200) << first.raw;
  ASSERT_EQ(first.body["records"].size(), 4u);
  int64_t cursor = first.body["cursor"];
  EXPECT_EQ(cursor, 4);
  HttpReply rest = feed(cursor, 100);
  ASSERT_EQ(rest.status, 200) << rest.raw;
  std::vector<Json> all = first.body["records"];
  for (const Json& r : rest.body["records"]) all.push_back(r);
  ASSERT_EQ(all.size(), 6u);
  int64_t notesCount = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i]["position"], static_cast<int64_t>(i + 1));
    if (all[i]["record"]["dataSetName"] == "notes") {
      EXPECT_EQ(all[i]["record"]["syncCount"], ++notesCount);
    }
  }
  EXPECT_EQ(notesCount, 5);
  cursor = rest.body["cursor"];
  EXPECT_EQ(cursor, 6);

  // Long-poll at the end: answered as soon as a record arrives, well before its 10 s.
  std::atomic<int64_t> answeredMs{0};
  HttpReply polled;
  const int64_t t0 = nowMs();
  std::thread poller([&] {
    SignedSyncClient p(server_->port(), kPool, "");
    p.useDeveloperCredentials(kDevKey, kDevSecret);
    polled = p.call("GET", {"streams", "pulled", "records"}, "", {{"after", "6"}, {"wait", "10"}});
    answeredMs = nowMs();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(answeredMs.load(), 0) << "the long-poll did not wait";
  const int64_t wrote = nowMs();
  ASSERT_EQ(write(*carol, "todo", {{"t", "y"}}).status, 200);
  poller.join();
  ASSERT_EQ(polled.status, 200) << polled.raw;
  ASSERT_EQ(polled.body["records"].size(), 1u) << polled.raw;
  EXPECT_EQ(polled.body["records"][0]["position"], 7);
  EXPECT_LT(answeredMs.load() - wrote, 2000) << "long-poll answered late";
  std::printf("[ streams ] long-poll answered %lld ms after the write (%lld ms after it began)\n",
              static_cast<long long>(answeredMs.load() - wrote), static_cast<long long>(answeredMs.load() - t0));
  // An empty long-poll ends with an empty page at its deadline.
  HttpReply empty = feed(7, 10, 1);
  EXPECT_EQ(empty.status, 200) << empty.raw;
  EXPECT_TRUE(empty.body["records"].empty());
  EXPECT_EQ(empty.body["cursor"], 7);

  // Only developer credentials: unsigned and identity-signed requests are refused.
  HttpReply unsigned_ = httpRequest(server_->port(), "GET", "/streams/pulled/records?after=0", {{"Host", "127.0.0.1"}});
  EXPECT_NE(unsigned_.status, 200) << unsigned_.raw;
  EXPECT_TRUE(unsigned_.body.is_object() && unsigned_.body.value("records", Json()).is_null()) << unsigned_.raw;
  HttpReply asIdentity = carol->call("GET", {"streams", "pulled", "records"}, "", {{"after", "0"}});
  EXPECT_EQ(asIdentity.status, 403) << asIdentity.raw;
  EXPECT_NE(asIdentity.raw.find("NotAuthorizedException"), std::string::npos);
  EXPECT_EQ(feed(99, 10).status, 400);  // past the end
  EXPECT_EQ(dev.call("GET", {"streams", "nope", "records"}, "").status, 404);

  // Past the retention window: the next delivery drops the old records and a cursor below
  // them gets 410 ExpiredCursorException, never a silent gap.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  ASSERT_EQ(write(*carol, "todo", {{"t", "z"}}).status, 200);
  ASSERT_TRUE(waitFor([&] { return feed(0, 10).status == 410; })) << feed(0, 10).raw;
  HttpReply expired = feed(0, 10);
  EXPECT_NE(expired.raw.find("ExpiredCursorException"), std::string::npos) << expired.raw;
  EXPECT_NE(expired.raw.find("retention"), std::string::npos) << expired.raw;
  HttpReply latest = feed(7, 10);
  ASSERT_EQ(latest.status, 200) << latest.raw;
  ASSERT_EQ(latest.body["records"].size(), 1u);
  EXPECT_EQ(latest.body["records"][0]["position"], 8);
}

// PostgreSQL, two nodes on one database: exactly one runs the publisher; records written on
// the other are delivered by it; kill -9 of the publishing node hands the lease to the other,
// which delivers what was left and what comes next.
TEST_P(StreamsTest, TwoNodesOnePublisherAndTakeoverAfterKill9) {
  if (!postgres()) GTEST_SKIP() << "one node per SQLite file";
  startServer();
  TetherdOptions o;
  o.createPool = false;
  o.logLevel = "info";
  o.store = cluster_->url(pgSchema_);
  o.extraArgs = {"--config", (dir_ / "tetherd.toml").string(), "--issuer", "http://tether-streams.test"};
  std::unique_ptr<TetherdProcess> other = TetherdProcess::start(o);
  ASSERT_NE(other, nullptr);
  auto active = [](TetherdProcess& p) {
    std::string text = httpGet(p.port(), "/metrics");
    return text.find("\ntether_stream_publisher_active 1") != std::string::npos;
  };
  ASSERT_TRUE(waitFor([&] { return active(*server_) != active(*other); })) << "not exactly one publisher";
  TetherdProcess* leader = active(*server_) ? server_.get() : other.get();
  TetherdProcess* follower = leader == server_.get() ? other.get() : server_.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_NE(active(*server_), active(*other)) << "two publishers";

  ASSERT_EQ(setStreaming("ENABLED").status, 200);
  // Written on the follower, delivered by the leader.
  SignedSyncClient dave(follower->port(), kPool, "");
  {
    HttpReply r = httpRequest(follower->port(), "POST", "/",
                              {{"Host", "127.0.0.1"},
                               {"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                              Json{{"IdentityPoolId", kPool}}.dump());
    ASSERT_EQ(r.status, 200) << r.raw;
    dave = SignedSyncClient(follower->port(), kPool, r.body["IdentityId"]);
    dave.useDeveloperCredentials(kDevKey, kDevSecret);
  }
  for (int i = 0; i < 5; ++i) ASSERT_EQ(write(dave, "d", {{"i", std::to_string(i)}}).status, 200);
  ASSERT_TRUE(waitFor([&] { return receiver_.count() >= 5; })) << receiver_.count();

  // The leader dies with records waiting (webhook down); the follower takes over.
  receiver_.status = 500;
  for (int i = 5; i < 10; ++i) ASSERT_EQ(write(dave, "d", {{"i", std::to_string(i)}}).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  leader->kill9();
  receiver_.status = 200;
  ASSERT_TRUE(waitFor([&] { return active(*follower); })) << "no takeover";
  for (int i = 10; i < 15; ++i) ASSERT_EQ(write(dave, "d", {{"i", std::to_string(i)}}).status, 200);
  ASSERT_TRUE(waitFor([&] { return receiver_.count() >= 15; })) << receiver_.count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<int64_t> counts;
  for (const Json& r : receiver_.records()) counts.push_back(r["syncCount"]);
  ASSERT_EQ(counts.size(), 15u) << "lost or duplicated";
  for (size_t i = 0; i < counts.size(); ++i) EXPECT_EQ(counts[i], static_cast<int64_t>(i + 1)) << "order";
}

TETHER_INSTANTIATE_BACKENDS(StreamsTest);

}  // namespace
}  // namespace tether::testing
