// The parser of config_streams.h, for config.cpp (toml++ types in its signature).
#pragma once

#include <filesystem>
#include <string_view>

#include <toml++/toml.h>

#include "auth/config_streams.h"

namespace tether::server {

// True for the top-level keys config_streams.cpp parses ("streams", "outbox").
bool isStreamsConfigKey(std::string_view key);
// Parses one of those keys into `out`. Messages start with "<source>:<line>:<col>: ".
Status parseStreamsConfig(std::string_view source, std::string_view key, const toml::node& node,
                          const std::filesystem::path& baseDir, StreamsConfig& out);

}  // namespace tether::server
