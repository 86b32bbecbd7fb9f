// TOTP (RFC 6238 over RFC 4226 HOTP) as Cognito's software-token MFA uses it (spec 9.4):
// HMAC-SHA1, 30-second steps from T0 = 0, 6 digits, the current step accepted +-1. Secrets are
// base32 (RFC 4648 section 6) without '=' padding, as AssociateSoftwareToken returns SecretCode.
//
// verify() returns the time step a code matched so that the caller can refuse a second use of
// that step (UserPoolStore::useOnce) and count failures toward the lockout; neither is done
// here.
// Thread-safety: pure functions (newSecret() draws from the OpenSSL CSPRNG); any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server::idp::totp {

inline constexpr int64_t kStepSeconds = 30;
inline constexpr int kDefaultDigits = 6;
inline constexpr int kMinDigits = 6;   // RFC 4226 section 5.3
inline constexpr int kMaxDigits = 8;
inline constexpr size_t kSecretBytes = 20;  // 160 bits, RFC 4226's recommendation; 32 base32 chars
// Longest base32 secret decode() accepts (a secret is ours, but may be imported).
inline constexpr size_t kMaxSecretChars = 1024;

// Upper-case base32, no padding.
std::string base32Encode(std::string_view bytes);
// Decodes base32 in either case, without padding or with correct '=' padding. nullopt for any
// other character, an impossible length, non-zero unused trailing bits, or more than
// kMaxSecretChars characters.
std::optional<std::string> base32Decode(std::string_view text);

// A fresh random secret: kSecretBytes bytes as base32 (32 characters).
std::string newSecret();

// The HOTP value of `key` (raw secret bytes) at `counter`: `digits` decimal digits, zero-padded.
// REQUIRES: kMinDigits <= digits <= kMaxDigits.
std::string code(std::string_view key, uint64_t counter, int digits = kDefaultDigits);

// The time step (counter) at `nowSeconds`: floor(now / 30).
int64_t stepAt(int64_t nowSeconds);

// Checks `userCode` (exactly `digits` ASCII digits) against the steps stepAt(now) - window ..
// stepAt(now) + window, comparing in constant time. The matched step (preferring the current
// one, then the earlier, then the later), or nullopt for a wrong or malformed code.
// kInvalidArgument if `secretBase32` does not decode (a damaged stored secret), or if window is
// outside 0..10 or digits outside kMinDigits..kMaxDigits.
Result<std::optional<int64_t>> verify(std::string_view secretBase32, std::string_view userCode, int64_t nowSeconds,
                                      int window = 1, int digits = kDefaultDigits);

// The key URI authenticator apps scan (Google Authenticator "Key Uri Format"):
// otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
// with issuer and account percent-encoded (RFC 3986 unreserved characters kept). An empty issuer
// leaves out the prefix and the issuer parameter.
std::string otpauthUri(std::string_view issuer, std::string_view accountName, std::string_view secretBase32);

}  // namespace tether::server::idp::totp
