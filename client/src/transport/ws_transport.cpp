#include "transport/ws_transport.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>

#include "tether/codec.h"
#include "tether/limits.h"
#include "tuning.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

// ---- the io_context the service thread runs, and the TLS settings every connection shares.
struct WsTransport::Net {
  asio::io_context io{1};  // one thread: asio may skip its internal locking where it can
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::optional<asio::ssl::context> tls;  // set for wss:// URLs
};

// ---- one connection attempt. Owned by conn_ and by the handlers of its pending operations, so
// it outlives a close() until they have all completed (with operation_aborted).
struct WsTransport::Conn {
  using Plain = websocket::stream<beast::tcp_stream>;
  using Tls = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

  Conn(asio::io_context& io, asio::ssl::context* tlsContext) : resolver(io) {
    if (tlsContext) tls.emplace(io, *tlsContext);
    else plain.emplace(io);
  }
  template <class Fn>
  void visit(Fn&& fn) {
    if (tls) fn(*tls);
    else fn(*plain);
  }
  tcp::socket& socket() {
    return tls ? beast::get_lowest_layer(*tls).socket() : beast::get_lowest_layer(*plain).socket();
  }
  // Abandons the connection: every pending operation completes with an error.
  void close() {
    boost::system::error_code ignored;
    resolver.cancel();
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  tcp::resolver resolver;
  std::optional<Plain> plain;
  std::optional<Tls> tls;
  std::string proxyIo;              // the CONNECT request, then the proxy's reply
  bool open = false;                // the WebSocket handshake succeeded
  bool writing = false;             // an async_write is in flight (for out.front())
  std::deque<std::string> out;      // encoded frames to send, in order
  beast::flat_buffer rx;            // the frame being received; its capacity is kept
};

namespace {

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class T>
struct ResponseKind;
#define TETHER_RESPONSE_KIND(Resp) \
  template <> struct ResponseKind<proto::Resp> { static constexpr bool kKnown = true; };
TETHER_RESPONSE_KIND(GetIdResponse)
TETHER_RESPONSE_KIND(GetTokenResponse)
TETHER_RESPONSE_KIND(AuthenticateResponse)
TETHER_RESPONSE_KIND(ListDatasetsResponse)
TETHER_RESPONSE_KIND(ListRecordsResponse)
TETHER_RESPONSE_KIND(UpdateRecordsResponse)
TETHER_RESPONSE_KIND(DeleteDatasetResponse)
TETHER_RESPONSE_KIND(SubscribeResponse)
TETHER_RESPONSE_KIND(UnsubscribeResponse)
#undef TETHER_RESPONSE_KIND

// Unpacks a response body into the type the request expects.
template <class Resp>
Result<Resp> expect(Result<proto::ResponseBody> body) {
  static_assert(ResponseKind<Resp>::kKnown);
  if (!body.isOk()) return body.status();
  if (auto* err = std::get_if<Status>(&*body)) {
    if (err->isOk()) return Status::protocolError("error response with an ok status");
    return *err;
  }
  if (auto* r = std::get_if<Resp>(&*body)) return std::move(*r);
  return Status::protocolError("response of the wrong type");
}

constexpr size_t kMaxProxyReplyBytes = 16 * 1024;
constexpr size_t kWriteChunkBytes = 64 * 1024;  // Beast's masking/write buffer (per connection)

// An error code as text, with OpenSSL's reason for TLS failures (e.g. "certificate verify
// failed"), which is what a user needs to fix a wss:// setup.
std::string describe(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    if (s.find(buf) == std::string::npos) s += std::string(" (") + buf + ")";
  }
  return s;
}

}  // namespace

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
          if (ec) return self->dropConnectionOnLoop("cannot resolve " + name + ": " + describe(ec));
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
          if (ec) return self->dropConnectionOnLoop("cannot connect to " + name + ": " + describe(ec));
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
      if (ec) return self->dropConnectionOnLoop("cannot send to the proxy: " + describe(ec));
      c->proxyIo.clear();
      asio::async_read_until(sock, asio::dynamic_buffer(c->proxyIo, kMaxProxyReplyBytes), "\r\n\r\n",
          [self, c, &ws](const boost::system::error_code& ec, size_t headerBytes) {
            if (c != self->conn_) return;
            if (ec) return self->dropConnectionOnLoop("no reply from the proxy: " + describe(ec));
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
  // TLS: SNI and host name check (as libwebsockets did: the URL's host, also when it is an
  // address literal), chain verified against the context's CA store.
  static void secure(WsTransport* self, const std::shared_ptr<Conn>& c, Conn::Tls& ws) {
    SSL* ssl = ws.next_layer().native_handle();
    SSL_set_tlsext_host_name(ssl, self->host_.c_str());
    SSL_set_hostflags(ssl, 0);
    if (SSL_set1_host(ssl, self->host_.c_str()) != 1)
      return self->dropConnectionOnLoop("cannot set up TLS for " + self->host_);
    ws.next_layer().async_handshake(asio::ssl::stream_base::client,
        [self, c, &ws](const boost::system::error_code& ec) {
          if (c != self->conn_) return;
          if (ec) return self->dropConnectionOnLoop("TLS handshake with " + self->host_ + " failed: " + describe(ec));
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
          if (ec) return self->dropConnectionOnLoop("WebSocket upgrade failed: " + describe(ec));
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
                                                                   : describe(ec);
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
        if (ec) return self->dropConnectionOnLoop("cannot send to the server: " + describe(ec));
        write(self, c);
      });
    });
  }
};

