// WsTransport's connection (ws_connection.h): resolve, connect, optional HTTP CONNECT tunnel,
// TLS, the WebSocket upgrade, the read loop and the write queue; and the transport methods that
// open, drop and feed a connection.
#include "transport/ws_connection.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

#include "tether/limits.h"

namespace tether::client {

namespace {

constexpr size_t kMaxProxyReplyBytes = 16 * 1024;
constexpr size_t kWriteChunkBytes = 64 * 1024;  // Beast's masking/write buffer (per connection)

}  // namespace

// OpenSSL's reason for TLS failures (e.g. "certificate verify failed") is what a user needs to
// fix a wss:// setup.
std::string describeError(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    if (s.find(buf) == std::string::npos) s += std::string(" (") + buf + ")";
  }
  return s;
}

// ---- the connection's asynchronous steps, for both stream types. All handlers run on the
// service thread and do nothing once their Conn is no longer conn_.
struct WsTransportIo {
  using Conn = WsTransport::Conn;

  static void start(WsTransport* self, std::shared_ptr<Conn> c) {
    // "localhost" may resolve to ::1 first; tetherd listens on 127.0.0.1. SNI and the
    // certificate check still use the host name.
    const bool viaProxy = !self->proxyHost_.empty();
    const std::string& name = viaProxy ? self->proxyHost_ : self->host_;
    std::string address = name == "localhost" ? "127.0.0.1" : name;
    c->resolver.async_resolve(address, std::to_string(viaProxy ? self->proxyPort_ : self->port_),
        [self, c, name](const boost::system::error_code& ec, tcp::resolver::results_type results) {
          if (c != self->conn_) return;
          if (ec) return self->dropConnectionOnLoop("cannot resolve " + name + ": " + describeError(ec));
          c->visit([&](auto& ws) { connect(self, c, ws, results); });
        });
  }

