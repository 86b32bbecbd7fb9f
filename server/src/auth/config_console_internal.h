// The [console] parser, for config.cpp only (it brings toml++ with it).
#pragma once

#include <string_view>

#include <toml++/toml.h>

#include "auth/config_console.h"
#include "tether/status.h"

namespace tether::server {

// kInvalidArgument ("<source>:<line>:<col>: ...") for a non-table, an unknown key, a wrong type
// or a value out of range.
Status parseConsoleConfig(const toml::node& node, std::string_view sourceName, ConsoleConfig& out);

}  // namespace tether::server
