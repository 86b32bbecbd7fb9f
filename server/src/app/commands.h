// The tetherd subcommands. main.cpp parses the command line and calls one of these.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "auth/config.h"

namespace tether::server {

// `tetherd serve`: runs until SIGINT/SIGTERM; returns the process exit code.
// `idleTimeoutSeconds` 0 = the default (net/tuning.h).
int runServe(const ServerConfig& config, int idleTimeoutSeconds = 0);

struct PoolCreateArgs {
  std::filesystem::path dataDir;
  std::string name;
  bool allowGuests = false;
  std::string region = "local";
};
// `tetherd pool create`: prints the new pool's ID on stdout.
int runPoolCreate(const PoolCreateArgs& args);
// `tetherd pool list`: one line per pool: ID, guests, name.
int runPoolList(const std::filesystem::path& dataDir);

// `tetherd pool add-oidc-provider`: stores an OpenID Connect provider for a pool after checking
// it the way the server will (JWKS readable and usable). Exit 0, 1 (store) or 2 (bad input).
struct OidcProviderArgs {
  std::filesystem::path dataDir;
  std::string poolId;
  std::string name;
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwksFile;  // exactly one of jwksFile / jwks
  std::string jwks;
  int leewaySeconds = 60;
};
int runAddOidcProvider(const OidcProviderArgs& args);
int runRemoveOidcProvider(const std::filesystem::path& dataDir, const std::string& poolId, const std::string& name);
// `tetherd pool set-developer-provider`: names the pool's developer provider (once; it cannot change).
int runSetDeveloperProvider(const std::filesystem::path& dataDir, const std::string& poolId, const std::string& name);
// `tetherd credentials create`: prints "AccessKeyId: ..." and "SecretAccessKey: ..." once.
int runCredentialsCreate(const std::filesystem::path& dataDir, const std::string& description);
// `tetherd credentials list`: access key IDs and descriptions, never secrets.
int runCredentialsList(const std::filesystem::path& dataDir);
int runCredentialsDelete(const std::filesystem::path& dataDir, const std::string& accessKeyId);

// The SQLite file inside a data directory.
std::filesystem::path databasePath(const std::filesystem::path& dataDir);

}  // namespace tether::server
