#include "auth/jwt_parts.h"

#include <limits>

#include "auth/base64url.h"

namespace tether::server::jwt {

using nlohmann::json;

std::optional<Compact> split(std::string_view token) {
  size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos || dot1 == 0) return std::nullopt;
  size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) return std::nullopt;
  return Compact{token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1), token.substr(dot2 + 1),
                 token.substr(0, dot2)};
}

Result<json> decodeObject(std::string_view segment, const char* what) {
  std::optional<std::string> text = auth::base64UrlDecode(segment);
  if (!text) return invalid(std::string(what) + " is not valid base64url");
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid(std::string(what) + " is not valid JSON");
  if (!j.is_object()) return invalid(std::string(what) + " is not a JSON object");
  return j;
}

const std::string* stringMember(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

std::optional<int64_t> intMember(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

}  // namespace tether::server::jwt
