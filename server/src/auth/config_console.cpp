// [console] parsing; see config_console.h.
#include "auth/config_console_internal.h"

#include "auth/config.h"

namespace tether::server {
namespace {

std::string where(std::string_view source, const toml::node& at) {
  const toml::source_region& r = at.source();
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column) + ": ";
}

}  // namespace

Status parseConsoleConfig(const toml::node& node, std::string_view source, ConsoleConfig& out) {
  const toml::table* t = node.as_table();
  if (t == nullptr) return Status::invalidArgument(where(source, node) + "console must be a table ([console])");
  for (auto&& [key, value] : *t) {
    const std::string name(key.str());
    const std::string path = "console." + name;
    if (name == "enabled") {
      const auto* b = value.as_boolean();
      if (b == nullptr) return Status::invalidArgument(where(source, value) + path + " must be true or false");
      out.enabled = b->get();
    } else if (name == "admin_listen") {
      const auto* s = value.as_string();
      if (s == nullptr) return Status::invalidArgument(where(source, value) + path + " must be a string (host:port)");
      if (Result<ListenAddress> a = parseListenAddress(s->get()); !a.isOk())
        return Status::invalidArgument(where(source, value) + path + ": " + a.status().message());
      out.adminListen = s->get();
    } else if (name == "usage_sample_minutes" || name == "idle_timeout_minutes" || name == "session_hours" ||
               name == "lockout_base_seconds") {
      const auto* i = value.as_integer();
      const int64_t max = name == "session_hours" ? 24 * 30 : name == "lockout_base_seconds" ? 3600 : 24 * 60;
      if (i == nullptr || i->get() < 1 || i->get() > max)
        return Status::invalidArgument(where(source, value) + path + " must be an integer from 1 to " +
                                       std::to_string(max));
      int v = static_cast<int>(i->get());
      if (name == "usage_sample_minutes") out.usageSampleMinutes = v;
      else if (name == "idle_timeout_minutes") out.idleTimeoutMinutes = v;
      else if (name == "session_hours") out.sessionHours = v;
      else out.lockoutBaseSeconds = v;
    } else {
      return Status::invalidArgument(where(source, value) + "unknown key '" + path +
                                     "' (check the spelling; see docs/config.md)");
    }
  }
  return Status::ok();
}

}  // namespace tether::server