// ---- lifecycle

WsTransport::WsTransport(WsTransportOptions options) : options_(std::move(options)) {
  if (!options_.nowMs) options_.nowMs = systemNowMs;
}

Result<std::shared_ptr<WsTransport>> WsTransport::start(WsTransportOptions options) {
  std::shared_ptr<WsTransport> t(new WsTransport(std::move(options)));
  TETHER_RETURN_IF_ERROR(t->init());
  return t;
}

Status WsTransport::init() {
  const std::string& url = options_.url;
  std::string rest;
  if (url.rfind("wss://", 0) == 0) {
    tls_ = true;
    rest = url.substr(6);
  } else if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else {
    return Status::invalidArgument("server URL must start with ws:// or wss://: " + url);
  }
  size_t slash = rest.find('/');
  std::string hostPort = rest.substr(0, slash);
  path_ = slash == std::string::npos ? "/" : rest.substr(slash);
  port_ = tls_ ? 443 : 80;
  std::string portText;
  bool hasPort = false;
  if (!hostPort.empty() && hostPort.front() == '[') {  // [v6 literal]:port
    size_t close = hostPort.find(']');
    if (close == std::string::npos) return Status::invalidArgument("bad host in server URL: " + url);
    if (close + 1 < hostPort.size()) {
      if (hostPort[close + 1] != ':') return Status::invalidArgument("bad host in server URL: " + url);
      portText = hostPort.substr(close + 2);
      hasPort = true;
    }
    hostPort = hostPort.substr(1, close - 1);
  } else if (size_t colon = hostPort.rfind(':'); colon != std::string::npos) {
    portText = hostPort.substr(colon + 1);
    hostPort.resize(colon);
    hasPort = true;
  }
  if (hasPort) {
    if (portText.empty() || portText.size() > 5 ||
        portText.find_first_not_of("0123456789") != std::string::npos)
      return Status::invalidArgument("bad port in server URL: " + url);
    port_ = std::stoi(portText);
  }
  if (port_ <= 0 || port_ > 65535) return Status::invalidArgument("bad port in server URL: " + url);
  if (hostPort.empty()) return Status::invalidArgument("no host in server URL: " + url);
  host_ = hostPort;
  if (!options_.caFile.empty()) {
    if (!tls_) return Status::invalidArgument("a CA file needs a wss:// URL");
    if (FILE* f = std::fopen(options_.caFile.c_str(), "rb")) std::fclose(f);
    else return Status::invalidArgument("cannot read CA file " + options_.caFile);
  }

  if (options_.httpProxy) {
    if (!options_.httpProxy->empty()) TETHER_RETURN_IF_ERROR(parseProxy(*options_.httpProxy));
  } else if (const char* env = std::getenv("http_proxy"); env && *env) {
    if (!parseProxy(env).isOk()) proxyAuth_.clear();  // ignored, as libwebsockets did
  }

  net_ = std::make_unique<Net>();
  if (tls_) {
    net_->tls.emplace(asio::ssl::context::tls_client);
    asio::ssl::context& ctx = *net_->tls;
    boost::system::error_code ec;
    if (options_.caFile.empty()) ctx.set_default_verify_paths(ec);
    else ctx.load_verify_file(options_.caFile, ec);
    if (ec) return Status::invalidArgument("cannot load CA file " + options_.caFile + ": " + describe(ec));
    ctx.set_verify_mode(asio::ssl::verify_peer);
  }
  thread_ = std::thread([this] { serviceLoop(); });
  post([this] { connectOnLoop(); });
  return Status::ok();
}

