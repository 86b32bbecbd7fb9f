// Pieces shared by every JWT reader in tetherd (our own tokens in token_issuer.cpp, external
// OpenID Connect tokens in oidc_verifier.cpp): split a compact JWS, decode its JSON segments,
// read members without exceptions. Internal to auth/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tether/status.h"

namespace tether::server::jwt {

struct Compact {
  std::string_view header;        // base64url segments as received
  std::string_view payload;
  std::string_view signature;
  std::string_view signingInput;  // header "." payload
};

// nullopt unless `token` is exactly three '.'-separated, non-empty-header parts.
std::optional<Compact> split(std::string_view token);

// Decodes one base64url segment into a JSON object; kUnauthenticated "invalid token: ..."
// naming `what` otherwise.
Result<nlohmann::json> decodeObject(std::string_view segment, const char* what);

const std::string* stringMember(const nlohmann::json& obj, const char* name);
// An integer member as int64; nullopt if absent, fractional or out of range.
std::optional<int64_t> intMember(const nlohmann::json& obj, const char* name);

inline Status invalid(std::string why) { return Status::unauthenticated("invalid token: " + std::move(why)); }

}  // namespace tether::server::jwt
