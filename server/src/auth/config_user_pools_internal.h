// The [user_pools] parser, for config.cpp only (it brings toml++ with it).
#pragma once

#include <filesystem>
#include <string_view>

#include <toml++/toml.h>

#include "auth/config_user_pools.h"
#include "tether/status.h"

namespace tether::server {

// kInvalidArgument ("<source>:<line>:<col>: ...") for a non-table, an unknown key, a wrong type
// or a bad value (region pattern, URL scheme, function ARN).
Status parseUserPoolsConfig(const toml::node& node, std::string_view sourceName, const std::filesystem::path& baseDir,
                            UserPoolsConfig& out);

}  // namespace tether::server
