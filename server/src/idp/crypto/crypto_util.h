// Small primitives shared by the user-pool crypto files (internal to idp/crypto): SHA-256,
// HMAC-SHA256, random bytes and a constant-time comparison, over std::string byte strings so
// the callers stay free of OpenSSL types.
// Thread-safety: pure functions; callable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tether::server::idp::detail {

inline constexpr size_t kSha256Bytes = 32;

// SHA-256 of `data`, 32 raw bytes. Aborts if OpenSSL fails (it cannot, short of memory).
std::string sha256(std::string_view data);

// HMAC-SHA256(key, data), 32 raw bytes. Aborts if OpenSSL fails.
std::string hmacSha256(std::string_view key, std::string_view data);

// `n` bytes from the OpenSSL CSPRNG. Aborts if the generator fails: nothing we make from
// randomness (keys, salts, nonces, codes) may fall back to something predictable.
std::string randomBytes(size_t n);

// A uniformly distributed integer in [0, bound), bound > 0, by rejection sampling (no modulo
// bias). Aborts like randomBytes().
uint32_t uniformBelow(uint32_t bound);

// True if `a` and `b` are equal. The time taken depends on the lengths only, never on where
// the contents differ (lengths of MACs, hashes and codes are public).
bool constantTimeEquals(std::string_view a, std::string_view b);

// Lowercase hex of `bytes`.
std::string toHex(std::string_view bytes);

}  // namespace tether::server::idp::detail
