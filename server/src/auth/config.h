// tetherd's configuration file (TOML): the [server] table and the [[pools]] it serves.
// docs/config.md is the user-facing reference; keep the two in step.
//
// Strict by design: an unknown key (a typo such as `allow_guest`) or a value of the wrong type
// is an error naming the key and its line, never silently ignored. Command-line flags override
// file values: main() loads the file, then assigns the flags it was given to these fields.
// Thread-safety: plain values and a pure loader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/config_triggers.h"
#include "auth/config_user_pools.h"
#include "auth/config_console.h"  // [console] (issue 17)
#include "auth/config_push.h"
#include "auth/config_streams.h"
#include "auth/limits_config.h"
#include "auth/oidc_verifier.h"
#include "tether/status.h"

namespace tether::server {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
// How log lines are written (docs/operations.md "Logs"): key=value text, or one JSON object per line.
enum class LogFormat { kText, kJson };

struct ListenAddress {
  std::string host = "127.0.0.1";  // IPv6 literals without brackets
  uint16_t port = 8080;            // 0 = any free port
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// A user pool of this server that an identity pool accepts ID tokens of (spec
// cognito-user-pools.md 6.6; Cognito's CognitoIdentityProviders): the Logins key
// `cognito-idp.<region>.amazonaws.com/<userPoolId>` and the app clients whose tokens count.
struct UserPoolProviderConfig {
  std::string providerName;           // cognito-idp.<region>.amazonaws.com/<userPoolId>
  std::vector<std::string> clientIds; // accepted `aud` values; at least one
  bool serverSideTokenCheck = false;  // also refuse tokens of signed-out, disabled or deleted users
  friend bool operator==(const UserPoolProviderConfig&, const UserPoolProviderConfig&) = default;
};

// One identity pool. `id` is required (see docs/config.md: a generated id would change on every
// start unless written back, and would orphan every identity created under the old one).
struct PoolConfig {
  std::string id;             // region:uuid (validatePoolId)
  std::string name;           // 1..128 chars of [\w\s+=,.@-] (Cognito IdentityPoolName)
  bool allowGuests = false;   // unauthenticated identities; off unless asked for
  // The pool's developer provider name (Cognito DeveloperProviderName, 1..128 of [\w._-]),
  // used by the developer-authenticated identity operations; empty = none.
  std::string developerProvider;
  // [[pools.oidc_providers]]: OpenID Connect issuers whose ID tokens log users in
  // (docs/authentication.md). Added to the ones `tetherd pool add-oidc-provider` stores.
  std::vector<OidcProviderConfig> oidcProviders;
  // [[pools.user_pool_providers]]: this server's user pools as login providers.
  std::vector<UserPoolProviderConfig> userPoolProviders;
  // The pool's SyncTrigger function ARN, applied at start as SetCognitoEvents would; it must
  // have a [[sync_triggers]] entry. Empty = leave what SetCognitoEvents stored.
  std::string syncTrigger;
  friend bool operator==(const PoolConfig&, const PoolConfig&) = default;
};

// A long-term developer (admin) credential for the Cognito-compatible HTTP API: requests signed
// with it (SigV4) may call the developer operations and reach every identity.
struct DeveloperCredential {
  std::string accessKeyId;      // 16..128 chars of [A-Z0-9] (AWS-style, e.g. "AKIA...")
  std::string secretAccessKey;  // 16..128 chars
  friend bool operator==(const DeveloperCredential&, const DeveloperCredential&) = default;
};

struct ServerConfig {
  ListenAddress listen;
  std::filesystem::path dataDir = "./tether-data";
  // The store URL (app/open_store.h): `store = "..."` in the file or --store. nullopt: the SQLite
  // store in dataDir. Set together with data_dir in one file is an error.
  std::optional<std::string> store;
  std::optional<std::string> issuer;            // nullopt: effectiveIssuer() derives it
  // Scale-out (docs/scale-out.md): this node's name in logs and cross-node notices (1..48 of
  // [A-Za-z0-9._:-]; empty = the host name), and how often it compares the sync counts its
  // connections follow with the shared database (the catch-up behind lost notices).
  std::string nodeName;
  int catchUpIntervalMs = 5000;
  std::optional<std::filesystem::path> tlsCert; // both set or neither
  std::optional<std::filesystem::path> tlsKey;
  LogLevel logLevel = LogLevel::kInfo;
  LogFormat logFormat = LogFormat::kText;  // server.log_format, --log-format
  std::vector<PoolConfig> pools;
  std::vector<DeveloperCredential> developerCredentials;  // [[developer_credentials]]
  LimitsConfig limits;                                    // [limits]
  std::vector<SyncTriggerConfig> syncTriggers;            // [[sync_triggers]] (config_triggers.h)
  std::vector<PushAppConfig> pushApps;                    // [[push_apps]] (config_push.h)
  StreamsConfig streams;                                  // [outbox], [[streams]] (config_streams.h)
  UserPoolsConfig userPools;                              // [user_pools] (config_user_pools.h)
  ConsoleConfig console;                                  // [console] (config_console.h, issue 17)

  bool tlsEnabled() const { return tlsCert.has_value(); }
  // `store`, else "sqlite:<dataDir>".
  std::string storeUrl() const { return store ? *store : "sqlite:" + dataDir.string(); }
  // The configured issuer, else "http://<host>:<port>" ("https://" with TLS), using
  // `boundPort` (the port actually bound, which differs from listen.port when that is 0).
  std::string effectiveIssuer(uint16_t boundPort) const;
};

// Parses and checks a config file. Paths in the file that are relative are resolved against the
// file's directory (so the file works from any working directory); defaults stay relative to
// the working directory.
// kNotFound if the file does not exist, kIOError if it cannot be read, kInvalidArgument for a
// syntax error, unknown key, wrong type or bad value, with "<file>:<line>:<col>: " in front.
Result<ServerConfig> loadConfig(const std::filesystem::path& file);

// Same rules on text already in memory; `sourceName` prefixes messages, `baseDir` resolves
// relative paths.
Result<ServerConfig> parseConfig(std::string_view toml, std::string_view sourceName,
                                 const std::filesystem::path& baseDir);

// Re-checks a config after command-line overrides: TLS files paired, pool ids valid and unique.
Status validateConfig(const ServerConfig& config);

// "host:port" or "[v6-host]:port" (for --listen and the `listen` key). kInvalidArgument if not.
Result<ListenAddress> parseListenAddress(std::string_view text);
// A Logins key for an OIDC provider: 1..128 characters, no spaces/control characters, not the
// reserved `cognito-identity.amazonaws.com`. kInvalidArgument otherwise.
Status validateOidcProviderName(std::string_view name);
// `cognito-idp.<region>.amazonaws.com/<userPoolId>` (or the .amazonaws.com.cn spelling); returns
// the user pool id. kInvalidArgument otherwise.
Result<std::string> userPoolIdOfProvider(std::string_view providerName);
// A pool's developer provider name: 1..128 of [A-Za-z0-9_.-]. kInvalidArgument otherwise.
Status validateDeveloperProviderName(std::string_view name);

// A node name (server.node_name, --node-name): 1..48 of [A-Za-z0-9._:-].
Status validateNodeName(std::string_view name);
// "trace" | "debug" | "info" | "warn" | "error". kInvalidArgument otherwise.
Result<LogLevel> parseLogLevel(std::string_view text);
std::string_view logLevelName(LogLevel level);
// "text" or "json".
Result<LogFormat> parseLogFormat(std::string_view text);

}  // namespace tether::server
