// Fuzz target 5: SigV4 header parsing and verification (cognito/sigv4, cognito/request_auth).
//
// Structure-aware: the target signs the request it builds from the input (method, path
// segments, query, headers, body, which headers are signed, credential kind, scope) with a known
// credential - temporary credentials issued by the server's own TemporaryCredentials, or a
// developer key - exactly as an AWS SDK does, then applies at most one change the input chooses
// (body, a signed or an unsigned header, the query, the method, the date, the signature), and
// asks RequestAuthenticator::authenticate. So inputs reach the code behind the signature check.
//
// Input: first byte = mode: 0 = the rest is a raw Authorization header (parseAuthorization,
// parseAmzDate and the canonicalization helpers on free bytes); 1..3 = a signed request.
// Properties: an unchanged, well-formed signed request (or one with only an unsigned header
// added) authenticates as the signer - its identity for temporary credentials, the developer
// for a developer key; a change to anything signed (body, signed header value, query, method,
// signature) is refused; every refusal is a 4xx gateway error, never a crash.
#include <map>
#include <string>
#include <vector>

#include "cognito/request_auth.h"
#include "cognito/sigv4.h"
#include "cognito/temporary_credentials.h"
#include "fuzz_input.h"

using namespace tether;
using namespace tether::server;
using namespace tether::server::cognito;

namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kIdentity = "local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr const char* kDevKey = "AKIAFUZZDEVELOPER001";
constexpr const char* kDevSecret = "fuzz-developer-secret-0123456789";

class FixedClock final : public Clock {
 public:
  int64_t nowMs() const override { return kNowMs; }
};

