// User name, password and attribute checks; see user_validation.h.
#include "idp/user_validation.h"

#include <algorithm>
#include <cctype>

namespace tether::server::idp {
namespace {

// The symbols the policy counts (spec 9.1), and space.
constexpr std::string_view kSymbols = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 4;
    if (n == 4 || (n > 0 && i + n >= s.size())) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n + 1;
  }
  return true;
}

bool isSpaceOrControl(unsigned char c) { return c <= 0x20 || c == 0x7f; }

// Unicode whitespace beyond ASCII that a username may not contain (NBSP, ideographic space...).
bool hasUnicodeSpace(std::string_view s) {
  for (std::string_view sp : {"\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\x8b"})
    if (s.find(sp) != std::string_view::npos) return true;
  return false;
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool looksLikeEmail(std::string_view v) {
  size_t at = v.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < v.size() && v.find('@', at + 1) == std::string_view::npos &&
         std::none_of(v.begin(), v.end(), [](unsigned char c) { return isSpaceOrControl(c); });
}

bool looksLikePhone(std::string_view v) { return v.size() >= 3 && v.size() <= 16 && v[0] == '+' && isDigits(v.substr(1)); }

size_t utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

}  // namespace

std::optional<ApiError> checkUsername(std::string_view username, const char* member) {
  if (username.empty() || utf8Length(username) > 128)
    return validationError(member, "Member must have length less than or equal to 128");
  if (!validUtf8(username) || hasUnicodeSpace(username) ||
      std::any_of(username.begin(), username.end(), [](unsigned char c) { return isSpaceOrControl(c); }))
    return validationError(member, "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+");
  return std::nullopt;
}

std::optional<ApiError> checkPasswordFormat(std::string_view password, const char* member) {
  if (password.empty() || utf8Length(password) > 256 || !validUtf8(password))
    return validationError(member, "Member must have length less than or equal to 256");
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  if (password.size() < 2 || space(password.front()) || space(password.back()))
    return validationError(member, "Member must satisfy regular expression pattern: ^[\\S]+.*[\\S]+$");
  return std::nullopt;
}

std::optional<ApiError> checkPasswordPolicy(const PasswordPolicy& policy, std::string_view password, bool admin) {
  const std::string prefix = admin ? "Password did not conform with password policy: "
                                   : "Password did not conform with policy: ";
  auto fail = [&](const char* why) { return idpError("InvalidPasswordException", prefix + why); };
  if (static_cast<int>(utf8Length(password)) < policy.minimumLength) return fail("Password not long enough");
  auto has = [&](auto pred) { return std::any_of(password.begin(), password.end(), pred); };
  if (policy.requireLowercase && !has([](unsigned char c) { return c >= 'a' && c <= 'z'; }))
    return fail("Password must have lowercase characters");
  if (policy.requireUppercase && !has([](unsigned char c) { return c >= 'A' && c <= 'Z'; }))
    return fail("Password must have uppercase characters");
  if (policy.requireNumbers && !has([](unsigned char c) { return c >= '0' && c <= '9'; }))
    return fail("Password must have numeric characters");
  if (policy.requireSymbols && !has([](char c) { return kSymbols.find(c) != std::string_view::npos; }))
    return fail("Password must have symbol characters");
  return std::nullopt;
}

ApiResult<AttributeList> parseAttributeList(const Json& in, const char* name) {
  AttributeList out;
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) return out;
  if (!it->is_array()) return validationError(name, "Member must be a list");
  for (const Json& a : *it) {
    if (!a.is_object()) return validationError(name, "Member must be a list of AttributeType");
    API_TRY(auto n, cognito::getString(a, "Name", true));
    API_TRY(auto v, cognito::getString(a, "Value"));
    if (n->empty() || n->size() > 32) return validationError("userAttributes.member.name", "Member must have length between 1 and 32");
    if (v && v->size() > 2048)
      return validationError("userAttributes.member.value", "Member must have length less than or equal to 2048");
    if (std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == *n; }))
      return invalidParameter("Duplicate attribute name " + *n);
    out.emplace_back(*n, v.value_or(""));
  }
  return out;
}

