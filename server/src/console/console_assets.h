// The console's page, built into tetherd: every file listed in server/console/meson.build,
// turned into this table at build time by scripts/embed-console-assets.py (no files on disk
// at run time, no CDN). Thread-safety: immutable after static initialization.
#pragma once

#include <string_view>
#include <vector>

namespace tether::server::console {

struct Asset {
  std::string_view name;         // the file's base name: /console/assets/<name>
  std::string_view contentType;
  std::string_view bytes;
};

extern const std::vector<Asset> kAssets;

// The asset named `name`, or null.
inline const Asset* findAsset(std::string_view name) {
  for (const Asset& a : kAssets)
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace tether::server::console
