// Sealer: authenticated encryption (AES-256-GCM) of the small opaque values the user-pool
// service hands out or stores: SRP SECRET_BLOCKs and challenge sessions (spec 5.4), refresh
// tokens (6.3), and secrets at rest such as TOTP secrets (9.6). Whoever lacks the key can
// neither read nor forge nor alter them; the associated data binds a value to its use.
//
// Keys rotate by id: a Sealer holds one or more 32-byte keys with ids 1..255; the highest id
// seals, every id opens, and each sealed value names its key id. To rotate, add a key with a
// higher id and keep the old one until everything it sealed has expired.
//
// Associated data: authenticated, not stored. Callers put the purpose and the binding there
// ("srp|<poolId>|<clientId>", "refresh|<poolId>|<clientId>", "totp|<poolId>|<sub>"), so a value
// sealed for one purpose, pool, client or user does not open for another.
//
// Raw layout (seal / open), the bytes inside both encodings below:
//   version (1 byte, 0x01) | key id (1 byte) | nonce (12 random bytes) | ciphertext | tag (16)
//   GCM additional data: version | key id | associatedData
// Base64 form (sealToBase64): standard base64 with '=' padding of the raw layout. SECRET_BLOCK
//   must be standard base64 (Amplify re-pads it and maps '-' and '_' back, spec 5.4 step 5).
// Token form (sealToken): five base64url segments, shaped like a JWE compact serialization as
//   AWS refresh tokens are (spec 6.3), though not meant to be read by anyone else:
//     BASE64URL({"alg":"dir","enc":"A256GCM","kid":"<key id>"}) . "" . BASE64URL(nonce) .
//     BASE64URL(ciphertext) . BASE64URL(tag)
//   GCM additional data: the first segment's ASCII | 0x00 | associatedData. The two forms'
//   additional data never coincide (the first byte differs), so a value cannot be moved from one
//   form to the other.
// Random 96-bit nonces: keep each key below 2^32 seals (NIST SP 800-38D 8.3); rotate long before.
// Thread-safety: immutable after create(); every method may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/status.h"

namespace tether::server::idp {

struct SealingKey {
  uint8_t id = 0;   // 1..255
  std::string key;  // Sealer::kKeyBytes bytes
};

class Sealer {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;
  // Raw overhead of one sealed value: version, key id, nonce, tag.
  static constexpr size_t kOverheadBytes = 2 + kNonceBytes + kTagBytes;
  // Longest sealed value open*() looks at (raw bytes); longer input is rejected unread.
  static constexpr size_t kMaxSealedBytes = 65536;

  // kInvalidArgument unless there is at least one key, every id is 1..255 and unique, and every
  // key has kKeyBytes bytes.
  static Result<std::unique_ptr<Sealer>> create(std::vector<SealingKey> keys);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // The id of the key that seals.
  uint8_t sealingKeyId() const { return sealingKeyId_; }

  // kInvalidArgument if the plaintext would make a sealed value longer than kMaxSealedBytes;
  // kInternal if OpenSSL fails.
  Result<std::string> seal(std::string_view plaintext, std::string_view associatedData) const;
  // The plaintext, or kUnauthenticated "sealed value ..." for anything that is not a value this
  // Sealer sealed with exactly this associated data: tampering, truncation, a wrong or unknown
  // key, another version, another encoding.
  Result<std::string> open(std::string_view sealed, std::string_view associatedData) const;

  Result<std::string> sealToBase64(std::string_view plaintext, std::string_view associatedData) const;
  Result<std::string> openBase64(std::string_view text, std::string_view associatedData) const;

  Result<std::string> sealToken(std::string_view plaintext, std::string_view associatedData) const;
  Result<std::string> openToken(std::string_view token, std::string_view associatedData) const;

 private:
  struct Impl;
  explicit Sealer(std::unique_ptr<Impl> impl, uint8_t sealingKeyId);
  std::unique_ptr<Impl> impl_;
  uint8_t sealingKeyId_;
};

}  // namespace tether::server::idp