struct World {
  FixedClock clock;
  TemporaryCredentials creds{std::string(32, 'c')};
  RequestAuthenticator auth{creds, {{kDevKey, kDevSecret}}, clock, nullptr};
  IssuedCredentials temp = creds.issue(kPool, kIdentity, false, kNowMs - 60'000);
};

World& world() {
  static World* w = new World();
  return *w;
}

std::string isoBasic(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

void raw(fuzz::FuzzInput& in) {
  std::string text = in.rest();
  Result<SigV4Authorization> a = parseAuthorization(text);
  if (a.isOk()) {
    TETHER_FUZZ_CHECK(a->signature.size() == 64, a->signature);
    (void)a->scope();
  } else {
    TETHER_FUZZ_CHECK(a.status().code() == StatusCode::kInvalidArgument, a.status().toString());
  }
  (void)parseAmzDate(text);
  (void)uriEncode(text, text.size() % 2 == 0);
  std::vector<std::string> segs;
  for (size_t at = 0; at < text.size() && segs.size() < 8; at += 7) segs.push_back(text.substr(at, 7));
  (void)canonicalUri(segs);
  (void)canonicalQuery({{text, text}});
  (void)constantTimeEquals(text, text.substr(text.size() / 2));
}

void signedRequest(fuzz::FuzzInput& in) {
  World& w = world();
  HttpRequest req;
  static const std::vector<std::string> kMethods = {"GET", "POST", "DELETE", "PUT"};
  req.method = in.pick(kMethods, 8);
  static const std::vector<std::string> kSegs = {"identitypools", kPool, "identities", kIdentity, "datasets",
                                                 "prefs", "records", "subscriptions", "a/b", "sp ace", "~x%"};
  std::vector<std::string> segs(in.range<int>(0, 6));
  for (auto& s : segs) s = in.pick(kSegs, 40);
  for (const auto& s : segs) req.path += "/" + s;
  int q = in.range<int>(0, 3);
  for (int i = 0; i < q; ++i) req.query.emplace_back(in.pick({"maxResults", "nextToken", "lastSyncCount"}, 20), in.bytes(20));
  bool developer = in.range<int>(0, 3) == 0;
  int64_t skew = in.range<int>(0, 7) == 0 ? in.range<int64_t>(-700, 700) * 1000 : in.range<int64_t>(-60, 60) * 1000;
  std::string amzDate = isoBasic(kNowMs + skew);
  req.headers["host"] = in.pick({"127.0.0.1:8080", "cognito-sync.us-east-1.amazonaws.com", ""}, 40);
  req.headers[in.boolean() ? "x-amz-date" : "date"] = amzDate;
  if (!developer) req.headers["x-amz-security-token"] = w.temp.sessionToken;
  if (in.boolean()) req.headers["content-type"] = "application/json";
  int extra = in.range<int>(0, 2);
  // Header names as libwebsockets delivers them: lower-case tokens (a name with spaces or tabs
  // cannot arrive, and SignedHeaders is trimmed as AWS does, so it could not name one).
  for (int i = 0; i < extra; ++i) {
    std::string name = "x-f-" + in.bytes(6);
    for (size_t k = 4; k < name.size(); ++k) name[k] = static_cast<char>('a' + static_cast<unsigned char>(name[k]) % 26);
    req.headers[name] = in.bytes(20);
  }
  req.body = in.bytes(200);
  if (in.range<int>(0, 7) == 0) req.headers["x-amz-content-sha256"] = in.boolean() ? sha256Hex(req.body) : "UNSIGNED-PAYLOAD";

  // Which headers are signed: host and the date usually, the rest as the input says.
  std::vector<std::string> signedNames;
  for (const auto& [name, value] : req.headers) {
    bool must = name == "host" || name == "x-amz-date" || name == "date";
    if (must ? in.range<int>(0, 15) != 0 : in.boolean()) signedNames.push_back(name);
  }
  std::string signedText;
  for (const auto& n : signedNames) signedText += (signedText.empty() ? "" : ";") + n;
  std::string service = in.pick({"cognito-sync", "cognito-identity", "s3"}, 20);
  std::string region = in.pick({"local", "us-east-1"}, 20);
  std::string akid = developer ? kDevKey : w.temp.accessKeyId;
  std::string secret = developer ? kDevSecret : w.temp.secretKey;
  std::string scopeDate = in.range<int>(0, 15) == 0 ? "20200101" : amzDate.substr(0, 8);
  std::string authz = "AWS4-HMAC-SHA256 Credential=" + akid + "/" + scopeDate + "/" + region + "/" + service +
                      "/aws4_request, SignedHeaders=" + signedText + ", Signature=" + std::string(64, '0');
  Result<SigV4Authorization> parsed = parseAuthorization(authz);
  if (!parsed.isOk()) return;  // e.g. no header signed at all: nothing an SDK would send
  std::string uri = canonicalUri(segs);
  const std::string* declared = req.header("x-amz-content-sha256");
  std::string payloadHash = declared ? *declared : sha256Hex(req.body);
  std::string query = canonicalQuery(req.query);
  CanonicalInput ci{req.method, uri, query, &req.headers, payloadHash};  // views: the strings must outlive it
  Result<std::string> creq = canonicalRequest(ci, *parsed);
  if (!creq.isOk()) return;
  std::string sig = computeSignature(secret, *parsed, stringToSign(amzDate, parsed->scope(), *creq));
  authz.replace(authz.size() - 64, 64, sig);
  req.headers["authorization"] = authz;

  bool hostSigned = std::find(signedNames.begin(), signedNames.end(), "host") != signedNames.end();
  // UNSIGNED-PAYLOAD leaves the body out of the signature: refused since issue 13 (request_auth).
  bool unsignedPayload = declared && *declared == "UNSIGNED-PAYLOAD";
  bool wellFormed = hostSigned && service == "cognito-sync" && std::llabs(skew) <= kMaxClockSkewMs &&
                    scopeDate == amzDate.substr(0, 8) && !unsignedPayload;
  // One change after signing.
  bool signedChange = false;
  switch (in.range<int>(0, 7)) {
    case 0:
      req.body += static_cast<char>(in.byte());
      signedChange = true;  // the signed (or declared) hash no longer matches the body
      break;
    case 1:
      if (!signedNames.empty()) {
        std::string n = signedNames[in.range<size_t>(0, signedNames.size() - 1)];
        req.headers[n] += "x";
        signedChange = true;
      }
      break;
    case 2: req.headers["x-f-unsigned-late"] = in.bytes(10); break;
    case 3:
      if (!req.query.empty()) {
        req.query[0].second += "x";
        signedChange = true;
      }
      break;
    case 4:
      req.method = req.method == "GET" ? "POST" : "GET";
      signedChange = true;
      break;
    case 5: {
      size_t at = req.headers["authorization"].size() - 1 - in.range<size_t>(0, 63);
      char& c = req.headers["authorization"][at];
      c = c == '0' ? '1' : '0';
      signedChange = true;
      break;
    }
    default: break;
  }
  ApiResult<Principal> p = w.auth.authenticate(req, uri, "cognito-sync");
  if (p.isOk()) {
    TETHER_FUZZ_CHECK(!signedChange, "a request changed after signing authenticated: " + req.headers["authorization"]);
    TETHER_FUZZ_CHECK(wellFormed, "a request with a bad scope, date or unsigned host authenticated");
    if (developer) {
      TETHER_FUZZ_CHECK(p->isDeveloper() && p->accessKeyId == kDevKey, "developer principal expected");
    } else {
      TETHER_FUZZ_CHECK(!p->isDeveloper() && p->identityId == kIdentity && p->poolId == kPool, "identity principal expected");
    }
  } else {
    TETHER_FUZZ_CHECK(p.error().status >= 400 && p.error().status < 500, p.error().type);
    TETHER_FUZZ_CHECK(signedChange || !wellFormed, "a well-formed signed request was refused: " + p.error().type +
                                                       ": " + p.error().message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  if (in.range<int>(0, 3) == 0) raw(in);
  else signedRequest(in);
  return 0;
}
