// TOML config loading with toml++; see config.h. toml++ reports syntax errors by throwing
// toml::parse_error: parseConfig() is the one boundary that catches it (STYLE.md 5).
#include "auth/config.h"

#include <arpa/inet.h>

#include <cctype>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include <toml++/toml.h>

#include "auth/config_triggers_internal.h"
#include "auth/config_push_internal.h"
#include "auth/config_streams_parse.h"
#include "auth/config_user_pools_internal.h"
#include "auth/config_console_internal.h"  // [console] (issue 17)
#include "auth/ids.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxPoolNameChars = 128;

std::string where(std::string_view source, const toml::source_region& r) {
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" +
         std::to_string(r.begin.column) + ": ";
}

std::string_view typeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// Error context for one file: every message starts with "<file>:<line>:<col>: ".
class Checker {
 public:
  explicit Checker(std::string_view source) : source_(source) {}

  Status error(const toml::node& at, const std::string& what) const {
    return Status::invalidArgument(where(source_, at.source()) + what);
  }
  Status unknownKey(const toml::key& key, const std::string& path) const {
    return Status::invalidArgument(where(source_, key.source()) + "unknown key '" + path +
                                   "' (check the spelling; see docs/config.md)");
  }
  Status wrongType(const toml::node& node, const std::string& path, std::string_view want) const {
    return error(node, path + " must be " + std::string(want) + ", not " +
                           std::string(typeName(node.type())));
  }
  Result<std::string> string(const toml::node& node, const std::string& path) const {
    const auto* s = node.as_string();
    if (s == nullptr) return wrongType(node, path, "a string");
    return s->get();
  }
  Result<std::string> nonEmptyString(const toml::node& node, const std::string& path) const {
    TETHER_TRY(std::string s, string(node, path));
    if (s.empty()) return error(node, path + " must not be empty");
    return s;
  }
  Result<bool> boolean(const toml::node& node, const std::string& path) const {
    const auto* b = node.as_boolean();
    if (b == nullptr) return wrongType(node, path, "true or false");
    return b->get();
  }
  Status withPlace(const toml::node& node, const Status& s) const {
    return error(node, s.message());
  }

 private:
  std::string_view source_;
};

std::filesystem::path resolve(const std::filesystem::path& baseDir, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative() && !baseDir.empty()) path = baseDir / path;
  return path.lexically_normal();
}

bool isPoolNameChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ' ' || c == '\t' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' ||
         c == '-';
}

Status validatePoolName(std::string_view name) {
  if (name.empty() || name.size() > kMaxPoolNameChars)
    return Status::invalidArgument("pool name must be 1-128 characters");
  for (char c : name)
    if (!isPoolNameChar(static_cast<unsigned char>(c)))
      return Status::invalidArgument("pool name may contain only letters, digits, spaces and _+=,.@-");
  return Status::ok();
}

