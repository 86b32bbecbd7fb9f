// tetherd: the Tether sync server. Command-line parsing only; the commands live in app/.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "app/data_commands.h"
#include "app/import_cognito.h"
#include "app/store_copy.h"
#include "auth/config.h"

using namespace tether::server;

int main(int argc, char** argv) {
  CLI::App app{"tetherd: self-hosted sync server for per-user key-value data "
               "(native WebSocket protocol and the Cognito Sync HTTP API)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tetherd " TETHER_VERSION);

  // serve
  CLI::App* serve = app.add_subcommand("serve", "Run the server until SIGINT/SIGTERM");
  std::string configFile, listen, dataDir, tlsCert, tlsKey, logLevel, logFormat;
  serve->add_option("--config", configFile, "TOML config file (see docs/config.md)")->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "host:port to listen on (default 127.0.0.1:8080; port 0 = any)");
  serve->add_option("--data-dir", dataDir, "Directory for the database and keys (default ./tether-data); same as --store sqlite:DIR");
  std::string serveStore;
  serve->add_option("--store", serveStore,
                    "Store URL: sqlite:DIR (default sqlite:./tether-data) or postgresql://user@host:port/db "
                    "(docs/config.md)");
  serve->add_option("--tls-cert", tlsCert, "PEM certificate: serve wss:// and https://")->check(CLI::ExistingFile);
  serve->add_option("--tls-key", tlsKey, "PEM private key for --tls-cert")->check(CLI::ExistingFile);
  serve->add_option("--log-level", logLevel, "trace|debug|info|warn|error (default info)");
  serve->add_option("--log-format", logFormat, "text|json: key=value lines or one JSON object per line (default text)");
  std::string nodeName, issuer;
  serve->add_option("--node-name", nodeName,
                    "This node's name when several share a PostgreSQL store (default: the host name)");
  serve->add_option("--issuer", issuer,
                    "Issuer URL of the OpenID tokens tetherd signs: the deployment's public URL, the "
                    "same on every node (default http(s)://LISTEN-ADDRESS)");
  std::string adminListen;  // console (issue 17)
  serve->add_option("--admin-listen", adminListen,
                    "host:port of a second listener that serves only the web console (/console); "
                    "the main port then answers 404 there (docs/console.md)");
  int idleTimeout = 0;
  serve->add_option("--idle-timeout", idleTimeout,
                    "Seconds without traffic before a WebSocket is dropped; a ping goes out at "
                    "40% of it (default 75)")->check(CLI::Range(2, 3600));

  // Administration commands take --data-dir DIR or --store URL (one of them).
  std::string createDir, listDir, oidcDir, authDir, adminStore;
  auto addStoreOptions = [](CLI::App* cmd, std::string& dir, std::string& store) {
    CLI::Option* d = cmd->add_option("--data-dir", dir, "Data directory (default ./tether-data)");
    CLI::Option* s = cmd->add_option("--store", store, "Store URL instead of --data-dir (sqlite:DIR or postgresql://...)");
    d->excludes(s);
  };

  // pool create / list
  CLI::App* poolCmd = app.add_subcommand("pool", "Manage identity pools");
  poolCmd->require_subcommand(1);
  CLI::App* poolCreate = poolCmd->add_subcommand("create", "Create an identity pool and print its ID");
  PoolCreateArgs createArgs;
  poolCreate->add_option("--name", createArgs.name, "Pool name (1-128 characters)")->required();
  poolCreate->add_flag("--allow-guests", createArgs.allowGuests, "Allow unauthenticated (guest) identities");
  poolCreate->add_option("--region", createArgs.region, "Region part of the pool ID (default local)");
  addStoreOptions(poolCreate, createDir, adminStore);
  CLI::App* poolList = poolCmd->add_subcommand("list", "List identity pools");
  addStoreOptions(poolList, listDir, adminStore);

  // pool add-oidc-provider / remove-oidc-provider / set-developer-provider (docs/authentication.md)
  OidcProviderArgs oidcArgs;
  CLI::App* addOidc = poolCmd->add_subcommand("add-oidc-provider", "Accept logins from an OpenID Connect issuer");
  addOidc->add_option("--pool", oidcArgs.poolId, "Pool ID")->required();
  addOidc->add_option("--name", oidcArgs.name, "Logins key apps send, e.g. accounts.google.com")->required();
  addOidc->add_option("--issuer", oidcArgs.issuer, "Exact iss of the tokens, e.g. https://accounts.google.com")->required();
  addOidc->add_option("--audience", oidcArgs.audiences, "Accepted aud (client ID); repeat for several")->required();
  addOidc->add_option("--jwks-file", oidcArgs.jwksFile, "JWKS file with the issuer's keys (re-read when it changes)");
  addOidc->add_option("--jwks", oidcArgs.jwks, "The issuer's JWKS as inline JSON");
  addOidc->add_option("--leeway", oidcArgs.leewaySeconds, "Clock skew allowed on exp/nbf/iat, seconds (default 60)")
      ->check(CLI::Range(0, 600));
  addStoreOptions(addOidc, oidcDir, adminStore);
  std::string authPool, authName;
  CLI::App* removeOidc = poolCmd->add_subcommand("remove-oidc-provider", "Stop accepting an OIDC provider's logins");
  removeOidc->add_option("--pool", authPool, "Pool ID")->required();
  removeOidc->add_option("--name", authName, "Provider name")->required();
  addStoreOptions(removeOidc, authDir, adminStore);
  CLI::App* setDev = poolCmd->add_subcommand("set-developer-provider",
                                             "Name the pool's developer provider (cannot be changed later)");
  setDev->add_option("--pool", authPool, "Pool ID")->required();
  setDev->add_option("--name", authName, "Developer provider name, e.g. login.mycompany.myapp")->required();
  addStoreOptions(setDev, authDir, adminStore);

  // credentials create / list / delete
  CLI::App* credsCmd = app.add_subcommand("credentials", "Manage developer credentials (SigV4 / native developer requests)");
  credsCmd->require_subcommand(1);
  std::string credDescription, credKeyId;
  CLI::App* credsCreate = credsCmd->add_subcommand("create", "Create a credential and print its key pair once");
  credsCreate->add_option("--description", credDescription, "What it is for (shown by list)");
  addStoreOptions(credsCreate, authDir, adminStore);
  CLI::App* credsList = credsCmd->add_subcommand("list", "List credentials (access key IDs only)");
  addStoreOptions(credsList, authDir, adminStore);
  CLI::App* credsDelete = credsCmd->add_subcommand("delete", "Delete a credential");
  credsDelete->add_option("--access-key-id", credKeyId, "Access key ID")->required();
  addStoreOptions(credsDelete, authDir, adminStore);

  // keys rotate / list (docs/authentication.md: rotating the signing key)
  CLI::App* keysCmd = app.add_subcommand("keys", "Manage the token signing keys");
  keysCmd->require_subcommand(1);
  CLI::App* keysRotate = keysCmd->add_subcommand(
      "rotate", "Add a new signing key: published in the JWKS at once, signing after --activate-in");
  int64_t activateIn = 3600;
  keysRotate->add_option("--activate-in", activateIn,
                         "Seconds until the new key signs (default 3600, so verifiers that cache the JWKS "
                         "learn it first; 0 after a key leak)");
  std::string keysDir;
  addStoreOptions(keysRotate, keysDir, adminStore);
  CLI::App* keysList = keysCmd->add_subcommand("list", "List the signing keys and their state");
  addStoreOptions(keysList, keysDir, adminStore);

  // user-pool create / list (docs/user-pools.md)
  CLI::App* upCmd = app.add_subcommand("user-pool", "Manage Cognito user pools");
  upCmd->require_subcommand(1);
  CLI::App* upCreate = upCmd->add_subcommand("create", "Create a user pool (and app clients) and print their IDs");
  UserPoolCreateArgs upArgs;
  std::string upDir, upListDir;
  upCreate->add_option("--name", upArgs.name, "Pool name (1-128 of [\\w\\s+=,.@-])")->required();
  upCreate->add_option("--region", upArgs.region, "Region part of the pool ID (default us-east-1)");
  upCreate->add_option("--client", upArgs.clients, "Also create an app client of this name (repeatable)");
  upCreate->add_flag("--generate-secret", upArgs.generateSecret, "Give the app clients a client secret");
  upCreate->add_flag("--password-auth", upArgs.passwordAuth,
                     "Let the app clients use USER_PASSWORD_AUTH and ADMIN_USER_PASSWORD_AUTH besides SRP");
  upCreate->add_flag("--email-as-username", upArgs.emailAsUsername, "Users sign in with their email");
  addStoreOptions(upCreate, upDir, adminStore);
  CLI::App* upList = upCmd->add_subcommand("list", "List user pools and their app clients");
  addStoreOptions(upList, upListDir, adminStore);

  // store copy (docs/scale-out.md: moving off SQLite)
  CLI::App* storeCmd = app.add_subcommand("store", "Move a deployment between stores");
  storeCmd->require_subcommand(1);
  CLI::App* storeCopy = storeCmd->add_subcommand(
      "copy", "Copy everything (data, identities, keys, credentials) into an empty store, then verify both");
  std::string copyFrom, copyTo;
  storeCopy->add_option("--from", copyFrom, "Source store URL, e.g. sqlite:./tether-data (stop its tetherd first)")
      ->required();
  storeCopy->add_option("--to", copyTo, "Empty target store URL, e.g. postgresql://tether@db/tether")->required();
  std::string copyKeyDir;
  storeCopy->add_option("--key-dir", copyKeyDir,
                        "Where the user-pool at-rest keys go: the target's [user_pools] key_dir (default: the target store)");

  // backup / restore / export / import / identity delete (docs/backup.md, docs/export-format.md)
  std::string dataDirArg, dataFile;
  bool restoreForce = false;
  CLI::App* backupCmd = app.add_subcommand("backup", "Take a consistent copy of a SQLite store (with its keys) while it serves");
  backupCmd->add_option("--to", dataFile, "Backup file to write (must not exist)")->required();
  addStoreOptions(backupCmd, dataDirArg, adminStore);
  CLI::App* restoreCmd = app.add_subcommand("restore", "Restore a backup file into a new data directory");
  restoreCmd->add_option("--from", dataFile, "Backup file written by tetherd backup")->required();
  restoreCmd->add_option("--data-dir", dataDirArg, "New data directory to create")->required();
  restoreCmd->add_flag("--force", restoreForce, "Restore into a non-empty directory that holds no database or keys");
  ExportArgs exportArgs;
  CLI::App* exportCmd = app.add_subcommand("export", "Write identities and their data as JSON Lines (docs/export-format.md)");
  exportCmd->add_option("--pool", exportArgs.poolId, "Only this identity pool");
  exportCmd->add_option("--identity", exportArgs.identityId, "Only this identity (a user's data-access request)");
  exportCmd->add_option("--out", exportArgs.outFile, "File to write (default: stdout)");
  exportCmd->add_flag("--with-credentials", exportArgs.withCredentials,
                      "Include developer credentials (secrets; whole-server exports only)");
  addStoreOptions(exportCmd, dataDirArg, adminStore);
  CLI::App* importCmd = app.add_subcommand("import", "Read a tetherd export into an empty or non-overlapping store");
  importCmd->add_option("--in", dataFile, "Export file")->required();
  addStoreOptions(importCmd, dataDirArg, adminStore);
  CLI::App* identityCmd = app.add_subcommand("identity", "Identity administration");
  identityCmd->require_subcommand(1);
  std::string identityArg;
  CLI::App* identityDelete = identityCmd->add_subcommand("delete", "Remove every trace of an identity");
  identityDelete->add_option("--identity", identityArg, "Identity ID")->required();
  addStoreOptions(identityDelete, dataDirArg, adminStore);
  CLI::App* identityExport = identityCmd->add_subcommand("export", "Same as tetherd export --identity ID");
  identityExport->add_option("--identity", exportArgs.identityId, "Identity ID")->required();
  identityExport->add_option("--out", exportArgs.outFile, "File to write (default: stdout)");
  addStoreOptions(identityExport, dataDirArg, adminStore);
  // import-cognito (docs/migrating-from-cognito.md)
  CLI::App* importCognito = app.add_subcommand(
      "import-cognito", "Import a live Amazon Cognito identity pool and its Cognito Sync data through AWS's APIs");
  ImportCognitoArgs icArgs;
  std::string icDir;
  importCognito->add_option("--region", icArgs.region, "AWS region of the source pool, e.g. eu-west-1")->required();
  importCognito->add_option("--identity-pool", icArgs.sourcePool, "Source identity pool ID (region:uuid)")->required();
  importCognito->add_option("--target-pool", icArgs.targetPool, "Target pool ID (default: the source's ID)");
  importCognito->add_option("--endpoint", icArgs.endpoint,
                            "http(s)://host[:port] serving both Cognito Identity and Cognito Sync instead of AWS's "
                            "endpoints of the region");
  importCognito->add_option("--ca-file", icArgs.caFile, "PEM CA bundle to trust for --endpoint")->check(CLI::ExistingFile);
  importCognito->add_option("--checkpoint", icArgs.checkpoint,
                            "Checkpoint file: makes the import resumable (rerun with the same file to continue)");
  importCognito->add_option("--parallel", icArgs.parallel, "Identities read at a time (default 4)")->check(CLI::Range(1, 64));
  importCognito->add_option("--max-attempts", icArgs.maxAttempts,
                            "Attempts per AWS request on throttling, 5xx or connection errors (default 8)")
      ->check(CLI::Range(1, 100));
  importCognito->add_option("--progress-interval", icArgs.progressSeconds,
                            "Seconds between progress lines when stderr is not a terminal (default 10)")
      ->check(CLI::Range(1, 3600));
  addStoreOptions(importCognito, icDir, adminStore);

  // admin create-user / list-users / delete-user / set-password: console operators (issue 17)
  CLI::App* adminCmd = app.add_subcommand("admin", "Manage the console's operator accounts (docs/console.md)");
  adminCmd->require_subcommand(1);
  std::string adminDir, adminName, adminPasswordFile;
  CLI::App* adminCreate = adminCmd->add_subcommand("create-user", "Create an operator (password from --password-file or stdin)");
  adminCreate->add_option("NAME", adminName, "Operator name")->required();
  adminCreate->add_option("--password-file", adminPasswordFile, "File whose first line is the password (at least 12 characters)");
  addStoreOptions(adminCreate, adminDir, adminStore);
  CLI::App* adminList = adminCmd->add_subcommand("list-users", "List operators: name, created, last sign-in (epoch ms)");
  addStoreOptions(adminList, adminDir, adminStore);
  CLI::App* adminDelete = adminCmd->add_subcommand("delete-user", "Delete an operator and end its sessions");
  adminDelete->add_option("NAME", adminName, "Operator name")->required();
  addStoreOptions(adminDelete, adminDir, adminStore);
  CLI::App* adminPassword = adminCmd->add_subcommand("set-password", "Change an operator's password and end its sessions");
  adminPassword->add_option("NAME", adminName, "Operator name")->required();
  adminPassword->add_option("--password-file", adminPasswordFile, "File whose first line is the password");
  addStoreOptions(adminPassword, adminDir, adminStore);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto storeUrl = [&adminStore](const std::string& dir) {
    if (!adminStore.empty()) return adminStore;
    return "sqlite:" + (dir.empty() ? std::string("./tether-data") : dir);
  };
  if (*adminCreate) return runAdminCreateUser(storeUrl(adminDir), adminName, adminPasswordFile);  // issue 17
  if (*adminList) return runAdminListUsers(storeUrl(adminDir));
  if (*adminDelete) return runAdminDeleteUser(storeUrl(adminDir), adminName);
  if (*adminPassword) return runAdminSetPassword(storeUrl(adminDir), adminName, adminPasswordFile);
  if (*poolCreate) {
    createArgs.store = storeUrl(createDir);
    return runPoolCreate(createArgs);
  }
  if (*poolList) return runPoolList(storeUrl(listDir));
  if (*upCreate) {
    upArgs.store = storeUrl(upDir);
    return runUserPoolCreate(upArgs);
  }
  if (*upList) return runUserPoolList(storeUrl(upListDir));
  if (*addOidc) {
    oidcArgs.store = storeUrl(oidcDir);
    return runAddOidcProvider(oidcArgs);
  }
  if (*removeOidc) return runRemoveOidcProvider(storeUrl(authDir), authPool, authName);
  if (*setDev) return runSetDeveloperProvider(storeUrl(authDir), authPool, authName);
  if (*credsCreate) return runCredentialsCreate(storeUrl(authDir), credDescription);
  if (*credsList) return runCredentialsList(storeUrl(authDir));
  if (*credsDelete) return runCredentialsDelete(storeUrl(authDir), credKeyId);
  if (*storeCopy) return runStoreCopy(copyFrom, copyTo, copyKeyDir);
  if (*backupCmd) return runBackup(storeUrl(dataDirArg), dataFile);
  if (*restoreCmd) return runRestore(dataFile, dataDirArg, restoreForce);
  if (*exportCmd || *identityExport) {
    exportArgs.store = storeUrl(dataDirArg);
    return runExport(exportArgs);
  }
  if (*importCmd) return runImport(storeUrl(dataDirArg), dataFile);
  if (*identityDelete) return runIdentityDelete(storeUrl(dataDirArg), identityArg);
  if (*importCognito) {
    icArgs.store = storeUrl(icDir);
    return runImportCognito(icArgs);
  }
  if (*keysRotate) return runKeysRotate(storeUrl(keysDir), activateIn);
  if (*keysList) return runKeysList(storeUrl(keysDir));

  ServerConfig config;
  if (!configFile.empty()) {
    tether::Result<ServerConfig> loaded = loadConfig(configFile);
    if (!loaded.isOk()) {
      std::cerr << "tetherd: " << loaded.status().message() << "\n";
      return 2;
    }
    config = std::move(loaded).value();
  }
  if (!listen.empty()) {
    auto addr = parseListenAddress(listen);
    if (!addr.isOk()) {
      std::cerr << "tetherd: --listen: " << addr.status().message() << "\n";
      return 2;
    }
    config.listen = *addr;
  }
  if (!adminListen.empty()) {  // console (issue 17)
    if (auto addr = parseListenAddress(adminListen); !addr.isOk()) {
      std::cerr << "tetherd: --admin-listen: " << addr.status().message() << "\n";
      return 2;
    }
    config.console.adminListen = adminListen;
  }
  if (!dataDir.empty() && !serveStore.empty()) {
    std::cerr << "tetherd: give --data-dir or --store, not both\n";
    return 2;
  }
  if (!dataDir.empty()) {
    config.dataDir = dataDir;
    config.store.reset();
  }
  if (!serveStore.empty()) config.store = serveStore;
  if (!nodeName.empty()) config.nodeName = nodeName;
  if (!issuer.empty()) {
    if (!issuer.starts_with("http://") && !issuer.starts_with("https://")) {
      std::cerr << "tetherd: --issuer must be an http:// or https:// URL\n";
      return 2;
    }
    config.issuer = issuer;
  }
  if (!tlsCert.empty()) config.tlsCert = tlsCert;
  if (!tlsKey.empty()) config.tlsKey = tlsKey;
  if (!logLevel.empty()) {
    auto level = parseLogLevel(logLevel);
    if (!level.isOk()) {
      std::cerr << "tetherd: --log-level: " << level.status().message() << "\n";
      return 2;
    }
    config.logLevel = *level;
  }
  if (!logFormat.empty()) {
    auto format = parseLogFormat(logFormat);
    if (!format.isOk()) {
      std::cerr << "tetherd: --log-format: " << format.status().message() << "\n";
      return 2;
    }
    config.logFormat = *format;
  }
  if (tether::Status s = validateConfig(config); !s.isOk()) {
    std::cerr << "tetherd: " << s.message() << "\n";
    return 2;
  }
  return runServe(config, idleTimeout);
}
