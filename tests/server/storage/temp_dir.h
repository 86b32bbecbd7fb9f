// TempDir: a fresh directory under $TETHER_TEST_TMP (or /tmp), removed with its contents when
// the object goes away. For tests of the storage and sync layers.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace tether::server::testing {

class TempDir {
 public:
  TempDir() {
    const char* root = std::getenv("TETHER_TEST_TMP");
    std::filesystem::path base = root != nullptr && *root != '\0' ? root : "/tmp";
    std::filesystem::create_directories(base);
    std::string pattern = (base / "ss-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace tether::server::testing