WsTransport::~WsTransport() { shutdown(); }

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

void WsTransport::serviceLoop() {
  net_->io.run();  // until shutdown() stops it
  // Last rites on this thread: nothing may stay waiting forever. After closed_, posts fail
  // and new requests are cancelled at once.
  {
    MutexLock lock(inboxMu_);
    closed_ = true;
  }
  if (conn_) {
    conn_->close();
    conn_.reset();
  }
  failAllOnLoop(Status::cancelled("client is closed"));
  drainInbox();
  failAllOnLoop(Status::cancelled("client is closed"));
}

void WsTransport::shutdown() {
  {
    MutexLock lock(inboxMu_);
    if (closed_ && !thread_.joinable()) return;
  }
  if (isCurrentThread()) return;  // cannot join ourselves; the owner calls again
  stop_.store(true);
  if (net_) net_->io.stop();
  if (thread_.joinable()) thread_.join();
  {
    MutexLock lock(inboxMu_);
    closed_ = true;
    inbox_.clear();
  }
  net_.reset();  // destroys pending handlers (and the Conns they hold), timers, the TLS context
}

bool WsTransport::post(std::function<void()> fn) {
  {
    MutexLock lock(inboxMu_);
    if (closed_) return false;
    inbox_.push_back(std::move(fn));
    if (wakePending_) return true;
    wakePending_ = true;
    // Under the lock: shutdown() destroys net_ only after closed_ is set.
    asio::post(net_->io, [this] { drainInbox(); });
  }
  return true;
}

bool WsTransport::isCurrentThread() const { return std::this_thread::get_id() == thread_.get_id(); }

void WsTransport::drainInbox() {
  // Wakeups coalesce: take everything queued each time.
  for (;;) {
    std::deque<std::function<void()>> batch;
    {
      MutexLock lock(inboxMu_);
      wakePending_ = false;
      if (inbox_.empty()) return;
      batch.swap(inbox_);
    }
    for (auto& fn : batch) fn();
  }
}

bool WsTransport::postAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  {
    MutexLock lock(inboxMu_);
    if (closed_) return false;
  }
  if (isCurrentThread()) {
    startTimer(delay, std::move(fn));
    return true;
  }
  // Timers belong to the service thread: hop there first.
  return post([this, delay, fn = std::move(fn)]() mutable { startTimer(delay, std::move(fn)); });
}

void WsTransport::startTimer(std::chrono::milliseconds delay, std::function<void()> onLoop) {
  if (stop_) return;
  auto timer = std::make_shared<asio::steady_timer>(net_->io, delay);
  timer->async_wait([timer, onLoop = std::move(onLoop)](const boost::system::error_code& ec) {
    if (!ec) onLoop();
  });
}

