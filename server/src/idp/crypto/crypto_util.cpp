// See crypto_util.h.
#include "idp/crypto/crypto_util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

#include "tether/status.h"

namespace tether::server::idp::detail {

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  int rc = EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  TETHER_ASSERT(rc == 1 && len == kSha256Bytes, "SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  // HMAC() is the one-shot EVP-based call (not one of the deprecated HMAC_CTX functions). A
  // zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const void* keyPtr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  unsigned char* ok = HMAC(EVP_sha256(), keyPtr, static_cast<int>(key.size()),
                           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  TETHER_ASSERT(ok != nullptr && len == kSha256Bytes, "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  int rc = RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  TETHER_ASSERT(rc == 1, "RAND_bytes failed: no secure randomness for user-pool secrets");
  return out;
}

uint32_t uniformBelow(uint32_t bound) {
  TETHER_ASSERT(bound > 0, "uniformBelow(0)");
  // Accept only draws below the largest multiple of `bound` that fits in 2^32, so every
  // residue is equally likely; fewer than half of the draws are ever rejected.
  const uint64_t range = uint64_t{1} << 32;
  const uint64_t limit = range - range % bound;
  for (;;) {
    std::array<unsigned char, 4> b{};
    TETHER_ASSERT(RAND_bytes(b.data(), static_cast<int>(b.size())) == 1,
                  "RAND_bytes failed: no secure randomness for user-pool secrets");
    uint64_t v = uint64_t{b[0]} << 24 | uint64_t{b[1]} << 16 | uint64_t{b[2]} << 8 | uint64_t{b[3]};
    if (v < limit) return static_cast<uint32_t>(v % bound);
  }
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string toHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out += kHex[u >> 4];
    out += kHex[u & 0x0f];
  }
  return out;
}

}  // namespace tether::server::idp::detail