Status parseServer(const Checker& ck, const toml::table& server, const std::filesystem::path& baseDir,
                   ServerConfig& out) {
  for (auto&& [key, node] : server) {
    std::string path = "server." + std::string(key.str());
    if (key == "listen") {
      TETHER_TRY(std::string s, ck.string(node, path));
      Result<ListenAddress> addr = parseListenAddress(s);
      if (!addr.isOk()) return ck.withPlace(node, addr.status());
      out.listen = *addr;
    } else if (key == "data_dir") {
      TETHER_TRY(std::string s, ck.nonEmptyString(node, path));
      if (server.contains("store")) return ck.error(node, "server.data_dir and server.store: give one of them");
      out.dataDir = resolve(baseDir, s);
    } else if (key == "store") {
      // sqlite:DIR, postgresql://..., or a libpq keyword string (app/open_store.h checks it).
      TETHER_TRY(std::string s, ck.nonEmptyString(node, path));
      // A relative sqlite: directory is relative to the file, like data_dir.
      if (s.rfind("sqlite:", 0) == 0 && s.size() > 7 && s.compare(7, 2, "//") != 0)
        s = "sqlite:" + resolve(baseDir, s.substr(7)).string();
      out.store = s;
    } else if (key == "issuer") {
      TETHER_TRY(std::string s, ck.nonEmptyString(node, path));
      if (!s.starts_with("http://") && !s.starts_with("https://"))
        return ck.error(node, "server.issuer must be an http:// or https:// URL");
      out.issuer = s;
    } else if (key == "node_name") {
      TETHER_TRY(std::string s, ck.nonEmptyString(node, path));
      if (Status v = validateNodeName(s); !v.isOk()) return ck.withPlace(node, v);
      out.nodeName = s;
    } else if (key == "catch_up_interval_ms") {
      const auto* ms = node.as_integer();
      if (ms == nullptr) return ck.wrongType(node, path, "an integer");
      if (ms->get() < 50 || ms->get() > 3600000) return ck.error(node, path + " must be 50-3600000");
      out.catchUpIntervalMs = static_cast<int>(ms->get());
    } else if (key == "tls_cert") {
      TETHER_TRY(std::string s, ck.nonEmptyString(node, path));
      out.tlsCert = resolve(baseDir, s);
    } else if (key == "tls_key") {
      TETHER_TRY(std::string s, ck.nonEmptyString(node, path));
      out.tlsKey = resolve(baseDir, s);
    } else if (key == "log_level") {
      TETHER_TRY(std::string s, ck.string(node, path));
      Result<LogLevel> level = parseLogLevel(s);
      if (!level.isOk()) return ck.withPlace(node, level.status());
      out.logLevel = *level;
    } else if (key == "log_format") {
      TETHER_TRY(std::string s, ck.string(node, path));
      Result<LogFormat> format = parseLogFormat(s);
      if (!format.isOk()) return ck.withPlace(node, format.status());
      out.logFormat = *format;
    } else {
      return ck.unknownKey(key, path);
    }
  }
  if (out.tlsCert.has_value() != out.tlsKey.has_value())
    return ck.error(server, "server.tls_cert and server.tls_key must be set together");
  return Status::ok();
}

Status validateDeveloperProvider(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return Status::invalidArgument("developer_provider must be 1-128 characters");
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '_' || c == '.' || c == '-'))
      return Status::invalidArgument("developer_provider may contain only letters, digits and _.-");
  }
  return Status::ok();
}

}  // namespace

Status validateOidcProviderName(std::string_view name) {
  if (name.empty() || name.size() > 128) return Status::invalidArgument("OIDC provider name must be 1-128 characters");
  for (char c : name)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return Status::invalidArgument("OIDC provider name must not contain spaces or control characters");
  if (name == "cognito-identity.amazonaws.com" || name == "cognito-identity.cn-north-1.amazonaws.com.cn")
    return Status::invalidArgument("OIDC provider name " + std::string(name) + " is reserved for tetherd's own tokens");
  return Status::ok();
}

Status validateDeveloperProviderName(std::string_view name) { return validateDeveloperProvider(name); }

