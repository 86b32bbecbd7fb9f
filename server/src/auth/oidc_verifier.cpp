#include "auth/oidc_verifier.h"

#include <algorithm>

#include <fstream>
#include <sstream>

#include "auth/base64url.h"
#include "auth/jwt_parts.h"

namespace tether::server {
namespace {

constexpr uintmax_t kMaxJwksBytes = 1u << 20;

Result<std::string> readSmallFile(const std::filesystem::path& path) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::invalidArgument("cannot read JWKS file " + path.string() + ": " + ec.message());
  if (size > kMaxJwksBytes) return Status::invalidArgument("JWKS file " + path.string() + " is larger than 1 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalidArgument("cannot open JWKS file " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool audienceMatches(const nlohmann::json& payload, const std::vector<std::string>& accepted) {
  auto it = payload.find("aud");
  if (it == payload.end()) return false;
  auto ok = [&accepted](const std::string& a) {
    for (const auto& x : accepted) if (x == a) return true;
    return false;
  };
  if (it->is_string()) return ok(it->get<std::string>());
  if (it->is_array()) {
    for (const auto& a : *it)
      if (a.is_string() && ok(a.get<std::string>())) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<OidcVerifier>> OidcVerifier::create(OidcProviderConfig config) {
  if (config.name.empty()) return Status::invalidArgument("OIDC provider needs a name");
  if (config.issuer.empty()) return Status::invalidArgument("OIDC provider " + config.name + " needs an issuer");
  if (config.audiences.empty())
    return Status::invalidArgument("OIDC provider " + config.name + " needs at least one audience (client ID)");
  if (!config.jwksFile && config.jwksInline.empty())
    return Status::invalidArgument("OIDC provider " + config.name + " needs a JWKS file or inline JWKS");
  if (config.leewaySeconds < 0 || config.leewaySeconds > 600)
    return Status::invalidArgument("OIDC provider " + config.name + ": leeway must be 0-600 seconds");
  auto v = std::unique_ptr<OidcVerifier>(new OidcVerifier(std::move(config)));
  if (v->config_.jwksFile) {
    TETHER_RETURN_IF_ERROR(v->reload());
  } else {
    TETHER_TRY(auto keys, JwkSet::parse(v->config_.jwksInline));
    MutexLock lock(v->mu_);
    v->keys_ = std::move(keys);
  }
  return v;
}

Status OidcVerifier::reload() const {
  if (!config_.jwksFile) return Status::ok();
  const auto& path = *config_.jwksFile;
  std::error_code ec;
  auto time = std::filesystem::last_write_time(path, ec);
  TETHER_TRY(std::string text, readSmallFile(path));
  TETHER_TRY(auto keys, JwkSet::parse(text));
  MutexLock lock(mu_);
  keys_ = std::move(keys);
  fileTime_ = ec ? std::filesystem::file_time_type{} : time;
  fileSize_ = text.size();
  return Status::ok();
}

std::shared_ptr<const JwkSet> OidcVerifier::currentKeys() const {
  if (config_.jwksFile) {
    std::error_code ec1, ec2;
    auto time = std::filesystem::last_write_time(*config_.jwksFile, ec1);
    auto size = std::filesystem::file_size(*config_.jwksFile, ec2);
    bool changed;
    {
      MutexLock lock(mu_);
      changed = !ec1 && !ec2 && (time != fileTime_ || size != fileSize_);
    }
    if (changed) (void)reload();  // an unusable new file keeps the old keys
  }
  MutexLock lock(mu_);
  return keys_;
}

Result<VerifiedLogin> OidcVerifier::verify(std::string_view token, int64_t nowMs) const {
  if (token.size() > kMaxTokenChars)
    return Status::invalidArgument("login token is longer than 50000 characters");
  auto bad = [this](const std::string& why) {
    return Status::unauthenticated("Invalid login token. " + why + " (provider " + config_.name + ")");
  };
  std::optional<jwt::Compact> parts = jwt::split(token);
  if (!parts) return bad("Not a valid OpenId Connect identity token.");
  try {
    auto header = jwt::decodeObject(parts->header, "header");
    if (!header.isOk()) return bad("Not a valid OpenId Connect identity token.");
    const std::string* alg = jwt::stringMember(*header, "alg");
    if (!alg) return bad("Token has no alg.");
    if (*alg != "RS256" && *alg != "ES256") return bad("Algorithm " + *alg + " is not accepted.");
    if (header->contains("crit")) return bad("Token has critical header extensions.");
    const std::string* kidp = jwt::stringMember(*header, "kid");
    std::string kid = kidp ? *kidp : "";

    std::optional<std::string> sig = auth::base64UrlDecode(parts->signature);
    if (!sig || sig->empty()) return bad("Signature is not valid base64url.");
    std::shared_ptr<const JwkSet> keys = currentKeys();
    bool found = false;
    if (!keys->verify(*alg, kid, parts->signingInput, *sig, &found)) {
      // An unknown kid may mean the provider rotated keys: look at the file once more.
      if (!found && config_.jwksFile && reload().isOk()) keys = currentKeys();
      if (!keys->verify(*alg, kid, parts->signingInput, *sig, &found))
        return bad(found ? "Invalid signature." : "No key with this kid.");
    }

    auto payload = jwt::decodeObject(parts->payload, "payload");
    if (!payload.isOk()) return bad("Not a valid OpenId Connect identity token.");
    const std::string* iss = jwt::stringMember(*payload, "iss");
    if (!iss || *iss != config_.issuer) return bad("Issuer doesn't match providerName.");
    if (!audienceMatches(*payload, config_.audiences)) return bad("Incorrect token audience.");
    const std::string* sub = jwt::stringMember(*payload, "sub");
    if (!sub || sub->empty() || sub->size() > 1024) return bad("Token has no subject.");
    const int64_t leewayMs = int64_t{config_.leewaySeconds} * 1000;
    std::optional<int64_t> exp = jwt::intMember(*payload, "exp");
    if (!exp || *exp < 0 || *exp > (int64_t{1} << 40)) return bad("Token has no valid exp.");
    if (nowMs >= *exp * 1000 + leewayMs) return bad("Token expired.");
    // nbf and iat may be any integer: clamped to +-2^40 s (34,000 years, as exp's bound) before
    // the conversion to ms, which would overflow for values near INT64_MAX (found by fuzzing).
    auto toMs = [](int64_t seconds) { return std::clamp<int64_t>(seconds, -(int64_t{1} << 40), int64_t{1} << 40) * 1000; };
    if (std::optional<int64_t> nbf = jwt::intMember(*payload, "nbf"); nbf && nowMs + leewayMs < toMs(*nbf))
      return bad("Token is not valid yet.");
    if (std::optional<int64_t> iat = jwt::intMember(*payload, "iat"); iat && nowMs + leewayMs < toMs(*iat))
      return bad("Token was issued in the future.");
    return VerifiedLogin{config_.name, *sub, *exp * 1000};
  } catch (const std::exception& e) {
    return bad(std::string("Token cannot be read: ") + e.what());
  }
}

}  // namespace tether::server
