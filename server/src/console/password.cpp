// Argon2id operator passwords and the console's small crypto helpers (password.h).
#include "console/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

namespace tether::server::console {
namespace {

constexpr uint32_t kTimeCost = 3;
constexpr uint32_t kMemoryKiB = 64 * 1024;
constexpr uint32_t kParallelism = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

constexpr char kHex[] = "0123456789abcdef";

std::string toHex(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

}  // namespace

Result<std::string> hashPassword(std::string_view password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return Status::internal("no random bytes for a password salt");
  size_t len = argon2_encodedlen(kTimeCost, kMemoryKiB, kParallelism, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kParallelism, password.data(), password.size(), salt,
                                 sizeof salt, kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Status::internal(std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(std::char_traits<char>::length(encoded.c_str()));
  return encoded;
}

bool verifyPassword(std::string_view password, const std::string& encoded) {
  if (!encoded.starts_with("$argon2id$")) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Status checkPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordLength)
    return Status::invalidArgument("the password must have at least " + std::to_string(kMinPasswordLength) +
                                   " characters");
  if (password.size() > kMaxPasswordLength)
    return Status::invalidArgument("the password must have at most " + std::to_string(kMaxPasswordLength) +
                                   " characters");
  return Status::ok();
}

std::string randomPassword(size_t n) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  while (out.size() < n) {
    unsigned char b[32];
    if (RAND_bytes(b, sizeof b) != 1) continue;
    for (unsigned char c : b) {
      // Rejection sampling keeps the draw uniform.
      if (c >= 256 - 256 % kAlphabet.size()) continue;
      if (out.size() < n) out += kAlphabet[c % kAlphabet.size()];
    }
  }
  return out;
}

std::string randomHexToken(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  while (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
  }
  return toHex(b.data(), b.size());
}

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return toHex(md, len);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status checkOperatorName(std::string_view name) {
  if (name.empty() || name.size() > 64) return Status::invalidArgument("an operator name has 1 to 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '@' || c == '-';
    if (!ok) return Status::invalidArgument("an operator name has only letters, digits and . _ @ -");
  }
  return Status::ok();
}

}  // namespace tether::server::console
