// ReadGuard: a StreamGuard (stream_guard.h) on every read libwebsockets makes from a client.
//
// lws 4.1.6 offers no hook between its socket reads and its HTTP/WebSocket parsers, and it is the
// only release Debian 12 packages. So tetherd defines `recv` and `SSL_read` itself: the two calls
// lws makes to read a client's bytes (plain sockets, TLS). The dynamic linker binds lws's calls
// to these definitions, which call the real functions and then, on the network thread and for a
// socket the server adopted, feed what was read to the connection's StreamGuard. Any other
// caller (libpq, the gate thread, OpenSSL users elsewhere) goes straight through. See
// docs/security.md, "HTTP framing".
//
// On a refused request head the guard writes the status itself (the Cognito error body, as the
// gate does; unless lws has a response of its own half-written), then lingers: it reads and
// drops what the client still sends, so closing does not reset the connection before the client
// read the status, until the client closes, 1 MB or 2 s. On an unmasked WebSocket frame it sends a
// Close frame with 1002 (same condition) and fails the read, so lws closes the connection. The
// offending bytes never reach lws.
//
// Threading: every method runs on the network thread (the one that called bindToThisThread()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <vector>

#include "net/request_head.h"
#include "net/server_metrics.h"
#include "net/stream_guard.h"

struct lws;
typedef struct ssl_st SSL;

namespace tether::server {

class ReadGuard {
 public:
  ReadGuard(const HeadLimits& limits, ServerMetrics* metrics) : limits_(limits), metrics_(metrics) {}
  ~ReadGuard();
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;

  // From now on, reads on this thread of tracked sockets go through the guard; until unbind.
  void bindToThisThread();
  void unbindFromThisThread();

  // lws adopts (or adopted) `fd` as `wsi`: a fresh stream (descriptor numbers are reused).
  void track(int fd, lws* wsi);
  // The connection of `wsi` is gone; a later connection on the same number is left alone.
  void untrack(int fd, lws* wsi);

  // The interposed functions, after they found this thread's guard.
  using RecvFn = ssize_t (*)(int, void*, size_t, int);
  using SslReadFn = int (*)(SSL*, void*, int);
  ssize_t recv(RecvFn real, int fd, void* buf, size_t len, int flags);
  int sslRead(SslReadFn real, SSL* ssl, void* buf, int num);

 private:
  struct Conn {
    explicit Conn(const HeadLimits* limits) : stream(limits) {}
    StreamGuard stream;
    lws* wsi = nullptr;
    bool lingering = false;
    size_t drained = 0;
    std::chrono::steady_clock::time_point lingerUntil{};
  };

  Conn* find(int fd) const;
  // A refused head or frame: counts it, tells the client what it can (through `write`), and says
  // whether the connection lingers (true) or is failed at once (false).
  template <typename Write>
  bool refuse(Conn& c, const StreamGuard::Outcome& o, Write&& write);
  bool lingerOver(Conn& c, size_t more);

  HeadLimits limits_;
  ServerMetrics* metrics_;
  std::vector<std::unique_ptr<Conn>> byFd_;
};

}  // namespace tether::server
