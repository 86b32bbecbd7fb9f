// Tests of server/src/push without a network: the exact payloads of spec 5.3, the APNs provider
// token's reuse and renewal (Apple: between 20 and 60 minutes), and the checks on key files.
// Requests on the wire: tests/integration/push_test.cpp.
#include "push/apns_sender.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/signing_key.h"
#include "push/fcm_sender.h"

namespace tether::server::push {
namespace {

using Json = nlohmann::json;

class ManualClock final : public Clock {
 public:
  int64_t nowMs() const override { return now; }
  int64_t now = 1'700'000'000'000;
};

// A temp directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::filesystem::path tempDir() {
  const char* root = std::getenv("TETHER_TEST_TMP");
  std::filesystem::path base = root != nullptr && *root != '\0' ? root : "/tmp";
  std::filesystem::create_directories(base);
  std::string pattern = (base / "push-XXXXXX").string();
  EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
  return pattern;
}

PushAppConfig apnsApp(const std::filesystem::path& keyFile) {
  PushAppConfig app;
  app.arn = "arn:aws:sns:us-east-1:1:app/APNS/a";
  app.platform = "APNS";
  app.teamId = "TEAM";
  app.keyId = "KEYID";
  app.keyFile = keyFile;
  app.topic = "com.example.app";
  return app;
}

const PushData kData{"us-east-1:pool", "us-east-1:identity", "prefs", 42};

TEST(PushPayloadTest, ApnsIsASilentPushWithExactlyTheFiveKeys) {
  EXPECT_EQ(Json::parse(ApnsSender::payload(kData)),
            Json::parse(R"({"aps":{"content-available":1},"data":{"source":"cognito-sync",
              "identityPoolId":"us-east-1:pool","identityId":"us-east-1:identity","datasetName":"prefs",
              "syncCount":"42"}})"));
}

TEST(PushPayloadTest, FcmIsAHighPriorityDataMessageOfStrings) {
  EXPECT_EQ(Json::parse(FcmSender::payload("tok", kData)),
            Json::parse(R"({"message":{"token":"tok","data":{"source":"cognito-sync",
              "identityPoolId":"us-east-1:pool","identityId":"us-east-1:identity","datasetName":"prefs",
              "syncCount":"42"},"android":{"priority":"high"}}})"));
}

TEST(PushAppPlatformTest, ReadsThePlatformOfAnSnsApplicationArn) {
  EXPECT_EQ(*pushAppPlatform("arn:aws:sns:us-east-1:123456789012:app/APNS_SANDBOX/my.app"), "APNS_SANDBOX");
  EXPECT_EQ(*pushAppPlatform("arn:aws:sns:eu-west-1:1:app/GCM/x"), "GCM");
  for (const char* bad : {"", "arn:aws:sns:us-east-1:1:app/GCM/", "arn:aws:sns:us-east-1:1:app//x",
                          "arn:aws:sns::1:app/GCM/x", "arn:aws:sqs:us-east-1:1:app/GCM/x", "arn:aws:sns:r:1:GCM/x"})
    EXPECT_FALSE(pushAppPlatform(bad).isOk()) << bad;
}

TEST(ApnsSenderTest, ProviderTokenIsReusedFor40MinutesThenRenewed) {
  TempDir tmp{tempDir()};
  const std::filesystem::path& dir = tmp.path;
  Result<std::string> pem = SigningKey::newPem();
  ASSERT_TRUE(pem.isOk());
  std::ofstream(dir / "AuthKey.p8") << *pem;
  ManualClock clock;
  auto sender = ApnsSender::create(apnsApp(dir / "AuthKey.p8"), clock);
  ASSERT_TRUE(sender.isOk()) << sender.status();
  auto first = (*sender)->providerToken();
  ASSERT_TRUE(first.isOk());
  // header {"alg":"ES256","kid":key_id}, claims {"iss":team_id,"iat":now in seconds}, verifiable.
  const std::string& jwt = *first;
  const size_t dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
  EXPECT_EQ(Json::parse(*auth::base64UrlDecode(jwt.substr(0, dot1))), (Json{{"alg", "ES256"}, {"kid", "KEYID"}}));
  EXPECT_EQ(Json::parse(*auth::base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1))),
            (Json{{"iss", "TEAM"}, {"iat", clock.now / 1000}}));
  auto key = SigningKey::fromPem(*pem, "test");
  EXPECT_TRUE((*key)->verify(jwt.substr(0, dot2), *auth::base64UrlDecode(jwt.substr(dot2 + 1))));

  clock.now += 39 * 60 * 1000;  // Apple refuses renewals more often than every 20 minutes
  EXPECT_EQ(*(*sender)->providerToken(), jwt);
  clock.now += 60 * 1000;  // 40 minutes: renewed, well before Apple's 60-minute expiry
  auto renewed = (*sender)->providerToken();
  EXPECT_NE(*renewed, jwt);
  EXPECT_EQ(*(*sender)->providerToken(), *renewed);
}

TEST(ApnsSenderTest, KeyFileMustBeAReadableP256Key) {
  TempDir tmp{tempDir()};
  const std::filesystem::path& dir = tmp.path;
  ManualClock clock;
  auto missing = ApnsSender::create(apnsApp(dir / "nope.p8"), clock);
  EXPECT_EQ(missing.status().code(), StatusCode::kIOError);
  EXPECT_NE(missing.status().message().find("arn:aws:sns:us-east-1:1:app/APNS/a"), std::string::npos);
  std::ofstream(dir / "junk.p8") << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  EXPECT_FALSE(ApnsSender::create(apnsApp(dir / "junk.p8"), clock).isOk());
}

TEST(FcmSenderTest, ServiceAccountFileIsChecked) {
  TempDir tmp{tempDir()};
  const std::filesystem::path& dir = tmp.path;
  ManualClock clock;
  PushAppConfig app;
  app.arn = "arn:aws:sns:us-east-1:1:app/GCM/a";
  app.platform = "GCM";
  app.serviceAccountFile = dir / "sa.json";
  EXPECT_EQ(FcmSender::create(app, clock).status().code(), StatusCode::kIOError);
  struct Case {
    std::string text, needle;
  } cases[] = {
      {"not json", "not a JSON object"},
      {R"({"client_email":"e","token_uri":"https://t","private_key":"k"})", "project_id is missing"},
      {R"({"project_id":"p","client_email":"e","token_uri":"https://t"})", "private_key is missing"},
      {R"({"project_id":"p","client_email":"e","token_uri":"file:///etc/passwd","private_key":"k"})", "token_uri"},
      {R"({"project_id":"p","client_email":"e","token_uri":"https://t","private_key":"k"})", "not an unencrypted RSA"},
      {R"({"project_id":7,"client_email":"e","token_uri":"https://t","private_key":"k"})", "project_id is missing"},
  };
  for (const Case& c : cases) {
    std::ofstream(dir / "sa.json", std::ios::trunc) << c.text;
    auto r = FcmSender::create(app, clock);
    ASSERT_FALSE(r.isOk()) << c.text;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
  }
  // An EC key where Google puts an RSA key.
  Result<std::string> ec = SigningKey::newPem();
  std::ofstream(dir / "sa.json", std::ios::trunc)
      << Json{{"project_id", "p"}, {"client_email", "e"}, {"token_uri", "https://t"}, {"private_key", *ec}}.dump();
  EXPECT_NE(FcmSender::create(app, clock).status().message().find("not an unencrypted RSA"), std::string::npos);
}

}  // namespace
}  // namespace tether::server::push
