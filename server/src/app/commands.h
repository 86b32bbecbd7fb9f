// The tetherd subcommands. main.cpp parses the command line and calls one of these.
#pragma once

#include <filesystem>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/config.h"

namespace tether::server {

// `tetherd serve`: runs until SIGINT/SIGTERM; returns the process exit code.
// `idleTimeoutSeconds` 0 = the default (net/tuning.h).
int runServe(const ServerConfig& config, int idleTimeoutSeconds = 0);

// Every command names its store by URL (app/open_store.h): "sqlite:DIR" or "postgresql://...".
struct PoolCreateArgs {
  std::string store;
  std::string name;
  bool allowGuests = false;
  std::string region = "local";
};
// `tetherd pool create`: prints the new pool's ID on stdout.
int runPoolCreate(const PoolCreateArgs& args);
// `tetherd pool list`: one line per pool: ID, guests, name.
int runPoolList(const std::string& store);

// `tetherd pool add-oidc-provider`: stores an OpenID Connect provider for a pool after checking
// it the way the server will (JWKS readable and usable). Exit 0, 1 (store) or 2 (bad input).
struct OidcProviderArgs {
  std::string store;
  std::string poolId;
  std::string name;
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwksFile;  // exactly one of jwksFile / jwks
  std::string jwks;
  int leewaySeconds = 60;
};
int runAddOidcProvider(const OidcProviderArgs& args);
int runRemoveOidcProvider(const std::string& store, const std::string& poolId, const std::string& name);
// `tetherd pool set-developer-provider`: names the pool's developer provider (once; it cannot change).
int runSetDeveloperProvider(const std::string& store, const std::string& poolId, const std::string& name);
// `tetherd user-pool create`: a Cognito user pool (and app clients), printed as
// "UserPoolId\t<id>" and one "ClientId\t<id>\t<name>[\tClientSecret=...]" line per client.
struct UserPoolCreateArgs {
  std::string store;
  std::string name;
  std::string region = "us-east-1";
  std::vector<std::string> clients;  // app client names
  bool generateSecret = false;
  bool passwordAuth = false;     // also allow USER_PASSWORD_AUTH and ADMIN_USER_PASSWORD_AUTH
  bool autoVerifyEmail = true;   // AutoVerifiedAttributes = [email]
  bool emailAsUsername = false;  // UsernameAttributes = [email]
};
int runUserPoolCreate(const UserPoolCreateArgs& args);
// `tetherd user-pool list`: one line per pool (id, name), its clients indented.
int runUserPoolList(const std::string& store);
// `tetherd credentials create`: prints "AccessKeyId: ..." and "SecretAccessKey: ..." once.
int runCredentialsCreate(const std::string& store, const std::string& description);
// `tetherd credentials list`: access key IDs and descriptions, never secrets.
int runCredentialsList(const std::string& store);
int runCredentialsDelete(const std::string& store, const std::string& accessKeyId);
// tetherd keys rotate / list (app/key_commands.cpp).
int runKeysRotate(const std::string& store, int64_t activateInSeconds);
int runKeysList(const std::string& store);

// Console (issue 17): `tetherd admin create-user | list-users | delete-user | set-password`
// (app/admin_commands.cpp). `passwordFile` "" = read the password from stdin.
int runAdminCreateUser(const std::string& store, const std::string& name, const std::string& passwordFile);
int runAdminListUsers(const std::string& store);
int runAdminDeleteUser(const std::string& store, const std::string& name);
int runAdminSetPassword(const std::string& store, const std::string& name, const std::string& passwordFile);

// The SQLite file inside a data directory.
std::filesystem::path databasePath(const std::filesystem::path& dataDir);

}  // namespace tether::server
