// Fuzz target 6: JWT / JWS / JWKS parsing and verification: tetherd's own tokens
// (TokenIssuer::verify, the native Authenticate and GetCredentialsForIdentity path), external
// OpenID Connect ID tokens (OidcVerifier with a JwkSet), JWKS documents (JwkSet::parse) and the
// shared pieces (jwt::split, jwt::decodeObject).
//
// Structure-aware: the target holds real keys - the server's ES256 signing key (SigningKey in a
// temp data dir, the one TokenIssuer verifies with) and a TestOidcIssuer's RS256 + ES256 keys -
// and signs headers and claims built from the input for real, so inputs reach the claim checks
// behind the signature (iss, aud, sub, exp, nbf, iat, amr) instead of stopping at it.
//
// Input: first byte = mode (0 raw token/JWKS text, 1 our token, 2 OIDC token, 3 JWKS document).
// Properties: nothing throws; a verified token of ours was signed by our key, has alg ES256,
// our kid and issuer, a non-empty aud and sub, and exp in the future; a verified OIDC token was
// signed by the provider's key and carries its issuer, an accepted audience and a future exp;
// a token whose signature we did not make never verifies; failures have the documented codes.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "auth/jwk_set.h"
#include "auth/jwt_parts.h"
#include "auth/oidc_verifier.h"
#include "auth/signing_key.h"
#include "auth/token_issuer.h"
#include "fuzz_input.h"
#include "fuzz_support.h"
#include "test_oidc_issuer.h"

using namespace tether;
using namespace tether::server;
using nlohmann::json;

namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr const char* kIssuerUrl = "http://tetherd.test";
constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kIdentity = "local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr const char* kAudience = "client-app-1";

struct World {
  std::filesystem::path dir = fuzz::makeTempDir("jwt");
  std::unique_ptr<TokenIssuer> issuer;
  std::unique_ptr<SigningKey> key;  // the same key file: signs whatever the input says
  testing::TestOidcIssuer oidc{"https://issuer.test.example"};
  std::unique_ptr<OidcVerifier> verifier;

  World() {
    auto i = TokenIssuer::open(dir, kIssuerUrl);
    if (!i.isOk()) std::abort();
    issuer = std::move(*i);
    auto k = SigningKey::loadOrCreate(dir);
    if (!k.isOk() || (*k)->kid() != issuer->kid()) std::abort();
    key = std::move(*k);
    OidcProviderConfig c;
    c.name = "issuer.test.example";
    c.issuer = oidc.issuer();
    c.audiences = {kAudience, "second-app"};
    c.jwksInline = oidc.jwksJson();
    auto v = OidcVerifier::create(c);
    if (!v.isOk()) std::abort();
    verifier = std::move(*v);
  }
};

World& world() {
  static World* w = new World();  // lives for the process (libFuzzer never returns from main)
  return *w;
}

std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A JSON value for a claim or header member: mostly what the checks look for, sometimes a
// value of another type.
json member(fuzz::FuzzInput& in, const std::vector<std::string>& good) {
  switch (in.range<int>(0, 7)) {
    case 0: case 1: case 2: return in.pick(good);
    case 3: return in.int64();
    case 4: return json::array({in.pick(good), in.pick(good)});
    case 5: return nullptr;
    case 6: return in.boolean();
    default: return 1.5;
  }
}

// exp / nbf / iat: mostly near now, in seconds.
json timeClaim(fuzz::FuzzInput& in) {
  switch (in.range<int>(0, 5)) {
    case 0: case 1: case 2: return kNowMs / 1000 + in.range<int64_t>(-200, 200) * 10;
    case 3: return in.int64();
    case 4: return static_cast<double>(kNowMs / 1000) + 0.5;
    default: return std::to_string(kNowMs / 1000 + 600);
  }
}