int64_t WsTransport::nowMs() const { return options_.nowMs(); }

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

void WsTransport::onEstablishedOnLoop() {
  state_ = ConnState::kHandshaking;
  proto::Hello hello;
  hello.clientName = options_.clientName;
  sendFrameOnLoop(codec::encode(proto::ClientMessage{hello}));
}

void WsTransport::onOpenOnLoop() {
  attempt_ = 0;
  lastAttemptFailed_ = false;
  connAuthenticated_ = false;
  if (!token_.empty() && tokenExpiresMs_ - nowMs() > tuning::kReauthMarginMs) {
    // A new connection is unauthenticated: present the token we hold before anything else.
    state_ = ConnState::kAuthenticating;
    proto::AuthenticateRequest req;
    req.token = token_;
    transmitOnLoop(req, [this](Result<proto::ResponseBody> r) {
      Result<proto::AuthenticateResponse> a = expect<proto::AuthenticateResponse>(std::move(r));
      if (a.isOk()) connAuthenticated_ = true;
      else token_.clear();  // expired or revoked: authenticate() starts over
      if (state_ != ConnState::kAuthenticating) return;
      markOpenOnLoop();
    });
    return;
  }
  markOpenOnLoop();
}

void WsTransport::markOpenOnLoop() {
  state_ = ConnState::kOpen;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting) transmitOnLoop(std::move(w.body), std::move(w.done));
  if (listener_) listener_->onConnected();
}

void WsTransport::setListener(RemoteListener* listener) {
  post([this, listener] {
    listener_ = listener;
    if (listener_ && state_ == ConnState::kOpen) listener_->onConnected();
  });
}

void WsTransport::onFrameOnLoop(std::string_view frame) {
  ++framesIn_;
  Result<proto::ServerMessage> msg = codec::decodeServerMessage(frame);
  if (!msg.isOk()) {
    lastError_ = "undecodable frame from server: " + msg.status().message();
    dropConnectionOnLoop(lastError_);
    return;
  }
  if (auto* ack = std::get_if<proto::HelloAck>(&*msg)) {
    if (state_ != ConnState::kHandshaking) return;
    if (ack->protocolVersion != proto::kProtocolVersion) {
      lastError_ = "server speaks protocol version " + std::to_string(ack->protocolVersion);
      dropConnectionOnLoop(lastError_);
      return;
    }
    conditionalPush_ = ack->conditionalPush;
    onOpenOnLoop();
    return;
  }
  if (auto* changed = std::get_if<proto::DatasetChanged>(&*msg)) {
    if (listener_ && state_ == ConnState::kOpen) listener_->onDatasetChanged(*changed);
    return;
  }
  auto& resp = std::get<proto::Response>(*msg);
  if (resp.id == 0) {
    // An error about the session itself (e.g. unsupported version): the server closes.
    if (auto* err = std::get_if<Status>(&resp.body)) lastError_ = err->toString();
    return;
  }
  auto it = inflight_.find(resp.id);
  if (it == inflight_.end()) return;  // timed out earlier: the answer is late, drop it
  ResponseCallback done = std::move(it->second);
  inflight_.erase(it);
  done(std::move(resp.body));
}

void WsTransport::onDisconnectedOnLoop(const std::string& why) {
  if (state_ == ConnState::kIdle) return;  // already handled (e.g. error during connect)
  bool wasOpen = state_ == ConnState::kOpen || state_ == ConnState::kAuthenticating;
  state_ = ConnState::kIdle;
  ++connGen_;
  connAuthenticated_ = false;
  lastAttemptFailed_ = true;
  ++attempt_;
  std::string msg = (wasOpen ? "connection to server lost: " : "server unreachable: ") + why;
  failAllOnLoop(Status::unavailable(msg));
  scheduleReconnectOnLoop();
}

void WsTransport::failAllOnLoop(const Status& status) {
  auto inflight = std::move(inflight_);
  inflight_.clear();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [id, done] : inflight) done(status);
  for (auto& w : waiting) w.done(status);
}

