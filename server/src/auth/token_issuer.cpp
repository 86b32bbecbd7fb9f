// JWT issue/verify and the JWKS/discovery documents; see token_issuer.h.
// nlohmann::json is used without exceptions where possible (parse with allow_exceptions=false,
// type checks before every access); the remaining throwing calls sit inside one try block per
// public method, converted to a Status there (STYLE.md 5).
#include "auth/token_issuer.h"

#include "auth/secret_store.h"

#include <limits>

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

TokenIssuer::TokenIssuer(std::unique_ptr<SigningKey> key, std::string issuer)
    : key_(std::move(key)), issuer_(std::move(issuer)) {}

Result<std::unique_ptr<TokenIssuer>> TokenIssuer::open(const std::filesystem::path& dataDir,
                                                       std::string issuerUrl) {
  if (issuerUrl.empty()) return Status::invalidArgument("token issuer URL is empty");
  if (utf8Length(issuerUrl) < 0) return Status::invalidArgument("token issuer URL is not UTF-8");
  auth::FileSecretStore files(dataDir);
  return open(files, std::move(issuerUrl));
}

Result<std::unique_ptr<TokenIssuer>> TokenIssuer::open(auth::SecretStore& secrets, std::string issuerUrl) {
  if (issuerUrl.empty()) return Status::invalidArgument("token issuer URL is empty");
  if (utf8Length(issuerUrl) < 0) return Status::invalidArgument("token issuer URL is not UTF-8");
  TETHER_TRY(std::unique_ptr<SigningKey> key, SigningKey::loadOrCreate(secrets));
  return std::unique_ptr<TokenIssuer>(new TokenIssuer(std::move(key), std::move(issuerUrl)));
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
  try {
    json header = {{"alg", kAlg}, {"kid", key_->kid()}, {"typ", "JWT"}};
    json payload = {{"iss", issuer_}, {"aud", claims.poolId}, {"sub", claims.identityId},
                    {"amr", claims.amr}, {"iat", iat}, {"exp", exp}};
    std::string signingInput =
        auth::base64UrlEncode(header.dump()) + "." + auth::base64UrlEncode(payload.dump());
    TETHER_TRY(std::string sig, key_->sign(signingInput));
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
    if (*kid != key_->kid()) return bad("unknown kid");

    std::optional<std::string> sig = auth::base64UrlDecode(sigPart);
    if (!sig) return bad("signature is not valid base64url");
    if (sig->size() != 64) return bad("signature is not 64 bytes (ES256 r||s)");
    if (!key_->verify(jwt.substr(0, dot2), *sig)) return bad("signature does not verify");

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

std::string TokenIssuer::jwksJson() const {
  const PublicJwk& jwk = key_->publicJwk();
  // Only base64url strings and fixed names: dump() cannot throw here.
  json key = {{"kty", "EC"}, {"crv", "P-256"}, {"x", jwk.x}, {"y", jwk.y},
              {"kid", jwk.kid}, {"alg", kAlg}, {"use", "sig"}};
  json doc = json::object();
  doc["keys"] = json::array();
  doc["keys"].push_back(std::move(key));
  return doc.dump();
}

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