  template <class Ws>
  static void connect(WsTransport* self, const std::shared_ptr<Conn>& c, Ws& ws,
                      const tcp::resolver::results_type& results) {
    beast::get_lowest_layer(ws).async_connect(results,
        [self, c, &ws](const boost::system::error_code& ec, const tcp::endpoint&) {
          if (c != self->conn_) return;
          const std::string& name = self->proxyHost_.empty() ? self->host_ : self->proxyHost_;
          if (ec) return self->dropConnectionOnLoop("cannot connect to " + name + ": " + describeError(ec));
          boost::system::error_code ignored;
          beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true), ignored);
          if (self->proxyHost_.empty()) secure(self, c, ws);
          else tunnel(self, c, ws);
        });
  }

  // HTTP CONNECT through the proxy (what libwebsockets sent), then TLS/upgrade inside the tunnel.
  template <class Ws>
  static void tunnel(WsTransport* self, const std::shared_ptr<Conn>& c, Ws& ws) {
    std::string target = self->hostHeader(/*withDefaultPort=*/true);
    c->proxyIo = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\nUser-Agent: " +
                 self->options_.clientName + "\r\n";
    if (!self->proxyAuth_.empty()) c->proxyIo += "Proxy-Authorization: Basic " + self->proxyAuth_ + "\r\n";
    c->proxyIo += "\r\n";
    tcp::socket& sock = beast::get_lowest_layer(ws).socket();
    asio::async_write(sock, asio::buffer(c->proxyIo), [self, c, &ws, &sock](const boost::system::error_code& ec, size_t) {
      if (c != self->conn_) return;
      if (ec) return self->dropConnectionOnLoop("cannot send to the proxy: " + describeError(ec));
      c->proxyIo.clear();
      asio::async_read_until(sock, asio::dynamic_buffer(c->proxyIo, kMaxProxyReplyBytes), "\r\n\r\n",
          [self, c, &ws](const boost::system::error_code& ec, size_t headerBytes) {
            if (c != self->conn_) return;
            if (ec) return self->dropConnectionOnLoop("no reply from the proxy: " + describeError(ec));
            // "HTTP/1.x 200 ...": anything else (407, 502...) is the proxy refusing.
            std::string_view reply(c->proxyIo);
            if (reply.size() < 12 || reply.substr(0, 7) != "HTTP/1." || reply.substr(8, 4) != " 200")
              return self->dropConnectionOnLoop("proxy refused the tunnel: " +
                                                std::string(reply.substr(0, reply.find('\r'))));
            if (headerBytes != reply.size())  // the server speaks only after our upgrade request
              return self->dropConnectionOnLoop("proxy sent data after its reply");
            c->proxyIo.clear();
            c->proxyIo.shrink_to_fit();
            secure(self, c, ws);
          });
    });
  }

  // Plain: straight to the WebSocket upgrade.
  static void secure(WsTransport* self, const std::shared_ptr<Conn>& c, Conn::Plain& ws) {
    upgrade(self, c, ws);
  }
  // TLS as libwebsockets set it up: SNI and the certificate's name checked against the URL's
  // host (an IP address against the IP SANs; no partial wildcards), chain verified against the
  // context's CA store.
  static void secure(WsTransport* self, const std::shared_ptr<Conn>& c, Conn::Tls& ws) {
    SSL* ssl = ws.next_layer().native_handle();
    SSL_set_tlsext_host_name(ssl, self->host_.c_str());
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, self->host_.c_str()) != 1 &&  // an address literal
        X509_VERIFY_PARAM_set1_host(param, self->host_.c_str(), 0) != 1)
      return self->dropConnectionOnLoop("cannot set up TLS for " + self->host_);
    ws.next_layer().async_handshake(asio::ssl::stream_base::client,
        [self, c, &ws](const boost::system::error_code& ec) {
          if (c != self->conn_) return;
          if (ec) return self->dropConnectionOnLoop("TLS handshake with " + self->host_ + " failed: " + describeError(ec));
          upgrade(self, c, ws);
        });
  }

  template <class Ws>
  static void upgrade(WsTransport* self, const std::shared_ptr<Conn>& c, Ws& ws) {
    ws.binary(true);
    ws.auto_fragment(false);
    ws.read_message_max(kMaxFrameBytes);
    // A client masks what it sends, through this buffer: the 4 KB default made a 1 MB push 256
    // socket writes and 256 turns of the loop.
    ws.write_buffer_bytes(kWriteChunkBytes);
    // Our own timers bound the connect and each request; no Beast timeouts or pings (the
    // server's pings are answered by the read loop).
    websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::client);
    t.handshake_timeout = websocket::stream_base::none();
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    std::string origin = "http://" + self->host_;  // what libwebsockets sent
    std::string agent = self->options_.clientName;
    ws.set_option(websocket::stream_base::decorator([origin, agent](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, proto::kSubprotocol);
      req.set(beast::http::field::origin, origin);
      req.set(beast::http::field::user_agent, agent);
    }));
    auto res = std::make_shared<websocket::response_type>();
    ws.async_handshake(*res, self->hostHeader(false), self->path_,
        [self, c, &ws, res](const boost::system::error_code& ec) {
          if (c != self->conn_) return;
          if (ec) return self->dropConnectionOnLoop("WebSocket upgrade failed: " + describeError(ec));
          if ((*res)[beast::http::field::sec_websocket_protocol] != proto::kSubprotocol)
            return self->dropConnectionOnLoop("server did not accept the tether.v1 subprotocol");
          c->open = true;
          read(self, c, ws);
          self->onEstablishedOnLoop();
        });
  }

  template <class Ws>
  static void read(WsTransport* self, const std::shared_ptr<Conn>& c, Ws& ws) {
    ws.async_read(c->rx, [self, c, &ws](const boost::system::error_code& ec, size_t) {
      if (c != self->conn_) return;
      if (ec) {
        std::string why = ec == websocket::error::message_too_big ? "server frame too large"
                          : !self->lastError_.empty()              ? self->lastError_
                          : ec == websocket::error::closed         ? "connection closed"
                                                                   : describeError(ec);
        return self->dropConnectionOnLoop(why);
      }
      if (!ws.got_binary()) return self->dropConnectionOnLoop("server sent a text frame");
      // flat_buffer keeps the frame in one block from operator new (word-aligned): the codec
      // parses it where it lies.
      auto data = c->rx.cdata();
      self->onFrameOnLoop(std::string_view(static_cast<const char*>(data.data()), data.size()));
      c->rx.consume(c->rx.size());
      if (c == self->conn_) read(self, c, ws);
    });
  }

  static void write(WsTransport* self, const std::shared_ptr<Conn>& c) {
    if (c->writing || !c->open || c->out.empty()) return;
    c->writing = true;
    c->visit([&](auto& ws) {
      ws.async_write(asio::buffer(c->out.front()), [self, c](const boost::system::error_code& ec, size_t) {
        c->writing = false;
        c->out.pop_front();
        if (c != self->conn_) return;
        if (ec) return self->dropConnectionOnLoop("cannot send to the server: " + describeError(ec));
        write(self, c);
      });
    });
  }
};

