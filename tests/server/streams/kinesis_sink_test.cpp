// KinesisSink against kinesalite (the Kinesis API in memory, driven by the real AWS SDK for
// JavaScript to create streams and read records back) and against a loopback endpoint that
// answers what kinesalite cannot (throttling, partial failures) and records the signed requests.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <openssl/evp.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cognito/sigv4.h"
#include "haproxy_process.h"  // freeLoopbackPort
#include "loopback_http_server.h"
#include "streams/kinesis_sink.h"

extern char** environ;

namespace tether::server::streams {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using testing::LoopbackHttpServer;
using testing::LoopbackReply;
using testing::LoopbackRequest;

const fs::path kTool = fs::path(TETHER_SOURCE_ROOT) / "tests" / "compat" / "kinesis_tool.mjs";

bool nodeToolsAvailable() {
  return fs::exists(fs::path(TETHER_SOURCE_ROOT) / "tests/compat/node_modules/kinesalite/package.json") &&
         std::system("node --version >/dev/null 2>&1") == 0;
}

// Runs `node kinesis_tool.mjs args...`, returns its stdout ("" and a test failure on error).
std::string runTool(const std::string& args) {
  std::string cmd = "node " + kTool.string() + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << cmd;
  return out;
}

// kinesalite on 127.0.0.1 and a free port, stopped by PID.
class Kinesalite {
 public:
  Kinesalite() : port_(testing::freeLoopbackPort()) {
    std::string portText = std::to_string(port_);
    std::string toolPath = kTool.string();
    const char* argv[] = {"node", toolPath.c_str(), "serve", portText.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnp(&pid_, "node", &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    // Ready when `create` of a probe stream succeeds.
    for (int i = 0; i < 100; ++i) {
      if (std::system(("node " + toolPath + " create " + endpoint() + " probe >/dev/null 2>&1").c_str()) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "kinesalite did not start";
  }
  ~Kinesalite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void createStream(const std::string& name) { runTool("create " + endpoint() + " " + name); }
  Json read(const std::string& name) { return Json::parse(runTool("read " + endpoint() + " " + name)); }

 private:
  int port_;
  pid_t pid_ = -1;
};

struct FixedClock : Clock {
  int64_t nowMs() const override { return 1700000000123; }
};

KinesisSinkOptions optionsFor(const std::string& endpoint, const std::string& stream) {
  KinesisSinkOptions o;
  o.streamName = stream;
  o.endpoint = endpoint;
  o.credentials = {"AKIDKINESISTEST", "kinesis-test-secret", ""};
  o.timeout = std::chrono::milliseconds(3000);
  return o;
}

// A Cognito Streams record as the outbox holds it, with `values` as the synced records' values.
StreamRecord streamRecord(int64_t seq, const std::string& identity, const std::vector<std::string>& values) {
  Json items = Json::array();
  for (size_t i = 0; i < values.size(); ++i) {
    items.push_back({{"key", "k" + std::to_string(i)}, {"value", values[i]}, {"syncCount", 7},
                     {"lastModifiedDate", 1700000000123}, {"deviceLastModifiedDate", 1700000000000}, {"op", "replace"}});
  }
  Json j = {{"identityPoolId", "us-east-1:11111111-2222-3333-4444-555555555555"},
            {"identityId", identity},
            {"dataSetName", "settings"},
            {"operation", "replace"},
            {"kinesisSyncRecords", items},
            {"lastModifiedDate", 1700000000123},
            {"kinesisSyncRecordsURL", nullptr},
            {"payloadType", "Inline"},
            {"syncCount", 7}};
  return StreamRecord{seq, "s", "us-east-1:11111111-2222-3333-4444-555555555555", identity, "settings", j.dump()};
}

const std::string kIdA = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const std::string kIdB = "us-east-1:bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee";

std::string unbase64(const std::string& b64) {
  std::string out(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  size_t padding = b64.size() >= 2 ? (b64[b64.size() - 1] == '=') + (b64[b64.size() - 2] == '=') : 0;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// Checks a request's SigV4 Authorization with the server's own verifier.
void expectSignedFor(const LoopbackRequest& r, const std::string& service, const std::string& secret) {
  ASSERT_TRUE(r.headers.count("authorization"));
  Result<cognito::SigV4Authorization> auth = cognito::parseAuthorization(r.headers.at("authorization"));
  ASSERT_TRUE(auth.isOk()) << auth.status();
  EXPECT_EQ(auth->service, service);
  EXPECT_EQ(auth->region, "us-east-1");
  std::string path = r.target.substr(0, r.target.find('?'));
  Result<std::string> creq = cognito::canonicalRequest(
      cognito::CanonicalInput{r.method, path, "", &r.headers, cognito::sha256Hex(r.body)}, *auth);
  ASSERT_TRUE(creq.isOk()) << creq.status();
  std::string sts = cognito::stringToSign(r.headers.at("x-amz-date"), auth->scope(), *creq);
  EXPECT_EQ(cognito::computeSignature(secret, *auth, sts), auth->signature);
}

// One kinesalite for the suite (starting Node costs a second or more); each test its own stream.
class KinesaliteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (nodeToolsAvailable()) kinesalite_ = new Kinesalite();
  }
  static void TearDownTestSuite() {
    delete kinesalite_;
    kinesalite_ = nullptr;
  }
  void SetUp() override {
    if (kinesalite_ == nullptr) GTEST_SKIP() << "node or tests/compat/node_modules (kinesalite) missing";
  }
  // A fresh stream for the running test.
  std::string newStream() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    kinesalite_->createStream(name);
    return name;
  }
  static Kinesalite* kinesalite_;
  SystemClock clock_;
};
Kinesalite* KinesaliteTest::kinesalite_ = nullptr;

TEST_F(KinesaliteTest, DeliversRecordsExactlyWithTheIdentityAsPartitionKey) {
  const std::string stream = newStream();
  KinesisSink sink(optionsFor(kinesalite_->endpoint(), stream), clock_);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {"v1"}), streamRecord(2, kIdB, {"v2", "\"q\""}),
                                       streamRecord(3, kIdA, {"üñí"})};
  SinkDelivery d = sink.deliver(records);
  EXPECT_TRUE(d.status.isOk()) << d.status;
  EXPECT_EQ(d.delivered, (std::vector<bool>{true, true, true}));
  Json got = kinesalite_->read(stream);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i]["data"], records[i].json);
    EXPECT_EQ(got[i]["partitionKey"], records[i].identityId);
  }
  EXPECT_EQ(sink.stats().recordsPut.load(), 3u);
}

