// RSA-2048 JWT signing for user pools with OpenSSL 3 EVP; see rs256_key.h.
#include "idp/crypto/rs256_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/base64url.h"
#include "auth/jwt_parts.h"
#include "auth/openssl_util.h"
#include "idp/crypto/crypto_util.h"

namespace tether::server::idp {
namespace {

using Bio = std::unique_ptr<BIO, OpensslFree<BIO_free_all>>;
void freeOpensslBytes(unsigned char* p) { OPENSSL_free(p); }  // OPENSSL_free is a macro
using OpensslBytes = std::unique_ptr<unsigned char, OpensslFree<freeOpensslBytes>>;

constexpr size_t kMaxHeaderChars = 1024;

// Never prompt for a passphrase: an encrypted key simply fails to load.
int noPassword(char*, int, int, void*) { return 0; }

Result<EvpPkeyPtr> parsePem(std::string_view pem, const std::string& where) {
  if (pem.size() > Rs256Key::kMaxPemBytes) return Status::corruption("token key " + where + " is too large");
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("BIO_new_mem_buf failed");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
  if (!key) return Status::corruption("token key " + where + " is not a PEM private key");
  if (!EVP_PKEY_is_a(key.get(), "RSA")) return Status::corruption("token key " + where + " is not an RSA key");
  int bits = EVP_PKEY_get_bits(key.get());
  if (bits < Rs256Key::kMinBits || bits > Rs256Key::kMaxBits)
    return Status::corruption("token key " + where + " has " + std::to_string(bits) + " bits");
  return key;
}

Result<std::string> bnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return Status::internal("cannot read the RSA public key");
  BignumPtr bn(raw);
  std::string out(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

Result<std::string> spkiDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0 || der == nullptr) return Status::internal("cannot encode the RSA public key");
  OpensslBytes owner(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

}  // namespace

struct Rs256Key::Impl {
  EvpPkeyPtr key;
  size_t signatureBytes = 0;
};

Rs256Key::Rs256Key(std::unique_ptr<Impl> impl, std::string kid, nlohmann::json jwk)
    : impl_(std::move(impl)), kid_(std::move(kid)), jwk_(std::move(jwk)) {
  // The kid is base64 (A-Z a-z 0-9 + / =): nothing in it needs JSON escaping.
  headerSegment_ = auth::base64UrlEncode(R"({"kid":")" + kid_ + R"(","alg":"RS256"})");
}
Rs256Key::~Rs256Key() = default;

Result<std::string> Rs256Key::newPem() {
  EvpPkeyPtr key(EVP_RSA_gen(kBits));
  if (!key) return Status::internal("cannot generate an RSA-2048 key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Status::internal("cannot serialize the RSA key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0 || data == nullptr) return Status::internal("cannot serialize the RSA key");
  return std::string(data, static_cast<size_t>(n));
}

Result<std::unique_ptr<Rs256Key>> Rs256Key::fromPem(std::string_view pem, const std::string& where) {
  TETHER_TRY(EvpPkeyPtr key, parsePem(pem, where));
  TETHER_TRY(std::string der, spkiDer(key.get()));
  TETHER_TRY(std::string n, bnParam(key.get(), OSSL_PKEY_PARAM_RSA_N));
  TETHER_TRY(std::string e, bnParam(key.get(), OSSL_PKEY_PARAM_RSA_E));
  std::string kid = auth::base64Encode(detail::sha256(der));
  nlohmann::json jwk = {{"alg", "RS256"}, {"e", auth::base64UrlEncode(e)}, {"kid", kid},
                        {"kty", "RSA"},   {"n", auth::base64UrlEncode(n)}, {"use", "sig"}};
  auto impl = std::make_unique<Impl>();
  impl->signatureBytes = static_cast<size_t>(EVP_PKEY_get_size(key.get()));
  impl->key = std::move(key);
  return std::unique_ptr<Rs256Key>(new Rs256Key(std::move(impl), std::move(kid), std::move(jwk)));
}

Result<std::string> Rs256Key::sign(const nlohmann::json& payload) const {
  if (!payload.is_object()) return Status::invalidArgument("JWT payload must be a JSON object");
  // Invalid UTF-8 in a string would make dump() throw; replace it instead (a claim value
  // coming from user input must not turn into an exception).
  std::string signingInput =
      headerSegment_ + "." + auth::base64UrlEncode(payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1)
    return Status::internal("EVP_DigestSignInit failed");
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signingInput.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, signingInput.size()) != 1)
    return Status::internal("EVP_DigestSign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, signingInput.size()) != 1)
    return Status::internal("EVP_DigestSign failed");
  sig.resize(len);
  return signingInput + "." + auth::base64UrlEncode(sig);
}

Result<nlohmann::json> Rs256Key::verify(std::string_view token) const {
  if (token.size() > kMaxJwtBytes) return jwt::invalid("too long");
  std::optional<jwt::Compact> parts = jwt::split(token);
  if (!parts) return jwt::invalid("not a compact JWS");
  // Ours is about 90 characters; a bound here keeps hostile JSON small before it is parsed.
  if (parts->header.size() > kMaxHeaderChars) return jwt::invalid("header too long");
  TETHER_TRY(nlohmann::json header, jwt::decodeObject(parts->header, "header"));
  const std::string* alg = jwt::stringMember(header, "alg");
  if (alg == nullptr || *alg != "RS256") return jwt::invalid("alg is not RS256");
  const std::string* kid = jwt::stringMember(header, "kid");
  if (kid == nullptr || *kid != kid_) return jwt::invalid("unknown kid");
  if (header.contains("crit")) return jwt::invalid("unsupported crit header");
  std::optional<std::string> sig = auth::base64UrlDecode(parts->signature);
  if (!sig || sig->size() != impl_->signatureBytes) return jwt::invalid("malformed signature");

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1)
    return Status::internal("EVP_DigestVerifyInit failed");
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(parts->signingInput.data()),
                       parts->signingInput.size()) != 1)
    return jwt::invalid("bad signature");
  return jwt::decodeObject(parts->payload, "payload");
}

}  // namespace tether::server::idp
