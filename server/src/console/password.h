// Operator passwords for the console (docs/console.md, "Signing in and operators"): Argon2id
// from Debian's libargon2, stored as the encoded string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)
// so that the cost can change later without a migration: verify reads it from the string.
// Thread-safety: pure functions; each call allocates its own memory (m = 64 MiB), so run them
// on a worker thread, never on the network thread.
#pragma once

#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server::console {

inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 1024;

// Argon2id, t = 3, m = 64 MiB, p = 1, a random 16-byte salt, a 32-byte hash.
Result<std::string> hashPassword(std::string_view password);
// True if `password` matches `encoded`; false for a wrong password or an encoded string that is
// not Argon2id (never an error a caller could tell apart from a wrong password).
bool verifyPassword(std::string_view password, const std::string& encoded);
// Refuses a password shorter than kMinPasswordLength characters or longer than kMaxPasswordLength.
Status checkPasswordPolicy(std::string_view password);
// A random password of `n` characters from an unambiguous alphabet (the first operator's).
std::string randomPassword(size_t n = 20);
// A random token: `bytes` random bytes as lower-case hex.
std::string randomHexToken(size_t bytes);
// Lower-case hex SHA-256 of `data` (a session handle is stored by its hash only).
std::string sha256Hex(std::string_view data);
// Compares in time independent of where the strings differ.
bool constantTimeEquals(std::string_view a, std::string_view b);
// Operator names: 1..64 of [A-Za-z0-9._@-].
Status checkOperatorName(std::string_view name);

}  // namespace tether::server::console
