// Issue 14, point 4: mobile push sync on the real tetherd, SQLite and PostgreSQL. Fake APNs and
// FCM endpoints (fake_push_provider.mjs, Node's http2 over TLS with a certificate made here)
// check every request as Apple and Google document it (JWT signatures verified with the public
// keys made here) and record it. Through the Cognito HTTP API with SigV4 identity credentials:
// devices registered and subscribed, writes from a third device, coalescing, dead tokens removed,
// a provider that is down.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_test_client.h"
#include "pg_test_cluster.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kApnsArn = "arn:aws:sns:us-east-1:123456789012:app/APNS/tether-test";
constexpr const char* kGcmArn = "arn:aws:sns:us-east-1:123456789012:app/GCM/tether-test";
constexpr const char* kDevKey = "AKIAPUSHTESTKEY00001";
constexpr const char* kDevSecret = "push-test-secret-0123456789abcdef";

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeoutMs);
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// The Node fake provider, started and stopped by PID.
class FakeProvider {
 public:
  FakeProvider(std::filesystem::path dir, TestCert cert) : dir_(std::move(dir)), cert_(std::move(cert)) {}
  ~FakeProvider() { stop(); }

  bool start(int apnsPort = 0, int fcmPort = 0) {
    int out[2];
    if (::pipe(out) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int err = ::open((dir_ / "fake.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, 2);
      ::close(out[0]);
      std::string script = std::string(TETHER_SOURCE_DIR) + "/tests/integration/fake_push_provider.mjs";
      std::vector<std::string> args = {"node", script,
                                       "--cert", cert_.certFile.string(), "--key", cert_.keyFile.string(),
                                       "--apns-key", (dir_ / "apns.p8").string(),
                                       "--fcm-key", (dir_ / "fcm.pem").string(),
                                       "--out", requestsFile().string(),
                                       "--apns-port", std::to_string(apnsPort), "--fcm-port", std::to_string(fcmPort)};
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[256] = {};
    bool ok = f != nullptr && std::fgets(line, sizeof line, f) != nullptr;
    if (f != nullptr) std::fclose(f);
    if (!ok) return false;
    Json ports = Json::parse(line, nullptr, false);
    if (!ports.is_object()) return false;
    apnsPort_ = ports.value("apns", 0);
    fcmPort_ = ports.value("fcm", 0);
    return apnsPort_ > 0 && fcmPort_ > 0;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::vector<Json> requests(const std::string& kind = "") const {
    std::ifstream in(requestsFile());
    std::vector<Json> out;
    for (std::string line; std::getline(in, line);) {
      Json j = Json::parse(line, nullptr, false);
      if (j.is_object() && (kind.empty() || j.value("kind", "") == kind)) out.push_back(j);
    }
    return out;
  }
  // The pushes to one device token (APNs and FCM both).
  std::vector<Json> pushesTo(const std::string& token) const {
    std::vector<Json> out;
    for (Json& j : requests())
      if (j.value("kind", "") != "oauth" && j.value("token", "") == token) out.push_back(j);
    return out;
  }
  std::filesystem::path requestsFile() const { return dir_ / "requests.jsonl"; }
  int apnsPort() const { return apnsPort_; }
  int fcmPort() const { return fcmPort_; }

 private:
  std::filesystem::path dir_;
  TestCert cert_;
  pid_t pid_ = -1;
  int apnsPort_ = 0, fcmPort_ = 0;
};

class PushTest : public ::testing::TestWithParam<bool> {
 protected:
  bool postgres() const { return GetParam(); }

  void SetUp() override {
    dir_ = makeTempDir("push");
    // The APNs .p8 (EC P-256, PKCS#8), the service account's RSA key (made as Apple and Google
    // make them) and the fake providers' certificate: once per process, copied per test.
    struct Keys {  // removed when the test process exits
      std::filesystem::path dir = makeTempDir("push-keys");
      Keys() {
        makeTestCert(dir);
        run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + (dir / "apns.p8").string());
        run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + (dir / "fcm.pem").string());
      }
      ~Keys() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    };
    static const Keys keys;
    for (const auto& f : std::filesystem::directory_iterator(keys.dir))
      std::filesystem::copy_file(f.path(), dir_ / f.path().filename());
    ASSERT_TRUE(std::filesystem::exists(dir_ / "apns.p8") && std::filesystem::exists(dir_ / "fcm.pem"));
    cert_ = TestCert{dir_ / "cert.pem", dir_ / "key.pem"};
    ASSERT_TRUE(std::filesystem::exists(cert_.certFile)) << "makeTestCert names";
    fake_ = std::make_unique<FakeProvider>(dir_, cert_);
    ASSERT_TRUE(fake_->start()) << "node fake_push_provider.mjs did not start (log: " << dir_ / "fake.log" << ")";

    std::ifstream pem(dir_ / "fcm.pem");
    std::stringstream key;
    key << pem.rdbuf();
    Json account = {{"type", "service_account"},
                    {"project_id", "tether-test"},
                    {"private_key_id", "k1"},
                    {"private_key", key.str()},
                    {"client_email", "push@example.iam.gserviceaccount.com"},
                    {"token_uri", "https://127.0.0.1:" + std::to_string(fake_->fcmPort()) + "/token"}};
    std::ofstream(dir_ / "service-account.json") << account.dump(2);
    std::ofstream(dir_ / "tetherd.toml")
        << "[[developer_credentials]]\naccess_key_id = \"" << kDevKey << "\"\nsecret_access_key = \"" << kDevSecret
        << "\"\n\n[[push_apps]]\narn = \"" << kApnsArn
        << "\"\nteam_id = \"TEAM123456\"\nkey_id = \"KEY1234567\"\nkey_file = \"apns.p8\"\n"
           "topic = \"com.example.app\"\nendpoint = \"https://127.0.0.1:"
        << fake_->apnsPort() << "\"\nca_file = \"" << cert_.certFile.string() << "\"\n\n[[push_apps]]\narn = \""
        << kGcmArn << "\"\nservice_account_file = \"service-account.json\"\nendpoint = \"https://127.0.0.1:"
        << fake_->fcmPort() << "\"\nca_file = \"" << cert_.certFile.string() << "\"\n";

    TetherdOptions options;
    options.extraArgs = {"--config", (dir_ / "tetherd.toml").string(), "--issuer", "http://tether-push.test"};
    if (postgres()) {
      PG_TEST_OR_SKIP(cluster);
      Result<std::string> schema = cluster->freshSchema("push");
      ASSERT_TRUE(schema.isOk()) << schema.status();
      options.store = cluster->url(*schema);
    }
    server_ = TetherdProcess::start(options);
    ASSERT_NE(server_, nullptr);

    // The pool's PushSync configuration, set as an operator does (developer credentials).
    SignedSyncClient admin(server_->port(), server_->poolId(), "");
    admin.useDeveloperCredentials(kDevKey, kDevSecret);
    HttpReply conf = admin.call("POST", {"identitypools", server_->poolId(), "configuration"},
                                Json{{"PushSync", {{"ApplicationArns", {kApnsArn, kGcmArn}},
                                                   {"RoleArn", "arn:aws:iam::123456789012:role/push"}}}}.dump());
    ASSERT_EQ(conf.status, 200) << conf.body.dump();

    HttpReply id = httpRequest(server_->port(), "POST", "/",
                               {{"Content-Type", "application/x-amz-json-1.1"},
                                {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                               Json{{"IdentityPoolId", server_->poolId()}}.dump());
    ASSERT_EQ(id.status, 200) << id.body.dump();
    identityId_ = id.body.value("IdentityId", "");
    client_ = std::make_unique<SignedSyncClient>(server_->port(), server_->poolId(), identityId_);
    ASSERT_TRUE(client_->fetchCredentials());
  }

  std::string registerAndSubscribe(const std::string& platform, const std::string& token, const std::string& ds) {
    HttpReply reg = client_->registerDevice(platform, token);
    EXPECT_EQ(reg.status, 200) << reg.body.dump();
    std::string device = reg.body.value("DeviceId", "");
    HttpReply sub = client_->subscribe(ds, device);
    EXPECT_EQ(sub.status, 200) << sub.body.dump();
    return device;
  }

  // One UpdateRecords (key "k") naming `deviceId`; returns the new dataset sync count.
  int64_t write(const std::string& ds, const std::string& value, const std::string& deviceId) {
    HttpReply list = client_->listRecords(ds);
    EXPECT_EQ(list.status, 200) << list.body.dump();
    int64_t count = 0;
    for (const Json& r : list.body["Records"])
      if (r.value("Key", "") == "k") count = r.value("SyncCount", int64_t{0});
    Json patches = Json::array({{{"Op", "replace"}, {"Key", "k"}, {"Value", value}, {"SyncCount", count}}});
    HttpReply up = client_->updateRecords(ds, list.body.value("SyncSessionToken", ""), patches, deviceId);
    EXPECT_EQ(up.status, 200) << up.body.dump();
    return up.status == 200 ? up.body["Records"][0].value("SyncCount", int64_t{-1}) : -1;
  }

  // Checks one recorded push: documented exactly (no errors at the fake), the data of spec 5.3.
  void expectPush(const Json& push, const std::string& ds, int64_t syncCount) {
    EXPECT_TRUE(push["errors"].empty()) << push.dump();
    const Json& data = push["data"];
    EXPECT_EQ(data.value("source", ""), "cognito-sync");
    EXPECT_EQ(data.value("identityPoolId", ""), server_->poolId());
    EXPECT_EQ(data.value("identityId", ""), identityId_);
    EXPECT_EQ(data.value("datasetName", ""), ds);
    EXPECT_EQ(data.value("syncCount", ""), std::to_string(syncCount));
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    fake_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string metrics() { return httpGet(server_->port(), "/metrics"); }

  std::filesystem::path dir_;
  TestCert cert_;
  std::unique_ptr<FakeProvider> fake_;
  std::unique_ptr<TetherdProcess> server_;
  std::string identityId_;
  std::unique_ptr<SignedSyncClient> client_;
};

TEST_P(PushTest, SubscribedDevicesButNotTheWriterGetOneDocumentedPushPerChange) {
  const std::string apnsToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  std::string apnsDevice = registerAndSubscribe("APNS", apnsToken, "prefs");
  registerAndSubscribe("GCM", "fcm-token-1", "prefs");
  std::string writer = registerAndSubscribe("GCM", "fcm-writer", "prefs");
  registerAndSubscribe("GCM", "fcm-other-dataset", "other");
  // No application for these platforms in the pool's configuration: counted, not sent.
  registerAndSubscribe("ADM", "adm-token", "prefs");
  registerAndSubscribe("APNS_SANDBOX", "sandbox0001", "prefs");

  int64_t n = write("prefs", "v1", writer);
  const int64_t writtenMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_EQ(n, 1);
  ASSERT_TRUE(waitUntil([&] { return fake_->pushesTo(apnsToken).size() == 1 && fake_->pushesTo("fcm-token-1").size() == 1; }, 10000))
      << fake_->requests().size() << " requests";
  expectPush(fake_->pushesTo(apnsToken)[0], "prefs", 1);
  expectPush(fake_->pushesTo("fcm-token-1")[0], "prefs", 1);
  // Figure for docs/events.md: write answered -> request at the provider (first push: includes
  // the TLS handshakes and, for FCM, the OAuth grant).
  std::cout << "push latency after the write: APNs " << fake_->pushesTo(apnsToken)[0].value("at", int64_t{0}) - writtenMs
            << " ms, FCM " << fake_->pushesTo("fcm-token-1")[0].value("at", int64_t{0}) - writtenMs << " ms\n";
  auto oauth = fake_->requests("oauth");
  ASSERT_EQ(oauth.size(), 1u);
  EXPECT_TRUE(oauth[0]["errors"].empty()) << oauth[0].dump();

  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // time for a wrong push to show
  EXPECT_TRUE(fake_->pushesTo("fcm-writer").empty());

  // A deletion is a change too. DeleteDataset names no device: every subscribed device hears
  // of it, the earlier writer's included; other datasets' devices never hear anything.
  HttpReply del = client_->deleteDataset("prefs");
  const int64_t deletedMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_EQ(del.status, 200) << del.body.dump();
  ASSERT_TRUE(waitUntil([&] { return fake_->pushesTo(apnsToken).size() == 2 && fake_->pushesTo("fcm-token-1").size() == 2 &&
                                     fake_->pushesTo("fcm-writer").size() == 1; }, 10000));
  expectPush(fake_->pushesTo(apnsToken)[1], "prefs", 2);
  expectPush(fake_->pushesTo("fcm-token-1")[1], "prefs", 2);
  expectPush(fake_->pushesTo("fcm-writer")[0], "prefs", 2);
  std::cout << "push latency after the deletion (connections warm): APNs "
            << fake_->pushesTo(apnsToken)[1].value("at", int64_t{0}) - deletedMs << " ms, FCM "
            << fake_->pushesTo("fcm-token-1")[1].value("at", int64_t{0}) - deletedMs << " ms\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(fake_->pushesTo("fcm-other-dataset").empty());
  // The provider credentials are reused: one APNs JWT, one OAuth grant for all of it.
  EXPECT_EQ(fake_->pushesTo(apnsToken)[0]["jwt"], fake_->pushesTo(apnsToken)[1]["jwt"]);
  EXPECT_EQ(fake_->requests("oauth").size(), 1u);

  std::string m = metrics();
  EXPECT_NE(m.find("tether_push_sent_total{provider=\"apns\"} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("tether_push_sent_total{provider=\"fcm\"} 3"), std::string::npos) << m;
  // Two changes x two devices without an application.
  EXPECT_NE(m.find("tether_push_dropped_total{provider=\"none\",reason=\"no_app\"} 4"), std::string::npos) << m;
  EXPECT_TRUE(fake_->pushesTo("adm-token").empty());
  EXPECT_TRUE(fake_->pushesTo("sandbox0001").empty());

  // The native protocol: libtether with followDeviceSubscriptions pushes as the Cognito DeviceId
  // it presents, and that device is skipped too.
  auto ws = WsTestClient::connect(server_->url());
  ASSERT_NE(ws, nullptr);
  ASSERT_TRUE(ws->loginAs(identityId_).isOk());
  auto list = ws->callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(list.isOk()) << list.status();
  auto up = ws->callAs<proto::UpdateRecordsResponse>(proto::UpdateRecordsRequest{
      "prefs", list->syncSessionToken, apnsDevice, {RecordPatch{PatchOp::kReplace, "k", "native", 0, 1}}});
  ASSERT_TRUE(up.isOk()) << up.status();
  ASSERT_TRUE(waitUntil([&] { return fake_->pushesTo("fcm-token-1").size() == 3; }, 10000));
  expectPush(fake_->pushesTo("fcm-token-1")[2], "prefs", 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(fake_->pushesTo(apnsToken).size(), 2u);
}

// Queueing, coalescing and retries do not depend on the store: SQLite only (keeps the suite short).
class PushQueueTest : public PushTest {};

TEST_P(PushQueueTest, ABurstOfWritesIsCoalescedIntoOnePushWithTheLatestSyncCount) {
  // "slow" tokens are answered after 300 ms: the burst lands while the first push is in flight.
  registerAndSubscribe("APNS", "slow0a0b0c", "prefs");
  registerAndSubscribe("GCM", "slow-fcm", "prefs");
  int64_t last = 0;
  for (int i = 0; i < 10; ++i) last = write("prefs", "v" + std::to_string(i), "");
  ASSERT_EQ(last, 10);
  ASSERT_TRUE(waitUntil([&] {
    auto a = fake_->pushesTo("slow0a0b0c"), f = fake_->pushesTo("slow-fcm");
    return !a.empty() && !f.empty() && a.back()["data"]["syncCount"] == "10" && f.back()["data"]["syncCount"] == "10";
  }, 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // The first write's push, then one for the nine that arrived while it was in flight.
  EXPECT_EQ(fake_->pushesTo("slow0a0b0c").size(), 2u);
  EXPECT_EQ(fake_->pushesTo("slow-fcm").size(), 2u);
  for (const Json& p : fake_->pushesTo("slow0a0b0c")) EXPECT_TRUE(p["errors"].empty()) << p.dump();
}

TEST_P(PushTest, TokensTheProviderReportsGoneRemoveTheDevice) {
  // Bad answers that are not about the token keep the device: a 2 MB body (read up to 64 KB,
  // then retried), a 400 whose body is not JSON (dropped as rejected).
  std::string huge = registerAndSubscribe("APNS", "huge0001", "prefs");
  std::string garbage = registerAndSubscribe("GCM", "garbage-fcm", "prefs");
  std::string apnsGone = registerAndSubscribe("APNS", "gone0001", "prefs");
  std::string fcmGone = registerAndSubscribe("GCM", "gone-fcm", "prefs");
  std::string fcmBad = registerAndSubscribe("GCM", "badtok-fcm", "prefs");
  registerAndSubscribe("GCM", "fcm-alive", "prefs");
  write("prefs", "v1", "");
  ASSERT_TRUE(waitUntil([&] { return metrics().find("tether_push_tokens_removed_total{provider=\"fcm\"} 2") != std::string::npos &&
                                     metrics().find("tether_push_tokens_removed_total{provider=\"apns\"} 1") != std::string::npos; }, 10000))
      << metrics();
  EXPECT_EQ(fake_->pushesTo("gone0001")[0]["status"], 410);
  EXPECT_EQ(fake_->pushesTo("gone-fcm")[0]["status"], 404);
  EXPECT_EQ(fake_->pushesTo("badtok-fcm")[0]["status"], 400);
  // Removed with its subscriptions: the device is unknown to the Cognito API now.
  for (const std::string& d : {apnsGone, fcmGone, fcmBad}) {
    HttpReply sub = client_->subscribe("prefs", d);
    EXPECT_EQ(sub.status, 404) << sub.body.dump();
  }
  write("prefs", "v2", "");
  ASSERT_TRUE(waitUntil([&] { return fake_->pushesTo("fcm-alive").size() == 2; }, 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(fake_->pushesTo("gone0001").size(), 1u);
  EXPECT_EQ(fake_->pushesTo("gone-fcm").size(), 1u);
  EXPECT_EQ(fake_->pushesTo("badtok-fcm").size(), 1u);
  EXPECT_TRUE(waitUntil([&] {
    std::string m = metrics();
    return m.find("tether_push_failed_total{provider=\"apns\",reason=\"too_large\"}") != std::string::npos &&
           m.find("tether_push_dropped_total{provider=\"fcm\",reason=\"rejected\"} 2") != std::string::npos;
  }, 5000)) << metrics();
  EXPECT_TRUE(waitUntil([&] { return fake_->pushesTo("huge0001").size() >= 2; }, 5000));  // retried
  for (const std::string& d : {huge, garbage}) EXPECT_EQ(client_->subscribe("prefs", d).status, 200);
}

TEST_P(PushQueueTest, AProviderThatIsDownOrBusyDelaysThePushNotTheWriteNorShutdown) {
  registerAndSubscribe("APNS", "abcdef01", "prefs");
  registerAndSubscribe("GCM", "fcm-down", "prefs");
  registerAndSubscribe("APNS", "flaky0001", "flaky");  // 503 + Retry-After: 1, then 200
  const int apnsPort = fake_->apnsPort(), fcmPort = fake_->fcmPort();
  fake_->stop();
  auto start = SteadyClock::now();
  int64_t n = write("prefs", "v1", "");
  write("flaky", "x", "");
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  ASSERT_EQ(n, 1);
  EXPECT_LT(elapsed.count(), 1000) << "writes waited for the provider";
  ASSERT_TRUE(waitUntil([&] { return metrics().find("reason=\"unreachable\"") != std::string::npos; }, 5000)) << metrics();
  ASSERT_TRUE(fake_->start(apnsPort, fcmPort));
  ASSERT_TRUE(waitUntil([&] { return fake_->pushesTo("abcdef01").size() == 1 && fake_->pushesTo("fcm-down").size() == 1 &&
                                     fake_->pushesTo("flaky0001").size() == 2; }, 15000))
      << metrics();
  expectPush(fake_->pushesTo("abcdef01")[0], "prefs", 1);
  expectPush(fake_->pushesTo("fcm-down")[0], "prefs", 1);
  auto flaky = fake_->pushesTo("flaky0001");
  EXPECT_EQ(flaky[0]["status"], 503);
  EXPECT_EQ(flaky[1]["status"], 200);
  // The retry waited for the provider's Retry-After (1 s), not only the first backoff (0.5 s).
  EXPECT_GE(flaky[1].value("at", int64_t{0}) - flaky[0].value("at", int64_t{0}), 950) << flaky[0] << flaky[1];
  expectPush(flaky[1], "flaky", 1);
  EXPECT_NE(metrics().find("tether_push_failed_total{provider=\"apns\",reason=\"http_503\"} 1"), std::string::npos);

  // A provider that never answers does not hold shutdown: the push in flight is abandoned, not
  // waited out (10 s).
  registerAndSubscribe("APNS", "hang0001", "hang");
  write("hang", "v1", "");
  ASSERT_TRUE(waitUntil([&] { return fake_->pushesTo("hang0001").size() == 1; }, 10000));
  auto stopStart = SteadyClock::now();
  EXPECT_EQ(server_->stop(), 0);  // SIGTERM
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - stopStart).count(), 3000);
}

// A key tetherd cannot use stops it at start with a message naming the app and the file, rather
// than failing every push later.
TEST(PushStartupTest, AnUnusableKeyFileStopsTetherd) {
  std::filesystem::path dir = makeTempDir("push-start");
  std::ofstream(dir / "bad.p8") << "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  std::ofstream(dir / "sa.json") << "{\"project_id\": \"p\"}";
  const std::string apns = std::string("[[push_apps]]\narn = \"") + kApnsArn +
                           "\"\nteam_id = \"T\"\nkey_id = \"K\"\nkey_file = \"bad.p8\"\ntopic = \"b\"\n";
  const std::string fcm = std::string("[[push_apps]]\narn = \"") + kGcmArn + "\"\nservice_account_file = \"sa.json\"\n";
  for (const auto& [toml, needle] : {std::pair{apns, std::string(kApnsArn)}, {fcm, std::string("client_email is missing")}}) {
    std::ofstream(dir / "tetherd.toml", std::ios::trunc) << toml;
    std::string out, err;
    int rc = TetherdProcess::runTool({"serve", "--config", (dir / "tetherd.toml").string(), "--data-dir",
                                      (dir / "data").string(), "--listen", "127.0.0.1:0"},
                                     &out, &err);
    EXPECT_NE(rc, 0) << out;
    EXPECT_NE(err.find(needle), std::string::npos) << err;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string storeName(const ::testing::TestParamInfo<bool>& i) { return i.param ? "postgresql" : "sqlite"; }
INSTANTIATE_TEST_SUITE_P(Stores, PushTest, ::testing::Values(false, true), storeName);
INSTANTIATE_TEST_SUITE_P(Stores, PushQueueTest, ::testing::Values(false), storeName);

}  // namespace
}  // namespace tether::testing
