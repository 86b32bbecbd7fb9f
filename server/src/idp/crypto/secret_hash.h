// SECRET_HASH of Cognito User Pools app clients with a secret (spec 4.1):
//   Base64( HMAC-SHA256( key = UTF-8(clientSecret), message = UTF-8(username || clientId) ) )
// in standard base64 with padding (44 characters). Which username goes in (the typed one, the
// internal Username, USER_ID_FOR_SRP) is the caller's choice; see spec 4.1 and 5.6.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tether::server::idp {

std::string secretHash(std::string_view clientSecret, std::string_view username, std::string_view clientId);

// Whether `received` is exactly secretHash(clientSecret, username, clientId), compared in
// constant time (a hash of another length, or base64url spelling, never matches).
bool checkSecretHash(std::string_view clientSecret, std::string_view username, std::string_view clientId,
                     std::string_view received);

}  // namespace tether::server::idp
