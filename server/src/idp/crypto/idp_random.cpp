// See idp_random.h.
#include "idp/crypto/idp_random.h"

#include <algorithm>

#include "idp/crypto/crypto_util.h"
#include "tether/status.h"

namespace tether::server::idp {
namespace {

constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kMixedAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int kMinTemporaryLength = 12;
constexpr int kMaxTemporaryLength = 256;  // the longest password Cognito accepts

char pick(std::string_view alphabet) {
  return alphabet[detail::uniformBelow(static_cast<uint32_t>(alphabet.size()))];
}

std::string randomString(std::string_view alphabet, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out += pick(alphabet);
  return out;
}

}  // namespace

std::string randomDigits(int n) {
  TETHER_ASSERT(n >= 1 && n <= 64, "randomDigits: n out of range");
  return randomString(kDigits, static_cast<size_t>(n));
}

std::string newPoolIdSuffix() { return randomString(kMixedAlnum, 9); }
std::string newClientId() { return randomString(kLowerAlnum, 26); }
std::string newClientSecret() { return randomString(kLowerAlnum, 51); }

std::string newTemporaryPassword(const PasswordRequirements& req) {
  const int length = std::clamp(req.minimumLength, kMinTemporaryLength, kMaxTemporaryLength);
  std::string pool;  // the alphabet the filler characters come from
  pool.append(kLower).append(kUpper).append(kDigits);
  if (req.requireSymbols) pool.append(kTemporaryPasswordSymbols);
  std::string out;
  out.reserve(static_cast<size_t>(length));
  if (req.requireLowercase) out += pick(kLower);
  if (req.requireUppercase) out += pick(kUpper);
  if (req.requireNumbers) out += pick(kDigits);
  if (req.requireSymbols) out += pick(kTemporaryPasswordSymbols);
  while (out.size() < static_cast<size_t>(length)) out += pick(pool);
  // Fisher-Yates, so the required characters are not always at the front.
  for (size_t i = out.size() - 1; i > 0; --i)
    std::swap(out[i], out[detail::uniformBelow(static_cast<uint32_t>(i + 1))]);
  return out;
}

}  // namespace tether::server::idp
