// TempDir: a fresh directory under $TETHER_TEST_TMP (set by tests/meson.build), removed at the
// end of the test. Test-only; one per test, not shared between threads.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

namespace tether::server::testing {

class TempDir {
 public:
  TempDir() {
    const char* root = std::getenv("TETHER_TEST_TMP");
    std::filesystem::path base = root != nullptr ? root : std::filesystem::temp_directory_path();
    std::filesystem::create_directories(base);
    std::string tmpl = (base / "auth.XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char* made = ::mkdtemp(buf.data());
    if (made == nullptr) ADD_FAILURE() << "mkdtemp failed under " << base;
    path_ = made != nullptr ? made : tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tether::server::testing
