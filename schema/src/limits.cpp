#include "tether/limits.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace tether {
namespace {

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

int64_t utf8Length(std::string_view s) {
  int64_t count = 0;
  size_t i = 0;
  const size_t n = s.size();
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < n) {
    // ASCII fast path: record values are mostly ASCII and this function runs over every byte
    // the server stores (2-4% of its time byte by byte). 8 bytes at a time while no byte has
    // its high bit set; memcpy because `s` has no alignment.
    while (i + 8 <= n) {
      uint64_t block;
      std::memcpy(&block, p + i, sizeof block);
      if (block & 0x8080808080808080ULL) break;
      i += 8;
      count += 8;
    }
    // The rest of a block that held a non-ASCII byte (or the short tail): byte by byte up to
    // that byte, then one multibyte sequence, then back to the fast path.
    while (i < n && p[i] < 0x80) { ++i; ++count; }
    if (i >= n) break;
    unsigned char c = p[i];
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return -1;
    if (len > n - i) return -1;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return -1;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += len;
    ++count;
  }
  return count;
}

Status validateDatasetName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDatasetNameChars)
    return Status::invalidArgument("dataset name must be 1-128 characters");
  for (char c : name)
    if (!isWordChar(c) && c != '.' && c != ':' && c != '-')
      return Status::invalidArgument("dataset name may contain only a-z, A-Z, 0-9, '_', '.', ':', '-'");
  return Status::ok();
}

Status validateRecordKey(std::string_view key) {
  int64_t n = utf8Length(key);
  if (n < 0) return Status::invalidArgument("record key is not valid UTF-8");
  if (n == 0 || static_cast<size_t>(n) > kMaxRecordKeyChars)
    return Status::invalidArgument("record key must be 1-1024 characters");
  return Status::ok();
}

Status validateRecordValue(std::string_view value) {
  int64_t n = utf8Length(value);
  if (n < 0) return Status::invalidArgument("record value is not valid UTF-8");
  if (static_cast<size_t>(n) > kMaxRecordValueChars)
    return Status::invalidArgument("record value must be at most 1,048,575 characters");
  return Status::ok();
}

Status validateIdentityId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdChars)
    return Status::invalidArgument("identity ID must be 1-55 characters");
  size_t colon = id.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == id.size())
    return Status::invalidArgument("identity ID must look like region:uuid");
  for (size_t i = 0; i < colon; ++i)
    if (!isWordChar(id[i]) && id[i] != '-')
      return Status::invalidArgument("identity ID region may contain only word characters and '-'");
  for (size_t i = colon + 1; i < id.size(); ++i) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'))
      return Status::invalidArgument("identity ID must end in a lowercase hex uuid");
  }
  return Status::ok();
}

Status validatePoolId(std::string_view id) {
  Status s = validateIdentityId(id);
  if (!s.isOk()) return Status::invalidArgument("identity pool ID must look like region:uuid (1-55 characters)");
  return s;
}

Status validateDeviceId(std::string_view id) {
  int64_t n = utf8Length(id);
  if (n < 0) return Status::invalidArgument("device ID is not valid UTF-8");
  if (n == 0 || static_cast<size_t>(n) > kMaxDeviceIdChars)
    return Status::invalidArgument("device ID must be 1-256 characters");
  return Status::ok();
}

}  // namespace tether
