// The [[sync_triggers]] parser, for config.cpp only (it needs toml++, which the rest of the
// server does not include). See config_triggers.h.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "auth/config_triggers.h"

namespace tether::server {

// Appends every entry of the [[sync_triggers]] array to `out`. Errors name "<source>:<line>:<col>"
// like the rest of config.cpp; an unknown key, a wrong type, a duplicate function or an invalid
// entry is kInvalidArgument.
Status parseSyncTriggers(const toml::array& entries, std::string_view source,
                         const std::filesystem::path& baseDir, std::vector<SyncTriggerConfig>& out);

}  // namespace tether::server
