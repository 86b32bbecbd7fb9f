// The tetherd subcommands. main.cpp parses the command line and calls one of these.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

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

// The SQLite file inside a data directory.
std::filesystem::path databasePath(const std::filesystem::path& dataDir);

}  // namespace tether::server