void WsTransport::scheduleReconnectOnLoop() {
  if (stop_ || reconnectPending_) return;
  reconnectPending_ = true;
  static thread_local std::mt19937 rng{std::random_device{}()};
  int64_t delay = tuning::kBackoffBaseMs;
  for (int i = 1; i < attempt_ && delay < tuning::kBackoffMaxMs; ++i) delay *= 2;
  delay = std::min(delay, tuning::kBackoffMaxMs);
  delay = delay / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 2 + 1));
  uint64_t gen = connGen_;
  startTimer(std::chrono::milliseconds(delay), [this, gen] {
    if (gen != connGen_) return;  // someone connected meanwhile
    reconnectPending_ = false;
    connectOnLoop();
  });
}


// ---- requests

void WsTransport::sendFrameOnLoop(std::string frame) {
  // Frames go only on an open connection; the callers send nothing before it is (Hello is sent
  // when the upgrade completes, requests wait in waiting_).
  if (!conn_ || !conn_->open) return;
  conn_->out.push_back(std::move(frame));
  WsTransportIo::write(this, conn_);
}

void WsTransport::transmitOnLoop(proto::RequestBody body, ResponseCallback done) {
  uint64_t id = nextId_++;
  inflight_[id] = std::move(done);
  sendFrameOnLoop(codec::encode(proto::ClientMessage{proto::Request{id, std::move(body)}}));
  const uint64_t gen = connGen_, framesBefore = framesIn_;
  startTimer(options_.requestTimeout, [this, id, gen, framesBefore] {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;
    ResponseCallback cb = std::move(it->second);
    inflight_.erase(it);
    cb(Status::unavailable("request timed out"));
    // Not one frame arrived on this connection for a whole request timeout: it is dead (a
    // route that silently drops everything, a peer that vanished without a FIN, or a wsi lws
    // retired without telling us). Drop it, so the next request connects again instead of
    // timing out on it forever.
    if (gen == connGen_ && framesIn_ == framesBefore && state_ != ConnState::kIdle) {
      lastError_ = "no answer from the server within the request timeout";
      closeConnectionOnLoop();
    }
  });
}

void WsTransport::sendRequestOnLoop(proto::RequestBody body, ResponseCallback done) {
  if (stop_) {
    // Shutting down: posts no longer run, so answer now.
    done(Status::cancelled("client is closed"));
    return;
  }
  switch (state_) {
    case ConnState::kOpen:
      transmitOnLoop(std::move(body), std::move(done));
      return;
    case ConnState::kConnecting:
    case ConnState::kHandshaking:
    case ConnState::kAuthenticating:
      waiting_.push_back(Waiting{std::move(body), std::move(done)});
      return;
    case ConnState::kIdle:
      if (lastAttemptFailed_) {
        // Offline is normal: fail fast (retryable), and try the server again now rather than
        // at the end of the backoff, so that the app's next attempt may find it back.
        post([done = std::move(done)] { done(Status::unavailable("server unreachable")); });
        ++connGen_;  // the scheduled reconnect is superseded
        reconnectPending_ = false;
        connectOnLoop();
        return;
      }
      waiting_.push_back(Waiting{std::move(body), std::move(done)});
      connectOnLoop();
      return;
  }
}

template <class Resp>
void WsTransport::call(proto::RequestBody body, Callback<Resp> done) {
  sendRequestOnLoop(std::move(body), [done = std::move(done)](Result<proto::ResponseBody> r) {
    done(expect<Resp>(std::move(r)));
  });
}

