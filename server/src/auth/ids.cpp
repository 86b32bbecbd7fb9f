// UUID v4 IDs from RAND_bytes; see ids.h.
#include "auth/ids.h"

#include <openssl/rand.h>

#include <array>

#include "tether/status.h"

namespace tether::server {

std::string newUuidV4() {
  std::array<unsigned char, 16> b{};
  int rc = RAND_bytes(b.data(), static_cast<int>(b.size()));
  TETHER_ASSERT(rc == 1, "RAND_bytes failed: no secure randomness for identity IDs");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
  return out;
}

std::string newRandomId(std::string_view region) {
  std::string out(region);
  out += ':';
  out += newUuidV4();
  return out;
}

}  // namespace tether::server
