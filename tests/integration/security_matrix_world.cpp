// The security matrix's identities, credentials and cell runner; see security_matrix_world.h.
#include "security_matrix_world.h"

#include <gtest/gtest.h>


#include <nlohmann/json.hpp>

#include "auth/developer_signature.h"
#include "auth/secret_store.h"
#include "cognito/temporary_credentials.h"
#include "tether/codec.h"
#include "test_oidc_issuer.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing::matrix {

using nlohmann::json;
using namespace proto;

std::string colName(Col c) {
  static const char* kNames[] = {
      "no credentials", "own", "another identity's", "another pool's", "developer",
      "unknown access key", "tampered session token", "expired temporary credentials", "wrong secret",
      "wrong region", "wrong service", "date 10 min off", "scope date != X-Amz-Date", "body changed after signing",
      "signed header changed", "signature of another request", "UNSIGNED-PAYLOAD",
      "JWT alg none", "JWT HS256 keyed with the public key", "JWT wrong aud", "JWT wrong iss", "JWT expired",
      "JWT future nbf", "JWT unknown kid", "JWT bad signature", "JWT tampered payload"};
  return kNames[static_cast<int>(c)];
}

namespace {

const std::vector<Col> kBase = {Col::kNone, Col::kOwn, Col::kOtherIdentity, Col::kOtherPool, Col::kDeveloper};
const std::vector<Col> kSigV4 = {Col::kUnknownKey, Col::kTamperedSessionToken, Col::kExpiredCredentials,
                                 Col::kWrongSecret, Col::kWrongRegion, Col::kWrongService, Col::kSkewedDate,
                                 Col::kScopeDate, Col::kBodyChanged, Col::kSignedHeaderChanged, Col::kRetargeted,
                                 Col::kUnsignedPayload};
const std::vector<Col> kJwt = {Col::kJwtAlgNone, Col::kJwtHs256PublicKey, Col::kJwtWrongAudience,
                               Col::kJwtWrongIssuer, Col::kJwtExpired, Col::kJwtFutureNbf,
                               Col::kJwtUnknownKid, Col::kJwtBadSignature, Col::kJwtTamperedPayload};
const std::vector<Col> kHmac = {Col::kUnknownKey, Col::kWrongSecret, Col::kSkewedDate, Col::kBodyChanged};

std::vector<Col> columnsOf(std::vector<Col> extra) {
  std::vector<Col> out = kBase;
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

Forgery forgeryOf(Col c) {
  switch (c) {
    case Col::kWrongSecret: return Forgery::kWrongSecret;
    case Col::kWrongRegion: return Forgery::kWrongRegion;
    case Col::kWrongService: return Forgery::kWrongService;
    case Col::kSkewedDate: return Forgery::kSkewedDate;
    case Col::kScopeDate: return Forgery::kScopeDate;
    case Col::kBodyChanged: return Forgery::kBodyChanged;
    case Col::kSignedHeaderChanged: return Forgery::kSignedHeaderChanged;
    case Col::kRetargeted: return Forgery::kRetargeted;
    case Col::kUnsignedPayload: return Forgery::kUnsignedPayload;
    default: return Forgery::kNone;
  }
}

struct Expected {
  int status = 0;
  std::string type;
};

// The denial every SigV4-signed operation gives a column (authentication before authorization,
// so it does not depend on the operation), or for the principal columns, the authorization one.
Expected sigv4Denial(Col c, HttpSurface s) {
  switch (c) {
    case Col::kNone: return {403, "MissingAuthenticationTokenException"};
    case Col::kOwn:
    case Col::kOtherIdentity:
    case Col::kOtherPool:
    case Col::kDeveloper: return {s == HttpSurface::kSync ? 403 : 400, "NotAuthorizedException"};
    case Col::kUnknownKey:
    case Col::kTamperedSessionToken: return {403, "UnrecognizedClientException"};
    case Col::kExpiredCredentials: return {403, "ExpiredTokenException"};
    case Col::kUnsignedPayload: return {400, "XAmzContentSHA256Mismatch"};
    default: return {403, "InvalidSignatureException"};
  }
}

bool isJwt(Col c) { return std::find(kJwt.begin(), kJwt.end(), c) != kJwt.end(); }

std::vector<std::string> rowsMentioning(const std::vector<std::string>& rows, const std::string& id) {
  std::vector<std::string> out;
  for (const std::string& r : rows)
    if (r.find(id) != std::string::npos) out.push_back(r);
  return out;
}

std::string describe(const Result<ResponseBody>& r) {
  if (!r.isOk()) return "transport: " + r.status().toString();
  if (auto* s = std::get_if<Status>(&*r)) return s->toString();
  return "ok";
}

// The status code's name ("Unauthenticated"), "ok", or "transport".
std::string codeOf(const Result<ResponseBody>& r) {
  std::string d = describe(r);
  return d.substr(0, d.find(':'));
}

}  // namespace

World::World(TetherdProcess& server, TestOidcIssuer& oidc, MatrixConfig config, StoreAccess store)
    : server_(server), oidc_(oidc), c_(std::move(config)), store_(std::move(store)) {}
World::~World() = default;

SigV4Key World::developerKey() const { return {c_.devKey, c_.devSecret, ""}; }

void World::addSecret(const std::string& what, const std::string& value) {
  if (!value.empty()) secrets_.emplace_back(what, value);
}

// A token of the form payload.MAC (JWTs, session, sync session and page tokens): the whole and
// its MAC/signature part, so a log line holding only the tail is caught too.
void World::addToken(const std::string& what, const std::string& token) {
  addSecret(what, token);
  size_t dot = token.rfind('.');
  if (dot != std::string::npos) addSecret(what + " (MAC/signature part)", token.substr(dot + 1));
}

HttpReply World::identityCall(const std::string& op, const std::string& body, const SigV4Key* key) {
  HttpReply r = sendCognito(server_.port(), HttpCall{"POST", {}, op, body, {}}, key);
  if (r.status != 200) error_ += op + " -> " + std::to_string(r.status) + " " + r.body.dump() + "\n";
  return r;
}

std::shared_ptr<WsTestClient> World::connectAs(const std::string& token) {
  std::shared_ptr<WsTestClient> conn = WsTestClient::connect(server_.url());
  if (!conn) return nullptr;
  if (token.empty()) return conn;
  auto a = conn->callAs<AuthenticateResponse>(AuthenticateRequest{token});
  return a.isOk() ? conn : nullptr;
}

bool World::makeTarget(const std::string& pool, const std::string& name, Target& t) {
  const std::string devProvider = pool == c_.p1 ? c_.devProvider1 : c_.devProvider2;
  const SigV4Key dev = developerKey();
  t.name = name;
  t.pool = pool;
  t.oidcToken = oidc_.sign(oidc_.claims("user-" + name, c_.aud));
  json logins = {{c_.provider, t.oidcToken}};
  HttpReply r = identityCall("GetId", json{{"IdentityPoolId", pool}, {"Logins", logins}}.dump(), nullptr);
  if (r.status != 200) return false;
  t.identity = r.body["IdentityId"];
  r = identityCall("GetOpenIdToken", json{{"IdentityId", t.identity}, {"Logins", logins}}.dump(), nullptr);
  if (r.status != 200) return false;
  t.cognitoToken = r.body["Token"];
  r = identityCall("GetCredentialsForIdentity", json{{"IdentityId", t.identity}, {"Logins", logins}}.dump(), nullptr);
  if (r.status != 200) return false;
  const json& cr = r.body["Credentials"];
  t.creds = {cr["AccessKeyId"], cr["SecretKey"], cr["SessionToken"]};
  t.devUser = "dev-" + name;
  t.devUser2 = "dev2-" + name;
  r = identityCall("GetOpenIdTokenForDeveloperIdentity",
                   json{{"IdentityPoolId", pool}, {"IdentityId", t.identity}, {"Logins", {{devProvider, t.devUser}}}}.dump(),
                   &dev);
  if (r.status != 200) return false;
  addToken("developer-identity token of " + name, r.body.value("Token", ""));
  r = identityCall("GetOpenIdTokenForDeveloperIdentity",
                   json{{"IdentityPoolId", pool}, {"Logins", {{devProvider, t.devUser2}}}}.dump(), &dev);
  if (r.status != 200) return false;
  std::vector<std::string> base = {"identitypools", pool, "identities", t.identity, "datasets", t.dataset};
  std::vector<std::string> records = base;
  records.push_back("records");
  r = sendCognito(server_.port(), HttpCall{"GET", records, "", "", {}}, &t.creds);
  if (r.status != 200) return (error_ += "ListRecords " + r.body.dump() + "\n", false);
  std::string session = r.body["SyncSessionToken"];
  addToken("sync session token", session);
  json patch = {{"SyncSessionToken", session},
                {"RecordPatches", {{{"Op", "replace"}, {"Key", "k1"}, {"Value", "v1"}, {"SyncCount", 0}},
                                     {{"Op", "replace"}, {"Key", "k0"}, {"Value", "v0"}, {"SyncCount", 0}}}}};
  r = sendCognito(server_.port(), HttpCall{"POST", base, "", patch.dump(), {}}, &t.creds);
  if (r.status != 200) return (error_ += "UpdateRecords " + r.body.dump() + "\n", false);
  r = sendCognito(server_.port(), HttpCall{"GET", records, "", "", {}}, &t.creds);
  if (r.status != 200) return false;
  t.syncSessionToken = r.body["SyncSessionToken"];
  // A page token (MAC'd, like the session token) for the log check.
  r = sendCognito(server_.port(), HttpCall{"GET", records, "", "", {{"maxResults", "1"}}}, &t.creds);
  if (r.status != 200 || !r.body.contains("NextToken")) return (error_ += "ListRecords page " + r.body.dump() + "\n", false);
  addToken("page token of " + name, r.body.value("NextToken", ""));
  r = sendCognito(server_.port(),
                  HttpCall{"POST", {"identitypools", pool, "identity", t.identity, "device"}, "",
                           json{{"Platform", "GCM"}, {"Token", "push-token-" + name}}.dump(), {}},
                  &t.creds);
  if (r.status != 200) return (error_ += "RegisterDevice " + r.body.dump() + "\n", false);
  t.deviceId = r.body["DeviceId"];
  std::vector<std::string> sub = base;
  sub.insert(sub.end(), {"subscriptions", t.deviceId});
  r = sendCognito(server_.port(), HttpCall{"POST", sub, "", "", {}}, &t.creds);
  if (r.status != 200) return (error_ += "SubscribeToDataset " + r.body.dump() + "\n", false);
  addToken("OIDC ID token of " + name, t.oidcToken);
  addToken("OpenID token of " + name, t.cognitoToken);
  addSecret("temporary secret key of " + name, t.creds.secret);
  addToken("session token of " + name, t.creds.sessionToken);
  addToken("sync session token of " + name, t.syncSessionToken);
  return true;
}

bool World::setUp() {
  if (!makeTarget(c_.p1, "a", a_) || !makeTarget(c_.p1, "b", b_) || !makeTarget(c_.p2, "c", c2_)) return false;
  std::string jwks = httpGet(server_.port(), "/.well-known/jwks.json");
  forger_ = std::make_unique<TokenForger>(*store_.secrets, jwks.substr(std::min(jwks.size(), jwks.find("\r\n\r\n") + 4)));
  if (forger_->publicKeyPem().empty()) return (error_ += "no public key from the JWKS\n", false);
  auto creds = server::cognito::TemporaryCredentials::open(*store_.secrets);
  if (!creds.isOk()) return (error_ += creds.status().toString(), false);
  auto old = (*creds)->issue(a_.pool, a_.identity, true, nowMs() - 2 * 3600 * 1000);
  expired_ = {old.accessKeyId, old.secretKey, old.sessionToken};
  tampered_ = a_.creds;
  char& ch = tampered_.sessionToken[tampered_.sessionToken.size() - 3];
  ch = ch == 'A' ? 'B' : 'A';
  addSecret("developer secret", c_.devSecret);
  addSecret("expired temporary secret", expired_.secret);
  anon_ = connectAs("");
  a_.conn = connectAs(a_.cognitoToken);
  b_.conn = connectAs(b_.cognitoToken);
  c2_.conn = connectAs(c2_.cognitoToken);
  if (!anon_ || !a_.conn || !b_.conn || !c2_.conn) return (error_ += "native connections failed\n", false);
  return true;
}

std::vector<std::string> World::snapshotBefore() {
  // A denied cell leaves the store as it found it, so the snapshot after one is the next
  // cell's "before"; anything that may write (allowed cells, new targets) drops it.
  if (!lastValid_) {
    last_ = store_.snapshot();
    lastValid_ = true;
  }
  return last_;
}

void World::checkUnchanged(const std::vector<std::string>& before) {
  last_ = store_.snapshot();
  lastValid_ = true;
  EXPECT_EQ(last_, before) << "a denied request changed the store";
}

Target& World::fresh() {
  lastValid_ = false;
  fresh_.push_back(std::make_unique<Target>());
  Target& t = *fresh_.back();
  EXPECT_TRUE(makeTarget(c_.p1, "f" + std::to_string(fresh_.size()), t)) << error_;
  return t;
}

std::string World::tokenFor(Col col, const Target& t) {
  std::string tok;
  switch (col) {
    case Col::kOwn: return t.cognitoToken;
    case Col::kOtherIdentity: return b_.cognitoToken;
    case Col::kOtherPool: return c2_.cognitoToken;
    case Col::kJwtAlgNone: tok = forger_->algNone(t.cognitoToken); break;
    case Col::kJwtHs256PublicKey: tok = forger_->hs256WithPublicKey(t.cognitoToken); break;
    case Col::kJwtWrongAudience: tok = forger_->wrongAudience(t.cognitoToken); break;
    case Col::kJwtWrongIssuer: tok = forger_->wrongIssuer(t.cognitoToken); break;
    case Col::kJwtExpired: tok = forger_->expired(t.cognitoToken); break;
    case Col::kJwtFutureNbf: tok = forger_->futureNotBefore(t.cognitoToken); break;
    case Col::kJwtUnknownKid: tok = forger_->unknownKid(t.cognitoToken); break;
    case Col::kJwtBadSignature: tok = forger_->badSignature(t.cognitoToken); break;
    case Col::kJwtTamperedPayload: tok = forger_->tamperedPayload(t.cognitoToken); break;
    default: return "";
  }
  addToken("forged token (" + colName(col) + ")", tok);
  return tok;
}

void World::runHttpCell(const HttpRow& row, Col col, CellCounts& n) {
  const bool allowed = row.allowed.count(col) > 0;
  if (allowed != allowedPhase_) return;
  Target& t = allowed && row.mutates ? fresh() : a_;
  SCOPED_TRACE(row.op + " x " + colName(col));
  const bool device = row.surface == HttpSurface::kIdentityDevice;
  HttpCall call = row.build(t, device ? tokenFor(col, t) : "");
  SigV4Key dev = developerKey();
  const SigV4Key* key = nullptr;
  if (!device || col == Col::kDeveloper) {
    switch (col) {
      case Col::kNone: break;
      case Col::kOwn: key = &t.creds; break;
      case Col::kOtherIdentity: key = &b_.creds; break;
      case Col::kOtherPool: key = &c2_.creds; break;
      case Col::kUnknownKey: key = nullptr; break;
      case Col::kTamperedSessionToken: key = &tampered_; break;
      case Col::kExpiredCredentials: key = &expired_; break;
      default: key = &dev; break;
    }
  }
  SigV4Key unknown{"AKIAUNKNOWNMATRIX001", "unknown-secret-0123456789abcdef", ""};
  if (col == Col::kUnknownKey) key = &unknown;
  // The signature of another request: the same operation for an identity of another pool
  // (Cognito Sync), or another operation (Cognito Identity, where the path is always "/").
  HttpCall other = row.build(c2_, "");
  if (row.surface != HttpSurface::kSync) other = HttpCall{"POST", {}, "DescribeIdentityPool", json{{"IdentityPoolId", c_.p2}}.dump(), {}};
  if (other.segments == call.segments && other.target == call.target) other.segments.push_back(c_.p2);
  if (allowed) lastValid_ = false;
  std::vector<std::string> before = allowed ? std::vector<std::string>() : snapshotBefore();
  HttpReply r = sendCognito(server_.port(), call, key, forgeryOf(col), &other);
  addSecret("Authorization of " + row.op, lastAuthorization().substr(lastAuthorization().rfind('=') + 1));
  if (r.body.is_object() && r.body.contains("Credentials")) {
    addSecret("issued secret key", r.body["Credentials"].value("SecretKey", ""));
    addToken("issued session token", r.body["Credentials"].value("SessionToken", ""));
  }
  if (r.body.is_object() && r.body.contains("Token")) addToken("issued token", r.body.value("Token", ""));
  // (Cognito Identity's NextToken is the last identity or pool ID: not a secret.)
  if (row.surface == HttpSurface::kSync && r.body.is_object() && r.body.contains("NextToken"))
    addToken("page token", r.body.value("NextToken", ""));
  if (allowed) {
    ++n.allowed;
    EXPECT_EQ(r.status, row.okStatus) << r.body.dump();
    EXPECT_EQ(errorType(r), row.okType) << r.body.dump();
    return;
  }
  ++n.denied;
  Expected e = device ? Expected{400, "NotAuthorizedException"} : sigv4Denial(col, row.surface);
  EXPECT_EQ(r.status, e.status) << r.body.dump();
  EXPECT_EQ(errorType(r), e.type) << r.body.dump();
  checkUnchanged(before);
}

void World::runNativeCell(const NativeRow& row, Col col, CellCounts& n) {
  const bool allowed = row.allowed.count(col) > 0 || row.scoped.count(col) > 0;
  if (allowed != allowedPhase_) return;
  SCOPED_TRACE(row.kind + " x " + colName(col));
  const bool session = row.cred == NativeCred::kSession;
  if (col == Col::kDeveloper && row.cred != NativeCred::kDeveloperHmac) return (void)++n.notApplicable;
  Target& t = allowed && row.mutates && col == Col::kOwn ? fresh() : a_;
  std::shared_ptr<WsTestClient> conn = anon_;
  std::string credential;
  if (session) {
    if (col == Col::kOwn) conn = t.conn ? t.conn : (t.conn = connectAs(t.cognitoToken));
    if (col == Col::kOtherIdentity) conn = b_.conn;
    if (col == Col::kOtherPool) conn = c2_.conn;
    if (isJwt(col)) {
      // The forged token is refused, and the session stays unauthenticated (if it was not,
      // the cell fails and later cells get a new unauthenticated connection).
      auto a = anon_->call(AuthenticateRequest{tokenFor(col, t)});
      if (codeOf(a) != "Unauthenticated") {
        ADD_FAILURE() << "authenticate accepted a forged token: " << describe(a);
        anon_ = connectAs("");
      }
    }
  } else if (row.cred != NativeCred::kDeveloperHmac) {
    credential = tokenFor(col, t);
    if (row.cred == NativeCred::kToken && allowed) conn = connectAs("");  // keep anon_ unauthenticated
  }
  ASSERT_TRUE(conn != nullptr);
  RequestBody body = row.build(t, credential, *conn);
  EXPECT_EQ(codec::requestKindName(body), row.kind) << "the row builds another request kind";
  if (auto* d = std::get_if<GetDeveloperTokenRequest>(&body)) {
    d->accessKeyId = col == Col::kDeveloper || isJwt(col) || col >= Col::kUnknownKey ? c_.devKey : "";
    std::string secret = c_.devSecret;
    if (col == Col::kOwn || col == Col::kOtherIdentity || col == Col::kOtherPool) {
      const Target& who = col == Col::kOwn ? t : col == Col::kOtherIdentity ? b_ : c2_;
      d->accessKeyId = who.creds.accessKeyId;
      secret = who.creds.secret;
    }
    if (col == Col::kUnknownKey) d->accessKeyId = "AKIAUNKNOWNMATRIX001";
    if (col == Col::kWrongSecret) secret += "x";
    d->timestampMs = nowMs() - (col == Col::kSkewedDate ? 10 * 60 * 1000 : 0);
    if (col != Col::kNone) d->signature = server::signDeveloperRequest(secret, *d);
    if (col == Col::kBodyChanged) d->developerUserId += "-changed";
    addSecret("developer HMAC", d->signature);
  }
  if (allowed) lastValid_ = false;
  std::vector<std::string> before = allowed && !row.scoped.count(col) ? std::vector<std::string>() : snapshotBefore();
  std::vector<std::string> targetRows = rowsMentioning(before, a_.identity);
  Result<ResponseBody> r = conn->call(std::move(body));
  ASSERT_TRUE(r.isOk()) << r.status();
  if (auto* tok = std::get_if<GetTokenResponse>(&*r)) addToken("native token", tok->token);
  if (auto* list = std::get_if<ListRecordsResponse>(&*r)) addToken("native sync session token", list->syncSessionToken);
  if (allowed) {
    EXPECT_EQ(describe(r), "ok");
    if (row.scoped.count(col)) {
      ++n.scoped;
      lastValid_ = false;
      EXPECT_EQ(rowsMentioning(store_.snapshot(), a_.identity), targetRows)
          << "another identity's session changed the target's rows";
    } else {
      ++n.allowed;
    }
    return;
  }
  ++n.denied;
  EXPECT_EQ(codeOf(r), "Unauthenticated") << describe(r);
  if (row.cred == NativeCred::kToken && codeOf(r) == "ok") anon_ = connectAs("");  // keep later cells meaningful
  checkUnchanged(before);
}

CellCounts World::runAll() {
  CellCounts n;
  std::vector<HttpRow> http = httpRows(c_);
  std::vector<NativeRow> native = nativeRows(c_);
  // Denials first, on the fixture as it was set up; then the allowed cells (those that change
  // state run on a fresh identity each).
  for (bool phase : {false, true}) {
    allowedPhase_ = phase;
    for (const HttpRow& row : http) {
      std::vector<Col> cols = columnsOf(row.surface == HttpSurface::kIdentityDevice ? kJwt : kSigV4);
      for (Col col : cols) runHttpCell(row, col, n);
    }
    for (const NativeRow& row : native) {
      std::vector<Col> cols = columnsOf(row.cred == NativeCred::kDeveloperHmac ? kHmac : kJwt);
      for (Col col : cols) runNativeCell(row, col, n);
    }
  }
  return n;
}

void World::collectServerSecrets() {
  auto names = store_.secrets->list("");
  ASSERT_TRUE(names.isOk()) << names.status();
  EXPECT_GE(names->size(), 3u) << "signing key, session key, credentials key";
  for (const std::string& name : *names) {
    auto bytes = store_.secrets->loadOrCreate(name, 1 << 20, []() -> Result<std::string> {
      return Status::internal("the test only reads existing secrets");
    });
    ASSERT_TRUE(bytes.isOk()) << name << ": " << bytes.status();
    if (name.ends_with(".pem")) {
      // Each base64 line of the PEM body (the private key).
      size_t start = 0;
      while (start < bytes->size()) {
        size_t end = std::min(bytes->find('\n', start), bytes->size());
        std::string line = bytes->substr(start, end - start);
        if (!line.starts_with("-----")) addSecret(name + " line", line);
        start = end + 1;
      }
    } else {
      addSecret(name, *bytes);
    }
  }
}

}  // namespace tether::testing::matrix
