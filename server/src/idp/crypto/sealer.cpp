// AES-256-GCM sealing with OpenSSL 3 EVP; see sealer.h for the layouts.
#include "idp/crypto/sealer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "auth/base64url.h"
#include "auth/openssl_util.h"
#include "idp/crypto/crypto_util.h"

namespace tether::server::idp {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, OpensslFree<EVP_CIPHER_CTX_free>>;

constexpr uint8_t kVersion = 1;
constexpr size_t kTokenSegments = 5;

const unsigned char* bytesOf(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytesOf(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Status sealedValueInvalid(const char* why) { return Status::unauthenticated(std::string("sealed value ") + why); }

struct Encrypted {
  std::string ciphertext;
  std::string tag;
};

Result<Encrypted> encrypt(std::string_view key, std::string_view nonce, std::string_view aad,
                          std::string_view plaintext) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  Encrypted out{std::string(plaintext.size(), '\0'), std::string(Sealer::kTagBytes, '\0')};
  int len = 0, finalLen = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytesOf(key), bytesOf(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytesOf(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytesOf(out.ciphertext), &len, bytesOf(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytesOf(out.ciphertext) + len, &finalLen) != 1 ||
      static_cast<size_t>(len + finalLen) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(Sealer::kTagBytes), out.tag.data()) != 1)
    return Status::internal("AES-256-GCM encryption failed");
  return out;
}

// The plaintext, or nullopt if the tag does not verify.
std::optional<std::string> decrypt(std::string_view key, std::string_view nonce, std::string_view aad,
                                   std::string_view ciphertext, std::string_view tag) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(ciphertext.size(), '\0');
  std::string tagCopy(tag);  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer
  int len = 0, finalLen = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytesOf(key), bytesOf(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytesOf(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), bytesOf(out), &len, bytesOf(ciphertext), static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tagCopy.size()), tagCopy.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), bytesOf(out) + len, &finalLen) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  out.resize(static_cast<size_t>(len + finalLen));
  return out;
}

std::string tokenHeader(uint8_t id) {
  return auth::base64UrlEncode(R"({"alg":"dir","enc":"A256GCM","kid":")" + std::to_string(id) + R"("})");
}

std::string tokenAad(std::string_view header, std::string_view associatedData) {
  std::string aad(header);
  aad += '\0';
  aad += associatedData;
  return aad;
}

}  // namespace

struct Sealer::Impl {
  std::array<std::string, 256> keys;          // by id; empty = no such key
  std::map<std::string, uint8_t> tokenHeaders;  // first token segment -> key id
};

Sealer::Sealer(std::unique_ptr<Impl> impl, uint8_t sealingKeyId) : impl_(std::move(impl)), sealingKeyId_(sealingKeyId) {}

Sealer::~Sealer() {
  for (std::string& k : impl_->keys) OPENSSL_cleanse(k.data(), k.size());
}

Result<std::unique_ptr<Sealer>> Sealer::create(std::vector<SealingKey> keys) {
  if (keys.empty()) return Status::invalidArgument("a sealer needs at least one key");
  auto impl = std::make_unique<Impl>();
  uint8_t newest = 0;
  for (SealingKey& k : keys) {
    if (k.id == 0) return Status::invalidArgument("sealing key id 0 is reserved");
    if (k.key.size() != kKeyBytes) return Status::invalidArgument("sealing key " + std::to_string(k.id) + " is not 32 bytes");
    if (!impl->keys[k.id].empty()) return Status::invalidArgument("sealing key id " + std::to_string(k.id) + " twice");
    impl->keys[k.id] = std::move(k.key);
    impl->tokenHeaders.emplace(tokenHeader(k.id), k.id);
    newest = std::max(newest, k.id);
  }
  return std::unique_ptr<Sealer>(new Sealer(std::move(impl), newest));
}

Result<std::string> Sealer::seal(std::string_view plaintext, std::string_view associatedData) const {
  if (plaintext.size() > kMaxSealedBytes - kOverheadBytes) return Status::invalidArgument("value too large to seal");
  std::string out;
  out.reserve(kOverheadBytes + plaintext.size());
  out += static_cast<char>(kVersion);
  out += static_cast<char>(sealingKeyId_);
  out += detail::randomBytes(kNonceBytes);
  std::string aad = out.substr(0, 2);
  aad += associatedData;
  TETHER_TRY(Encrypted e, encrypt(impl_->keys[sealingKeyId_], std::string_view(out).substr(2, kNonceBytes), aad,
                                  plaintext));
  out += e.ciphertext;
  out += e.tag;
  return out;
}

