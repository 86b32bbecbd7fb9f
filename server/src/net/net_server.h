// NetServer: the libwebsockets front end of tetherd. One port serves the native protocol
// (WebSocket subprotocol "tether.v1", binary frames) and plain HTTP (operations endpoints and
// the Cognito-compatible APIs), over TLS when a certificate and key are given.
//
// Threading: NetServer owns one service thread, which owns the lws context and every socket.
// Handlers are called on that thread and must not block (the sync and storage work is posted
// to the worker pool by them). send/close/HTTP replies may come from any thread: they are
// queued and the service thread is woken with lws_cancel_service, its one cross-thread call
// (once per batch: a post that finds work already queued relies on the wake-up pending for it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/http.h"
#include "net/request_head.h"
#include "net/server_metrics.h"
#include "tether/status.h"

namespace tether::server {

using ConnId = uint64_t;

// Receives the native protocol's connections. All calls on the network thread.
class NetServer;

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  // Called once by NetServer::start before any connection is accepted.
  virtual void attach(NetServer& server) = 0;
  virtual void onOpen(ConnId conn, const std::string& peer) = 0;
  // One complete binary message (all fragments), at most maxFrameBytes long.
  virtual void onFrame(ConnId conn, std::string frame) = 0;
  virtual void onClose(ConnId conn) = 0;
};

struct NetServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0 = any free port; read it back with port()
  std::string tlsCertFile;         // both set: TLS (wss:// and https://) on the port
  std::string tlsKeyFile;
  size_t maxFrameBytes = 0;        // 0 = tether::kMaxFrameBytes
  uint16_t idlePingSeconds = 0;    // 0 = tuning::kIdlePingSeconds
  uint16_t idleHangupSeconds = 0;  // 0 = tuning::kIdleHangupSeconds
  ServerMetrics* metrics = nullptr;  // optional; must outlive the server
  // Abuse limits of the listening side (conn_gate.h, docs/security.md).
  HeadLimits head;                   // the first request head of each plain connection
  int maxConnectionsPerAddress = 0;  // 0 = no cap
  // Load balancers in front (docs/scale-out.md): not capped per address, and for requests and
  // WebSocket upgrades from them the client address is the last X-Forwarded-For entry.
  std::vector<std::string> trustedProxies;
  int headTimeoutMs = 10000;         // time to send a whole request head (HTTP or WS upgrade)
};

class NetServer {
 public:
  // Binds and starts the service thread. The handlers must outlive the server.
  static Result<std::unique_ptr<NetServer>> start(const NetServerOptions& options,
                                                  WsHandler& ws, HttpHandler& http);
  virtual ~NetServer() = default;

  virtual int port() const = 0;
  virtual bool tls() const = 0;

  // Any thread. Queues one binary frame for `conn`; dropped if the connection is gone. If the
  // connection's queue passes its bound it is closed as a slow reader.
  virtual void send(ConnId conn, std::string frame) = 0;
  // Room a frame given to sendWithHeadroom keeps in front of its payload (at least libwebsockets'
  // LWS_PRE; checked where lws is included), where the WebSocket header is written in place.
  static constexpr size_t kFrameHeadroom = 16;
  // Any thread. As send, for a frame whose first kFrameHeadroom bytes are scratch space (e.g.
  // codec::encodeWithHeadroom): a 1 MB reply is queued and written without another copy.
  virtual void sendWithHeadroom(ConnId conn, std::string framed) {
    framed.erase(0, kFrameHeadroom);
    send(conn, std::move(framed));
  }
  // Any thread. Queues a notification frame that supersedes any not-yet-written one with the
  // same `key` on this connection (live-sync pushes: only the newest per dataset matters).
  // Pending notifications per connection are bounded by the number of distinct keys.
  virtual void sendCoalesced(ConnId conn, std::string key, std::string frame) = 0;
  // Any thread. Closes `conn` after the frames already queued, with a WebSocket close code
  // and a reason the peer sees.
  virtual void close(ConnId conn, uint16_t code, std::string reason) = 0;

  // Stops accepting, writes what is queued (up to a short deadline), closes every connection
  // with 1001 "server shutting down", and joins the service thread. Idempotent.
  virtual void stop() = 0;
};

}  // namespace tether::server
