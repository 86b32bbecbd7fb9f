#include "outbound/webhook_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace tether::server::outbound {

std::string webhookSignature(std::string_view secret, int64_t unixSeconds, std::string_view body) {
  const std::string t = std::to_string(unixSeconds);
  std::string message;
  message.reserve(t.size() + 1 + body.size());
  message.append(t).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int macLen = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &macLen);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(macLen * 2);
  for (unsigned int i = 0; i < macLen; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return "t=" + t + ",v1=" + hex;
}

}  // namespace tether::server::outbound
