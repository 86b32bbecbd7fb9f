// Base64url (RFC 4648 section 5) without padding, as JWS (RFC 7515) and our session tokens use it.
// Decoding is strict: only the URL-safe alphabet, no '=' padding, no whitespace, and the unused
// low bits of the last character must be zero, so every byte string has exactly one accepted
// encoding (a token cannot be altered without changing the bytes it carries).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tether::server::auth {

std::string base64UrlEncode(std::string_view bytes);

// nullopt if `text` is not the canonical unpadded base64url encoding of some bytes.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace tether::server::auth
