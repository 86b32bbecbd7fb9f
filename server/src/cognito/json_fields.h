// Reading request bodies and writing response bodies of the Cognito APIs: typed, checked access
// to JSON members (a wrong type or a missing required member is InvalidParameterException, a
// body that is not a JSON object is SerializationException, never an exception or a crash),
// and Cognito's timestamps (epoch seconds as a JSON number, integer or fraction, read and
// written with millisecond precision).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cognito/api_error.h"

namespace tether::server::cognito {

using Json = nlohmann::json;

// An empty body is an empty object (SDKs send nothing for operations without input members).
ApiResult<Json> parseObject(std::string_view body);

// Each getter: absent or null = nullopt (or an error when `required`); present with the wrong
// type = InvalidParameterException naming the member.
ApiResult<std::optional<std::string>> getString(const Json& obj, const char* name, bool required = false);
ApiResult<std::optional<int64_t>> getInt(const Json& obj, const char* name, bool required = false);
ApiResult<std::optional<bool>> getBool(const Json& obj, const char* name, bool required = false);
// Epoch seconds (integer, fraction, exponent form, or a numeric string) -> milliseconds.
ApiResult<std::optional<int64_t>> getEpochMs(const Json& obj, const char* name, bool required = false);
ApiResult<std::optional<std::map<std::string, std::string>>> getStringMap(const Json& obj, const char* name,
                                                                         bool required = false);
ApiResult<std::optional<std::vector<std::string>>> getStringList(const Json& obj, const char* name,
                                                                 bool required = false);

// Milliseconds -> epoch seconds for output: an integer when whole, else a decimal with the
// milliseconds as fraction (1700000000.123).
Json epochSeconds(int64_t ms);

}  // namespace tether::server::cognito
