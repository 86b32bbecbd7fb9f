// The [[push_apps]] parser, for config.cpp only (it brings toml++ with it; config_push.h does not).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "auth/config_push.h"

namespace tether::server {

// Parses the [[push_apps]] array into `out`. `sourceName` prefixes messages
// ("<file>:<line>:<col>: "), relative paths resolve against `baseDir`. kInvalidArgument for a
// value that is not an array of tables, an unknown key, a wrong type, a missing required key, a
// key of the other provider, an unsupported platform (ADM) or a duplicate ARN.
Status parsePushApps(const toml::node& apps, std::string_view sourceName, const std::filesystem::path& baseDir,
                     std::vector<PushAppConfig>& out);

}  // namespace tether::server
