#include "sync/page_token.h"

#include <array>
#include <charconv>
#include <optional>

namespace tether::server {
namespace {

constexpr std::string_view kPrefix = "t1.";
// A record key is at most 1024 code points (4 KiB of UTF-8); base64 makes that ~5.5 KiB.
constexpr size_t kMaxTokenChars = 8192;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&in](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = "0123456789abcdef"[v & 15];
  return out;
}

// The binding covers everything a token must not be replayed against. '\n' cannot occur in
// pool IDs, identity IDs or dataset names, so the concatenation is unambiguous.
uint64_t checksum(const OwnerRef& owner, std::string_view kind, std::string_view dataset,
                  std::string_view payload) {
  uint64_t h = fnv1a(owner.poolId);
  h = fnv1a("\n", h);
  h = fnv1a(owner.identityId, h);
  h = fnv1a("\n", h);
  h = fnv1a(kind, h);
  h = fnv1a("\n", h);
  h = fnv1a(dataset, h);
  h = fnv1a("\n", h);
  return fnv1a(payload, h);
}

std::string seal(const OwnerRef& owner, std::string_view kind, std::string_view dataset,
                 std::string_view payload) {
  std::string out(kPrefix);
  out += base64url(payload);
  out += '.';
  out += hex64(checksum(owner, kind, dataset, payload));
  return out;
}

Status invalidToken() { return Status::invalidArgument("nextToken not valid for these inputs"); }

Result<std::string> unseal(const OwnerRef& owner, std::string_view kind, std::string_view dataset,
                           std::string_view text) {
  if (text.size() > kMaxTokenChars || !text.starts_with(kPrefix)) return invalidToken();
  text.remove_prefix(kPrefix.size());
  size_t dot = text.rfind('.');
  if (dot == std::string_view::npos || text.size() - dot - 1 != 16) return invalidToken();
  std::optional<std::string> payload = unbase64url(text.substr(0, dot));
  if (!payload) return invalidToken();
  if (text.substr(dot + 1) != hex64(checksum(owner, kind, dataset, *payload)))
    return invalidToken();
  return std::move(*payload);
}

// Reads a non-negative decimal terminated by ':' from the front of `s`.
std::optional<int64_t> takeCount(std::string_view& s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + colon, v);
  if (ec != std::errc() || end != s.data() + colon || v < 0) return std::nullopt;
  s.remove_prefix(colon + 1);
  return v;
}

}  // namespace

std::string encodeRecordsPageToken(const OwnerRef& owner, std::string_view dataset,
                                   const RecordsPageToken& t) {
  std::string payload = std::to_string(t.lastSyncCount) + ":" + std::to_string(t.pinnedSyncCount) +
                        ":" + std::to_string(t.cursor.syncCount) + ":" + t.cursor.key;
  return seal(owner, "records", dataset, payload);
}

Result<RecordsPageToken> decodeRecordsPageToken(const OwnerRef& owner, std::string_view dataset,
                                                std::string_view text) {
  TETHER_TRY(std::string payload, unseal(owner, "records", dataset, text));
  std::string_view rest = payload;
  std::optional<int64_t> last = takeCount(rest);
  std::optional<int64_t> pinned = takeCount(rest);
  std::optional<int64_t> cursor = takeCount(rest);
  if (!last || !pinned || !cursor || rest.empty()) return invalidToken();
  // The cursor is a record this request could have returned.
  if (*cursor <= *last || *cursor > *pinned) return invalidToken();
  return RecordsPageToken{*last, *pinned, RecordCursor{*cursor, std::string(rest)}};
}

std::string encodeDatasetsPageToken(const OwnerRef& owner, std::string_view lastName) {
  return seal(owner, "datasets", "", lastName);
}

Result<std::string> decodeDatasetsPageToken(const OwnerRef& owner, std::string_view text) {
  TETHER_TRY(std::string name, unseal(owner, "datasets", "", text));
  if (name.empty()) return invalidToken();
  return name;
}

}  // namespace tether::server
