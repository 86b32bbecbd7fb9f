// ConnectionGate: tetherd's listening socket, in front of libwebsockets. It accepts every TCP
// connection, counts connections per client address (refusing those past the cap), and on plain
// (non-TLS) ports reads the first request head itself, with a deadline, and checks it strictly
// (request_head.h) before handing the socket and the bytes read to lws. So a half-open or slow
// client (slow-loris) costs one file descriptor and a few bytes here and nothing in lws, and
// requests lws 4.1 would mis-frame never reach it. With TLS the bytes are encrypted: the gate
// hands the socket over at once (the address cap still applies).
//
// Threading: one thread of its own (epoll). `handoff` is called on that thread; release() from
// any thread. See docs/security.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/request_head.h"
#include "net/server_metrics.h"
#include "tether/status.h"

namespace tether::server {

struct GateOptions {
  std::string host = "127.0.0.1";
  int port = 0;                       // 0 = any free port
  bool inspectHeads = true;           // false (TLS): hand sockets over at once
  HeadLimits head;
  int maxConnectionsPerAddress = 0;   // 0 = no cap
  std::vector<std::string> trustedProxies;  // not capped per address (load balancers)
  int headTimeoutMs = 10000;          // time a client has to send its first request head
  ServerMetrics* metrics = nullptr;
};

class ConnectionGate {
 public:
  // Takes ownership of `fd` (non-blocking). Nothing of it has been consumed (the head was
  // peeked): `bytes` is empty. `peer` is the address to pass back to release() when the
  // connection is gone.
  using Handoff = std::function<void(int fd, const std::string& peer, std::string bytes)>;

  static Result<std::unique_ptr<ConnectionGate>> start(const GateOptions& options, Handoff handoff);
  virtual ~ConnectionGate() = default;
  virtual int port() const = 0;
  // Any thread: a connection handed off for `peer` has closed.
  virtual void release(const std::string& peer) = 0;
  // Closes the listening socket and every connection not handed off yet; joins the thread.
  virtual void stop() = 0;
};

}  // namespace tether::server