namespace {

Status validateDeveloperCredential(const DeveloperCredential& c) {
  if (c.accessKeyId.size() < 16 || c.accessKeyId.size() > 128)
    return Status::invalidArgument("developer_credentials access_key_id must be 16-128 characters");
  for (char ch : c.accessKeyId)
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
      return Status::invalidArgument("developer_credentials access_key_id may contain only A-Z and 0-9");
  if (c.accessKeyId.starts_with("ASIA"))
    return Status::invalidArgument("developer_credentials access_key_id must not start with ASIA (reserved for "
                                   "temporary credentials)");
  if (c.secretAccessKey.size() < 16 || c.secretAccessKey.size() > 128)
    return Status::invalidArgument("developer_credentials secret_access_key must be 16-128 characters");
  return Status::ok();
}

Status parseDeveloperCredentials(const Checker& ck, const toml::array& creds, ServerConfig& out) {
  for (const toml::node& element : creds) {
    const toml::table* t = element.as_table();
    if (t == nullptr) return ck.wrongType(element, "developer_credentials entry", "a table ([[developer_credentials]])");
    DeveloperCredential c;
    for (auto&& [key, node] : *t) {
      std::string path = "developer_credentials." + std::string(key.str());
      if (key == "access_key_id") {
        TETHER_TRY(c.accessKeyId, ck.string(node, path));
      } else if (key == "secret_access_key") {
        TETHER_TRY(c.secretAccessKey, ck.string(node, path));
      } else {
        return ck.unknownKey(key, path);
      }
    }
    if (Status s = validateDeveloperCredential(c); !s.isOk()) return ck.withPlace(element, s);
    for (const DeveloperCredential& seen : out.developerCredentials)
      if (seen.accessKeyId == c.accessKeyId)
        return ck.error(element, "developer credential " + c.accessKeyId + " appears twice");
    out.developerCredentials.push_back(std::move(c));
  }
  return Status::ok();
}

// One [[pools.oidc_providers]] entry: name, issuer, audiences, exactly one of jwks_file / jwks,
// leeway_seconds (0-600, default 60). An inline JWKS is parsed here so a typo points at its line;
// a JWKS file is read when the server starts (it may not exist yet while editing the config).
Result<OidcProviderConfig> parseOidcProvider(const Checker& ck, const toml::node& element,
                                             const std::filesystem::path& baseDir) {
  const toml::table* t = element.as_table();
  if (t == nullptr) return ck.wrongType(element, "pools.oidc_providers entry", "a table ([[pools.oidc_providers]])");
  OidcProviderConfig c;
  bool hasAudiences = false;
  for (auto&& [key, node] : *t) {
    std::string path = "pools.oidc_providers." + std::string(key.str());
    if (key == "name") {
      TETHER_TRY(c.name, ck.nonEmptyString(node, path));
      if (Status s = validateOidcProviderName(c.name); !s.isOk()) return ck.withPlace(node, s);
    } else if (key == "issuer") {
      TETHER_TRY(c.issuer, ck.nonEmptyString(node, path));
    } else if (key == "audiences") {
      const toml::array* list = node.as_array();
      if (list == nullptr) return ck.wrongType(node, path, "an array of strings");
      for (const toml::node& a : *list) {
        TETHER_TRY(std::string aud, ck.nonEmptyString(a, path + " entry"));
        if (aud.find('\n') != std::string::npos) return ck.error(a, path + " entries must be one line");
        c.audiences.push_back(std::move(aud));
      }
      hasAudiences = true;
    } else if (key == "jwks_file") {
      TETHER_TRY(std::string f, ck.nonEmptyString(node, path));
      c.jwksFile = resolve(baseDir, f);
    } else if (key == "jwks") {
      TETHER_TRY(c.jwksInline, ck.nonEmptyString(node, path));
      if (Result<std::shared_ptr<const JwkSet>> keys = JwkSet::parse(c.jwksInline); !keys.isOk())
        return ck.withPlace(node, Status::invalidArgument(path + ": " + keys.status().message()));
    } else if (key == "leeway_seconds") {
      const auto* i = node.as_integer();
      if (i == nullptr) return ck.wrongType(node, path, "an integer");
      if (i->get() < 0 || i->get() > 600) return ck.error(node, path + " must be 0-600");
      c.leewaySeconds = static_cast<int>(i->get());
    } else {
      return ck.unknownKey(key, path);
    }
  }
  if (c.name.empty()) return ck.error(element, "pools.oidc_providers entry has no name");
  if (c.issuer.empty()) return ck.error(element, "OIDC provider " + c.name + " has no issuer");
  if (!hasAudiences || c.audiences.empty())
    return ck.error(element, "OIDC provider " + c.name + " needs audiences = [\"<client id>\", ...]");
  if (c.jwksFile.has_value() == !c.jwksInline.empty())
    return ck.error(element, "OIDC provider " + c.name + " needs exactly one of jwks_file and jwks");
  return c;
}

// One [[pools.user_pool_providers]] entry: provider, client_ids, server_side_token_check.
Result<UserPoolProviderConfig> parseUserPoolProvider(const Checker& ck, const toml::node& element) {
  const toml::table* t = element.as_table();
  if (t == nullptr)
    return ck.wrongType(element, "pools.user_pool_providers entry", "a table ([[pools.user_pool_providers]])");
  UserPoolProviderConfig c;
  for (auto&& [key, node] : *t) {
    std::string path = "pools.user_pool_providers." + std::string(key.str());
    if (key == "provider") {
      TETHER_TRY(c.providerName, ck.nonEmptyString(node, path));
      if (Result<std::string> id = userPoolIdOfProvider(c.providerName); !id.isOk()) return ck.withPlace(node, id.status());
    } else if (key == "client_ids") {
      const toml::array* list = node.as_array();
      if (list == nullptr) return ck.wrongType(node, path, "an array of strings");
      for (const toml::node& a : *list) {
        TETHER_TRY(std::string id, ck.nonEmptyString(a, path + " entry"));
        c.clientIds.push_back(std::move(id));
      }
    } else if (key == "server_side_token_check") {
      TETHER_TRY(c.serverSideTokenCheck, ck.boolean(node, path));
    } else {
      return ck.unknownKey(key, path);
    }
  }
  if (c.providerName.empty()) return ck.error(element, "pools.user_pool_providers entry has no provider");
  if (c.clientIds.empty())
    return ck.error(element, "user pool provider " + c.providerName + " needs client_ids = [\"<app client id>\", ...]");
  return c;
}

Status parsePools(const Checker& ck, const toml::array& pools, ServerConfig& out,
                  const std::filesystem::path& baseDir) {
  std::set<std::string> seen;
  for (const toml::node& element : pools) {
    const toml::table* t = element.as_table();
    if (t == nullptr) return ck.wrongType(element, "pools entry", "a table ([[pools]])");
    PoolConfig pool;
    bool hasId = false, hasName = false;
    for (auto&& [key, node] : *t) {
      std::string path = "pools." + std::string(key.str());
      if (key == "id") {
        TETHER_TRY(pool.id, ck.string(node, path));
        if (Status s = validatePoolId(pool.id); !s.isOk()) return ck.withPlace(node, s);
        if (!seen.insert(pool.id).second)
          return ck.error(node, "pool id " + pool.id + " appears twice");
        hasId = true;
      } else if (key == "name") {
        TETHER_TRY(pool.name, ck.string(node, path));
        if (Status s = validatePoolName(pool.name); !s.isOk()) return ck.withPlace(node, s);
        hasName = true;
      } else if (key == "allow_guests") {
        TETHER_TRY(pool.allowGuests, ck.boolean(node, path));
      } else if (key == "developer_provider") {
        TETHER_TRY(pool.developerProvider, ck.string(node, path));
        if (Status s = validateDeveloperProvider(pool.developerProvider); !s.isOk()) return ck.withPlace(node, s);
      } else if (key == "sync_trigger") {
        TETHER_TRY(pool.syncTrigger, ck.nonEmptyString(node, path));
        if (Status s = validateFunctionArn(pool.syncTrigger); !s.isOk()) return ck.withPlace(node, s);
      } else if (key == "oidc_providers") {
        const toml::array* list = node.as_array();
        if (list == nullptr) return ck.wrongType(node, path, "an array of tables ([[pools.oidc_providers]])");
        for (const toml::node& p : *list) {
          TETHER_TRY(OidcProviderConfig provider, parseOidcProvider(ck, p, baseDir));
          for (const OidcProviderConfig& seen : pool.oidcProviders)
            if (seen.name == provider.name) return ck.error(p, "OIDC provider " + provider.name + " appears twice");
          pool.oidcProviders.push_back(std::move(provider));
        }
      } else if (key == "user_pool_providers") {
        const toml::array* list = node.as_array();
        if (list == nullptr) return ck.wrongType(node, path, "an array of tables ([[pools.user_pool_providers]])");
        for (const toml::node& p : *list) {
          TETHER_TRY(UserPoolProviderConfig provider, parseUserPoolProvider(ck, p));
          for (const UserPoolProviderConfig& seen : pool.userPoolProviders)
            if (seen.providerName == provider.providerName)
              return ck.error(p, "user pool provider " + provider.providerName + " appears twice");
          pool.userPoolProviders.push_back(std::move(provider));
        }
      } else {
        return ck.unknownKey(key, path);
      }
    }
    // A fresh id in the message makes the fix a copy-paste; we never invent one silently
    // because it would change on every start.
    if (!hasId)
      return ck.error(element, "pool has no id; add one, for example id = \"" +
                                   newRandomId("local") + "\"");
    if (!hasName) return ck.error(element, "pool " + pool.id + " has no name");
    for (const OidcProviderConfig& p : pool.oidcProviders)
      if (p.name == pool.developerProvider)
        return ck.error(element, "OIDC provider " + p.name + " has the name of the pool's developer_provider");
    out.pools.push_back(std::move(pool));
  }
  return Status::ok();
}

}  // namespace

