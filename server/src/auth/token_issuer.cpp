// JWT issue/verify and the JWKS/discovery documents; see token_issuer.h.
// nlohmann::json is used without exceptions where possible (parse with allow_exceptions=false,
// type checks before every access); the remaining throwing calls sit inside one try block per
// public method, converted to a Status there (STYLE.md 5).
#include "auth/token_issuer.h"

#include "auth/secret_store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/jwt_parts.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

using nlohmann::json;

constexpr const char* kAlg = "ES256";
constexpr size_t kMaxAmrEntries = 16;
constexpr size_t kMaxAmrBytes = 256;

Status bad(std::string why) { return jwt::invalid(std::move(why)); }
using jwt::decodeObject;
using jwt::intMember;
using jwt::stringMember;

std::string jwksUri(const std::string& issuer) {
  std::string base = issuer;
  if (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/.well-known/jwks.json";
}

}  // namespace

namespace {

constexpr const char* kFirstKey = "signing-key.pem";
constexpr const char* kKeyPrefix = "signing-key.";
constexpr int64_t kReloadEveryMs = 30'000;
constexpr int64_t kUnknownKidReloadMs = 1'000;
// A key stays published and accepted this long after its successor starts signing: the longest
// token lifetime, plus a margin for clocks that differ between nodes and verifiers.
constexpr int64_t kRetireAfterMs = kMaxTokenTtlSeconds * 1000 + 5 * 60 * 1000;

// "signing-key.pem" -> 0, "signing-key.<ms>.pem" -> ms; nullopt for other names.
std::optional<int64_t> activationOf(const std::string& name) {
  if (name == kFirstKey) return 0;
  std::string_view rest(name);
  if (!rest.starts_with(kKeyPrefix) || !rest.ends_with(".pem")) return std::nullopt;
  rest = rest.substr(std::string_view(kKeyPrefix).size());
  rest.remove_suffix(4);
  if (rest.empty() || rest.size() > 18) return std::nullopt;
  int64_t ms = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

std::string keyName(int64_t activateAtMs) {
  std::string digits = std::to_string(activateAtMs);
  return std::string(kKeyPrefix) + std::string(digits.size() < 15 ? 15 - digits.size() : 0, '0') + digits + ".pem";
}

Result<std::vector<TokenIssuer::RingKey>> loadRing(auth::SecretStore& secrets) {
  // The first key is created if this is a new deployment (insert-if-absent across nodes).
  TETHER_TRY(std::unique_ptr<SigningKey> first, SigningKey::loadOrCreate(secrets));
  std::vector<TokenIssuer::RingKey> ring{{0, std::shared_ptr<const SigningKey>(std::move(first))}};
  TETHER_TRY(std::vector<std::string> names, secrets.list(kKeyPrefix));
  for (const std::string& name : names) {
    std::optional<int64_t> at = activationOf(name);
    if (!at || *at == 0) continue;
    TETHER_TRY(std::string pem, secrets.loadOrCreate(name, SigningKey::kMaxPemBytes, []() -> Result<std::string> {
      return Status::notFound("vanished");
    }));
    TETHER_TRY(std::unique_ptr<SigningKey> key, SigningKey::fromPem(pem, secrets.describe(name)));
    ring.push_back({*at, std::shared_ptr<const SigningKey>(std::move(key))});
  }
  std::stable_sort(ring.begin(), ring.end(), [](const auto& a, const auto& b) { return a.activateAtMs < b.activateAtMs; });
  return ring;
}

// Until when key i is published and accepted (INT64_MAX while it has no successor).
int64_t retiresAt(const std::vector<TokenIssuer::RingKey>& ring, size_t i) {
  if (i + 1 >= ring.size()) return std::numeric_limits<int64_t>::max();
  return ring[i + 1].activateAtMs > std::numeric_limits<int64_t>::max() - kRetireAfterMs
             ? std::numeric_limits<int64_t>::max()
             : ring[i + 1].activateAtMs + kRetireAfterMs;
}

// The key that signs at nowMs: the newest already active (the first key is always active).
const TokenIssuer::RingKey& signerAt(const std::vector<TokenIssuer::RingKey>& ring, int64_t nowMs) {
  size_t best = 0;
  for (size_t i = 0; i < ring.size(); ++i)
    if (ring[i].activateAtMs <= nowMs) best = i;
  return ring[best];
}

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TokenIssuer::TokenIssuer(std::unique_ptr<auth::SecretStore> owned, auth::SecretStore& secrets, std::string issuer)
    : ownedSecrets_(std::move(owned)), secrets_(secrets), issuer_(std::move(issuer)) {}

TokenIssuer::~TokenIssuer() = default;

Result<std::unique_ptr<TokenIssuer>> TokenIssuer::open(const std::filesystem::path& dataDir,
                                                       std::string issuerUrl) {
  if (issuerUrl.empty()) return Status::invalidArgument("token issuer URL is empty");
  if (utf8Length(issuerUrl) < 0) return Status::invalidArgument("token issuer URL is not UTF-8");
  auto files = std::make_unique<auth::FileSecretStore>(dataDir);
  auth::SecretStore& ref = *files;
  std::unique_ptr<TokenIssuer> issuer(new TokenIssuer(std::move(files), ref, std::move(issuerUrl)));
  TETHER_RETURN_IF_ERROR(issuer->reload(systemNowMs()));
  return issuer;
}

Result<std::unique_ptr<TokenIssuer>> TokenIssuer::open(auth::SecretStore& secrets, std::string issuerUrl) {
  if (issuerUrl.empty()) return Status::invalidArgument("token issuer URL is empty");
  if (utf8Length(issuerUrl) < 0) return Status::invalidArgument("token issuer URL is not UTF-8");
  std::unique_ptr<TokenIssuer> issuer(new TokenIssuer(nullptr, secrets, std::move(issuerUrl)));
  TETHER_RETURN_IF_ERROR(issuer->reload(systemNowMs()));
  return issuer;
}

Status TokenIssuer::reload(int64_t nowMs) const {
  MutexLock lock(reloadMu_);
  lastReloadMs_ = nowMs;
  TETHER_TRY(std::vector<RingKey> ring, loadRing(secrets_));
  auto fresh = std::make_shared<const std::vector<RingKey>>(std::move(ring));
  MutexLock ringLock(ringMu_);
  ring_ = std::move(fresh);
  return Status::ok();
}

void TokenIssuer::reloadIfDue(int64_t nowMs, bool unknownKid) const {
  if (!reloadMu_.try_lock()) return;  // another thread is reloading; use the ring we have
  MutexLock lock(reloadMu_, std::adopt_lock);
  int64_t every = unknownKid ? kUnknownKidReloadMs : kReloadEveryMs;
  if (nowMs - lastReloadMs_ < every && nowMs >= lastReloadMs_) return;
  lastReloadMs_ = nowMs;
  Result<std::vector<RingKey>> ring = loadRing(secrets_);
  if (!ring.isOk()) return;  // the store is unreachable: keep the keys we know
  auto fresh = std::make_shared<const std::vector<RingKey>>(std::move(ring).value());
  MutexLock ringLock(ringMu_);
  ring_ = std::move(fresh);
}

std::shared_ptr<const std::vector<TokenIssuer::RingKey>> TokenIssuer::ring() const {
  MutexLock lock(ringMu_);
  return ring_;
}

std::string TokenIssuer::kid(int64_t nowMs) const { return signerAt(*ring(), nowMs).key->kid(); }
std::string TokenIssuer::kid() const { return kid(systemNowMs()); }

Result<std::string> TokenIssuer::addKey(auth::SecretStore& secrets, int64_t activateAtMs) {
  if (activateAtMs <= 0) return Status::invalidArgument("a rotated key's activation time must be positive");
  TETHER_TRY(std::string pem, SigningKey::newPem());
  std::string name = keyName(activateAtMs);
  TETHER_TRY(std::string stored, secrets.loadOrCreate(name, SigningKey::kMaxPemBytes, [&]() -> Result<std::string> {
    return pem;
  }));
  if (stored != pem) return Status::conflict("a key activating at that exact millisecond already exists");
  TETHER_TRY(std::unique_ptr<SigningKey> key, SigningKey::fromPem(pem, secrets.describe(name)));
  return key->kid();
}

Result<std::vector<SigningKeyInfo>> TokenIssuer::listKeys(auth::SecretStore& secrets, int64_t nowMs) {
  TETHER_TRY(std::vector<RingKey> ring, loadRing(secrets));
  const RingKey& signer = signerAt(ring, nowMs);
  std::vector<SigningKeyInfo> out;
  for (size_t i = 0; i < ring.size(); ++i) {
    int64_t until = retiresAt(ring, i);
    SigningKeyInfo k{ring[i].key->kid(), ring[i].activateAtMs, until == std::numeric_limits<int64_t>::max() ? 0 : until,
                     ""};
    if (ring[i].activateAtMs > nowMs) k.state = "pending";
    else if (&ring[i] == &signer) k.state = "signing";
    else if (nowMs < until) k.state = "retiring";
    else k.state = "retired";
    out.push_back(std::move(k));
  }
  return out;
}

Result<IssuedToken> TokenIssuer::issue(const TokenClaims& claims, int64_t nowMs) const {
  TETHER_RETURN_IF_ERROR(validatePoolId(claims.poolId));
  TETHER_RETURN_IF_ERROR(validateIdentityId(claims.identityId));
  if (claims.ttlSeconds < 1 || claims.ttlSeconds > kMaxTokenTtlSeconds)
    return Status::invalidArgument("token lifetime must be 1-86400 seconds");
  if (nowMs < 0) return Status::invalidArgument("token issue time is before 1970");
  if (claims.amr.size() > kMaxAmrEntries) return Status::invalidArgument("too many amr entries");
  for (const std::string& a : claims.amr)
    if (a.empty() || a.size() > kMaxAmrBytes || utf8Length(a) < 0)
      return Status::invalidArgument("amr entries must be 1-256 bytes of UTF-8");

  int64_t iat = nowMs / 1000;
  int64_t exp = iat + claims.ttlSeconds;
  reloadIfDue(nowMs, false);
  std::shared_ptr<const std::vector<RingKey>> keys = ring();
  const SigningKey& key = *signerAt(*keys, nowMs).key;
  try {
    json header = {{"alg", kAlg}, {"kid", key.kid()}, {"typ", "JWT"}};
    json payload = {{"iss", issuer_}, {"aud", claims.poolId}, {"sub", claims.identityId},
                    {"amr", claims.amr}, {"iat", iat}, {"exp", exp}};
    std::string signingInput =
        auth::base64UrlEncode(header.dump()) + "." + auth::base64UrlEncode(payload.dump());
    TETHER_TRY(std::string sig, key.sign(signingInput));
    return IssuedToken{signingInput + "." + auth::base64UrlEncode(sig), exp * 1000};
  } catch (const std::exception& e) {
    return Status::internal(std::string("cannot build token: ") + e.what());
  }
}

Result<VerifiedToken> TokenIssuer::verify(std::string_view jwt, int64_t nowMs) const {
  if (jwt.empty()) return bad("empty");
  if (jwt.size() > kMaxJwtBytes) return bad("longer than " + std::to_string(kMaxJwtBytes) + " bytes");
  size_t dot1 = jwt.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || jwt.find('.', dot2 + 1) != std::string_view::npos)
    return bad("not three dot-separated parts");
  std::string_view headerPart = jwt.substr(0, dot1);
  std::string_view payloadPart = jwt.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sigPart = jwt.substr(dot2 + 1);

  try {
    // Header first: decide which key and algorithm before trusting anything in the payload.
    TETHER_TRY(json header, decodeObject(headerPart, "header"));
    const std::string* alg = stringMember(header, "alg");
    if (alg == nullptr) return bad("header has no alg");
    if (*alg != kAlg) return bad("alg " + *alg + " is not accepted (only ES256)");
    if (header.contains("crit")) return bad("header has crit extensions we do not understand");
    const std::string* kid = stringMember(header, "kid");
    if (kid == nullptr) return bad("header has no kid");
    // A published key (pending, signing or retiring) with this kid; a kid we do not know may
    // be a key another node just rotated in: re-read the ring (at most once a second).
    auto find = [&](const std::vector<RingKey>& keys) -> std::shared_ptr<const SigningKey> {
      for (size_t i = 0; i < keys.size(); ++i)
        if (keys[i].key->kid() == *kid) return nowMs < retiresAt(keys, i) ? keys[i].key : nullptr;
      return nullptr;
    };
    reloadIfDue(nowMs, false);
    std::shared_ptr<const SigningKey> key = find(*ring());
    if (!key) {
      reloadIfDue(nowMs, true);
      key = find(*ring());
    }
    if (!key) return bad("unknown kid");

    std::optional<std::string> sig = auth::base64UrlDecode(sigPart);
    if (!sig) return bad("signature is not valid base64url");
    if (sig->size() != 64) return bad("signature is not 64 bytes (ES256 r||s)");
    if (!key->verify(jwt.substr(0, dot2), *sig)) return bad("signature does not verify");

    TETHER_TRY(json payload, decodeObject(payloadPart, "payload"));
    const std::string* iss = stringMember(payload, "iss");
    if (iss == nullptr || *iss != issuer_) return bad("wrong issuer");
    const std::string* aud = stringMember(payload, "aud");
    if (aud == nullptr || aud->empty()) return bad("no audience (pool ID)");
    const std::string* sub = stringMember(payload, "sub");
    if (sub == nullptr || sub->empty()) return bad("no subject (identity ID)");
    std::optional<int64_t> exp = intMember(payload, "exp");
    if (!exp || *exp < 0 || *exp > std::numeric_limits<int64_t>::max() / 1000)
      return bad("no valid exp");
    if (nowMs >= *exp * 1000) return Status::unauthenticated("token expired");
    // We never issue nbf, but a token that carries one is not valid before it (RFC 7519 4.1.5).
    if (payload.contains("nbf")) {
      std::optional<int64_t> nbf = intMember(payload, "nbf");
      if (!nbf || *nbf < 0 || *nbf > std::numeric_limits<int64_t>::max() / 1000) return bad("no valid nbf");
      if (nowMs < *nbf * 1000) return Status::unauthenticated("token not yet valid (nbf)");
    }

    VerifiedToken out;
    out.poolId = *aud;
    out.identityId = *sub;
    out.expiresAtMs = *exp * 1000;
    auto amr = payload.find("amr");
    if (amr != payload.end()) {
      if (!amr->is_array()) return bad("amr is not an array");
      for (const json& a : *amr) {
        if (!a.is_string()) return bad("amr entry is not a string");
        out.amr.push_back(a.get<std::string>());
      }
    }
    return out;
  } catch (const std::exception& e) {
    return bad(std::string("cannot be read: ") + e.what());
  }
}

std::string TokenIssuer::jwksJson(int64_t nowMs) const {
  std::shared_ptr<const std::vector<RingKey>> keys = ring();
  json doc = json::object();
  doc["keys"] = json::array();
  // The signing key first (verifiers that take the first key get the current one).
  const SigningKey* signer = signerAt(*keys, nowMs).key.get();
  auto add = [&doc](const SigningKey& k) {
    const PublicJwk& jwk = k.publicJwk();
    // Only base64url strings and fixed names: dump() cannot throw here.
    doc["keys"].push_back(json{{"kty", "EC"}, {"crv", "P-256"}, {"x", jwk.x}, {"y", jwk.y},
                               {"kid", jwk.kid}, {"alg", kAlg}, {"use", "sig"}});
  };
  add(*signer);
  for (size_t i = 0; i < keys->size(); ++i)
    if ((*keys)[i].key.get() != signer && nowMs < retiresAt(*keys, i)) add(*(*keys)[i].key);
  return doc.dump();
}

std::string TokenIssuer::jwksJson() const { return jwksJson(systemNowMs()); }

std::string TokenIssuer::discoveryJson() const {
  // issuer_ is valid UTF-8 (checked in open()), so dump() cannot throw.
  json doc = {
      {"issuer", issuer_},
      {"jwks_uri", jwksUri(issuer_)},
      {"id_token_signing_alg_values_supported", json::array({kAlg})},
      {"subject_types_supported", json::array({"public"})},
      {"response_types_supported", json::array({"id_token"})},
      {"claims_supported", json::array({"iss", "aud", "sub", "amr", "iat", "exp"})},
  };
  return doc.dump();
}

}  // namespace tether::server