Result<std::string> Sealer::open(std::string_view sealed, std::string_view associatedData) const {
  if (sealed.size() > kMaxSealedBytes) return sealedValueInvalid("too long");
  if (sealed.size() < kOverheadBytes) return sealedValueInvalid("too short");
  if (static_cast<uint8_t>(sealed[0]) != kVersion) return sealedValueInvalid("of an unknown version");
  const std::string& key = impl_->keys[static_cast<uint8_t>(sealed[1])];
  if (key.empty()) return sealedValueInvalid("names an unknown key");
  std::string aad(sealed.substr(0, 2));
  aad += associatedData;
  std::optional<std::string> plain =
      decrypt(key, sealed.substr(2, kNonceBytes), aad, sealed.substr(2 + kNonceBytes, sealed.size() - kOverheadBytes),
              sealed.substr(sealed.size() - kTagBytes));
  if (!plain) return sealedValueInvalid("does not authenticate");
  return std::move(*plain);
}

Result<std::string> Sealer::sealToBase64(std::string_view plaintext, std::string_view associatedData) const {
  TETHER_TRY(std::string raw, seal(plaintext, associatedData));
  return auth::base64Encode(raw);
}

Result<std::string> Sealer::openBase64(std::string_view text, std::string_view associatedData) const {
  if (text.size() > (kMaxSealedBytes + 2) / 3 * 4) return sealedValueInvalid("too long");
  std::optional<std::string> raw = auth::base64Decode(text);
  if (!raw) return sealedValueInvalid("is not base64");
  return open(*raw, associatedData);
}

Result<std::string> Sealer::sealToken(std::string_view plaintext, std::string_view associatedData) const {
  if (plaintext.size() > kMaxSealedBytes - kOverheadBytes) return Status::invalidArgument("value too large to seal");
  std::string header = tokenHeader(sealingKeyId_);
  std::string nonce = detail::randomBytes(kNonceBytes);
  TETHER_TRY(Encrypted e, encrypt(impl_->keys[sealingKeyId_], nonce, tokenAad(header, associatedData), plaintext));
  return header + ".." + auth::base64UrlEncode(nonce) + "." + auth::base64UrlEncode(e.ciphertext) + "." +
         auth::base64UrlEncode(e.tag);
}

Result<std::string> Sealer::openToken(std::string_view token, std::string_view associatedData) const {
  if (token.size() > (kMaxSealedBytes + 2) / 3 * 4 + 128) return sealedValueInvalid("too long");
  std::array<std::string_view, kTokenSegments> seg;
  size_t start = 0;
  for (size_t i = 0; i < kTokenSegments; ++i) {
    size_t dot = token.find('.', start);
    if ((i + 1 < kTokenSegments) == (dot == std::string_view::npos)) return sealedValueInvalid("is not 5 segments");
    seg[i] = token.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    start = dot + 1;
  }
  auto header = impl_->tokenHeaders.find(std::string(seg[0]));
  if (header == impl_->tokenHeaders.end()) return sealedValueInvalid("has an unknown header or key");
  if (!seg[1].empty()) return sealedValueInvalid("has an encrypted key");
  std::optional<std::string> nonce = auth::base64UrlDecode(seg[2]);
  std::optional<std::string> ciphertext = auth::base64UrlDecode(seg[3]);
  std::optional<std::string> tag = auth::base64UrlDecode(seg[4]);
  if (!nonce || !ciphertext || !tag || nonce->size() != kNonceBytes || tag->size() != kTagBytes)
    return sealedValueInvalid("is malformed");
  std::optional<std::string> plain = decrypt(impl_->keys[header->second], *nonce,
                                             tokenAad(seg[0], associatedData), *ciphertext, *tag);
  if (!plain) return sealedValueInvalid("does not authenticate");
  return std::move(*plain);
}

}  // namespace tether::server::idp
