#include "tetherd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tether::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string readAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Waits for `pid` up to `ms`; returns true and the status if it exited.
bool waitFor(pid_t pid, int ms, int* status) {
  auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < deadline) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0) return true;
    ::usleep(5000);
  }
  return false;
}

}  // namespace

std::filesystem::path makeTempDir(const std::string& prefix) {
  const char* root = std::getenv("TETHER_TEST_TMP");
  std::filesystem::path base = root ? root : "/tmp";
  std::filesystem::create_directories(base);
  std::string tmpl = (base / (prefix + ".XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  return tmpl;
}

TestCert makeTestCert(const std::filesystem::path& dir) {
  TestCert c{dir / "cert.pem", dir / "key.pem"};
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 "
                    "-keyout '" + c.keyFile.string() + "' -out '" + c.certFile.string() + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) std::cerr << "makeTestCert: openssl failed\n";
  return c;
}

std::string TetherdProcess::binary() {
  const char* bin = std::getenv("TETHERD_BIN");
  return bin ? bin : "tetherd";
}

int TetherdProcess::runTool(const std::vector<std::string>& args, std::string* out, std::string* err) {
  int outPipe[2], errPipe[2];
  if (::pipe(outPipe) != 0 || ::pipe(errPipe) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(outPipe[1], 1);
    ::dup2(errPipe[1], 2);
    ::close(outPipe[0]); ::close(outPipe[1]); ::close(errPipe[0]); ::close(errPipe[1]);
    std::vector<char*> argv;
    std::string bin = binary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    _exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  std::string o = readAll(outPipe[0]);
  std::string e = readAll(errPipe[0]);
  ::close(outPipe[0]);
  ::close(errPipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out) *out = o;
  if (err) *err = e;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::unique_ptr<TetherdProcess> TetherdProcess::start(const TetherdOptions& options) {
  auto p = std::unique_ptr<TetherdProcess>(new TetherdProcess());
  p->options_ = options;
  p->ownsDataDir_ = options.dataDir.empty();
  p->dataDir_ = p->ownsDataDir_ ? makeTempDir("tetherd") : options.dataDir;
  if (options.tls) {
    std::filesystem::path certDir = p->dataDir_.parent_path() / ("cert-" + p->dataDir_.filename().string());
    std::filesystem::create_directories(certDir);
    p->cert_ = makeTestCert(certDir);
  }
  if (options.createPool) {
    std::string out, err;
    std::vector<std::string> args{"pool", "create", "--name", "test", "--allow-guests"};
    if (options.store.empty()) args.insert(args.end(), {"--data-dir", p->dataDir_.string()});
    else args.insert(args.end(), {"--store", options.store});
    int rc = runTool(args, &out, &err);
    if (rc != 0) {
      std::cerr << "tetherd pool create failed (" << rc << "): " << err << "\n";
      return nullptr;
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    p->poolId_ = out;
  }
  for (int attempt = 0; attempt < 3; ++attempt)
    if (p->launch()) return p;
  return nullptr;
}

bool TetherdProcess::launch() {
  int outPipe[2];
  if (::pipe(outPipe) != 0) return false;
  std::string listen = "127.0.0.1:" + std::to_string(port_);
  std::vector<std::string> args = {binary(), "serve", "--listen", listen, "--log-level", options_.logLevel};
  if (options_.store.empty()) args.insert(args.end(), {"--data-dir", dataDir_.string()});
  else args.insert(args.end(), {"--store", options_.store});
  if (options_.tls) {
    args.insert(args.end(), {"--tls-cert", cert_.certFile.string(), "--tls-key", cert_.keyFile.string()});
  }
  for (const auto& a : options_.extraArgs) args.push_back(a);
  std::string log = logFile().string();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(outPipe[1], 1);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) ::dup2(fd, 2);
    ::close(outPipe[0]);
    ::close(outPipe[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(outPipe[1]);
  pid_ = pid;
  // Read stdout until "tetherd: ready" (or exit / timeout).
  std::string text;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  bool ready = false;
  while (Clock::now() < deadline) {
    pollfd pfd{outPipe[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, 100);
    if (r > 0) {
      char buf[1024];
      ssize_t n = ::read(outPipe[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      if (text.find("tetherd: ready") != std::string::npos) {
        ready = true;
        break;
      }
    }
  }
  ::close(outPipe[0]);  // later stdout writes get EPIPE; tetherd prints nothing more there
  if (!ready) {
    std::cerr << "tetherd did not start; stdout: " << text << "\n(log: " << log << ")\n";
    kill9();
    return false;
  }
  auto pos = text.find("listening on ");
  if (pos != std::string::npos) {
    auto colon = text.find(':', text.find("//", pos) + 2);
    port_ = std::atoi(text.c_str() + colon + 1);
  }
  return port_ > 0;
}

TetherdProcess::~TetherdProcess() {
  if (pid_ > 0) stop();
  // A temp data directory this object made goes with it (a run of every suite would otherwise
  // leave hundreds behind); the server's log next to it stays for post-mortems.
  // TETHER_KEEP_TEST_DATA=1 keeps the data too.
  const char* keep = std::getenv("TETHER_KEEP_TEST_DATA");
  if (ownsDataDir_ && !(keep && *keep && std::string(keep) != "0")) {
    std::error_code ec;
    std::filesystem::remove_all(dataDir_, ec);
    if (options_.tls)
      std::filesystem::remove_all(dataDir_.parent_path() / ("cert-" + dataDir_.filename().string()), ec);
  }
}

std::string TetherdProcess::url() const {
  return (options_.tls ? "wss://localhost:" : "ws://127.0.0.1:") + std::to_string(port_);
}

std::string TetherdProcess::httpUrl() const {
  return (options_.tls ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

void TetherdProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int TetherdProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!waitFor(pid_, 10000, &status)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool TetherdProcess::restart() {
  if (pid_ > 0) stop();
  return launch();
}

}  // namespace tether::testing