void WsTransport::authenticate(std::string identityId, LoginsFn logins, bool renew,
                               Callback<std::string> done) {
  if (!renew && !identityId.empty() && identityId == identity_ && connAuthenticated_ &&
      state_ == ConnState::kOpen && tokenExpiresMs_ - nowMs() > tuning::kReauthMarginMs) {
    post([done = std::move(done), identityId] { done(identityId); });
    return;
  }
  // Asked right before each request that carries them, so a provider sees every real need.
  auto currentLogins = [logins]() -> Result<std::vector<Login>> {
    if (!logins) return std::vector<Login>();
    return logins();
  };
  // GetToken -> Authenticate for a known identity.
  auto withIdentity = [this, currentLogins](std::string id, Callback<std::string> done) {
    Result<std::vector<Login>> ls = currentLogins();
    if (!ls.isOk()) {
      post([done = std::move(done), s = ls.status()] { done(s); });
      return;
    }
    proto::GetTokenRequest gt;
    gt.identityId = id;
    gt.logins = std::move(*ls);
    call<proto::GetTokenResponse>(gt, [this, id, done = std::move(done)](Result<proto::GetTokenResponse> t) mutable {
      if (!t.isOk()) return done(t.status());
      std::string confirmed = t->identityId.empty() ? id : t->identityId;
      if (!validateIdentityId(confirmed).isOk())
        return done(Status::protocolError("server returned an invalid identity ID"));
      std::string token = t->token;
      int64_t expires = t->expiresAtMs;
      proto::AuthenticateRequest ar;
      ar.token = token;
      call<proto::AuthenticateResponse>(ar, [this, confirmed, token, expires, done = std::move(done)](
                                                Result<proto::AuthenticateResponse> a) {
        if (!a.isOk()) return done(a.status());
        identity_ = a->identityId.empty() ? confirmed : a->identityId;
        token_ = token;
        tokenExpiresMs_ = a->expiresAtMs ? a->expiresAtMs : expires;
        connAuthenticated_ = true;
        done(identity_);
      });
    });
  };
  if (!identityId.empty()) return withIdentity(std::move(identityId), std::move(done));
  if (options_.identityPoolId.empty()) {
    post([done = std::move(done)] { done(Status::invalidArgument("no identity pool ID configured")); });
    return;
  }
  Result<std::vector<Login>> ls = currentLogins();
  if (!ls.isOk()) {
    post([done = std::move(done), s = ls.status()] { done(s); });
    return;
  }
  proto::GetIdRequest gi;
  gi.identityPoolId = options_.identityPoolId;
  gi.logins = std::move(*ls);
  call<proto::GetIdResponse>(gi, [withIdentity, done = std::move(done)](Result<proto::GetIdResponse> r) mutable {
    if (!r.isOk()) return done(r.status());
    if (!validateIdentityId(r->identityId).isOk())
      return done(Status::protocolError("server returned an invalid identity ID"));
    withIdentity(r->identityId, std::move(done));
  });
}

void WsTransport::listDatasets(proto::ListDatasetsRequest req, Callback<proto::ListDatasetsResponse> done) {
  call<proto::ListDatasetsResponse>(std::move(req), std::move(done));
}

void WsTransport::listRecords(proto::ListRecordsRequest req, Callback<proto::ListRecordsResponse> done) {
  call<proto::ListRecordsResponse>(std::move(req), std::move(done));
}

void WsTransport::updateRecords(proto::UpdateRecordsRequest req, Callback<proto::UpdateRecordsResponse> done) {
  call<proto::UpdateRecordsResponse>(std::move(req), std::move(done));
}

void WsTransport::deleteDataset(proto::DeleteDatasetRequest req, Callback<proto::DeleteDatasetResponse> done) {
  call<proto::DeleteDatasetResponse>(std::move(req), std::move(done));
}

void WsTransport::subscribe(proto::SubscribeRequest req, Callback<proto::SubscribeResponse> done) {
  call<proto::SubscribeResponse>(std::move(req), std::move(done));
}

void WsTransport::unsubscribe(proto::UnsubscribeRequest req, Callback<proto::UnsubscribeResponse> done) {
  call<proto::UnsubscribeResponse>(std::move(req), std::move(done));
}

}  // namespace tether::client
