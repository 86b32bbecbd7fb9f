// RawConn: a raw TCP (or TLS) connection to tetherd for tests that must send bytes no HTTP or
// WebSocket library would (malformed heads, smuggling attempts, unmasked frames, slow clients),
// optionally from another loopback address (127.0.0.x) so that one test can be many clients.
// With it, small helpers to read what came back: status lines, /metrics values, CPU time.
// Header-only: the class is small and only tests use it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include "http_test_client.h"
#include "tetherd_process.h"

namespace tether::testing {

// A raw TCP connection to the server, optionally from another loopback address (127.0.0.x),
// so one test can be "many clients" without the per-address cap applying to all of them.
class RawConn {
 public:
  using Clock = std::chrono::steady_clock;

  static std::unique_ptr<RawConn> open(int port, const char* source = nullptr) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    if (source) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &src.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        ::close(fd);
        return nullptr;
      }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return nullptr;
    }
    // No read or write may block a test for good (SSL_read waits for whole TLS records).
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto c = std::make_unique<RawConn>();
    c->fd_ = fd;
    return c;
  }
  // The same over TLS (the test server's certificate is not checked: only bytes matter here).
  static std::unique_ptr<RawConn> openTls(int port) {
    ::signal(SIGPIPE, SIG_IGN);  // SSL_write to a closed connection: an error, not the end of the test
    std::unique_ptr<RawConn> c = open(port);
    if (!c) return nullptr;
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    c->ssl_ = SSL_new(c->ctx_);
    SSL_set_fd(c->ssl_, c->fd_);
    if (SSL_connect(c->ssl_) != 1) return nullptr;
    return c;
  }
  ~RawConn() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off))
                       : ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes or `timeout` passes; `closed` tells which.
  std::string readUntilClose(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    *closed = false;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (!waitReadable(deadline)) break;
      char buf[65536];
      ssize_t n = readSome(buf, sizeof buf);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Reads one whole response (head + Content-Length body); "" on timeout or close.
  std::string readResponse(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      size_t end = buffered_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::smatch m;
        std::string head = buffered_.substr(0, end);
        size_t len = 0;
        if (std::regex_search(head, m, std::regex("[Cc]ontent-[Ll]ength: *([0-9]+)"))) len = std::stoul(m[1]);
        if (buffered_.size() >= end + 4 + len) {
          std::string r = buffered_.substr(0, end + 4 + len);
          buffered_.erase(0, end + 4 + len);
          return r;
        }
      }
      if (Clock::now() >= deadline || !waitReadable(deadline)) return "";
      char buf[65536];
      ssize_t n = readSome(buf, sizeof buf);
      if (n <= 0) return "";
      buffered_.append(buf, static_cast<size_t>(n));
    }
  }

  // Bytes already received but not returned by readResponse (e.g. frames after a 101).
  std::string takeBuffered() { return std::exchange(buffered_, std::string()); }

 private:
  ssize_t readSome(char* buf, size_t len) {
    if (ssl_) return SSL_read(ssl_, buf, static_cast<int>(len));
    return ::recv(fd_, buf, len, 0);
  }

  bool waitReadable(Clock::time_point deadline) {
    if (ssl_ && SSL_pending(ssl_) > 0) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffered_;
};

inline int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// Status lines ("HTTP/1.1 200 ") in what a connection received.
inline size_t responsesIn(const std::string& received) {
  static const std::regex statusLine("HTTP/1\\.[01] [0-9]{3} ");
  return static_cast<size_t>(std::distance(std::sregex_iterator(received.begin(), received.end(), statusLine),
                                           std::sregex_iterator()));
}

// CPU seconds (user + system) the process has used so far.
inline double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The value of a /metrics line (name with labels), -1 if absent.
inline int64_t metricIn(const std::string& m, const std::string& line) {
  size_t at = m.find("\n" + line + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(m.substr(at + line.size() + 2));
}

inline int64_t metric(int port, const std::string& line) { return metricIn(httpGet(port, "/metrics"), line); }

// A WebSocket upgrade to the native protocol, as raw bytes.
inline const std::string kWsUpgrade =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: tether.v1\r\n\r\n";

inline const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

inline std::string writeConfig(const std::string& name, const std::string& toml) {
  auto dir = makeTempDir(name);
  std::string path = (dir / "tetherd.toml").string();
  std::ofstream(path) << toml;
  return path;
}

}  // namespace tether::testing
