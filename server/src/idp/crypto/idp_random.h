// Random values of Cognito User Pools, all from the OpenSSL CSPRNG and uniform over their
// alphabet (rejection sampling, no modulo bias): confirmation and reset codes (spec 9.2), pool
// id suffixes, app client ids and secrets (1.1), temporary passwords (9.1, 9.2). UUIDs (`sub`,
// `jti`, `origin_jti`, `event_id`) come from auth/ids.h newUuidV4().
// Every function aborts if the random generator fails: none of these may fall back to something
// guessable.
// Thread-safety: callable from any thread.
#pragma once

#include <string>
#include <string_view>

namespace tether::server::idp {

// `n` decimal digits (leading zeros kept), e.g. a 6-digit confirmation code.
// REQUIRES: 1 <= n <= 64.
std::string randomDigits(int n);

// The part of a pool id after "<region>_": 9 characters of [0-9A-Za-z].
std::string newPoolIdSuffix();
// An app client id: 26 characters of [a-z0-9].
std::string newClientId();
// A generated app client secret: 51 characters of [a-z0-9] (about 263 bits).
std::string newClientSecret();

// What a temporary password must satisfy: the pool's PasswordPolicy (spec 9.1).
struct PasswordRequirements {
  int minimumLength = 8;  // 6..99 in a valid policy
  bool requireUppercase = true;
  bool requireLowercase = true;
  bool requireNumbers = true;
  bool requireSymbols = true;
};

// The symbols of spec 9.1 that temporary passwords use: the whole set except space and the
// characters that tend to break when a password is pasted from a message or a shell
// (" ' ` \). Any of them satisfies RequireSymbols.
inline constexpr std::string_view kTemporaryPasswordSymbols = "^$*.[]{}()?!@#%&/,><:;|_~=+-";

// A temporary password for `req`: max(12, minimumLength) characters (at most 256), with at
// least one character of each required class and the rest drawn from letters and digits (and
// symbols if required), in random order.
std::string newTemporaryPassword(const PasswordRequirements& req);

}  // namespace tether::server::idp
