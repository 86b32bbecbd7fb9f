// Small secret-handling steps of the sign-in flows that sit on top of idp/crypto: challenge
// session handles, the simulated SRP user of hidden-existence pools (spec 3.5), a password check
// that costs what a real one costs (so timing does not tell missing users apart), and reading a
// JWT's payload before knowing which key to verify it with.
// Thread-safety: pure functions over the (thread-safe) keyring.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tether/status.h"

namespace tether::server::idp {

class CodeHasher;

// A random challenge-session handle: 48 random bytes in base64url (64 characters).
std::string newSessionHandle();

// What a USER_SRP_AUTH challenge shows for a user that does not exist when the client hides
// existence: the same USER_ID_FOR_SRP and SALT every time for (pool, name), derived with a server
// key, and a verifier nobody knows the password of.
struct SimulatedUser {
  std::string userId;   // UUID-shaped
  std::string saltHex;  // 32 hex characters
  std::string verifier; // 384 bytes
};
SimulatedUser simulatedUser(const CodeHasher& keys, std::string_view poolId, std::string_view typedName);

// One verifier derivation (a 3072-bit modexp), the cost of checking a real password.
void burnPasswordCheck(std::string_view poolName, std::string_view userId, std::string_view password);

// The payload object of a compact JWS, unverified (only to learn which pool's key verifies it).
Result<nlohmann::json> unverifiedJwtPayload(std::string_view token);

}  // namespace tether::server::idp