Status validateNodeName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 48;
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == ':' || c == '-');
  if (!ok) return Status::invalidArgument("node name '" + std::string(name) + "' must be 1-48 of [A-Za-z0-9._:-]");
  return Status::ok();
}

std::string ServerConfig::effectiveIssuer(uint16_t boundPort) const {
  if (issuer) return *issuer;
  std::string host = listen.host.find(':') != std::string::npos ? "[" + listen.host + "]" : listen.host;
  return std::string(tlsEnabled() ? "https://" : "http://") + host + ":" + std::to_string(boundPort);
}

Result<ListenAddress> parseListenAddress(std::string_view text) {
  auto bad = [&]() {
    return Status::invalidArgument("listen address '" + std::string(text) +
                                   "' must be host:port or [ipv6]:port with port 0-65535");
  };
  std::string_view host, port;
  if (text.starts_with("[")) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad();  // IPv6 needs brackets
  }
  if (host.empty() || port.empty() || port.size() > 5) return bad();
  for (char c : host)
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '[' || c == ']') return bad();
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) return bad();
  return ListenAddress{std::string(host), static_cast<uint16_t>(value)};
}

Result<LogLevel> parseLogLevel(std::string_view text) {
  if (text == "trace") return LogLevel::kTrace;
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return Status::invalidArgument("log level '" + std::string(text) +
                                 "' must be one of trace, debug, info, warn, error");
}