TEST_F(KinesaliteTest, SplitsARecordOverOneMebibyteIntoOrderedSlicesKinesisAccepts) {
  const std::string stream = newStream();
  KinesisSink sink(optionsFor(kinesalite_->endpoint(), stream), clock_);
  // 3 values of 300 KB of quotes: each doubles when escaped, ~1.8 MB of JSON.
  StreamRecord big = streamRecord(1, kIdA, {std::string(300000, '"'), std::string(300000, 'x'), std::string(300000, '"')});
  ASSERT_GT(big.json.size(), 1u << 20);
  SinkDelivery d = sink.deliver(std::span<const StreamRecord>(&big, 1));
  EXPECT_TRUE(d.status.isOk()) << d.status;
  EXPECT_EQ(d.delivered, std::vector<bool>{true});
  Json got = kinesalite_->read(stream);
  ASSERT_GE(got.size(), 2u);
  Json original = Json::parse(big.json);
  Json merged = Json::array();
  for (const Json& g : got) {
    EXPECT_LE(g["data"].get<std::string>().size() + kIdA.size(), 1u << 20);
    Json slice = Json::parse(g["data"].get<std::string>());
    for (const char* field : {"identityPoolId", "identityId", "dataSetName", "operation", "lastModifiedDate",
                              "payloadType", "syncCount"})
      EXPECT_EQ(slice[field], original[field]) << field;
    for (const Json& item : slice["kinesisSyncRecords"]) merged.push_back(item);
  }
  EXPECT_EQ(merged, original["kinesisSyncRecords"]);
  EXPECT_EQ(sink.stats().split.load(), 1u);
}

TEST_F(KinesaliteTest, ASyncedRecordAloneOverTheLimitIsSkippedAndCounted) {
  const std::string stream = newStream();
  KinesisSinkOptions o = optionsFor(kinesalite_->endpoint(), stream);
  o.maxRecordBytes = 4096;
  KinesisSink sink(o, clock_);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {std::string(5000, 'x')}), streamRecord(2, kIdB, {"small"})};
  SinkDelivery d = sink.deliver(records);
  EXPECT_EQ(d.delivered, (std::vector<bool>{true, true}));
  EXPECT_EQ(sink.stats().undeliverable.load(), 1u);
  Json got = kinesalite_->read(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["data"], records[1].json);
}

