// Random identifiers for identities (and pools created without a configured id).
// A guest identity's ID is its only credential (GetToken needs nothing else), so IDs carry the
// 122 random bits of a version-4 UUID from the OpenSSL CSPRNG, never a predictable sequence.
// Thread-safety: callable from any thread.
#pragma once

#include <string>
#include <string_view>

namespace tether::server {

// "<region>:<uuid v4, lowercase>", e.g. "local:6f1c2a0e-...". `region` must be a valid ID
// region ([\w-]+); the result then passes validateIdentityId() when region is at most 18 chars.
// Aborts if the OpenSSL random generator fails (it cannot produce safe IDs then).
std::string newRandomId(std::string_view region);

// A bare version-4 UUID, lowercase with hyphens (36 characters), from the same generator: user
// pool `sub`s, token `jti`s. Aborts if the OpenSSL random generator fails.
std::string newUuidV4();

}  // namespace tether::server
