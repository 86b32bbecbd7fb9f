// ChangeNotice text form; see change_bus.h.
#include "events/change_bus.h"

#include <charconv>
#include <vector>

namespace tether::server {
namespace {

constexpr std::string_view kVersion = "v1";

bool validField(std::string_view s) {
  for (char c : s)
    if (c == '\t' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

bool validNodeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string encodeChangeNotice(const ChangeNotice& n) {
  std::string out(kVersion);
  auto field = [&out](std::string_view v) {
    out += '\t';
    out += v;
  };
  field(std::string(1, static_cast<char>(n.kind)));
  field(n.originNode);
  field(std::to_string(n.originConnection));
  field(n.poolId);
  field(n.identityId);
  field(n.dataset);
  field(std::to_string(n.syncCount));
  field(n.deviceId);
  return out;
}

std::optional<ChangeNotice> decodeChangeNotice(std::string_view payload) {
  std::vector<std::string_view> f;
  size_t start = 0;
  while (true) {
    size_t tab = payload.find('\t', start);
    f.push_back(payload.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (f.size() != 9 || f[0] != kVersion || f[1].size() != 1) return std::nullopt;
  for (std::string_view v : f)
    if (!validField(v)) return std::nullopt;
  ChangeNotice n;
  switch (f[1][0]) {
    case 'c': n.kind = ChangeNotice::Kind::kDatasetChanged; break;
    case 'b': n.kind = ChangeNotice::Kind::kBatchWritten; break;
    case 's': n.kind = ChangeNotice::Kind::kDeviceSubscribed; break;
    case 'u': n.kind = ChangeNotice::Kind::kDeviceUnsubscribed; break;
    default: return std::nullopt;
  }
  auto num = [](std::string_view s, auto& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  if (!validNodeName(f[2]) || !num(f[3], n.originConnection) || !num(f[7], n.syncCount)) return std::nullopt;
  if (f[4].empty() || f[5].empty()) return std::nullopt;
  bool dataset = n.kind == ChangeNotice::Kind::kDatasetChanged || n.kind == ChangeNotice::Kind::kBatchWritten;
  if (dataset ? (f[6].empty() || n.syncCount < 0) : f[8].empty())
    return std::nullopt;
  n.originNode = std::string(f[2]);
  n.poolId = std::string(f[4]);
  n.identityId = std::string(f[5]);
  n.dataset = std::string(f[6]);
  n.deviceId = std::string(f[8]);
  return n;
}

}  // namespace tether::server