json claims(fuzz::FuzzInput& in, const std::vector<std::string>& issuers, const std::vector<std::string>& audiences) {
  json c = json::object();
  int n = in.range<int>(0, 9);
  for (int i = 0; i < n; ++i) {
    switch (in.range<int>(0, 8)) {
      case 0: c["iss"] = member(in, issuers); break;
      case 1: c["aud"] = member(in, audiences); break;
      case 2: c["sub"] = member(in, {kIdentity, "", "user-1"}); break;
      case 3: c["exp"] = timeClaim(in); break;
      case 4: c["nbf"] = timeClaim(in); break;
      case 5: c["iat"] = timeClaim(in); break;
      case 6: c["amr"] = member(in, {"unauthenticated", "authenticated", ""}); break;
      case 7: c["amr"] = json::array({"authenticated", in.bytes(20)}); break;
      default: c[in.bytes(8)] = in.bytes(16); break;
    }
  }
  // Most inputs start from a complete, valid set so single changes are explored.
  if (in.boolean()) {
    if (!c.contains("iss")) c["iss"] = issuers[0];
    if (!c.contains("aud")) c["aud"] = audiences[0];
    if (!c.contains("sub")) c["sub"] = kIdentity;
    if (!c.contains("exp")) c["exp"] = kNowMs / 1000 + 600;
    if (!c.contains("iat")) c["iat"] = kNowMs / 1000;
  }
  return c;
}

json header(fuzz::FuzzInput& in, const std::vector<std::string>& algs, const std::vector<std::string>& kids) {
  json h = json::object();
  if (in.range<int>(0, 7) != 0) h["alg"] = member(in, algs);
  if (in.range<int>(0, 7) != 0) h["kid"] = member(in, kids);
  if (in.boolean()) h["typ"] = "JWT";
  if (in.range<int>(0, 15) == 0) h["crit"] = json::array({"exp"});
  return h;
}

// Overwrites a few bytes of `token`; true if it changed.
bool tamper(std::string& token, fuzz::FuzzInput& in) {
  std::string before = token;
  int n = in.range<int>(0, 7) == 0 ? in.range<int>(1, 3) : 0;
  for (int i = 0; i < n && !token.empty(); ++i) token[in.integral<uint16_t>() % token.size()] = static_cast<char>(in.byte());
  return token != before;
}

void ourToken(fuzz::FuzzInput& in) {
  World& w = world();
  json h = header(in, {"ES256", "RS256", "none", "HS256", "es256", ""}, {w.issuer->kid(), "", "x"});
  json c = claims(in, {kIssuerUrl, "http://other", ""}, {kPool, "", "other"});
  std::string input = testing::TestOidcIssuer::b64url(dumpJson(h)) + "." + testing::TestOidcIssuer::b64url(dumpJson(c));
  bool realSignature = in.range<int>(0, 3) != 0;
  std::string sig;
  if (realSignature) {
    Result<std::string> s = w.key->sign(input);
    if (!s.isOk()) std::abort();
    sig = *s;
  } else {
    sig = in.bytes(80);
  }
  std::string token = input + "." + testing::TestOidcIssuer::b64url(sig);
  bool tampered = tamper(token, in);
  int64_t now = kNowMs + in.range<int64_t>(-10, 10) * 60'000;
  Result<VerifiedToken> v = w.issuer->verify(token, now);
  if (!v.isOk()) {
    TETHER_FUZZ_CHECK(v.status().code() == StatusCode::kUnauthenticated, v.status().toString());
    return;
  }
  TETHER_FUZZ_CHECK(realSignature && !tampered, "a token we did not sign verified: " + token);
  TETHER_FUZZ_CHECK(h.value("alg", json()) == "ES256" && h.value("kid", json()) == w.issuer->kid(), dumpJson(h));
  TETHER_FUZZ_CHECK(c.value("iss", json()) == kIssuerUrl, dumpJson(c));
  TETHER_FUZZ_CHECK(!v->poolId.empty() && !v->identityId.empty() && v->expiresAtMs > now, dumpJson(c));
}