TEST_F(KinesaliteTest, AMissingStreamLeavesEveryRecordUndelivered) {
  KinesisSink sink(optionsFor(kinesalite_->endpoint(), "absent"), clock_);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {"v"})};
  SinkDelivery d = sink.deliver(records);
  EXPECT_EQ(d.delivered, std::vector<bool>{false});
  EXPECT_FALSE(d.status.isOk());
  EXPECT_NE(d.status.message().find("ResourceNotFoundException"), std::string::npos) << d.status;
}

TEST(KinesisSinkTest, AnUnreachableEndpointFailsFastAndDeliversNothing) {
  SystemClock clock;
  KinesisSink sink(optionsFor("http://127.0.0.1:" + std::to_string(testing::freeLoopbackPort()), "s"), clock);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {"v"}), streamRecord(2, kIdB, {"w"})};
  auto start = std::chrono::steady_clock::now();
  SinkDelivery d = sink.deliver(records);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(d.delivered, (std::vector<bool>{false, false}));
  EXPECT_EQ(d.status.code(), StatusCode::kUnavailable);
}

TEST(KinesisSinkTest, ThrottlingAsksThePublisherToWait) {
  LoopbackHttpServer fake;
  fake.setHandler([](const LoopbackRequest&) {
    return LoopbackReply{400, {{"x-amzn-ErrorType", "ProvisionedThroughputExceededException:"}},
                         R"({"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"})"};
  });
  SystemClock clock;
  KinesisSink sink(optionsFor(fake.url(), "s"), clock);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {"v"})};
  SinkDelivery d = sink.deliver(records);
  EXPECT_EQ(d.delivered, std::vector<bool>{false});
  EXPECT_EQ(d.status.code(), StatusCode::kTooManyRequests);
  EXPECT_GT(d.retryAfter.count(), 0);
  EXPECT_EQ(sink.stats().throttled.load(), 1u);
}

TEST(KinesisSinkTest, APartialFailureDeliversOnlyTheAcceptedRecords) {
  LoopbackHttpServer fake;
  fake.setHandler([](const LoopbackRequest&) {
    return LoopbackReply{200, {{"Content-Type", "application/x-amz-json-1.1"}},
                         R"({"FailedRecordCount":1,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"},)"
                         R"({"ErrorCode":"InternalFailure","ErrorMessage":"Internal service failure."}]})"};
  });
  SystemClock clock;
  KinesisSink sink(optionsFor(fake.url(), "s"), clock);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {"v"}), streamRecord(2, kIdB, {"w"})};
  SinkDelivery d = sink.deliver(records);
  EXPECT_EQ(d.delivered, (std::vector<bool>{true, false}));
  EXPECT_FALSE(d.status.isOk());
}

