// See secret_hash.h.
#include "idp/crypto/secret_hash.h"

#include "auth/base64url.h"
#include "idp/crypto/crypto_util.h"

namespace tether::server::idp {

std::string secretHash(std::string_view clientSecret, std::string_view username, std::string_view clientId) {
  std::string message;
  message.reserve(username.size() + clientId.size());
  message.append(username).append(clientId);
  return auth::base64Encode(detail::hmacSha256(clientSecret, message));
}

bool checkSecretHash(std::string_view clientSecret, std::string_view username, std::string_view clientId,
                     std::string_view received) {
  return detail::constantTimeEquals(secretHash(clientSecret, username, clientId), received);
}

}  // namespace tether::server::idp
