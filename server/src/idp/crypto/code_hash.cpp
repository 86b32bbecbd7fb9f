// See code_hash.h.
#include "idp/crypto/code_hash.h"

#include <openssl/crypto.h>

#include "auth/base64url.h"
#include "idp/crypto/crypto_util.h"
#include "tether/status.h"

namespace tether::server::idp {

CodeHasher::CodeHasher(std::string key) : key_(std::move(key)) {
  TETHER_ASSERT(key_.size() >= kMinKeyBytes, "code-hash key shorter than 32 bytes");
}

CodeHasher::~CodeHasher() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string CodeHasher::hash(std::string_view scope, std::string_view code) const {
  std::string message;
  message.reserve(4 + scope.size() + code.size());
  const auto n = static_cast<uint32_t>(scope.size());
  for (int shift = 24; shift >= 0; shift -= 8) message += static_cast<char>((n >> shift) & 0xff);
  message.append(scope).append(code);
  return auth::base64UrlEncode(detail::hmacSha256(key_, message));
}

bool CodeHasher::matches(std::string_view scope, std::string_view code, std::string_view storedHash) const {
  return detail::constantTimeEquals(hash(scope, code), storedHash);
}

}  // namespace tether::server::idp
