// SigV4 computation against the test vectors of cognito-compat.md 6.3 (produced by botocore).
#include "cognito/sigv4.h"

#include <gtest/gtest.h>

namespace tether::server::cognito {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kPool = "us-east-1:11111111-2222-3333-4444-555555555555";
constexpr const char* kIdentity = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

struct Signed {
  std::string canonical;
  std::string sts;
  std::string signature;
};

Signed sign(const std::string& method, const std::vector<std::string>& segs,
            const std::vector<std::pair<std::string, std::string>>& query,
            const std::map<std::string, std::string>& headers, const std::string& body,
            const std::string& authorization) {
  Result<SigV4Authorization> auth = parseAuthorization(authorization);
  EXPECT_TRUE(auth.isOk()) << auth.status();
  std::string uri = canonicalUri(segs);
  std::string q = canonicalQuery(query);
  std::string hash = sha256Hex(body);
  CanonicalInput in{method, uri, q, &headers, hash};
  Result<std::string> creq = canonicalRequest(in, *auth);
  EXPECT_TRUE(creq.isOk());
  Signed out;
  out.canonical = *creq;
  out.sts = stringToSign(headers.at("x-amz-date"), auth->scope(), *creq);
  out.signature = computeSignature(kSecret, *auth, out.sts);
  return out;
}

TEST(SigV4Test, VectorA_ListRecordsWithTemporaryCredentials) {
  std::map<std::string, std::string> h = {{"host", "cognito-sync.us-east-1.amazonaws.com"},
                                          {"x-amz-date", "20240102T030405Z"},
                                          {"x-amz-security-token", "SESSIONTOKEN-EXAMPLE"}};
  Signed s = sign("GET", {"identitypools", kPool, "identities", kIdentity, "datasets", "Settings", "records"},
                  {{"lastSyncCount", "5"}, {"maxResults", "1024"}}, h, "",
                  "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID0001/20240102/us-east-1/cognito-sync/aws4_request, "
                  "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                  "Signature=b6ced968dbef2a469d68adb1951446637432f89cd71027d7317cab4f60bd6af5");
  EXPECT_EQ(s.canonical,
            "GET\n"
            "/identitypools/us-east-1%253A11111111-2222-3333-4444-555555555555/identities/"
            "us-east-1%253Aaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/datasets/Settings/records\n"
            "lastSyncCount=5&maxResults=1024\n"
            "host:cognito-sync.us-east-1.amazonaws.com\n"
            "x-amz-date:20240102T030405Z\n"
            "x-amz-security-token:SESSIONTOKEN-EXAMPLE\n"
            "\n"
            "host;x-amz-date;x-amz-security-token\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.sts,
            "AWS4-HMAC-SHA256\n20240102T030405Z\n20240102/us-east-1/cognito-sync/aws4_request\n"
            "a6333885aa6af5cc67e695ec269bc346cea2c53cf5c1d1d9be7ba111736ee51a");
  EXPECT_EQ(s.signature, "b6ced968dbef2a469d68adb1951446637432f89cd71027d7317cab4f60bd6af5");
}

TEST(SigV4Test, VectorB_UpdateRecords) {
  std::string body =
      R"({"DeviceId": "dev-1", "RecordPatches": [{"Op": "replace", "Key": "color", "Value": "blue", "SyncCount": 5, "DeviceLastModifiedDate": 1704164645}], "SyncSessionToken": "SESSION-TOKEN-FROM-LISTRECORDS"})";
  ASSERT_EQ(body.size(), 200u);
  EXPECT_EQ(sha256Hex(body), "a307709945578546e629c8d76dd90513d4d62818e385adbd80439f70945cfdda");
  std::map<std::string, std::string> h = {{"host", "cognito-sync.us-east-1.amazonaws.com"},
                                          {"content-type", "application/json"},
                                          {"x-amz-date", "20240102T030405Z"},
                                          {"x-amz-security-token", "SESSIONTOKEN-EXAMPLE"},
                                          {"content-length", "200"}};
  Signed s = sign("POST", {"identitypools", kPool, "identities", kIdentity, "datasets", "Settings"}, {}, h, body,
                  "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEYID0001/20240102/us-east-1/cognito-sync/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
                  "Signature=7f0521c2b25424aa68d7889c1d3158bd8e8fc3f1fedca84dd6c09dac8d1d2b49");
  EXPECT_NE(s.canonical.find("\n\ncontent-type;host;x-amz-date;x-amz-security-token\n"), std::string::npos);
  EXPECT_EQ(s.sts.substr(s.sts.rfind('\n') + 1), "51f976696fdafede97121adaed58694e22336e7128f5eaf403290df6ca9ed366");
  EXPECT_EQ(s.signature, "7f0521c2b25424aa68d7889c1d3158bd8e8fc3f1fedca84dd6c09dac8d1d2b49");
}

TEST(SigV4Test, VectorC_DeveloperOperationOnRootPath) {
  std::string body =
      R"({"IdentityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555", "Logins": {"login.mycompany.myapp": "user123"}})";
  ASSERT_EQ(body.size(), 116u);
  EXPECT_EQ(sha256Hex(body), "1822364f28c9ef9bbea3b1348e8708566f54a94b1cf25cdeeacb7bb43c8b5972");
  std::map<std::string, std::string> h = {
      {"host", "cognito-identity.us-east-1.amazonaws.com"},
      {"content-type", "application/x-amz-json-1.1"},
      {"x-amz-target", "AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity"},
      {"x-amz-date", "20240102T030405Z"}};
  Signed s = sign("POST", {}, {}, h, body,
                  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/cognito-identity/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                  "Signature=2e5e058306700dd028cf77f1404dc0cb25ce777146665dc671e985a3e375d4c9");
  EXPECT_TRUE(s.canonical.starts_with("POST\n/\n\n"));
  EXPECT_EQ(s.sts.substr(s.sts.rfind('\n') + 1), "a430159a9a8dafe434daf5910535a10b74c974175f31f907042bca6987f6bd7b");
  EXPECT_EQ(s.signature, "2e5e058306700dd028cf77f1404dc0cb25ce777146665dc671e985a3e375d4c9");
}

TEST(SigV4Test, CanonicalQueryEncodesAndSortsDecodedPairs) {
  // boto3 capture: nextToken=abc%2B%2F%3D&syncSessionToken=tok%20en%2B%2F%3D (decoded by lws).
  EXPECT_EQ(canonicalQuery({{"syncSessionToken", "tok en+/="}, {"nextToken", "abc+/="}, {"lastSyncCount", "0"}}),
            "lastSyncCount=0&nextToken=abc%2B%2F%3D&syncSessionToken=tok%20en%2B%2F%3D");
  EXPECT_EQ(canonicalQuery({}), "");
  EXPECT_EQ(canonicalQuery({{"b", ""}, {"a", "2"}, {"a", "1"}}), "a=1&a=2&b=");
}

TEST(SigV4Test, CanonicalUriDoubleEncodesEachLabel) {
  EXPECT_EQ(canonicalUri({}), "/");
  EXPECT_EQ(canonicalUri({"datasets", "bad name~x"}), "/datasets/bad%2520name~x");
  EXPECT_EQ(canonicalUri({"subscriptions", "dev/1"}), "/subscriptions/dev%252F1");
  EXPECT_EQ(canonicalUri({"\xC3\xBC"}), "/%25C3%25BC");
}

TEST(SigV4Test, ParseAuthorizationToleratesSpacingAndRejectsMalformed) {
  Result<SigV4Authorization> a = parseAuthorization(
      "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/cognito-sync/aws4_request,SignedHeaders=host;x-amz-date,"
      "   Signature=" + std::string(64, 'a'));
  ASSERT_TRUE(a.isOk()) << a.status();
  EXPECT_EQ(a->accessKeyId, "AKID");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->service, "cognito-sync");
  EXPECT_EQ(a->signedHeaders, (std::vector<std::string>{"host", "x-amz-date"}));
  const char* bad[] = {
      "",
      "AWS4-HMAC-SHA1 Credential=AKID/20240102/r/s/aws4_request, SignedHeaders=host, Signature=00",
      "AWS4-HMAC-SHA256 Credential=AKID/20240102/r/s/aws4_request, SignedHeaders=host",
      "AWS4-HMAC-SHA256 Credential=AKID/2024010/r/s/aws4_request, SignedHeaders=host, Signature=",
      "AWS4-HMAC-SHA256 Credential=AKID/20240102/r/s/aws5_request, SignedHeaders=host, Signature=",
      "AWS4-HMAC-SHA256 Credential=AKID/20240102/r/s/aws4_request, SignedHeaders=host, Signature=xyz",
      "AWS4-HMAC-SHA256 Credential=AKID/20240102/r/s/aws4_request, SignedHeaders=Host, Signature=",
  };
  for (const char* h : bad) {
    std::string text = h;
    if (text.ends_with("Signature=")) text += std::string(64, 'b');
    EXPECT_FALSE(parseAuthorization(text).isOk()) << text;
  }
}

TEST(SigV4Test, ParseAmzDate) {
  Result<int64_t> t = parseAmzDate("20240102T030405Z");
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(*t, 1704164645000);
  EXPECT_FALSE(parseAmzDate("2024-01-02T03:04:05Z").isOk());
  EXPECT_FALSE(parseAmzDate("20241302T030405Z").isOk());
  EXPECT_FALSE(parseAmzDate("").isOk());
}

TEST(SigV4Test, ConstantTimeEquals) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace tether::server::cognito
