#include "auth/jwk_set.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/jwt_parts.h"
#include "auth/openssl_util.h"

namespace tether::server {
namespace {

using EvpPkey = EvpPkeyPtr;
using EvpPkeyCtx = EvpPkeyCtxPtr;
using EvpMdCtx = EvpMdCtxPtr;
using Bignum = BignumPtr;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, OpensslFree<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, OpensslFree<OSSL_PARAM_free>>;

EvpPkey fromParams(const char* type, OSSL_PARAM* params) {
  EvpPkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
    return nullptr;
  return EvpPkey(key);
}

EvpPkey rsaKey(const std::string& n, const std::string& e) {
  Bignum bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  Bignum be(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn || !be || !bld || BN_num_bits(bn.get()) < 2048 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, be.get()) != 1)
    return nullptr;
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  return params ? fromParams("RSA", params.get()) : nullptr;
}

EvpPkey ecKey(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return nullptr;
  Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  return params ? fromParams("EC", params.get()) : nullptr;  // fromdata checks the point is on the curve
}

}  // namespace

struct JwkSet::Key {
  std::string kid;
  std::string alg;   // "RS256" or "ES256"
  EvpPkey pkey;
};

JwkSet::~JwkSet() = default;

size_t JwkSet::size() const { return keys_.size(); }

Result<std::shared_ptr<const JwkSet>> JwkSet::parse(std::string_view text) {
  using nlohmann::json;
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::invalidArgument("JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return Status::invalidArgument("JWKS has no \"keys\" array");
  auto set = std::shared_ptr<JwkSet>(new JwkSet());
  for (const json& k : *keys) {
    if (!k.is_object()) continue;
    const std::string* kty = jwt::stringMember(k, "kty");
    const std::string* use = jwt::stringMember(k, "use");
    const std::string* alg = jwt::stringMember(k, "alg");
    const std::string* kid = jwt::stringMember(k, "kid");
    if (!kty || (use && *use != "sig")) continue;
    auto key = std::make_unique<Key>();
    key->kid = kid ? *kid : "";
    if (*kty == "RSA" && (!alg || *alg == "RS256")) {
      const std::string* n = jwt::stringMember(k, "n");
      const std::string* e = jwt::stringMember(k, "e");
      if (!n || !e) continue;
      auto nb = auth::base64UrlDecode(*n), eb = auth::base64UrlDecode(*e);
      if (!nb || !eb) continue;
      key->alg = "RS256";
      key->pkey = rsaKey(*nb, *eb);
    } else if (*kty == "EC" && (!alg || *alg == "ES256")) {
      const std::string* crv = jwt::stringMember(k, "crv");
      const std::string* x = jwt::stringMember(k, "x");
      const std::string* y = jwt::stringMember(k, "y");
      if (!crv || *crv != "P-256" || !x || !y) continue;
      auto xb = auth::base64UrlDecode(*x), yb = auth::base64UrlDecode(*y);
      if (!xb || !yb) continue;
      key->alg = "ES256";
      key->pkey = ecKey(*xb, *yb);
    } else {
      continue;
    }
    if (key->pkey) set->keys_.push_back(std::move(key));
  }
  if (set->keys_.empty()) return Status::invalidArgument("JWKS holds no usable RS256 or ES256 key");
  return std::shared_ptr<const JwkSet>(std::move(set));
}

bool JwkSet::verify(std::string_view alg, std::string_view kid, std::string_view signingInput,
                    std::string_view signature, bool* found) const {
  *found = false;
  const Key* key = nullptr;
  for (const auto& k : keys_) {
    if (k->alg != alg) continue;
    if (kid.empty() ? keys_.size() == 1 : k->kid == kid) {
      key = k.get();
      break;
    }
  }
  if (!key) return false;
  *found = true;
  std::string sig = alg == "ES256" ? es256RawToDer(signature) : std::string(signature);
  if (sig.empty()) return false;
  EvpMdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->pkey.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signingInput.data()), signingInput.size()) == 1;
}

}  // namespace tether::server
