// ES256 key handling with OpenSSL 3 EVP APIs; see signing_key.h.
#include "auth/signing_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstring>

#include "auth/base64url.h"
#include "auth/key_file.h"
#include "auth/secret_store.h"
#include "auth/openssl_util.h"

namespace tether::server {
namespace {

using EvpPkey = EvpPkeyPtr;
using EvpMdCtx = EvpMdCtxPtr;
using Bio = std::unique_ptr<BIO, OpensslFree<BIO_free_all>>;

constexpr size_t kRawSigBytes = kEs256RawSigBytes;
constexpr size_t kMaxKeyFileBytes = 16384;  // a P-256 PKCS#8 PEM is about 240 bytes

// Never prompt for a passphrase (PEM_read's default would read the terminal); an encrypted
// key file simply fails to load.
int noPassword(char*, int, int, void*) { return 0; }

Result<EvpPkey> parsePem(std::string_view pem, const std::string& where) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("BIO_new_mem_buf failed");
  EvpPkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
  if (!key) return Status::corruption("signing key " + where + " is not a PEM private key");
  char group[64] = {};
  size_t groupLen = 0;
  if (!EVP_PKEY_is_a(key.get(), "EC") ||
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &groupLen) != 1 ||
      std::strcmp(group, "prime256v1") != 0)
    return Status::corruption("signing key " + where + " is not an EC P-256 key");
  return key;
}

Result<std::string> generatePem() {
  EvpPkey key(EVP_EC_gen("P-256"));
  if (!key) return Status::internal("cannot generate an EC P-256 key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Status::internal("cannot serialize the signing key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0 || data == nullptr) return Status::internal("cannot serialize the signing key");
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> coordinate(EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) return Status::internal("cannot read EC public key");
  BignumPtr bn(raw);
  std::array<unsigned char, kEs256CoordBytes> buf{};
  if (BN_bn2binpad(bn.get(), buf.data(), static_cast<int>(buf.size())) != static_cast<int>(buf.size()))
    return Status::internal("EC coordinate does not fit 32 bytes");
  return std::string(reinterpret_cast<const char*>(buf.data()), buf.size());
}

Result<std::string> sha256(std::string_view data) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1 || len != md.size())
    return Status::internal("SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(md.data()), md.size());
}

}  // namespace

struct SigningKey::Impl {
  EvpPkey key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl, PublicJwk jwk)
    : impl_(std::move(impl)), jwk_(std::move(jwk)) {}
SigningKey::~SigningKey() = default;

namespace {
constexpr const char* kKeyName = "signing-key.pem";
}  // namespace

std::filesystem::path SigningKey::keyPath(const std::filesystem::path& dataDir) {
  return dataDir / "keys" / kKeyName;
}

Result<std::unique_ptr<SigningKey>> SigningKey::loadOrCreate(const std::filesystem::path& dataDir) {
  auth::FileSecretStore files(dataDir);
  return loadOrCreate(files);
}

Result<std::unique_ptr<SigningKey>> SigningKey::loadOrCreate(auth::SecretStore& secrets) {
  TETHER_TRY(std::string pem, secrets.loadOrCreate(kKeyName, kMaxKeyFileBytes, generatePem));
  return fromPem(pem, secrets.describe(kKeyName));
}

Result<std::string> SigningKey::newPem() { return generatePem(); }

Result<std::unique_ptr<SigningKey>> SigningKey::fromPem(std::string_view pem, const std::string& where) {
  TETHER_TRY(EvpPkey key, parsePem(pem, where));

  PublicJwk jwk;
  TETHER_TRY(std::string x, coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X));
  TETHER_TRY(std::string y, coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y));
  jwk.x = auth::base64UrlEncode(x);
  jwk.y = auth::base64UrlEncode(y);
  // RFC 7638 section 3.2: required members only, sorted, no whitespace.
  std::string canonical =
      R"({"crv":"P-256","kty":"EC","x":")" + jwk.x + R"(","y":")" + jwk.y + R"("})";
  TETHER_TRY(std::string digest, sha256(canonical));
  jwk.kid = auth::base64UrlEncode(digest);

  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return std::unique_ptr<SigningKey>(new SigningKey(std::move(impl), std::move(jwk)));
}

Result<std::string> SigningKey::sign(std::string_view data) const {
  EvpMdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1)
    return Status::internal("EVP_DigestSignInit failed");
  size_t derLen = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &derLen,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return Status::internal("EVP_DigestSign failed");
  std::string der(derLen, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &derLen,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return Status::internal("EVP_DigestSign failed");
  der.resize(derLen);

  // JWS wants r and s as two fixed-width big-endian integers (RFC 7518 section 3.4).
  std::string raw = es256DerToRaw(der);
  if (raw.empty()) return Status::internal("cannot convert our own ECDSA signature to r||s");
  return raw;
}

bool SigningKey::verify(std::string_view data, std::string_view rawSignature) const {
  if (rawSignature.size() != kRawSigBytes) return false;
  std::string der = es256RawToDer(rawSignature);
  if (der.empty()) return false;

  EvpMdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace tether::server
