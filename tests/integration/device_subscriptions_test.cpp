// Cognito push-sync devices honoured by live sync, on the real tetherd: RegisterDevice and
// SubscribeToDataset over SigV4-signed HTTP (temporary credentials from GetCredentialsForIdentity),
// then a native connection presenting that DeviceId is told about writes of other connections to
// the subscribed datasets, follows Subscribe/UnsubscribeFromDataset made while it is open, and
// finds its stored subscriptions again after tetherd restarts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "cognito/sigv4.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
namespace sigv4 = tether::server::cognito;

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeoutMs);
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

struct HttpReply {
  int status = 0;
  Json body;
};

// One HTTP/1.1 request over loopback with Connection: close; the JSON body parsed (null if none).
HttpReply httpRequest(int port, const std::string& method, const std::string& path,
                      const std::map<std::string, std::string>& headers, const std::string& body) {
  HttpReply out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + body;
  (void)::write(fd, req.data(), req.size());
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (raw.rfind("HTTP/1.1 ", 0) == 0) out.status = std::atoi(raw.c_str() + 9);
  size_t split = raw.find("\r\n\r\n");
  if (split != std::string::npos && split + 4 < raw.size())
    out.body = Json::parse(raw.substr(split + 4), nullptr, false);
  return out;
}

struct Credentials {
  std::string accessKeyId, secretKey, sessionToken;
};

// A Cognito Sync client for one identity: signs each request as boto3 does (host, x-amz-date,
// x-amz-security-token, plus content-type when there is a body).
class SignedSyncClient {
 public:
  SignedSyncClient(int port, std::string poolId, std::string identityId)
      : port_(port), poolId_(std::move(poolId)), identityId_(std::move(identityId)) {}

  bool fetchCredentials() {
    HttpReply r = httpRequest(port_, "POST", "/",
                              {{"Host", host()},
                               {"Content-Type", "application/x-amz-json-1.1"},
                               {"X-Amz-Target", "AWSCognitoIdentityService.GetCredentialsForIdentity"}},
                              Json{{"IdentityId", identityId_}}.dump());
    if (r.status != 200 || !r.body.is_object()) return false;
    const Json& c = r.body["Credentials"];
    creds_ = {c.value("AccessKeyId", ""), c.value("SecretKey", ""), c.value("SessionToken", "")};
    return !creds_.accessKeyId.empty();
  }

  HttpReply registerDevice(const std::string& platform, const std::string& token) {
    return call("POST", {"identitypools", poolId_, "identity", identityId_, "device"},
                Json{{"Platform", platform}, {"Token", token}}.dump());
  }
  HttpReply subscribe(const std::string& dataset, const std::string& deviceId) {
    return call("POST", subscriptionPath(dataset, deviceId), "");
  }
  HttpReply unsubscribe(const std::string& dataset, const std::string& deviceId) {
    return call("DELETE", subscriptionPath(dataset, deviceId), "");
  }

 private:
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> subscriptionPath(const std::string& dataset, const std::string& deviceId) const {
    return {"identitypools", poolId_, "identities", identityId_, "datasets", dataset, "subscriptions", deviceId};
  }

