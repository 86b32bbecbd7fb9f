// See read_guard.h.
//
// This file defines the C library's `recv` and OpenSSL's `SSL_read` for the whole process, so it
// must not see glibc's fortified inline `recv`.
#undef _FORTIFY_SOURCE
#include "net/read_guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace tether::server {
namespace {

thread_local ReadGuard* tGuard = nullptr;

constexpr size_t kLingerMaxBytes = 1 << 20;
constexpr auto kLingerTime = std::chrono::seconds(2);

ssize_t syscallRecv(int fd, void* buf, size_t len, int flags) {
  return ::syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr);
}

ReadGuard::RecvFn realRecv() {
  static ReadGuard::RecvFn fn = [] {
    auto f = reinterpret_cast<ReadGuard::RecvFn>(::dlsym(RTLD_NEXT, "recv"));
    return f ? f : &syscallRecv;
  }();
  return fn;
}

ReadGuard::SslReadFn realSslRead() {
  static ReadGuard::SslReadFn fn = reinterpret_cast<ReadGuard::SslReadFn>(::dlsym(RTLD_NEXT, "SSL_read"));
  return fn;
}

}  // namespace

ReadGuard::~ReadGuard() {
  if (tGuard == this) tGuard = nullptr;
}

void ReadGuard::bindToThisThread() { tGuard = this; }

void ReadGuard::unbindFromThisThread() {
  if (tGuard == this) tGuard = nullptr;
}

void ReadGuard::track(int fd, lws* wsi) {
  if (fd < 0) return;
  if (static_cast<size_t>(fd) >= byFd_.size()) byFd_.resize(static_cast<size_t>(fd) + 64);
  std::unique_ptr<Conn>& c = byFd_[static_cast<size_t>(fd)];
  if (!c || c->wsi != nullptr || wsi == nullptr) c = std::make_unique<Conn>(&limits_);
  c->wsi = wsi;
}

void ReadGuard::untrack(int fd, lws* wsi) {
  Conn* c = find(fd);
  if (c && c->wsi == wsi) byFd_[static_cast<size_t>(fd)].reset();
}

ReadGuard::Conn* ReadGuard::find(int fd) const {
  if (fd < 0 || static_cast<size_t>(fd) >= byFd_.size()) return nullptr;
  return byFd_[static_cast<size_t>(fd)].get();
}

template <typename Write>
bool ReadGuard::refuse(Conn& c, const StreamGuard::Outcome& o, Write&& write) {
  // What lws has half-written (a response, a frame) must not be cut by ours.
  bool canWrite = !(c.wsi && lws_partial_buffered(c.wsi));
  if (o.verdict == StreamGuard::Verdict::kRejectHttp) {
    if (metrics_) metrics_->countHeadRejection(o.status);
    spdlog::debug("http: {} on a later request or TLS connection: {}", o.status, o.reason);
    if (canWrite) write(headRejectResponse(o.status, o.reason));
    c.lingering = true;
    c.lingerUntil = std::chrono::steady_clock::now() + kLingerTime;
    return true;
  }
  if (metrics_) metrics_->protocolErrorsTotal++;
  spdlog::debug("ws: closing: {}", o.reason);
  if (canWrite) write(std::string("\x88\x02\x03\xea", 4));  // Close, 1002 protocol error
  return false;
}

bool ReadGuard::lingerOver(Conn& c, size_t more) {
  c.drained += more;
  return c.drained > kLingerMaxBytes || std::chrono::steady_clock::now() > c.lingerUntil;
}

ssize_t ReadGuard::recv(RecvFn real, int fd, void* buf, size_t len, int flags) {
  Conn* c = find(fd);
  if (!c) return real(fd, buf, len, flags);
  if (!c->lingering) {
    ssize_t n = real(fd, buf, len, flags);
    if (n <= 0) return n;
    StreamGuard::Outcome o = c->stream.feed(std::string_view(static_cast<const char*>(buf), static_cast<size_t>(n)));
    if (o.verdict == StreamGuard::Verdict::kPass) return n;
    bool linger = refuse(*c, o, [fd](const std::string& bytes) {
      [[maybe_unused]] ssize_t w = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    });
    if (!linger) {
      errno = ECONNRESET;
      return -1;
    }
    ::shutdown(fd, SHUT_WR);
  }
  // Lingering: drop what arrives; tell lws "nothing yet" until the client closes.
  char sink[16384];
  while (true) {
    ssize_t n = real(fd, sink, sizeof sink, 0);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;  // EAGAIN: lws waits for more; anything else: lws closes
    }
    if (lingerOver(*c, static_cast<size_t>(n))) {
      errno = ECONNRESET;
      return -1;
    }
  }
}

int ReadGuard::sslRead(SslReadFn real, SSL* ssl, void* buf, int num) {
  Conn* c = find(SSL_get_fd(ssl));
  if (!c) return real(ssl, buf, num);
  if (!c->lingering) {
    int n = real(ssl, buf, num);
    if (n <= 0) return n;
    StreamGuard::Outcome o = c->stream.feed(std::string_view(static_cast<const char*>(buf), static_cast<size_t>(n)));
    if (o.verdict == StreamGuard::Verdict::kPass) return n;
    bool linger = refuse(*c, o, [ssl](const std::string& bytes) {
      [[maybe_unused]] int w = SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size()));
    });
    // -1 with nothing wanted: lws asks SSL_get_error, gets SSL_ERROR_SYSCALL and closes.
    if (!linger) return -1;
    // The answer ends the connection: close_notify and FIN now, while lingering for the client.
    (void)SSL_shutdown(ssl);
    ::shutdown(SSL_get_fd(ssl), SHUT_WR);
  }
  // Lingering: as for plain sockets; each -1 returned is the real SSL_read's own, so
  // SSL_get_error tells lws the truth (WANT_READ: wait; anything else: close).
  char sink[16384];
  while (true) {
    int n = real(ssl, sink, sizeof sink);
    if (n <= 0) return n;
    if (lingerOver(*c, static_cast<size_t>(n))) return -1;
  }
}

}  // namespace tether::server

// The interposed functions (see read_guard.h). Everything not on a guarded network thread, or on
// a socket the guard does not track, is the real call unchanged.
extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
  tether::server::ReadGuard* g = tether::server::tGuard;
  if (!g || (flags & MSG_PEEK)) return tether::server::realRecv()(fd, buf, len, flags);
  return g->recv(tether::server::realRecv(), fd, buf, len, flags);
}

extern "C" int SSL_read(SSL* ssl, void* buf, int num) {
  tether::server::ReadGuard* g = tether::server::tGuard;
  if (!g) return tether::server::realSslRead()(ssl, buf, num);
  return g->sslRead(tether::server::realSslRead(), ssl, buf, num);
}