Result<LogFormat> parseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return Status::invalidArgument("log format must be text or json, not \"" + std::string(text) + "\"");
}

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

Status validateConfig(const ServerConfig& config) {
  if (config.tlsCert.has_value() != config.tlsKey.has_value())
    return Status::invalidArgument("TLS needs both a certificate and a key");
  if (config.dataDir.empty()) return Status::invalidArgument("data directory must not be empty");
  if (config.issuer && config.issuer->empty()) return Status::invalidArgument("issuer must not be empty");
  if (!config.nodeName.empty()) TETHER_RETURN_IF_ERROR(validateNodeName(config.nodeName));
  std::set<std::string> seen;
  for (const PoolConfig& pool : config.pools) {
    TETHER_RETURN_IF_ERROR(validatePoolId(pool.id));
    TETHER_RETURN_IF_ERROR(validatePoolName(pool.name));
    if (!seen.insert(pool.id).second)
      return Status::invalidArgument("pool id " + pool.id + " appears twice");
    if (!pool.developerProvider.empty()) TETHER_RETURN_IF_ERROR(validateDeveloperProvider(pool.developerProvider));
    for (const OidcProviderConfig& p : pool.oidcProviders) TETHER_RETURN_IF_ERROR(validateOidcProviderName(p.name));
    if (!pool.syncTrigger.empty()) {
      bool found = false;
      for (const SyncTriggerConfig& t : config.syncTriggers) found = found || t.function == pool.syncTrigger;
      if (!found)
        return Status::invalidArgument("pool " + pool.id + ": sync_trigger " + pool.syncTrigger +
                                       " has no [[sync_triggers]] entry");
    }
  }
  for (const SyncTriggerConfig& t : config.syncTriggers) TETHER_RETURN_IF_ERROR(validateSyncTrigger(t));
  if (!config.userPools.codeDelivery.empty() &&
      std::none_of(config.syncTriggers.begin(), config.syncTriggers.end(),
                   [&](const SyncTriggerConfig& t) { return t.function == config.userPools.codeDelivery; }))
    return Status::invalidArgument("user_pools.code_delivery " + config.userPools.codeDelivery +
                                   " has no [[sync_triggers]] entry");
  std::set<std::string> keys;
  for (const DeveloperCredential& c : config.developerCredentials) {
    TETHER_RETURN_IF_ERROR(validateDeveloperCredential(c));
    if (!keys.insert(c.accessKeyId).second)
      return Status::invalidArgument("developer credential " + c.accessKeyId + " appears twice");
  }
  return Status::ok();
}

