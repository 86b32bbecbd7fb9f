// [[sync_triggers]] parsing and checks; see config_triggers.h.
#include "auth/config_triggers.h"

#include <set>
#include <string>

#include "auth/config_triggers_internal.h"

namespace tether::server {
namespace {

std::string where(std::string_view source, const toml::node& at) {
  const toml::source_region& r = at.source();
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column) + ": ";
}

}  // namespace

Status validateFunctionArn(std::string_view arn) {
  if (!arn.starts_with("arn:") || arn.size() <= 4 || arn.size() > 2048)
    return Status::invalidArgument("a sync trigger function must be an ARN (arn:...), at most 2048 characters");
  for (char c : arn)
    if (c <= ' ' || c > '~') return Status::invalidArgument("a function ARN has no spaces or control characters");
  return Status::ok();
}

Status validateSyncTrigger(const SyncTriggerConfig& t) {
  TETHER_RETURN_IF_ERROR(validateFunctionArn(t.function));
  const bool hasUrl = !t.url.empty(), hasCommand = !t.command.empty();
  if (hasUrl == hasCommand)
    return Status::invalidArgument("sync trigger " + t.function + ": give exactly one of url and command");
  if (hasUrl && !t.url.starts_with("http://") && !t.url.starts_with("https://"))
    return Status::invalidArgument("sync trigger " + t.function + ": url must be http:// or https://");
  if (hasCommand && (t.command[0].empty() || t.command[0][0] != '/'))
    return Status::invalidArgument("sync trigger " + t.function +
                                   ": command[0] must be an absolute path (no shell or PATH lookup is used)");
  if (hasCommand && (!t.hmacSecret.empty() || !t.caFile.empty()))
    return Status::invalidArgument("sync trigger " + t.function + ": hmac_secret and ca_file go with url, not command");
  if (t.timeoutMs < 1 || t.timeoutMs > kMaxSyncTriggerTimeoutMs)
    return Status::invalidArgument("sync trigger " + t.function + ": timeout_ms must be 1.." +
                                   std::to_string(kMaxSyncTriggerTimeoutMs) + " (Cognito's limit)");
  return Status::ok();
}

Status parseSyncTriggers(const toml::array& entries, std::string_view source,
                         const std::filesystem::path& baseDir, std::vector<SyncTriggerConfig>& out) {
  std::set<std::string> seen;
  for (const SyncTriggerConfig& t : out) seen.insert(t.function);
  for (const toml::node& element : entries) {
    const toml::table* table = element.as_table();
    if (table == nullptr)
      return Status::invalidArgument(where(source, element) + "sync_triggers entry must be a table ([[sync_triggers]])");
    SyncTriggerConfig t;
    for (auto&& entry : *table) {
      // Named references, not a structured binding: clang 14 (the TSan build) cannot capture
      // a binding in the lambdas below.
      const auto& key = entry.first;
      const auto& node = entry.second;
      const std::string path = "sync_triggers." + std::string(key.str());
      auto str = [&](std::string& into) -> Status {
        const auto* s = node.as_string();
        if (s == nullptr || s->get().empty())
          return Status::invalidArgument(where(source, node) + path + " must be a non-empty string");
        into = s->get();
        return Status::ok();
      };
      if (key == "function") {
        TETHER_RETURN_IF_ERROR(str(t.function));
      } else if (key == "url") {
        TETHER_RETURN_IF_ERROR(str(t.url));
      } else if (key == "hmac_secret") {
        TETHER_RETURN_IF_ERROR(str(t.hmacSecret));
      } else if (key == "ca_file") {
        TETHER_RETURN_IF_ERROR(str(t.caFile));
        std::filesystem::path p(t.caFile);
        if (p.is_relative() && !baseDir.empty()) t.caFile = (baseDir / p).lexically_normal().string();
      } else if (key == "command") {
        const toml::array* argv = node.as_array();
        if (argv == nullptr || argv->empty())
          return Status::invalidArgument(where(source, node) + path + " must be a non-empty array of strings");
        for (const toml::node& arg : *argv) {
          const auto* s = arg.as_string();
          if (s == nullptr) return Status::invalidArgument(where(source, arg) + path + " must hold only strings");
          t.command.push_back(s->get());
        }
      } else if (key == "timeout_ms") {
        const auto* i = node.as_integer();
        if (i == nullptr || i->get() < 1 || i->get() > kMaxSyncTriggerTimeoutMs)
          return Status::invalidArgument(where(source, node) + path + " must be an integer 1.." +
                                         std::to_string(kMaxSyncTriggerTimeoutMs) + " (Cognito's limit)");
        t.timeoutMs = static_cast<int>(i->get());
      } else {
        return Status::invalidArgument(where(source, node) + "unknown key '" + path +
                                       "' (check the spelling; see docs/config.md)");
      }
    }
    if (t.function.empty()) return Status::invalidArgument(where(source, element) + "sync_triggers entry has no function");
    if (Status s = validateSyncTrigger(t); !s.isOk()) return Status::invalidArgument(where(source, element) + s.message());
    if (!seen.insert(t.function).second)
      return Status::invalidArgument(where(source, element) + "sync trigger function " + t.function + " appears twice");
    out.push_back(std::move(t));
  }
  return Status::ok();
}

}  // namespace tether::server
