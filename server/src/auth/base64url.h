// Base64url (RFC 4648 section 5) without padding, as JWS (RFC 7515) and our session tokens use it,
// and standard base64 (RFC 4648 section 4) with '=' padding, as Cognito User Pools use it
// (SECRET_HASH, SRP's SECRET_BLOCK and PASSWORD_CLAIM_SIGNATURE, key ids).
// Decoding is strict: only the one alphabet, padding exactly as the encoder writes it (none for
// base64url), no whitespace, and the unused low bits of the last character must be zero, so
// every byte string has exactly one accepted encoding (a token cannot be altered without
// changing the bytes it carries).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tether::server::auth {

std::string base64UrlEncode(std::string_view bytes);

// nullopt if `text` is not the canonical unpadded base64url encoding of some bytes.
std::optional<std::string> base64UrlDecode(std::string_view text);

// Standard alphabet ('+', '/'), padded with '=' to a multiple of 4 characters.
std::string base64Encode(std::string_view bytes);

// nullopt if `text` is not the canonical padded standard base64 encoding of some bytes.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace tether::server::auth
