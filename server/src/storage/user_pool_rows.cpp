#include "storage/user_pool_rows.h"

#include <algorithm>
#include <cstdint>

namespace tether::server::user_pool_rows {
namespace {

// Decodes the code point of a well-formed UTF-8 sequence at s[i..] (shortest form, no
// surrogates); nullopt if it is not one. `len` receives its length.
std::optional<uint32_t> decodeAt(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  uint32_t cp;
  uint32_t min;
  if (b0 < 0x80) {
    len = 1;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

Status checkUser(const UserRow& user) {
  std::vector<std::string_view> names;
  names.reserve(user.attributes.size());
  for (const auto& [name, value] : user.attributes) names.push_back(name);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end())
    return Status::invalidArgument("the user's attributes repeat a name");
  std::vector<UserAlias> aliases = sortedAliases(user);
  if (std::adjacent_find(aliases.begin(), aliases.end()) != aliases.end())
    return Status::invalidArgument("the user's aliases repeat an alias");
  return Status::ok();
}

std::vector<UserAlias> sortedAliases(const UserRow& user) {
  std::vector<UserAlias> out = user.aliases;
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> bytePrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

std::optional<std::string> utf8PrefixEnd(std::string_view prefix) {
  // Decode it whole first: a prefix that is not valid UTF-8 takes the byte rule.
  std::vector<uint32_t> cps;
  for (size_t i = 0, len = 0; i < prefix.size(); i += len) {
    std::optional<uint32_t> cp = decodeAt(prefix, i, len);
    if (!cp) return bytePrefixEnd(prefix);
    cps.push_back(*cp);
  }
  while (!cps.empty() && cps.back() == 0x10FFFF) cps.pop_back();
  if (cps.empty()) return std::nullopt;
  cps.back() = cps.back() == 0xD7FF ? 0xE000 : cps.back() + 1;
  std::string end;
  for (uint32_t cp : cps) appendUtf8(end, cp);
  return end;
}

std::string utf8Left(std::string_view s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    // A code point starts at every byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == n) return std::string(s.substr(0, i));
  }
  return std::string(s);
}

std::string ticketKeyPrefix(std::string_view poolId) {
  std::string p(poolId);
  p += '/';
  return p;
}

}  // namespace tether::server::user_pool_rows
