// cmake_consumer: a C++ app built against the installed libtether (tether/client.h from the
// prefix, found with find_package(tether)).
// Usage: cmake_consumer CACHE_FILE
// Opens a local cache (no server needed), puts a record, reads it back, checks a bad key is
// refused with kInvalidArgument and that Status formats through the library. Exit 0 when all
// of that holds, 1 otherwise (the reason on stderr).
#include <iostream>
#include <memory>

#include <tether/client.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CACHE_FILE\n";
    return 2;
  }
  tether::ClientOptions options;
  options.cachePath = argv[1];
  options.serverUrl = "ws://127.0.0.1:9";   // nothing answers: local calls never wait for it
  options.identityPoolId = "local:6f1c2a0e-1111-4222-8333-444455556666";

  tether::Result<std::unique_ptr<tether::Client>> client = tether::Client::open(options);
  if (!client.isOk()) {
    std::cerr << "cmake_consumer: open: " << client.status() << "\n";
    return 1;
  }
  auto dataset = (*client)->openOrCreateDataset("prefs");
  if (!dataset.isOk()) {
    std::cerr << "cmake_consumer: openOrCreateDataset: " << dataset.status() << "\n";
    return 1;
  }
  if (tether::Status s = (*dataset)->put("theme", "dark"); !s.isOk()) {
    std::cerr << "cmake_consumer: put: " << s << "\n";
    return 1;
  }
  auto value = (*dataset)->get("theme");
  if (!value.isOk() || !value->has_value() || **value != "dark") {
    std::cerr << "cmake_consumer: get did not return the value put\n";
    return 1;
  }
  std::cout << "theme=" << **value << "\n";
  tether::Status bad = (*dataset)->put("", "x");
  if (bad.code() != tether::StatusCode::kInvalidArgument || bad.toString().empty()) {
    std::cerr << "cmake_consumer: an empty key was not refused: " << bad << "\n";
    return 1;
  }
  return 0;
}
