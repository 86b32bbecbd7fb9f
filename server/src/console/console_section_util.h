// Helpers shared by the console's identity and data sections (console_identities.h,
// console_data.h): Status -> console error mapping, identity loading, and the JSON shapes of
// docs/console.md ("Identities and data") for records and text that may not be valid UTF-8.
// Thread-safety: pure functions, or calls on the thread-safe Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "console/console_api.h"
#include "storage/store.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether::server::console {

inline constexpr int kConsoleHttpBadRequest = 400;
inline constexpr int kConsoleHttpNotFound = 404;
inline constexpr int kConsoleHttpConflict = 409;
inline constexpr int kConsoleHttpInternal = 500;

ApiResult invalidParameter(std::string message);
ApiResult notFound(std::string message);
// A Status from the store or the sync service as the console's error: kInvalidArgument and
// kLimitExceeded -> 400 InvalidParameter, kNotFound -> 404, kConflict -> 409 Conflict,
// kUnauthenticated / kPermissionDenied (the sync service refusing a disabled identity) -> 409
// IdentityDisabled, anything else -> 500 InternalError.
ApiResult statusError(const Status& status);

// `text` when it is valid UTF-8, else with each invalid byte replaced by U+FFFD: every string a
// section puts in a JSON body goes through this or is known valid (the body must serialize).
std::string displayText(std::string_view text);

// An epoch-ms time as JSON: null when 0 (never).
nlohmann::json epochMsOrNull(int64_t ms);

// {"key", "value" (or "valueBase64" when the stored value is not UTF-8, or null for a
// tombstone), "syncCount", "lastModified", "lastModifiedBy", "deviceLastModified", "deleted"}.
// The value is the stored bytes as JSON string data, never transformed (no HTML escaping: the
// page renders it as text).
nlohmann::json recordJson(const Record& record);

// The identity a path segment names, or the error to answer: 400 when the segment is not an
// identity ID (odd characters included), 404 when no such identity exists.
struct LoadedIdentity {
  std::optional<IdentityInfo> identity;
  std::optional<ApiResult> error;
};
LoadedIdentity loadIdentity(Store& store, std::string_view segment);

// A query parameter as a non-negative integer: nullopt when absent; `bad` set when present but
// not a decimal number within [min, max].
std::optional<int64_t> queryInt(const ApiCall& call, const std::string& name, int64_t min, int64_t max, bool* bad);

}  // namespace tether::server::console
