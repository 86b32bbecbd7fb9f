// RFC 6238 TOTP and RFC 4648 base32; see totp.h.
#include "idp/crypto/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "idp/crypto/crypto_util.h"

namespace tether::server::idp::totp {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int kMaxWindow = 10;

int base32Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

std::string hmacSha1(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  static const unsigned char kEmpty = 0;
  const void* keyPtr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  unsigned char* ok = HMAC(EVP_sha1(), keyPtr, static_cast<int>(key.size()),
                           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  TETHER_ASSERT(ok != nullptr && len == 20, "HMAC-SHA1 failed");
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
                      u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
  return out;
}

}  // namespace

std::string base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kAlphabet[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> base32Decode(std::string_view text) {
  if (text.size() > kMaxSecretChars) return std::nullopt;
  // Padding, if any, must make the length a multiple of 8 and be what the data length implies.
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  if (end != text.size() && text.size() % 8 != 0) return std::nullopt;
  std::string_view body = text.substr(0, end);
  // Valid data lengths in the last 8-character group: 0, 2, 4, 5, 7 (1, 2, 3, 4, 5 bytes).
  const size_t tail = body.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6) return std::nullopt;
  if (end != text.size() && (tail == 0 || text.size() - end != 8 - tail)) return std::nullopt;
  std::string out;
  out.reserve(body.size() * 5 / 8);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int v = base32Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The leftover bits are padding and must be zero (one accepted spelling per secret).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string newSecret() { return base32Encode(detail::randomBytes(kSecretBytes)); }

std::string code(std::string_view key, uint64_t counter, int digits) {
  TETHER_ASSERT(digits >= kMinDigits && digits <= kMaxDigits, "TOTP digits out of range");
  std::string message(8, '\0');
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  std::string mac = hmacSha1(key, message);
  // RFC 4226 section 5.3, dynamic truncation.
  const size_t offset = static_cast<unsigned char>(mac[19]) & 0x0f;
  auto byteAt = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + i])); };
  uint32_t binary = (byteAt(0) & 0x7f) << 24 | byteAt(1) << 16 | byteAt(2) << 8 | byteAt(3);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string out = std::to_string(binary % modulus);
  return std::string(static_cast<size_t>(digits) - out.size(), '0') + out;
}

int64_t stepAt(int64_t nowSeconds) {
  // Floor division, so a (bogus) negative clock never maps two instants to one step.
  return nowSeconds >= 0 ? nowSeconds / kStepSeconds : -((-nowSeconds + kStepSeconds - 1) / kStepSeconds);
}

Result<std::optional<int64_t>> verify(std::string_view secretBase32, std::string_view userCode, int64_t nowSeconds,
                                      int window, int digits) {
  if (window < 0 || window > kMaxWindow) return Status::invalidArgument("TOTP window out of range");
  if (digits < kMinDigits || digits > kMaxDigits) return Status::invalidArgument("TOTP digits out of range");
  std::optional<std::string> key = base32Decode(secretBase32);
  if (!key || key->empty()) return Status::invalidArgument("TOTP secret is not base32");
  if (userCode.size() != static_cast<size_t>(digits)) return std::optional<int64_t>();
  for (char c : userCode)
    if (c < '0' || c > '9') return std::optional<int64_t>();

  const int64_t now = stepAt(nowSeconds);
  std::optional<int64_t> matched;
  // Current step first, then the earlier ones, then the later ones. Every candidate is
  // computed and compared, so the time taken does not say which one matched.
  for (int k = 0; k <= 2 * window; ++k) {
    const int64_t step = k == 0 ? now : k <= window ? now - k : now + (k - window);
    if (step < 0) continue;
    bool equal = detail::constantTimeEquals(code(*key, static_cast<uint64_t>(step), digits), userCode);
    if (equal && !matched) matched = step;
  }
  return matched;
}

std::string otpauthUri(std::string_view issuer, std::string_view accountName, std::string_view secretBase32) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) uri += percentEncode(issuer) + ":";
  uri += percentEncode(accountName);
  uri += "?secret=";
  uri += secretBase32;
  if (!issuer.empty()) uri += "&issuer=" + percentEncode(issuer);
  uri += "&algorithm=SHA1&digits=" + std::to_string(kDefaultDigits) + "&period=" + std::to_string(kStepSeconds);
  return uri;
}

}  // namespace tether::server::idp::totp