std::optional<ApiError> checkAttributes(const UserPoolConfig& pool, const AttributeList& attrs, AttributeWriter writer,
                                        const std::vector<std::string>& writable, bool creating) {
  for (const auto& [name, value] : attrs) {
    const SchemaAttribute* s = pool.schemaAttribute(name);
    if (!s) return invalidParameter("Attribute does not exist in the schema.\n");
    if (name == "sub") return invalidParameter("Cannot modify the non-mutable attribute sub");
    if (!creating && !s->mutableValue) return invalidParameter("Cannot modify the non-mutable attribute " + name);
    if (writer == AttributeWriter::kClient) {
      if (s->developerOnly || name.starts_with("dev:"))
        return notAuthorized("A client attempted to write unauthorized attribute");
      if (!writable.empty() ? std::find(writable.begin(), writable.end(), name) == writable.end()
                            : (name == "email_verified" || name == "phone_number_verified"))
        return notAuthorized("A client attempted to write unauthorized attribute");
    }
    if (value.empty()) continue;  // an empty value deletes the attribute (spec 4.7)
    if (s->dataType == "Boolean" && value != "true" && value != "false")
      return invalidParameter("Invalid value for boolean attribute " + name + ": use \"true\" or \"false\"");
    if (s->dataType == "Number") {
      std::string_view digits = value[0] == '-' ? std::string_view(value).substr(1) : std::string_view(value);
      if (!isDigits(digits) || digits.size() > 18) return invalidParameter("Invalid number for attribute " + name);
      int64_t n = std::stoll(value);
      if ((s->minValue && n < *s->minValue) || (s->maxValue && n > *s->maxValue))
        return invalidParameter("Value of attribute " + name + " is out of range");
    }
    if (s->dataType == "String") {
      int64_t len = static_cast<int64_t>(utf8Length(value));
      if ((s->minLength && len < *s->minLength) || (s->maxLength && len > *s->maxLength))
        return invalidParameter("String attributes cannot have a length of more than " +
                                std::to_string(s->maxLength.value_or(2048)) + " (" + name + ")");
    }
    if (name == "email" && !looksLikeEmail(value)) return invalidParameter("Invalid email address format.");
    if (name == "phone_number" && !looksLikePhone(value))
      return invalidParameter("Invalid phone number format: use E.164, e.g. +12065551234.");
    if (name == "birthdate" && value.size() != 10) return invalidParameter("Invalid birthdate: use YYYY-MM-DD.");
  }
  return std::nullopt;
}

std::optional<ApiError> checkRequiredAttributes(const UserPoolConfig& pool, const AttributeList& attrs) {
  for (const auto& [name, s] : pool.schema()) {
    if (!s.required || name == "sub") continue;
    bool present = std::any_of(attrs.begin(), attrs.end(), [&](const auto& a) { return a.first == name && !a.second.empty(); });
    if (!present) return invalidParameter("Attributes did not conform to the schema: " + name + ": The attribute " + name + " is required");
  }
  return std::nullopt;
}

Json attributeListJson(const std::string& sub, const AttributeList& attrs, const std::vector<std::string>& readable) {
  auto allowed = [&](const std::string& n) {
    if (n.starts_with("dev:")) return false;
    return readable.empty() || std::find(readable.begin(), readable.end(), n) != readable.end();
  };
  Json out = Json::array();
  out.push_back({{"Name", "sub"}, {"Value", sub}});
  for (const auto& [n, v] : attrs)
    if (allowed(n)) out.push_back({{"Name", n}, {"Value", v}});
  return out;
}

std::string maskDestination(std::string_view medium, std::string_view destination) {
  if (medium == "EMAIL") {
    size_t at = destination.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= destination.size()) return "***";
    std::string out(1, destination[0]);
    out += "***@";
    out += destination[at + 1];
    out += "***";
    return out;
  }
  if (destination.size() <= 5) return "***";
  std::string out = "+";
  out.append(destination.size() - 5, '*');
  out.append(destination.substr(destination.size() - 4));
  return out;
}

}  // namespace tether::server::idp
