// The checks a user's name, password and attributes pass before anything is stored (spec
// cognito-user-pools.md 1.3, 9.1, 4.2, 4.7), and the masked delivery destinations of 4.2.
// Each failure is the exception and wording AWS uses.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idp/user_pool_config.h"

namespace tether::server::idp {

using AttributeList = std::vector<std::pair<std::string, std::string>>;

// Username: 1..128 characters, valid UTF-8, no whitespace or control characters.
std::optional<ApiError> checkUsername(std::string_view username, const char* member = "username");
// The model's password format (1..256, no leading/trailing whitespace): InvalidParameter.
std::optional<ApiError> checkPasswordFormat(std::string_view password, const char* member = "password");
// The pool's policy: InvalidPasswordException naming the first failing rule. `admin` words it as
// AdminCreateUser does ("...with password policy: ...").
std::optional<ApiError> checkPasswordPolicy(const PasswordPolicy& policy, std::string_view password,
                                            bool admin = false);

// Who writes: a client (SignUp, UpdateUserAttributes: no *_verified, no dev-only, only the
// client's WriteAttributes) or an administrator (Admin*: anything mutable but sub).
enum class AttributeWriter { kClient, kAdmin };

// `[{Name, Value}]` from a request member; InvalidParameter on a malformed list.
ApiResult<AttributeList> parseAttributeList(const Json& in, const char* name);
// Each attribute exists in the pool's schema, may be written by `writer`, and has a valid
// value (lengths, email/phone/boolean/number formats). `writable`: the client's
// WriteAttributes (empty = all). `creating`: immutable attributes may be set.
std::optional<ApiError> checkAttributes(const UserPoolConfig& pool, const AttributeList& attrs, AttributeWriter writer,
                                        const std::vector<std::string>& writable, bool creating);
// The pool's required attributes missing from `attrs` (sign-up), as an InvalidParameter error.
std::optional<ApiError> checkRequiredAttributes(const UserPoolConfig& pool, const AttributeList& attrs);

// `[{Name, Value}]`, `sub` first, filtered to `readable` (empty = every non-developer attribute).
Json attributeListJson(const std::string& sub, const AttributeList& attrs, const std::vector<std::string>& readable);

// j***@e*** / +*******1234 (spec 4.2).
std::string maskDestination(std::string_view medium, std::string_view destination);

}  // namespace tether::server::idp
