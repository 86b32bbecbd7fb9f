// Process-wide helpers of the fuzz targets: temporary directories for the real stores and key
// files the targets drive. Under $TETHER_FUZZ_TMP, else $TETHER_TEST_TMP (set by meson test),
// else /dev/shm (a tmpfs: SQLite's fsyncs cost nothing there, which matters at millions of
// executions), else /tmp. Removed at exit.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace tether::fuzz {

// Never destroyed: the atexit handler below runs after static destructors registered later.
inline std::vector<std::filesystem::path>& tempDirsToRemove() {
  static auto* dirs = new std::vector<std::filesystem::path>();
  return *dirs;
}

inline void removeTempDirs() {
  std::error_code ec;
  for (const auto& d : tempDirsToRemove()) std::filesystem::remove_all(d, ec);
  tempDirsToRemove().clear();
}

inline std::filesystem::path makeTempDir(const std::string& tag) {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(removeTempDirs); });
  std::filesystem::path base;
  if (const char* e = std::getenv("TETHER_FUZZ_TMP")) base = e;
  else if (const char* t = std::getenv("TETHER_TEST_TMP")) base = t;
  else if (std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
  else base = std::filesystem::temp_directory_path();
  std::filesystem::create_directories(base);
  std::string tmpl = (base / ("tether-fuzz-" + tag + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  tempDirsToRemove().push_back(tmpl);
  return tmpl;
}

// Removes one directory made by makeTempDir now (a target that renews its world).
inline void removeTempDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  auto& dirs = tempDirsToRemove();
  for (auto it = dirs.begin(); it != dirs.end(); ++it)
    if (*it == dir) {
      dirs.erase(it);
      break;
    }
}

}  // namespace tether::fuzz
