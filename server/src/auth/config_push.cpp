// [[push_apps]] parsing; see config_push.h. toml++ throws only while parsing text, which
// config.cpp does; walking the parsed tree here does not throw.
#include "auth/config_push.h"

#include <set>

#include "auth/config_push_internal.h"

namespace tether::server {
namespace {

std::string where(std::string_view source, const toml::node& at) {
  const toml::source_region& r = at.source();
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column) + ": ";
}

bool apns(std::string_view platform) { return platform == "APNS" || platform == "APNS_SANDBOX"; }

}  // namespace

std::string defaultPushEndpoint(std::string_view platform) {
  if (platform == "APNS") return "https://api.push.apple.com";
  if (platform == "APNS_SANDBOX") return "https://api.sandbox.push.apple.com";
  return "https://fcm.googleapis.com";
}

Result<std::string> pushAppPlatform(std::string_view arn) {
  // arn:aws:sns:<region>:<account>:app/<platform>/<name>
  constexpr std::string_view kPrefix = "arn:aws:sns:";
  auto bad = [&arn] {
    std::string msg(1, '\'');
    msg.append(arn.substr(0, 200));
    msg += "' is not an SNS platform application ARN (arn:aws:sns:<region>:<account>:app/<APNS|APNS_SANDBOX|GCM>/<name>)";
    return Status::invalidArgument(msg);
  };
  if (arn.size() > 1600 || arn.substr(0, kPrefix.size()) != kPrefix) return bad();
  std::string_view rest = arn.substr(kPrefix.size());
  const size_t c1 = rest.find(':');
  if (c1 == std::string_view::npos || c1 == 0) return bad();
  const size_t c2 = rest.find(':', c1 + 1);
  if (c2 == std::string_view::npos || c2 == c1 + 1) return bad();
  std::string_view resource = rest.substr(c2 + 1);
  if (resource.substr(0, 4) != "app/") return bad();
  resource.remove_prefix(4);
  const size_t slash = resource.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == resource.size()) return bad();
  if (resource.find_first_of(":/", slash + 1) != std::string_view::npos) return bad();
  return std::string(resource.substr(0, slash));
}

Status parsePushApps(const toml::node& node, std::string_view source, const std::filesystem::path& baseDir,
                     std::vector<PushAppConfig>& out) {
  const toml::array* apps = node.as_array();
  if (apps == nullptr) return Status::invalidArgument(where(source, node) + "push_apps must be an array of tables ([[push_apps]])");
  std::set<std::string> seen;
  for (const toml::node& element : *apps) {
    const toml::table* t = element.as_table();
    if (t == nullptr)
      return Status::invalidArgument(where(source, element) + "push_apps entry must be a table ([[push_apps]])");
    PushAppConfig app;
    std::set<std::string> keys;
    for (auto&& [key, value] : *t) {
      const std::string name(key.str());
      const std::string path = "push_apps." + name;
      static const std::set<std::string> kKnown = {"arn",      "team_id",  "key_id",   "key_file",
                                                   "topic",    "endpoint", "ca_file",  "service_account_file"};
      if (kKnown.count(name) == 0)
        return Status::invalidArgument(where(source, value) + "unknown key '" + path +
                                       "' (check the spelling; see docs/config.md)");
      const auto* s = value.as_string();
      if (s == nullptr) return Status::invalidArgument(where(source, value) + path + " must be a string");
      if (s->get().empty()) return Status::invalidArgument(where(source, value) + path + " must not be empty");
      const std::string& v = s->get();
      keys.insert(name);
      if (name == "arn") {
        app.arn = v;
        Result<std::string> platform = pushAppPlatform(v);
        if (!platform.isOk()) return Status::invalidArgument(where(source, value) + platform.status().message());
        if (*platform != "APNS" && *platform != "APNS_SANDBOX" && *platform != "GCM")
          return Status::invalidArgument(where(source, value) + "push_apps.arn: platform " + *platform +
                                         " is not supported (APNS, APNS_SANDBOX or GCM; see docs/events.md)");
        app.platform = *platform;
        if (!seen.insert(v).second)
          return Status::invalidArgument(where(source, value) + "push_apps.arn '" + v + "' appears twice");
      } else if (name == "team_id") {
        app.teamId = v;
      } else if (name == "key_id") {
        app.keyId = v;
      } else if (name == "key_file") {
        app.keyFile = baseDir / v;
      } else if (name == "topic") {
        app.topic = v;
      } else if (name == "endpoint") {
        if (v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0)
          return Status::invalidArgument(where(source, value) + path + " must be an http:// or https:// URL");
        app.endpoint = v;
        while (!app.endpoint.empty() && app.endpoint.back() == '/') app.endpoint.pop_back();
      } else if (name == "ca_file") {
        app.caFile = baseDir / v;
      } else if (name == "service_account_file") {
        app.serviceAccountFile = baseDir / v;
      }
    }
    if (app.arn.empty()) return Status::invalidArgument(where(source, element) + "push_apps entry needs arn");
    const std::vector<std::string> need =
        apns(app.platform) ? std::vector<std::string>{"team_id", "key_id", "key_file", "topic"}
                           : std::vector<std::string>{"service_account_file"};
    const std::vector<std::string> other =
        apns(app.platform) ? std::vector<std::string>{"service_account_file"}
                           : std::vector<std::string>{"team_id", "key_id", "key_file", "topic"};
    for (const std::string& k : need)
      if (keys.count(k) == 0)
        return Status::invalidArgument(where(source, element) + "push_apps entry for " + app.platform + " (" + app.arn +
                                       ") needs " + k);
    for (const std::string& k : other)
      if (keys.count(k) != 0)
        return Status::invalidArgument(where(source, element) + "push_apps." + k + " does not apply to " +
                                       app.platform + " (" + app.arn + ")");
    out.push_back(std::move(app));
  }
  return Status::ok();
}

}  // namespace tether::server
