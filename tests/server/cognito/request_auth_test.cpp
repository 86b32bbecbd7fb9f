// RequestAuthenticator: developer keys (spec vector c), temporary credentials minted by
// TemporaryCredentials, and every gateway error (missing/incomplete/expired/forged).
#include "cognito/request_auth.h"

#include <gtest/gtest.h>

#include "cognito/sigv4.h"

namespace tether::server::cognito {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kVectorTimeMs = 1704164645000;  // 2024-01-02T03:04:05Z
constexpr const char* kPool = "us-east-1:11111111-2222-3333-4444-555555555555";
constexpr const char* kIdentity = "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

class ManualClock final : public Clock {
 public:
  int64_t now = kVectorTimeMs;
  int64_t nowMs() const override { return now; }
};

HttpRequest vectorC() {
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = R"({"IdentityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555", "Logins": {"login.mycompany.myapp": "user123"}})";
  r.headers = {{"host", "cognito-identity.us-east-1.amazonaws.com"},
               {"content-type", "application/x-amz-json-1.1"},
               {"x-amz-target", "AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity"},
               {"x-amz-date", "20240102T030405Z"},
               {"content-length", "116"},
               {"authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/cognito-identity/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                "Signature=2e5e058306700dd028cf77f1404dc0cb25ce777146665dc671e985a3e375d4c9"}};
  return r;
}

// Signs `r` (whose x-amz-date and host are set) the way an SDK does.
void signRequest(HttpRequest& r, const std::string& uri, const std::string& akid, const std::string& secret,
                 const std::string& service) {
  std::string date = r.headers.at("x-amz-date").substr(0, 8);
  std::string signedHeaders = r.headers.count("x-amz-security-token") ? "host;x-amz-date;x-amz-security-token"
                                                                       : "host;x-amz-date";
  std::string scope = date + "/us-east-1/" + service + "/aws4_request";
  r.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=" + akid + "/" + scope +
                               ", SignedHeaders=" + signedHeaders + ", Signature=" + std::string(64, '0');
  Result<SigV4Authorization> auth = parseAuthorization(r.headers["authorization"]);
  ASSERT_TRUE(auth.isOk());
  std::string q = canonicalQuery(r.query);
  std::string hash = sha256Hex(r.body);
  CanonicalInput in{r.method, uri, q, &r.headers, hash};
  Result<std::string> creq = canonicalRequest(in, *auth);
  ASSERT_TRUE(creq.isOk());
  std::string sig = computeSignature(secret, *auth, stringToSign(r.headers.at("x-amz-date"), auth->scope(), *creq));
  r.headers["authorization"].replace(r.headers["authorization"].size() - 64, 64, sig);
}

class RequestAuthTest : public ::testing::Test {
 protected:
  ManualClock clock;
  TemporaryCredentials creds{std::string(32, 'k')};
  RequestAuthenticator auth{creds, {{"AKIDEXAMPLE", kSecret}}, clock};
  std::vector<std::string> segs{"identitypools", kPool, "identities", kIdentity, "datasets"};

  HttpRequest listDatasets(const IssuedCredentials& c) {
    HttpRequest r;
    r.method = "GET";
    r.path = std::string("/identitypools/") + kPool + "/identities/" + kIdentity + "/datasets";
    r.query = {{"maxResults", "10"}};
    r.headers = {{"host", "127.0.0.1:8080"}, {"x-amz-date", "20240102T030405Z"},
                 {"x-amz-security-token", c.sessionToken}};
    signRequest(r, canonicalUri(segs), c.accessKeyId, c.secretKey, "cognito-sync");
    return r;
  }
};

TEST_F(RequestAuthTest, SpecVectorCVerifiesAsDeveloper) {
  ApiResult<Principal> p = auth.authenticate(vectorC(), "/", "cognito-identity");
  ASSERT_TRUE(p.isOk()) << p.error().type << ": " << p.error().message;
  EXPECT_TRUE(p->isDeveloper());
  EXPECT_EQ(p->accessKeyId, "AKIDEXAMPLE");
}

TEST_F(RequestAuthTest, ClockSkewBeyondFiveMinutesIsRejected) {
  clock.now = kVectorTimeMs + 4 * 60 * 1000;
  EXPECT_TRUE(auth.authenticate(vectorC(), "/", "cognito-identity").isOk());
  clock.now = kVectorTimeMs + 6 * 60 * 1000;
  ApiResult<Principal> late = auth.authenticate(vectorC(), "/", "cognito-identity");
  ASSERT_FALSE(late.isOk());
  EXPECT_EQ(late.error().type, "InvalidSignatureException");
  EXPECT_EQ(late.error().status, 403);
  EXPECT_NE(late.error().message.find("Signature expired"), std::string::npos);
  clock.now = kVectorTimeMs - 6 * 60 * 1000;
  EXPECT_EQ(auth.authenticate(vectorC(), "/", "cognito-identity").error().type, "InvalidSignatureException");
}

TEST_F(RequestAuthTest, TamperedRequestsFail) {
  HttpRequest body = vectorC();
  body.body[body.body.size() - 4] = 'X';
  EXPECT_EQ(auth.authenticate(body, "/", "cognito-identity").error().type, "InvalidSignatureException");
  HttpRequest target = vectorC();
  target.headers["x-amz-target"] = "AWSCognitoIdentityService.DeleteIdentities";
  EXPECT_EQ(auth.authenticate(target, "/", "cognito-identity").error().type, "InvalidSignatureException");
  EXPECT_EQ(auth.authenticate(vectorC(), "/x", "cognito-identity").error().type, "InvalidSignatureException");
  HttpRequest sha = vectorC();
  sha.headers["x-amz-content-sha256"] = std::string(64, 'a');
  EXPECT_EQ(auth.authenticate(sha, "/", "cognito-identity").error().status, 400);
}

// Issue 13: x-amz-content-sha256: UNSIGNED-PAYLOAD leaves the body out of the signature. A
// request correctly signed that way, whose body is then swapped, must not be accepted (nor the
// unswapped one: the server cannot tell them apart).
TEST_F(RequestAuthTest, UnsignedPayloadIsRefusedSoABodyCannotBeSwapped) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = R"({"IdentityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555"})";
  r.headers = {{"host", "127.0.0.1:8080"},
               {"x-amz-date", "20240102T030405Z"},
               {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
               {"x-amz-target", "AWSCognitoIdentityService.ListIdentities"}};
  r.headers["authorization"] =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/cognito-identity/aws4_request, "
      "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=" + std::string(64, '0');
  Result<SigV4Authorization> parsed = parseAuthorization(r.headers["authorization"]);
  ASSERT_TRUE(parsed.isOk());
  CanonicalInput in{r.method, "/", "", &r.headers, "UNSIGNED-PAYLOAD"};
  Result<std::string> creq = canonicalRequest(in, *parsed);
  ASSERT_TRUE(creq.isOk());
  std::string sig = computeSignature(kSecret, *parsed, stringToSign(r.headers["x-amz-date"], parsed->scope(), *creq));
  r.headers["authorization"].replace(r.headers["authorization"].size() - 64, 64, sig);

  HttpRequest swapped = r;
  swapped.body = R"({"IdentityPoolId": "us-east-1:99999999-2222-3333-4444-555555555555"})";
  for (const HttpRequest* req : {&r, &swapped}) {
    ApiResult<Principal> p = auth.authenticate(*req, "/", "cognito-identity");
    ASSERT_FALSE(p.isOk());
    EXPECT_EQ(p.error().status, 400);
    EXPECT_EQ(p.error().type, "XAmzContentSHA256Mismatch");
    EXPECT_NE(p.error().message.find("UNSIGNED-PAYLOAD"), std::string::npos);
  }
  // The same request with the body's real hash declared and signed is accepted.
  HttpRequest hashed = r;
  const std::string bodyHash = sha256Hex(hashed.body);
  hashed.headers["x-amz-content-sha256"] = bodyHash;
  CanonicalInput in2{hashed.method, "/", "", &hashed.headers, bodyHash};
  Result<std::string> creq2 = canonicalRequest(in2, *parsed);
  ASSERT_TRUE(creq2.isOk());
  std::string sig2 = computeSignature(kSecret, *parsed, stringToSign(hashed.headers["x-amz-date"], parsed->scope(), *creq2));
  hashed.headers["authorization"].replace(hashed.headers["authorization"].size() - 64, 64, sig2);
  ApiResult<Principal> ok = auth.authenticate(hashed, "/", "cognito-identity");
  EXPECT_TRUE(ok.isOk()) << ok.error().type << ": " << ok.error().message;
}

TEST_F(RequestAuthTest, MissingMalformedAndMisScopedSignatures) {
  HttpRequest none = vectorC();
  none.headers.erase("authorization");
  ApiResult<Principal> p = auth.authenticate(none, "/", "cognito-identity");
  EXPECT_EQ(p.error().type, "MissingAuthenticationTokenException");
  EXPECT_EQ(p.error().status, 403);
  HttpRequest garbled = vectorC();
  garbled.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=nope";
  EXPECT_EQ(auth.authenticate(garbled, "/", "cognito-identity").error().type, "IncompleteSignatureException");
  EXPECT_EQ(auth.authenticate(garbled, "/", "cognito-identity").error().status, 400);
  HttpRequest noDate = vectorC();
  noDate.headers.erase("x-amz-date");
  EXPECT_EQ(auth.authenticate(noDate, "/", "cognito-identity").error().type, "IncompleteSignatureException");
  EXPECT_EQ(auth.authenticate(vectorC(), "/", "cognito-sync").error().type, "InvalidSignatureException");
  RequestAuthenticator noDevelopers(creds, {}, clock);
  EXPECT_EQ(noDevelopers.authenticate(vectorC(), "/", "cognito-identity").error().type, "UnrecognizedClientException");
}

TEST_F(RequestAuthTest, TemporaryCredentialsResolveToTheirIdentity) {
  IssuedCredentials c = creds.issue(kPool, kIdentity, false, clock.now);
  EXPECT_TRUE(c.accessKeyId.starts_with("ASIA"));
  EXPECT_EQ(c.accessKeyId.size(), 20u);
  EXPECT_EQ(c.secretKey.size(), 40u);
  EXPECT_GE(c.sessionToken.size(), 100u);
  ApiResult<Principal> p = auth.authenticate(listDatasets(c), canonicalUri(segs), "cognito-sync");
  ASSERT_TRUE(p.isOk()) << p.error().type << ": " << p.error().message;
  EXPECT_FALSE(p->isDeveloper());
  EXPECT_EQ(p->poolId, kPool);
  EXPECT_EQ(p->identityId, kIdentity);
  EXPECT_FALSE(p->authenticated);
}

TEST_F(RequestAuthTest, ExpiredTamperedAndMissingSessionTokens) {
  IssuedCredentials c = creds.issue(kPool, kIdentity, true, clock.now - kCredentialLifetimeMs - 1);
  ApiResult<Principal> expired = auth.authenticate(listDatasets(c), canonicalUri(segs), "cognito-sync");
  EXPECT_EQ(expired.error().type, "ExpiredTokenException");
  EXPECT_EQ(expired.error().status, 403);

  IssuedCredentials good = creds.issue(kPool, kIdentity, true, clock.now);
  // Flip one character of the sealed payload: MAC fails.
  IssuedCredentials forged = good;
  size_t at = forged.sessionToken.size() / 3;
  forged.sessionToken[at] = forged.sessionToken[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(auth.authenticate(listDatasets(forged), canonicalUri(segs), "cognito-sync").error().type,
            "UnrecognizedClientException");
  // A genuine token presented with another key ID.
  IssuedCredentials other = creds.issue(kPool, kIdentity, true, clock.now);
  IssuedCredentials swapped = good;
  swapped.sessionToken = other.sessionToken;
  EXPECT_EQ(auth.authenticate(listDatasets(swapped), canonicalUri(segs), "cognito-sync").error().type,
            "UnrecognizedClientException");
  // No token at all.
  HttpRequest r = listDatasets(good);
  r.headers.erase("x-amz-security-token");
  EXPECT_EQ(auth.authenticate(r, canonicalUri(segs), "cognito-sync").error().type, "UnrecognizedClientException");
  // Right token, wrong secret.
  IssuedCredentials badSecret = good;
  badSecret.secretKey[0] = badSecret.secretKey[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(auth.authenticate(listDatasets(badSecret), canonicalUri(segs), "cognito-sync").error().type,
            "InvalidSignatureException");
  // A token sealed with another server key.
  TemporaryCredentials otherServer{std::string(32, 'z')};
  IssuedCredentials foreign = otherServer.issue(kPool, kIdentity, true, clock.now);
  EXPECT_EQ(auth.authenticate(listDatasets(foreign), canonicalUri(segs), "cognito-sync").error().type,
            "UnrecognizedClientException");
}

}  // namespace
}  // namespace tether::server::cognito