namespace {

// [limits] and its [limits.<kind>] rate tables (docs/config.md). Integers within bounds;
// rates may be integers or floats.
Status parseLimits(const Checker& ck, const toml::table& t, LimitsConfig& out) {
  auto integer = [&](const toml::node& node, const std::string& path, int64_t lo, int64_t hi) -> Result<int64_t> {
    const auto* i = node.as_integer();
    if (i == nullptr) return ck.wrongType(node, path, "an integer");
    if (i->get() < lo || i->get() > hi)
      return ck.error(node, path + " must be " + std::to_string(lo) + "-" + std::to_string(hi));
    return i->get();
  };
  auto number = [&](const toml::node& node, const std::string& path) -> Result<double> {
    double v;
    if (const auto* i = node.as_integer()) v = static_cast<double>(i->get());
    else if (const auto* f = node.as_floating_point()) v = f->get();
    else return ck.wrongType(node, path, "a number");
    if (!(v >= 0 && v <= 1e9)) return ck.error(node, path + " must be 0-1000000000");
    return v;
  };
  for (auto&& [key, node] : t) {
    std::string path = "limits." + std::string(key.str());
    if (key == "max_connections_per_address") {
      TETHER_TRY(int64_t v, integer(node, path, 0, 10000000));
      out.maxConnectionsPerAddress = static_cast<int>(v);
    } else if (key == "trusted_proxies") {
      const auto* arr = node.as_array();
      if (arr == nullptr) return ck.wrongType(node, path, "an array of IP addresses");
      out.trustedProxies.clear();
      for (auto&& item : *arr) {
        const auto* str = item.as_string();
        in6_addr a6{};
        in_addr a4{};
        if (str == nullptr || (inet_pton(AF_INET, str->get().c_str(), &a4) != 1 &&
                               inet_pton(AF_INET6, str->get().c_str(), &a6) != 1))
          return ck.error(item, path + " entries must be IP addresses (e.g. \"10.0.0.5\")");
        out.trustedProxies.push_back(str->get());
      }
    } else if (key == "request_head_timeout_seconds") {
      TETHER_TRY(int64_t v, integer(node, path, 1, 3600));
      out.requestHeadTimeoutSeconds = static_cast<int>(v);
    } else if (key == "max_header_bytes") {
      TETHER_TRY(int64_t v, integer(node, path, 1024, 60000));  // lws keeps headers in < 64 KB
      out.maxHeaderBytes = static_cast<size_t>(v);
    } else if (key == "max_header_count") {
      TETHER_TRY(int64_t v, integer(node, path, 1, 64));  // lws 4.1: see net/request_head.h
      out.maxHeaderCount = static_cast<size_t>(v);
    } else if (key == "max_url_bytes") {
      TETHER_TRY(int64_t v, integer(node, path, 256, 60000));
      out.maxUrlBytes = static_cast<size_t>(v);
    } else {
      int kind = -1;
      for (int k = 0; k < kRateKindCount; ++k)
        if (key == kRateKindNames[k]) kind = k;
      if (kind < 0) return ck.unknownKey(key, path);
      const toml::table* rt = node.as_table();
      if (rt == nullptr) return ck.wrongType(node, path, "a table ([" + path + "])");
      RateLimitSpec& spec = out.rates[kind];
      for (auto&& [rkey, rnode] : *rt) {
        std::string rpath = path + "." + std::string(rkey.str());
        if (rkey == "per_address_per_second") {
          TETHER_TRY(spec.perAddress.perSecond, number(rnode, rpath));
        } else if (rkey == "per_address_burst") {
          TETHER_TRY(spec.perAddress.burst, number(rnode, rpath));
        } else if (rkey == "per_pool_per_second") {
          TETHER_TRY(spec.perPool.perSecond, number(rnode, rpath));
        } else if (rkey == "per_pool_burst") {
          TETHER_TRY(spec.perPool.burst, number(rnode, rpath));
        } else {
          return ck.unknownKey(rkey, rpath);
        }
      }
      for (TokenBucketSpec* b : {&spec.perAddress, &spec.perPool})
        if (b->enabled() && b->burst < 1) return ck.error(node, path + ": a burst must be at least 1 when its rate is set");
    }
  }
  if (out.maxUrlBytes > out.maxHeaderBytes)
    return ck.error(t, "limits.max_url_bytes must not exceed limits.max_header_bytes");
  return Status::ok();
}

}  // namespace

