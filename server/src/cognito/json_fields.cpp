// Checked JSON member access; see json_fields.h.
#include "cognito/json_fields.h"

#include <cmath>
#include <cstdlib>

namespace tether::server::cognito {
namespace {

ApiError wrongType(const char* name, const char* want) {
  return ApiError::invalidParameter(std::string("1 validation error detected: Value at '") + name +
                                    "' failed to satisfy constraint: Member must be " + want);
}
ApiError missing(const char* name) {
  return ApiError::invalidParameter(std::string("1 validation error detected: Value at '") + name +
                                    "' failed to satisfy constraint: Member must not be null");
}

// Returns the member or nullptr when absent/null.
const Json* member(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

ApiResult<Json> parseObject(std::string_view body) {
  if (body.empty()) return Json::object();
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return ApiError{400, "SerializationException", "The request body is not valid JSON."};
  if (!j.is_object()) return ApiError{400, "SerializationException", "The request body must be a JSON object."};
  return j;
}

ApiResult<std::optional<std::string>> getString(const Json& obj, const char* name, bool required) {
  const Json* m = member(obj, name);
  if (m == nullptr) {
    if (required) return missing(name);
    return std::optional<std::string>();
  }
  if (!m->is_string()) return wrongType(name, "a string");
  return std::optional<std::string>(m->get_ref<const std::string&>());
}

ApiResult<std::optional<int64_t>> getInt(const Json& obj, const char* name, bool required) {
  const Json* m = member(obj, name);
  if (m == nullptr) {
    if (required) return missing(name);
    return std::optional<int64_t>();
  }
  if (m->is_number_integer()) {
    if (m->is_number_unsigned() && m->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return wrongType(name, "a 64-bit integer");
    return std::optional<int64_t>(m->get<int64_t>());
  }
  if (m->is_number_float()) {
    double d = m->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18)
      return std::optional<int64_t>(static_cast<int64_t>(d));
  }
  return wrongType(name, "an integer");
}

ApiResult<std::optional<bool>> getBool(const Json& obj, const char* name, bool required) {
  const Json* m = member(obj, name);
  if (m == nullptr) {
    if (required) return missing(name);
    return std::optional<bool>();
  }
  if (!m->is_boolean()) return wrongType(name, "a boolean");
  return std::optional<bool>(m->get<bool>());
}

ApiResult<std::optional<int64_t>> getEpochMs(const Json& obj, const char* name, bool required) {
  const Json* m = member(obj, name);
  if (m == nullptr) {
    if (required) return missing(name);
    return std::optional<int64_t>();
  }
  double seconds = 0;
  if (m->is_number_integer()) {
    if (m->is_number_unsigned() && m->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX / 1000))
      return wrongType(name, "a timestamp in epoch seconds");
    int64_t s = m->get<int64_t>();
    if (s > INT64_MAX / 1000 || s < INT64_MIN / 1000) return wrongType(name, "a timestamp in epoch seconds");
    return std::optional<int64_t>(s * 1000);
  }
  if (m->is_number_float()) {
    seconds = m->get<double>();
  } else if (m->is_string()) {
    const std::string& s = m->get_ref<const std::string&>();
    char* end = nullptr;
    seconds = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) return wrongType(name, "a timestamp in epoch seconds");
  } else {
    return wrongType(name, "a timestamp in epoch seconds");
  }
  if (!std::isfinite(seconds) || std::fabs(seconds) > 9.0e15) return wrongType(name, "a timestamp in epoch seconds");
  return std::optional<int64_t>(static_cast<int64_t>(std::llround(seconds * 1000.0)));
}

ApiResult<std::optional<std::map<std::string, std::string>>> getStringMap(const Json& obj, const char* name,
                                                                         bool required) {
  const Json* m = member(obj, name);
  if (m == nullptr) {
    if (required) return missing(name);
    return std::optional<std::map<std::string, std::string>>();
  }
  if (!m->is_object()) return wrongType(name, "a map of strings");
  std::map<std::string, std::string> out;
  for (auto it = m->begin(); it != m->end(); ++it) {
    if (!it->is_string()) return wrongType(name, "a map of strings");
    out[it.key()] = it->get_ref<const std::string&>();
  }
  return std::optional<std::map<std::string, std::string>>(std::move(out));
}

ApiResult<std::optional<std::vector<std::string>>> getStringList(const Json& obj, const char* name, bool required) {
  const Json* m = member(obj, name);
  if (m == nullptr) {
    if (required) return missing(name);
    return std::optional<std::vector<std::string>>();
  }
  if (!m->is_array()) return wrongType(name, "a list of strings");
  std::vector<std::string> out;
  for (const Json& e : *m) {
    if (!e.is_string()) return wrongType(name, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Json epochSeconds(int64_t ms) {
  if (ms % 1000 == 0) return Json(ms / 1000);
  return Json(static_cast<double>(ms) / 1000.0);
}

}  // namespace tether::server::cognito
