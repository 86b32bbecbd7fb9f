#include "haproxy_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "tetherd_process.h"

namespace tether::testing {
namespace {

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string HaproxyProcess::binary() {
  const char* env = std::getenv("HAPROXY_BIN");
  std::string bin = env != nullptr && *env != '\0' ? env : "/usr/sbin/haproxy";
  return ::access(bin.c_str(), X_OK) == 0 ? bin : std::string();
}

std::unique_ptr<HaproxyProcess> HaproxyProcess::start(const std::filesystem::path& configFile,
                                                      const std::vector<std::string>& nodes) {
  std::string bin = binary();
  if (bin.empty()) {
    std::cerr << "HaproxyProcess: haproxy is not installed (apt-get install haproxy)\n";
    return nullptr;
  }
  auto p = std::unique_ptr<HaproxyProcess>(new HaproxyProcess());
  p->port_ = freeLoopbackPort();
  p->logFile_ = makeTempDir("haproxy") / "haproxy.log";
  std::string bind = "127.0.0.1:" + std::to_string(p->port_);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(p->logFile_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::setenv("TETHER_LB_BIND", bind.c_str(), 1);
    for (size_t i = 0; i < nodes.size(); ++i)
      ::setenv(("TETHER_NODE" + std::to_string(i + 1)).c_str(), nodes[i].c_str(), 1);
    // -db: stay in the foreground (no daemon), so the PID we hold is HAProxy's own.
    ::execl(bin.c_str(), bin.c_str(), "-db", "-f", configFile.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  p->pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      p->pid_ = -1;
      std::cerr << "HaproxyProcess: haproxy exited at start (log: " << p->logFile_ << ")\n";
      return nullptr;
    }
    if (accepts(p->port_)) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cerr << "HaproxyProcess: no listener on " << bind << " after 10 s (log: " << p->logFile_ << ")\n";
  return nullptr;
}

HaproxyProcess::~HaproxyProcess() {
  std::error_code ec;
  if (!logFile_.empty()) std::filesystem::remove_all(logFile_.parent_path(), ec);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
}

}  // namespace tether::testing