Result<std::string> userPoolIdOfProvider(std::string_view name) {
  auto bad = [&] {
    return Status::invalidArgument("'" + std::string(name.substr(0, 200)) +
                                   "' is not a user pool provider name (cognito-idp.<region>.amazonaws.com/<userPoolId>)");
  };
  constexpr std::string_view kPrefix = "cognito-idp.";
  if (name.size() > 200 || !name.starts_with(kPrefix)) return bad();
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) return bad();
  std::string_view host = name.substr(0, slash);
  if (!host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn")) return bad();
  std::string_view poolId = name.substr(slash + 1);
  size_t us = poolId.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 == poolId.size() || poolId.size() > 55) return bad();
  for (char c : poolId)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return bad();
  return std::string(poolId);
}

Result<ServerConfig> parseConfig(std::string_view text, std::string_view sourceName,
                                 const std::filesystem::path& baseDir) {
  Checker ck(sourceName);
  try {
    toml::table root = toml::parse(text, sourceName);
    ServerConfig config;
    for (auto&& [key, node] : root) {
      if (key == "server") {
        const toml::table* server = node.as_table();
        if (server == nullptr) return ck.wrongType(node, "server", "a table ([server])");
        TETHER_RETURN_IF_ERROR(parseServer(ck, *server, baseDir, config));
      } else if (key == "developer_credentials") {
        const toml::array* creds = node.as_array();
        if (creds == nullptr)
          return ck.wrongType(node, "developer_credentials", "an array of tables ([[developer_credentials]])");
        TETHER_RETURN_IF_ERROR(parseDeveloperCredentials(ck, *creds, config));
      } else if (key == "limits") {
        const toml::table* limits = node.as_table();
        if (limits == nullptr) return ck.wrongType(node, "limits", "a table ([limits])");
        TETHER_RETURN_IF_ERROR(parseLimits(ck, *limits, config.limits));
      } else if (key == "sync_triggers") {
        const toml::array* triggers = node.as_array();
        if (triggers == nullptr) return ck.wrongType(node, "sync_triggers", "an array of tables ([[sync_triggers]])");
        TETHER_RETURN_IF_ERROR(parseSyncTriggers(*triggers, sourceName, baseDir, config.syncTriggers));
      } else if (key == "push_apps") {
        TETHER_RETURN_IF_ERROR(parsePushApps(node, sourceName, baseDir, config.pushApps));
      } else if (key == "pools") {
        const toml::array* pools = node.as_array();
        if (pools == nullptr) return ck.wrongType(node, "pools", "an array of tables ([[pools]])");
        TETHER_RETURN_IF_ERROR(parsePools(ck, *pools, config, baseDir));
      } else if (key == "console") {  // issue 17
        TETHER_RETURN_IF_ERROR(parseConsoleConfig(node, sourceName, config.console));
      } else if (key == "user_pools") {
        TETHER_RETURN_IF_ERROR(parseUserPoolsConfig(node, sourceName, baseDir, config.userPools));
      } else if (isStreamsConfigKey(key.str())) {
        TETHER_RETURN_IF_ERROR(parseStreamsConfig(sourceName, key.str(), node, baseDir, config.streams));
      } else {
        return ck.unknownKey(key, std::string(key.str()));
      }
    }
    TETHER_RETURN_IF_ERROR(validateConfig(config));
    return config;
  } catch (const toml::parse_error& e) {
    return Status::invalidArgument(where(sourceName, e.source()) + std::string(e.description()));
  } catch (const std::exception& e) {
    return Status::internal(std::string(sourceName) + ": " + e.what());
  }
}

Result<ServerConfig> loadConfig(const std::filesystem::path& file) {
  std::error_code ec;
  auto st = std::filesystem::status(file, ec);
  if (st.type() == std::filesystem::file_type::not_found)
    return Status::notFound("config file " + file.string() + " does not exist");
  if (ec) return Status::ioError("cannot read config file " + file.string() + ": " + ec.message());
  if (!std::filesystem::is_regular_file(st))
    return Status::ioError("config file " + file.string() + " is not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::ioError("cannot open config file " + file.string());
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
      return Status::invalidArgument("config file " + file.string() + " is larger than 1 MB");
  }
  if (in.bad()) return Status::ioError("cannot read config file " + file.string());
  return parseConfig(text, file.string(), file.parent_path());
}

}  // namespace tether::server