TEST(KinesisSinkTest, PutRecordsIsSignedForKinesisAsTheAwsSdksDo) {
  LoopbackHttpServer fake;
  fake.setHandler([](const LoopbackRequest&) {
    return LoopbackReply{200, {}, R"({"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s-0"}]})"};
  });
  FixedClock clock;
  KinesisSink sink(optionsFor(fake.url(), "my-stream"), clock);
  std::vector<StreamRecord> records = {streamRecord(1, kIdA, {"v"})};
  ASSERT_EQ(sink.deliver(records).delivered, std::vector<bool>{true});
  std::vector<LoopbackRequest> seen = fake.requests();
  ASSERT_EQ(seen.size(), 1u);
  const LoopbackRequest& r = seen[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/");
  EXPECT_EQ(r.headers.at("x-amz-target"), "Kinesis_20131202.PutRecords");
  EXPECT_EQ(r.headers.at("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r.headers.at("x-amz-date"), "20231114T221320Z");
  expectSignedFor(r, "kinesis", "kinesis-test-secret");
  Json body = Json::parse(r.body);
  EXPECT_EQ(body["StreamName"], "my-stream");
  ASSERT_EQ(body["Records"].size(), 1u);
  EXPECT_EQ(body["Records"][0]["PartitionKey"], kIdA);
  EXPECT_EQ(unbase64(body["Records"][0]["Data"]), records[0].json);
}

TEST(KinesisSinkTest, WithABucketAnOversizedRecordGoesToS3AsAPresignedUrl) {
  LoopbackHttpServer kinesis;
  kinesis.setHandler([](const LoopbackRequest& r) {
    Json body = Json::parse(r.body);
    Json results = Json::array();
    for (size_t i = 0; i < body["Records"].size(); ++i) results.push_back({{"SequenceNumber", "1"}, {"ShardId", "s"}});
    return LoopbackReply{200, {}, Json{{"FailedRecordCount", 0}, {"Records", results}}.dump()};
  });
  LoopbackHttpServer s3;
  SystemClock clock;
  KinesisSinkOptions o = optionsFor(kinesis.url(), "s");
  o.maxRecordBytes = 2048;
  o.s3 = S3Options{"stream-bucket", s3.url(), "us-east-1", "cognito-streams/", {"AKIDS3TEST", "s3-test-secret", ""}};
  KinesisSink sink(o, clock);
  StreamRecord big = streamRecord(42, kIdA, {std::string(3000, 'x')});
  ASSERT_EQ(sink.deliver(std::span<const StreamRecord>(&big, 1)).delivered, std::vector<bool>{true});

  ASSERT_EQ(s3.requestCount(), 1u);
  LoopbackRequest put = s3.requests()[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.target, "/stream-bucket/cognito-streams/us-east-1%3A11111111-2222-3333-4444-555555555555/" +
                            std::string("us-east-1%3Aaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/settings/42.json"));
  EXPECT_EQ(put.headers.at("x-amz-content-sha256"), cognito::sha256Hex(put.body));
  expectSignedFor(put, "s3", "s3-test-secret");
  EXPECT_EQ(Json::parse(put.body), Json::parse(big.json)["kinesisSyncRecords"]);

  ASSERT_EQ(kinesis.requestCount(), 1u);
  Json sent = Json::parse(kinesis.requests()[0].body)["Records"][0];
  Json published = Json::parse(unbase64(sent["Data"]));
  EXPECT_EQ(published["payloadType"], "S3Url");
  EXPECT_FALSE(published.contains("kinesisSyncRecords"));
  std::string url = published["kinesisSyncRecordsURL"];
  EXPECT_EQ(url.rfind(s3.url() + "/stream-bucket/cognito-streams/", 0), 0u) << url;
  EXPECT_NE(url.find("X-Amz-Expires=604800"), std::string::npos);
  EXPECT_NE(url.find("X-Amz-Signature="), std::string::npos);
  EXPECT_EQ(sink.stats().viaS3.load(), 1u);
}

TEST(KinesisOptionsTest, TheConfigTableIsStrictAndFillsDefaults) {
  toml::table ok = toml::parse(R"(access_key_id = "AKID1234567890AB"
secret_access_key = "secret"
region = "eu-west-1")");
  Result<KinesisSinkOptions> o = kinesisOptionsFromToml(ok, "cognito-stream");
  ASSERT_TRUE(o.isOk()) << o.status();
  EXPECT_EQ(o->streamName, "cognito-stream");
  EXPECT_EQ(o->endpoint, "https://kinesis.eu-west-1.amazonaws.com");

  toml::table typo = toml::parse(R"(access_key_id = "A"
secret_access_key = "s"
regoin = "eu-west-1")");
  Result<KinesisSinkOptions> bad = kinesisOptionsFromToml(typo, "s");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("regoin"), std::string::npos);

  toml::table noKeys = toml::parse(R"(region = "us-east-1")");
  EXPECT_FALSE(kinesisOptionsFromToml(noKeys, "s").isOk());

  toml::table s3 = toml::parse(R"(access_key_id = "A"
secret_access_key = "s"
[s3]
bucket = "b")");
  Result<KinesisSinkOptions> withS3 = kinesisOptionsFromToml(s3, "s");
  ASSERT_TRUE(withS3.isOk()) << withS3.status();
  ASSERT_TRUE(withS3->s3.has_value());
  EXPECT_EQ(withS3->s3->endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(withS3->s3->credentials.accessKeyId, "A");
}

}  // namespace
}  // namespace tether::server::streams