void oidcToken(fuzz::FuzzInput& in) {
  World& w = world();
  json c = claims(in, {w.oidc.issuer(), "https://evil.example", ""}, {kAudience, "second-app", "", "other"});
  std::string token;
  bool realSignature = in.range<int>(0, 3) != 0;
  try {
    if (realSignature) {
      std::string alg = in.boolean() ? "RS256" : "ES256";
      token = w.oidc.sign(c, alg, in.pick({"", "rsa-1", "ec-1", "zzz"}));
    } else {
      json h = header(in, {"RS256", "ES256", "none", "HS256"}, {"rsa-1", "ec-1", ""});
      std::string input = testing::TestOidcIssuer::b64url(dumpJson(h)) + "." + testing::TestOidcIssuer::b64url(dumpJson(c));
      // The classic attacks: no signature, or HS256 keyed with the RSA public key.
      std::string sig = in.boolean() ? in.bytes(300) : testing::TestOidcIssuer::hmacSha256(w.oidc.rsaPublicKeyPem(), input);
      token = input + "." + testing::TestOidcIssuer::b64url(sig);
    }
  } catch (const std::exception&) {
    return;  // the test signer's JSON dump refused the input's bytes: nothing to verify
  }
  bool tampered = tamper(token, in);
  int64_t now = kNowMs + in.range<int64_t>(-10, 10) * 60'000;
  Result<VerifiedLogin> v = w.verifier->verify(token, now);
  if (!v.isOk()) {
    StatusCode code = v.status().code();
    TETHER_FUZZ_CHECK(code == StatusCode::kUnauthenticated || code == StatusCode::kInvalidArgument, v.status().toString());
    return;
  }
  TETHER_FUZZ_CHECK(realSignature && !tampered, "an unsigned or altered OIDC token verified: " + token);
  TETHER_FUZZ_CHECK(c.value("iss", json()) == w.oidc.issuer(), dumpJson(c));
  TETHER_FUZZ_CHECK(!v->subject.empty(), dumpJson(c));
  TETHER_FUZZ_CHECK(v->expiresAtMs > now - 60'000, "expired token verified beyond the leeway");
}

void jwksDocument(fuzz::FuzzInput& in) {
  World& w = world();
  json real = json::parse(w.oidc.jwksJson());
  json doc;
  if (in.range<int>(0, 7) == 0) {
    doc = member(in, {"keys"});
  } else {
    json keys = json::array();
    int n = in.range<int>(0, 4);
    for (int i = 0; i < n; ++i) {
      json k = real["keys"][in.range<size_t>(0, real["keys"].size() - 1)];
      int edits = in.range<int>(0, 3);
      for (int e = 0; e < edits; ++e) {
        static const std::vector<std::string> fields = {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"};
        std::string f = in.pick(fields);
        if (in.range<int>(0, 3) == 0) k.erase(f);
        else k[f] = member(in, {"EC", "RSA", "P-256", "P-384", "AQAB", "AA", "", "RS256", "ES256", "sig", "enc"});
      }
      keys.push_back(k);
    }
    doc = json::object({{"keys", keys}});
  }
  Result<std::shared_ptr<const JwkSet>> set = JwkSet::parse(dumpJson(doc));
  if (!set.isOk()) {
    TETHER_FUZZ_CHECK(set.status().code() == StatusCode::kInvalidArgument, set.status().toString());
    return;
  }
  TETHER_FUZZ_CHECK((*set)->size() > 0, "an empty key set parsed");
  // A real token against the parsed set: it verifies only with an unmodified key of its kid.
  std::string alg = in.boolean() ? "RS256" : "ES256";
  std::string token = w.oidc.sign(w.oidc.claims("user", kAudience), alg);
  std::optional<jwt::Compact> parts = jwt::split(token);
  if (!parts) std::abort();
  Result<json> h = jwt::decodeObject(parts->header, "header");
  if (!h.isOk()) std::abort();
  bool found = false;
  (void)(*set)->verify(alg, h->value("kid", ""), parts->signingInput, std::string(parts->signature), &found);
}

void raw(fuzz::FuzzInput& in) {
  World& w = world();
  std::string text = in.rest();
  Result<VerifiedToken> ours = w.issuer->verify(text, kNowMs);
  TETHER_FUZZ_CHECK(!ours.isOk() && ours.status().code() == StatusCode::kUnauthenticated,
                    ours.isOk() ? "raw bytes verified as our token" : ours.status().toString());
  Result<VerifiedLogin> theirs = w.verifier->verify(text, kNowMs);
  TETHER_FUZZ_CHECK(!theirs.isOk(), "raw bytes verified as an OIDC token");
  if (std::optional<jwt::Compact> parts = jwt::split(text)) {
    (void)jwt::decodeObject(parts->header, "header");
    (void)jwt::decodeObject(parts->payload, "payload");
  }
  (void)JwkSet::parse(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  switch (in.range<int>(0, 3)) {
    case 0: raw(in); break;
    case 1: ourToken(in); break;
    case 2: oidcToken(in); break;
    default: jwksDocument(in); break;
  }
  return 0;
}