  HttpReply call(const std::string& method, const std::vector<std::string>& segments, const std::string& body) {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char amzDate[32];
    std::strftime(amzDate, sizeof amzDate, "%Y%m%dT%H%M%SZ", &utc);
    std::map<std::string, std::string> lower = {
        {"host", host()}, {"x-amz-date", amzDate}, {"x-amz-security-token", creds_.sessionToken}};
    if (!body.empty()) lower["content-type"] = "application/json";
    sigv4::SigV4Authorization auth;
    auth.accessKeyId = creds_.accessKeyId;
    auth.date = std::string(amzDate, 8);
    auth.region = "us-east-1";
    auth.service = "cognito-sync";
    for (const auto& [k, v] : lower) {
      auth.signedHeaders.push_back(k);
      auth.signedHeadersText += (auth.signedHeadersText.empty() ? "" : ";") + k;
    }
    std::string canonicalUri = sigv4::canonicalUri(segments);
    std::string payloadHash = sigv4::sha256Hex(body);
    Result<std::string> creq = sigv4::canonicalRequest(
        sigv4::CanonicalInput{method, canonicalUri, "", &lower, payloadHash}, auth);
    EXPECT_TRUE(creq.isOk()) << creq.status();
    if (!creq.isOk()) return {};
    std::string sts = sigv4::stringToSign(amzDate, auth.scope(), *creq);
    std::string signature = sigv4::computeSignature(creds_.secretKey, auth, sts);
    std::map<std::string, std::string> headers = {
        {"Host", host()}, {"X-Amz-Date", amzDate}, {"X-Amz-Security-Token", creds_.sessionToken},
        {"Authorization", std::string(sigv4::kSigV4Algorithm) + " Credential=" + auth.accessKeyId + "/" +
                              auth.scope() + ", SignedHeaders=" + auth.signedHeadersText +
                              ", Signature=" + signature}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    std::string path;
    for (const std::string& s : segments) path += "/" + sigv4::uriEncode(s);
    return httpRequest(port_, method, path, headers, body);
  }

  int port_;
  std::string poolId_, identityId_;
  Credentials creds_;
};

class DeviceSubscriptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = TetherdProcess::start();
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<WsTestClient> connection(const std::string& identity) {
    auto c = WsTestClient::connect(server_->url());
    EXPECT_NE(c, nullptr);
    if (c) {
      EXPECT_TRUE(c->loginAs(identity).isOk());
    }
    return c;
  }
  std::string newIdentity() {
    auto c = WsTestClient::connect(server_->url());
    if (!c) return "";
    auto id = c->callAs<GetIdResponse>(GetIdRequest{server_->poolId(), {}});
    EXPECT_TRUE(id.isOk());
    return id.isOk() ? id->identityId : "";
  }
  static Result<UpdateRecordsResponse> write(WsTestClient& c, const std::string& ds, const std::string& value) {
    auto p = c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, 0, 0, ""});
    if (!p.isOk()) return p.status();
    int64_t count = 0;
    for (auto& r : p->records) if (r.key == "k") count = r.syncCount;
    return c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
        ds, p->syncSessionToken, "writer", {RecordPatch{PatchOp::kReplace, "k", value, count, 1}}});
  }
  static int64_t lastPushed(const WsTestClient& c, const std::string& ds) {
    int64_t n = -1;
    for (auto& p : c.pushes()) if (p.datasetName == ds) n = p.syncCount;
    return n;
  }
  static std::vector<std::string> names(const SubscribeResponse& r) {
    std::vector<std::string> out;
    for (const auto& d : r.datasets) out.push_back(d.datasetName);
    return out;
  }

  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(DeviceSubscriptionsTest, RegisteredDeviceHearsItsStoredSubscriptionsAcrossChangesAndRestart) {
  std::string id = newIdentity();
  ASSERT_FALSE(id.empty());
  SignedSyncClient http(server_->port(), server_->poolId(), id);
  ASSERT_TRUE(http.fetchCredentials());
  HttpReply reg = http.registerDevice("GCM", "push-token-1");
  ASSERT_EQ(reg.status, 200) << reg.body.dump();
  std::string deviceId = reg.body.value("DeviceId", "");
  ASSERT_FALSE(deviceId.empty());
  HttpReply sub = http.subscribe("prefs", deviceId);
  ASSERT_EQ(sub.status, 200) << sub.body.dump();
  EXPECT_EQ(sub.body, Json::object());

  auto writer = connection(id);
  auto device = connection(id);
  ASSERT_TRUE(writer && device);
  ASSERT_TRUE(write(*writer, "prefs", "v1").isOk());  // before the device listens: in the counts
  // No names: just the device's stored subscriptions, with where they stand.
  auto s = device->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId});
  ASSERT_TRUE(s.isOk()) << s.status();
  ASSERT_EQ(names(*s), std::vector<std::string>{"prefs"});
  EXPECT_TRUE(s->datasets[0].exists);
  EXPECT_EQ(s->datasets[0].syncCount, 1);

  // Another connection's write to a stored subscription is announced; an unsubscribed dataset
  // (written first, on the same strand) is not.
  ASSERT_TRUE(write(*writer, "other", "x").isOk());
  ASSERT_TRUE(write(*writer, "prefs", "v2").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "prefs") == 2; }, 5000));
  EXPECT_EQ(lastPushed(*device, "other"), -1);

  // SubscribeToDataset while the connection is open takes effect at once, no re-subscribe.
  ASSERT_EQ(http.subscribe("other", deviceId).status, 200);
  ASSERT_TRUE(write(*writer, "other", "y").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 2; }, 5000));

  // UnsubscribeFromDataset likewise: "prefs" goes quiet while "other" still speaks.
  ASSERT_EQ(http.unsubscribe("prefs", deviceId).status, 200);
  ASSERT_TRUE(write(*writer, "prefs", "v3").isOk());
  ASSERT_TRUE(write(*writer, "other", "z").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 3; }, 5000));
  EXPECT_EQ(lastPushed(*device, "prefs"), 2);

  // The writer's own connection is never told, even when it presents the device too.
  ASSERT_TRUE(writer->callAs<SubscribeResponse>(SubscribeRequest{{"probe"}, deviceId}).isOk());
  ASSERT_TRUE(write(*writer, "other", "w").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 4; }, 5000));
  ASSERT_TRUE(write(*device, "probe", "p").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*writer, "probe") == 1; }, 5000));
  EXPECT_EQ(lastPushed(*writer, "other"), -1);

  // Another identity presenting the same DeviceId gets none of its subscriptions.
  std::string strangerId = newIdentity();
  auto stranger = connection(strangerId);
  ASSERT_TRUE(stranger);
  auto ss = stranger->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId});
  ASSERT_TRUE(ss.isOk());
  EXPECT_TRUE(ss->datasets.empty());

  // Stored subscriptions survive a restart: a new connection presenting the device hears "other".
  writer.reset();
  device.reset();
  stranger.reset();
  ASSERT_TRUE(server_->restart());
  writer = connection(id);
  device = connection(id);
  ASSERT_TRUE(writer && device);
  auto again = device->callAs<SubscribeResponse>(SubscribeRequest{{"explicit"}, deviceId});
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_EQ(names(*again), (std::vector<std::string>{"explicit", "other"}));
  EXPECT_EQ(again->datasets[1].syncCount, 4);
  ASSERT_TRUE(write(*writer, "prefs", "v4").isOk());
  ASSERT_TRUE(write(*writer, "other", "after-restart").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "other") == 5; }, 5000));
  EXPECT_EQ(lastPushed(*device, "prefs"), -1);

  // Unsubscribe with no names silences the device's datasets on this connection only; the stored
  // subscription stays for the next connection.
  ASSERT_TRUE(device->callAs<UnsubscribeResponse>(UnsubscribeRequest{{}}).isOk());
  auto third = connection(id);
  ASSERT_TRUE(third);
  ASSERT_TRUE(third->callAs<SubscribeResponse>(SubscribeRequest{{}, deviceId}).isOk());
  ASSERT_TRUE(write(*writer, "other", "later").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*third, "other") == 6; }, 5000));
  EXPECT_EQ(lastPushed(*device, "other"), 5);
}

TEST_F(DeviceSubscriptionsTest, UnknownDeviceIdIsJustALabel) {
  std::string id = newIdentity();
  auto writer = connection(id);
  auto device = connection(id);
  ASSERT_TRUE(writer && device);
  // The libtether client sends its own device ID; one never registered has no stored
  // subscriptions and the request works as before.
  auto s = device->callAs<SubscribeResponse>(SubscribeRequest{{"prefs"}, "libtether-device-1"});
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_EQ(names(*s), std::vector<std::string>{"prefs"});
  ASSERT_TRUE(write(*writer, "prefs", "v").isOk());
  ASSERT_TRUE(waitUntil([&] { return lastPushed(*device, "prefs") == 1; }, 5000));
  // An invalid device ID (over 256 chars) is refused without subscribing anything.
  EXPECT_EQ(device->callAs<SubscribeResponse>(SubscribeRequest{{"x"}, std::string(300, 'd')}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tether::testing
