// TetherdProcess: starts the real tetherd binary for a test, on 127.0.0.1 and a free port, with
// its own data directory, and stops it by PID. The binary comes from $TETHERD_BIN (set by
// tests/meson.build). Used by the integration suites of the server and the client library.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tether::testing {

// A fresh directory under $TETHER_TEST_TMP (or /tmp), unique per call.
std::filesystem::path makeTempDir(const std::string& prefix);

// A self-signed certificate for "localhost" and 127.0.0.1 made with the openssl CLI.
struct TestCert {
  std::filesystem::path certFile;  // also the CA file clients should trust
  std::filesystem::path keyFile;
};
TestCert makeTestCert(const std::filesystem::path& dir);

struct TetherdOptions {
  std::filesystem::path dataDir;   // empty = a new temp dir (also holds the log)
  // A store URL for --store (e.g. a PostgreSQL test schema's postgresql:// URL); empty = the
  // SQLite store in dataDir.
  std::string store;
  bool tls = false;                // serve wss:// with a certificate made for the test
  bool createPool = true;          // create a pool that allows guests before starting
  std::vector<std::string> extraArgs;
  std::string logLevel = "debug";  // --log-level
};

class TetherdProcess {
 public:
  // nullptr (with the reason on stderr) if it did not come up within 15 s.
  static std::unique_ptr<TetherdProcess> start(const TetherdOptions& options = {});
  ~TetherdProcess();

  std::string url() const;           // ws://127.0.0.1:PORT or wss://localhost:PORT
  std::string httpUrl() const;       // http(s)://127.0.0.1:PORT
  int port() const { return port_; }
  const std::string& poolId() const { return poolId_; }
  std::string caFile() const { return cert_.certFile.string(); }
  const std::filesystem::path& dataDir() const { return dataDir_; }
  std::filesystem::path logFile() const { return dataDir_.parent_path() / (dataDir_.filename().string() + ".log"); }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  void kill9();                      // SIGKILL, then reap
  int stop();                        // SIGTERM, wait up to 10 s (then SIGKILL); exit status
  bool restart();                    // start again on the same port and data directory

  // Runs `tetherd <args>` to completion; returns its exit code and stdout.
  static int runTool(const std::vector<std::string>& args, std::string* out, std::string* err = nullptr);
  static std::string binary();

 private:
  bool launch();

  TetherdOptions options_;
  std::filesystem::path dataDir_;
  bool ownsDataDir_ = false;  // made by start(): removed by the destructor
  TestCert cert_;
  std::string poolId_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tether::testing