std::string WsTransport::hostHeader(bool withDefaultPort) const {
  std::string h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  if (withDefaultPort || port_ != (tls_ ? 443 : 80)) h += ":" + std::to_string(port_);
  return h;
}

Status WsTransport::parseProxy(std::string proxy) {
  auto bad = [&] { return Status::invalidArgument("HTTP proxy must be [http://][user:pass@]host:port: " + proxy); };
  std::string rest = proxy;
  if (rest.rfind("http://", 0) == 0) rest.erase(0, 7);
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    std::string b64(4 * ((cred.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                            reinterpret_cast<const unsigned char*>(cred.data()), static_cast<int>(cred.size()));
    b64.resize(static_cast<size_t>(std::max(n, 0)));
    proxyAuth_ = b64;
    rest.erase(0, at + 1);
  }
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return bad();
  int p = std::stoi(port);
  if (p <= 0 || p > 65535 || host.empty() || host.find_first_of(" \r\n") != std::string::npos) return bad();
  proxyHost_ = host;
  proxyPort_ = p;
  return Status::ok();
}

// ---- connection

void WsTransport::connectOnLoop() {
  if (stop_ || state_ != ConnState::kIdle) return;
  reconnectPending_ = false;
  ++connGen_;
  state_ = ConnState::kConnecting;
  lastError_.clear();
  conn_ = std::make_shared<Conn>(net_->io, net_->tls ? &*net_->tls : nullptr);
  uint64_t gen = connGen_;
  startTimer(options_.connectTimeout, [this, gen] {
    if (gen != connGen_ || state_ == ConnState::kOpen || state_ == ConnState::kIdle) return;
    lastError_ = "connect timed out";
    closeConnectionOnLoop();
  });
  WsTransportIo::start(this, conn_);
}

void WsTransport::dropConnectionOnLoop(const std::string& why) {
  if (lastError_.empty()) lastError_ = why;
  if (auto c = std::move(conn_)) c->close();
  conn_.reset();
  onDisconnectedOnLoop(why);
}

void WsTransport::closeConnectionOnLoop() {
  if (conn_ || state_ != ConnState::kIdle)
    dropConnectionOnLoop(lastError_.empty() ? "connection closed" : lastError_);
}

// ---- requests

void WsTransport::sendFrameOnLoop(std::string frame) {
  // Frames go only on an open connection; the callers send nothing before it is (Hello is sent
  // when the upgrade completes, requests wait in waiting_).
  if (!conn_ || !conn_->open) return;
  conn_->out.push_back(std::move(frame));
  WsTransportIo::write(this, conn_);
}

}  // namespace tether::client
