// tetherd: the Tether sync server. Command-line parsing only; the commands live in app/.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "auth/config.h"

using namespace tether::server;

int main(int argc, char** argv) {
  CLI::App app{"tetherd: self-hosted sync server for per-user key-value data "
               "(native WebSocket protocol and the Cognito Sync HTTP API)"};
  app.require_subcommand(1);

  // serve
  CLI::App* serve = app.add_subcommand("serve", "Run the server until SIGINT/SIGTERM");
  std::string configFile, listen, dataDir, tlsCert, tlsKey, logLevel;
  serve->add_option("--config", configFile, "TOML config file (see docs/config.md)")->check(CLI::ExistingFile);
  serve->add_option("--listen", listen, "host:port to listen on (default 127.0.0.1:8080; port 0 = any)");
  serve->add_option("--data-dir", dataDir, "Directory for the database and keys (default ./tether-data)");
  serve->add_option("--tls-cert", tlsCert, "PEM certificate: serve wss:// and https://")->check(CLI::ExistingFile);
  serve->add_option("--tls-key", tlsKey, "PEM private key for --tls-cert")->check(CLI::ExistingFile);
  serve->add_option("--log-level", logLevel, "trace|debug|info|warn|error (default info)");
  int idleTimeout = 0;
  serve->add_option("--idle-timeout", idleTimeout,
                    "Seconds without traffic before a WebSocket is dropped; a ping goes out at "
                    "40% of it (default 75)")->check(CLI::Range(2, 3600));

  // pool create / list
  CLI::App* poolCmd = app.add_subcommand("pool", "Manage identity pools");
  poolCmd->require_subcommand(1);
  CLI::App* poolCreate = poolCmd->add_subcommand("create", "Create an identity pool and print its ID");
  PoolCreateArgs createArgs;
  createArgs.dataDir = "./tether-data";
  poolCreate->add_option("--name", createArgs.name, "Pool name (1-128 characters)")->required();
  poolCreate->add_flag("--allow-guests", createArgs.allowGuests, "Allow unauthenticated (guest) identities");
  poolCreate->add_option("--region", createArgs.region, "Region part of the pool ID (default local)");
  poolCreate->add_option("--data-dir", createArgs.dataDir, "Data directory (default ./tether-data)");
  CLI::App* poolList = poolCmd->add_subcommand("list", "List identity pools");
  std::filesystem::path listDir = "./tether-data";
  poolList->add_option("--data-dir", listDir, "Data directory (default ./tether-data)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*poolCreate) return runPoolCreate(createArgs);
  if (*poolList) return runPoolList(listDir);

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
  if (!dataDir.empty()) config.dataDir = dataDir;
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
  if (tether::Status s = validateConfig(config); !s.isOk()) {
    std::cerr << "tetherd: " << s.message() << "\n";
    return 2;
  }
  return runServe(config, idleTimeout);
}
