// Console section helpers; see console_section_util.h.
#include "console/console_section_util.h"

#include <charconv>
#include <utility>

#include "auth/base64url.h"
#include "tether/limits.h"

namespace tether::server::console {

ApiResult invalidParameter(std::string message) {
  return ApiResult::error(kConsoleHttpBadRequest, "InvalidParameter", std::move(message));
}

ApiResult notFound(std::string message) {
  return ApiResult::error(kConsoleHttpNotFound, "NotFound", std::move(message));
}

ApiResult statusError(const Status& status) {
  std::string message = displayText(status.message());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kLimitExceeded:
      return invalidParameter(std::move(message));
    case StatusCode::kNotFound:
      return notFound(std::move(message));
    case StatusCode::kConflict:
      return ApiResult::error(kConsoleHttpConflict, "Conflict", std::move(message));
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      return ApiResult::error(kConsoleHttpConflict, "IdentityDisabled", std::move(message));
    default:
      return ApiResult::error(kConsoleHttpInternal, "InternalError", std::move(message));
  }
}

std::string displayText(std::string_view text) {
  if (utf8Length(text) >= 0) return std::string(text);
  // Rebuild: keep each valid sequence, replace each byte that does not start one.
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  while (i < text.size()) {
    size_t len = 1;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    if (i + len <= text.size() && utf8Length(text.substr(i, len)) == 1) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      i += 1;
    }
  }
  return out;
}

nlohmann::json epochMsOrNull(int64_t ms) { return ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(ms); }

nlohmann::json recordJson(const Record& record) {
  nlohmann::json out = {{"key", displayText(record.key)},
                        {"syncCount", record.syncCount},
                        {"lastModified", epochMsOrNull(record.lastModifiedMs)},
                        {"lastModifiedBy", displayText(record.lastModifiedBy)},
                        {"deviceLastModified", epochMsOrNull(record.deviceLastModifiedMs)},
                        {"deleted", record.isDeleted()}};
  if (!record.value) {
    out["value"] = nullptr;
  } else if (utf8Length(*record.value) >= 0) {
    out["value"] = *record.value;
  } else {
    out["valueBase64"] = auth::base64Encode(*record.value);
  }
  return out;
}

LoadedIdentity loadIdentity(Store& store, std::string_view segment) {
  LoadedIdentity out;
  if (!validateIdentityId(segment).isOk()) {
    out.error = invalidParameter("Not an identity ID (region:uuid): '" + displayText(segment) + "'");
    return out;
  }
  Result<std::optional<IdentityInfo>> found = store.getIdentity(segment);
  if (!found.isOk()) {
    out.error = statusError(found.status());
  } else if (!*found) {
    out.error = notFound("No identity " + std::string(segment));
  } else {
    out.identity = std::move(**found);
  }
  return out;
}

std::optional<int64_t> queryInt(const ApiCall& call, const std::string& name, int64_t min, int64_t max, bool* bad) {
  const std::string* text = call.queryParam(name);
  if (text == nullptr) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || v < min || v > max) {
    *bad = true;
    return std::nullopt;
  }
  return v;
}

}  // namespace tether::server::console
