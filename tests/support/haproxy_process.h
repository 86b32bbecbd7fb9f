// HaproxyProcess: runs Debian's HAProxy for a multi-node test with the deployment's own config
// file (docs/scale-out/haproxy.cfg), listening on 127.0.0.1 and a free port, in front of the
// given node addresses, and stops it by PID. The config reads its addresses from
// TETHER_LB_BIND and TETHER_NODE1..N.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tether::testing {

class HaproxyProcess {
 public:
  // nullptr (with the reason on stderr) if haproxy is missing, rejects the config, or does not
  // accept connections within 10 s. `nodes`: "127.0.0.1:PORT" of each tetherd.
  static std::unique_ptr<HaproxyProcess> start(const std::filesystem::path& configFile,
                                               const std::vector<std::string>& nodes);
  ~HaproxyProcess();  // stops it

  int port() const { return port_; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
  std::string httpUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  // The haproxy binary ($HAPROXY_BIN, else /usr/sbin/haproxy); empty if not installed.
  static std::string binary();

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path logFile_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int freeLoopbackPort();

}  // namespace tether::testing
