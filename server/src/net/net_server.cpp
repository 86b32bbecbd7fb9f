// libwebsockets implementation of NetServer. See net_server.h for the threading contract.
#include "net/net_server.h"

#include <arpa/inet.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
// libev: the network loop runs on lws's libev event-lib plugin (epoll) when it can be loaded.
#include <ev.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <list>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/request_context.h"
#include "net/conn_gate.h"
#include "net/lws_http_request.h"
#include "net/read_guard.h"
#include "net/tuning.h"
#include "tether/limits.h"
#include "tether/protocol.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {
namespace {

using LwsContextPtr = std::unique_ptr<lws_context, decltype(&lws_context_destroy)>;

// libev only: period of the lws timer that keeps lws's own libev timer short (see startTick).
constexpr lws_usec_t kLibevTickUs = 100 * LWS_US_PER_MS;

// An lws_sul with the context it reschedules itself on; `sul` first, so the callback's
// pointer is the struct's.
struct TickSul {
  lws_sorted_usec_list_t sul;
  lws_context* context;
};
static_assert(std::is_standard_layout_v<TickSul>);

const char* evBackendName(unsigned backend) {
  switch (backend) {
    case EVBACKEND_EPOLL: return "epoll";
    case EVBACKEND_POLL: return "poll";
    case EVBACKEND_SELECT: return "select";
#ifdef EVBACKEND_LINUXAIO
    case EVBACKEND_LINUXAIO: return "linuxaio";
#endif
#ifdef EVBACKEND_IOURING
    case EVBACKEND_IOURING: return "io_uring";
#endif
    default: return "other";
  }
}

// lws_write needs LWS_PRE writable bytes before the payload; queued frames keep kFrameHeadroom.
static_assert(NetServer::kFrameHeadroom >= LWS_PRE);

// Received bytes of a frame after which its whole length (from the header) is reserved at once.
constexpr size_t kRxReserveAfterBytes = 64 * 1024;

// State of one WebSocket connection; owned by LwsNetServer::conns_, network thread only.
struct WsConn {
  ConnId id = 0;
  lws* wsi = nullptr;
  std::string rx;                      // fragments of the message being received
  bool rxOversized = false;
  // std::list, not std::deque: an empty deque still holds a 512-byte node, and most
  // connections are idle with nothing queued (bench W5: server memory per idle connection).
  std::list<std::string> tx;           // frames waiting for WRITEABLE, each after kFrameHeadroom bytes
  size_t txBytes = 0;
  std::unordered_map<std::string, std::string> pushes;  // key -> newest pending notification
  std::list<std::string> pushOrder;    // keys of `pushes`, oldest first
  bool closing = false;                // close after tx drains
  uint16_t closeCode = LWS_CLOSE_STATUS_NORMAL;
  std::string closeReason;
};

// State of one HTTP transaction; network thread only.
struct HttpConn {
  uint64_t id = 0;
  lws* wsi = nullptr;
  HttpRequest request;
  bool bodyTooLarge = false;
  bool dispatched = false;             // handed to the HttpHandler (once)
  int bodyCompletions = 0;             // HTTP_BODY_COMPLETION callbacks seen
  bool replied = false;                // a response is ready in `response`
  bool headersSent = false;
  bool closeAfter = false;             // refused for its framing: close once answered
  HttpResponse response;
};

// Per-session data lws allocates (zero-filled C memory): we keep one pointer in it.
struct Pss {
  WsConn* ws;
  HttpConn* http;
};

// `headroom`: data starts with NetServer::kFrameHeadroom scratch bytes (sendWithHeadroom).
struct OutFrame { ConnId conn; std::string data; bool headroom; };
struct OutPush { ConnId conn; std::string key; std::string data; };
struct OutClose { ConnId conn; uint16_t code; std::string reason; };
struct OutHttp { uint64_t id; HttpResponse response; };
struct OutAdopt { int fd; std::string peer; std::string bytes; };
using OutItem = std::variant<OutFrame, OutPush, OutClose, OutHttp, OutAdopt>;

// Set as an adopted wsi's opaque user data: the address its gate slot is counted under.
struct GateTicket {
  std::string peer;
  int fd;
};

class LwsNetServer final : public NetServer {
 public:
  LwsNetServer(const NetServerOptions& options, WsHandler& ws, HttpHandler& http)
      : options_(options), ws_(ws), http_(http), context_(nullptr, &lws_context_destroy) {
    if (options_.maxFrameBytes == 0) options_.maxFrameBytes = kMaxFrameBytes;
    if (options_.idlePingSeconds == 0) options_.idlePingSeconds = tuning::kIdlePingSeconds;
    if (options_.idleHangupSeconds == 0) options_.idleHangupSeconds = tuning::kIdleHangupSeconds;
  }

  ~LwsNetServer() override {
    stop();
    // Teardown order: lws_context_destroy stops lws's watchers on the loop, so the loop must
    // outlive the context. With libev (unlike libuv) lws closes everything synchronously and
    // needs no further run of a foreign loop after the destroy.
    context_.reset();
    destroyLoop();
  }

  Status init() {
    protocols_[0] = {"http", &LwsNetServer::httpCallback, sizeof(Pss), 0, 0, nullptr, 0};
    protocols_[1] = {proto::kSubprotocol, &LwsNetServer::wsCallback, sizeof(Pss),
                     tuning::kWsRxBufferBytes, 1, nullptr, tuning::kWsTxChunkBytes};
    protocols_[2] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};

    retry_ = {};
    retry_.secs_since_valid_ping = options_.idlePingSeconds;
    retry_.secs_since_valid_hangup = options_.idleHangupSeconds;

    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    // The ConnectionGate owns the listening socket and hands accepted sockets to this vhost.
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols_;
    info.user = this;
    info.retry_and_idle_policy = &retry_;
    // Room for any head the gate lets through (lws also stores names of unknown headers).
    info.max_http_header_data = static_cast<unsigned short>(
        std::clamp<size_t>(options_.head.maxHeadBytes + 1024, 16384, 65535));
    info.timeout_secs = 30;
    if (!options_.tlsCertFile.empty() || !options_.tlsKeyFile.empty()) {
      if (options_.tlsCertFile.empty() || options_.tlsKeyFile.empty())
        return Status::invalidArgument("TLS needs both a certificate and a key");
      info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
      info.ssl_cert_filepath = options_.tlsCertFile.c_str();
      info.ssl_private_key_filepath = options_.tlsKeyFile.c_str();
      info.alpn = "http/1.1";
      // TLS 1.2 minimum and forward-secret AEAD suites only, whatever the system's OpenSSL
      // config says (issue 13): see docs/security.md. TLS 1.3 keeps OpenSSL's default suites
      // (all AEAD).
      info.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                             SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE;
      info.ssl_cipher_list = tuning::kTls12Ciphers;
      tls_ = true;
    }
    // The network loop: lws's libev plugin on our own epoll loop, or lws's built-in poll()
    // loop if that is not possible (an operator's server must start either way).
    // TETHERD_EVENT_LOOP=poll forces the poll() loop.
    const char* forced = std::getenv("TETHERD_EVENT_LOOP");
    bool wantLibev = !(forced && std::strcmp(forced, "poll") == 0);
    std::string fallbackWhy = "TETHERD_EVENT_LOOP=poll";
    if (wantLibev) {
      const unsigned flags = unsigned{EVFLAG_NOENV} | unsigned{EVFLAG_NOSIGMASK};
      loop_ = ev_loop_new(unsigned{EVBACKEND_EPOLL} | flags);
      if (!loop_) loop_ = ev_loop_new(unsigned{EVFLAG_AUTO} | flags);
      if (loop_) {
        lws_context_creation_info evInfo = info;
        evInfo.options |= LWS_SERVER_OPTION_LIBEV;
        evInfo.foreign_loops = reinterpret_cast<void**>(&loop_);
        context_.reset(lws_create_context(&evInfo));
        if (!context_) {
          destroyLoop();
          fallbackWhy = "lws could not start its libev event loop (plugin libwebsockets-evlib_ev)";
        }
      } else {
        fallbackWhy = "ev_loop_new failed";
      }
    }
    if (!context_) {
      context_.reset(lws_create_context(&info));
      if (context_ && wantLibev)
        spdlog::warn("network loop: falling back to poll(): {}", fallbackWhy);
    }
    if (!context_)
      return Status::ioError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                             (tls_ ? " with the given TLS certificate and key" : ""));
    vhost_ = lws_get_vhost_by_name(context_.get(), "default");
    if (!vhost_) return Status::internal("lws created no vhost");
    GateOptions gate;
    gate.host = options_.host;
    gate.port = options_.port;
    gate.inspectHeads = !tls_;
    gate.head = options_.head;
    gate.maxConnectionsPerAddress = options_.maxConnectionsPerAddress;
    gate.trustedProxies = options_.trustedProxies;
    gate.headTimeoutMs = options_.headTimeoutMs;
    gate.metrics = options_.metrics;
    Result<std::unique_ptr<ConnectionGate>> g = ConnectionGate::start(
        gate, [this](int fd, const std::string& peer, std::string bytes) {
          post(OutAdopt{fd, peer, std::move(bytes)});
        });
    if (!g.isOk()) return g.status();
    gate_ = std::move(*g);
    port_ = gate_->port();
    if (loop_) {
      startTick();
      spdlog::info("network loop: libev ({})", evBackendName(ev_backend(loop_)));
    } else {
      spdlog::info("network loop: poll (lws built-in){}", wantLibev ? "" : ", TETHERD_EVENT_LOOP=poll");
    }
    ws_.attach(*this);
    thread_ = std::thread([this] { serviceLoop(); });
    return Status::ok();
  }

  int port() const override { return port_; }
  bool tls() const override { return tls_; }

  void send(ConnId conn, std::string frame) override { post(OutFrame{conn, std::move(frame), false}); }
  void sendWithHeadroom(ConnId conn, std::string framed) override {
    if (framed.size() < kFrameHeadroom) return;  // not a framed buffer: nothing to send
    post(OutFrame{conn, std::move(framed), true});
  }
  void sendCoalesced(ConnId conn, std::string key, std::string frame) override {
    post(OutPush{conn, std::move(key), std::move(frame)});
  }
  void close(ConnId conn, uint16_t code, std::string reason) override {
    post(OutClose{conn, code, std::move(reason)});
  }

  // Called by the HTTP reply functors, any thread.
  void replyHttp(uint64_t id, HttpResponse response) { post(OutHttp{id, std::move(response)}); }

  void stop() override {
    if (gate_) gate_->stop();  // no more connections; before the network thread goes
    if (!thread_.joinable()) return;
    stopping_.store(true);
    if (context_) lws_cancel_service(context_.get());
    thread_.join();
    if (loop_ && context_) lws_sul_cancel(&tick_.sul);
    context_.reset();
  }

 private:
  // One wake-up per batch: only the post that finds the outbox empty wakes the network thread.
  // A later post before the drain is taken by that drain (it swaps the whole outbox under the
  // lock after the wake-up), so nothing waits for a wake-up that never comes.
  void post(OutItem item) {
    bool wake = false;
    {
      MutexLock lock(outMu_);
      wake = out_.empty();
      out_.push_back(std::move(item));
    }
    if (wake && context_) lws_cancel_service(context_.get());
  }

  void destroyLoop() {
    if (!loop_) return;
    ev_loop_destroy(loop_);
    loop_ = nullptr;
  }

  // lws 4.1's libev glue keeps one ev_timer for its timers (lws_sul: pings, idle hang-ups,
  // handshake and close timeouts) and re-arms it after each event with ev_timer_set +
  // ev_timer_start, which does nothing while that timer is still pending: a timer scheduled
  // earlier than the armed one (a new connection's ping, then its hang-up) waits for the armed
  // one, up to lws's 30 s housekeeping timer. (Still so in lws main.) A recurring lws timer of
  // our own keeps the armed one at most kLibevTickUs away, so lws timers fire at most that late.
  void startTick() {
    tick_.context = context_.get();
    scheduleTick(&tick_.sul);
  }

  static void scheduleTick(lws_sorted_usec_list_t* sul) {
    auto* t = reinterpret_cast<TickSul*>(sul);
    lws_sul_schedule(t->context, 0, &t->sul, &LwsNetServer::scheduleTick, kLibevTickUs);
  }

  static void onFlushDeadline(struct ev_loop* loop, ev_timer*, int) { ev_break(loop, EVBREAK_ONE); }

  // One wait for network events, at most until `deadline`.
  void serviceOnce(std::chrono::steady_clock::time_point deadline) {
    if (!loop_) {
      lws_service(context_.get(), 0);
      return;
    }
    double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    ev_timer t;
    ev_timer_init(&t, &LwsNetServer::onFlushDeadline, std::max(left, 0.0), 0.);
    ev_timer_start(loop_, &t);
    ev_run(loop_, EVRUN_ONCE);
    ev_timer_stop(loop_, &t);
  }

  void serviceLoop() {
    guard_.bindToThisThread();
    if (loop_) {
      // Returns when the EVENT_WAIT_CANCELLED handler sees stopping_ and breaks the loop.
      while (!stopping_.load()) ev_run(loop_, 0);
    } else {
      while (!stopping_.load()) lws_service(context_.get(), 0);
    }
    // Shutdown: flush what the workers already produced, then close everyone.
    drainOutbox();
    for (auto& [id, c] : conns_) {
      if (!c->closing) {
        c->closing = true;
        c->closeCode = LWS_CLOSE_STATUS_GOINGAWAY;
        c->closeReason = "server shutting down";
        lws_callback_on_writable(c->wsi);
      }
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(tuning::kShutdownFlushMs);
    while (!conns_.empty() && std::chrono::steady_clock::now() < deadline) {
      drainOutbox();
      serviceOnce(deadline);
    }
    guard_.unbindFromThisThread();
  }

  // Network thread: moves queued work onto connections and asks lws for WRITEABLE.
  void drainOutbox() {
    std::vector<OutItem> items;
    {
      MutexLock lock(outMu_);
      items.swap(out_);
    }
    for (auto& item : items) {
      if (auto* f = std::get_if<OutFrame>(&item)) {
        auto it = conns_.find(f->conn);
        if (it == conns_.end() || it->second->closing) continue;
        WsConn& c = *it->second;
        const size_t payload = f->data.size() - (f->headroom ? kFrameHeadroom : 0);
        if (c.txBytes + payload > tuning::kMaxOutboundBytesPerConnection) {
          spdlog::warn("conn {}: outbound queue over {} bytes, closing slow reader", c.id,
                       tuning::kMaxOutboundBytesPerConnection);
          if (options_.metrics) options_.metrics->slowReadersClosedTotal++;
          c.tx.clear();
          c.txBytes = 0;
          c.closing = true;
          c.closeCode = LWS_CLOSE_STATUS_POLICY_VIOLATION;
          c.closeReason = "outbound queue full: reading too slowly";
          lws_callback_on_writable(c.wsi);
          continue;
        }
        c.txBytes += payload;
        if (f->headroom) {
          c.tx.push_back(std::move(f->data));
        } else {
          std::string buf(kFrameHeadroom, '\0');
          buf += f->data;
          c.tx.push_back(std::move(buf));
        }
        lws_callback_on_writable(c.wsi);
      } else if (auto* p = std::get_if<OutPush>(&item)) {
        auto it = conns_.find(p->conn);
        if (it == conns_.end() || it->second->closing) {
          if (options_.metrics) options_.metrics->noticesDroppedTotal++;
          continue;
        }
        WsConn& c = *it->second;
        auto [slot, fresh] = c.pushes.try_emplace(p->key);
        if (fresh) c.pushOrder.push_back(p->key);
        else if (options_.metrics) options_.metrics->pushesCoalescedTotal++;
        slot->second = std::move(p->data);
        lws_callback_on_writable(c.wsi);
      } else if (auto* cl = std::get_if<OutClose>(&item)) {
        auto it = conns_.find(cl->conn);
        if (it == conns_.end() || it->second->closing) continue;
        WsConn& c = *it->second;
        c.closing = true;
        c.closeCode = cl->code;
        c.closeReason = cl->reason.substr(0, 120);
        lws_callback_on_writable(c.wsi);
      } else if (auto* a = std::get_if<OutAdopt>(&item)) {
        adopt(*a);
      } else if (auto* h = std::get_if<OutHttp>(&item)) {
        auto it = https_.find(h->id);
        if (it == https_.end()) continue;  // the client went away
        it->second->response = std::move(h->response);
        it->second->replied = true;
        lws_callback_on_writable(it->second->wsi);
      }
    }
  }

  // Network thread: gives a socket from the gate to lws, with the bytes the gate read of it.
  void adopt(OutAdopt& a) {
    if (stopping_.load()) {
      ::close(a.fd);
      gate_->release(a.peer);
      return;
    }
    guard_.track(a.fd, nullptr);  // before lws can read anything of it
    lws* wsi = a.bytes.empty()
                   ? lws_adopt_socket_vhost(vhost_, a.fd)
                   : lws_adopt_socket_vhost_readbuf(vhost_, a.fd, a.bytes.data(), a.bytes.size());
    // Null: lws refused it or already closed it (it closes the socket either way); its
    // WSI_DESTROY, if any, came before the ticket existed.
    if (!wsi) {
      guard_.untrack(a.fd, nullptr);
      gate_->release(a.peer);
      return;
    }
    guard_.track(a.fd, wsi);
    lws_set_opaque_user_data(wsi, new GateTicket{std::move(a.peer), a.fd});
  }

  static LwsNetServer* self(lws* wsi) {
    return static_cast<LwsNetServer*>(lws_context_user(lws_get_context(wsi)));
  }

  // The client's address: the TCP peer, or behind a trusted proxy the last X-Forwarded-For
  // entry (the address the proxy itself saw; earlier entries are the client's own claims).
  std::string clientAddress(lws* wsi, const char* peer) const {
    std::string direct(peer);
    if (options_.trustedProxies.empty() ||
        std::find(options_.trustedProxies.begin(), options_.trustedProxies.end(), direct) ==
            options_.trustedProxies.end())
      return direct;
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if (len <= 0 || len > 4096) return direct;
    std::string xff(static_cast<size_t>(len) + 1, '\0');
    int n = lws_hdr_copy(wsi, xff.data(), len + 1, WSI_TOKEN_X_FORWARDED_FOR);
    if (n <= 0) return direct;
    xff.resize(static_cast<size_t>(n));
    size_t comma = xff.rfind(',');
    std::string last = xff.substr(comma == std::string::npos ? 0 : comma + 1);
    while (!last.empty() && last.front() == ' ') last.erase(0, 1);
    while (!last.empty() && last.back() == ' ') last.pop_back();
    in6_addr a6{};
    in_addr a4{};
    if (inet_pton(AF_INET, last.c_str(), &a4) != 1 && inet_pton(AF_INET6, last.c_str(), &a6) != 1) return direct;
    return last;
  }

  // ---------------------------------------------------------------- WebSocket protocol
  static int wsCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto* pss = static_cast<Pss*>(user);
    LwsNetServer* s = self(wsi);
    switch (reason) {
      case LWS_CALLBACK_ESTABLISHED: {
        auto conn = std::make_unique<WsConn>();
        conn->id = ++s->nextConnId_;
        conn->wsi = wsi;
        pss->ws = conn.get();
        ConnId id = conn->id;
        s->conns_.emplace(id, std::move(conn));
        char peer[64] = "";
        lws_get_peer_simple(wsi, peer, sizeof peer);
        s->ws_.onOpen(id, s->clientAddress(wsi, peer));
        return 0;
      }
      case LWS_CALLBACK_RECEIVE: {
        WsConn* c = pss->ws;
        if (!c || c->closing) return 0;
        if (!lws_frame_is_binary(wsi)) {
          lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                           reinterpret_cast<unsigned char*>(const_cast<char*>("binary frames only")), 18);
          return -1;
        }
        // The frame header tells how much payload is still to come: an oversized frame is
        // refused before it is buffered, and past its first 64 KB the buffer is reserved once, so
        // a 1 MB frame arriving in 4 KB chunks is not re-grown and memmoved all the way up.
        // (Compared without a sum that could wrap: the peer chooses the 63-bit length.)
        size_t remaining = lws_remaining_packet_payload(wsi);
        size_t max = s->options_.maxFrameBytes;
        if (remaining > max || c->rx.size() + len > max - remaining) {
          std::string why = "frame larger than " + std::to_string(s->options_.maxFrameBytes) + " bytes";
          lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                           reinterpret_cast<unsigned char*>(why.data()), why.size());
          return -1;
        }
        // Reserve the whole frame only once a real part of it has arrived: a peer that sends
        // just a header must not make the server hold maxFrameBytes for each connection.
        size_t needed = c->rx.size() + len + remaining;
        if (needed > c->rx.capacity() && c->rx.size() + len >= kRxReserveAfterBytes)
          c->rx.reserve(std::max(needed, c->rx.size() * 2));
        c->rx.append(static_cast<const char*>(in), len);
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
          std::string frame;
          frame.swap(c->rx);
          s->ws_.onFrame(c->id, std::move(frame));
        }
        return 0;
      }
      case LWS_CALLBACK_SERVER_WRITEABLE: {
        WsConn* c = pss->ws;
        if (!c) return 0;
        if (!c->tx.empty()) {
          std::string& buf = c->tx.front();
          size_t n = buf.size() - kFrameHeadroom;
          int wrote = lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + kFrameHeadroom, n, LWS_WRITE_BINARY);
          c->txBytes -= n;
          c->tx.pop_front();
          if (wrote < static_cast<int>(n)) return -1;
          if (!c->tx.empty() || !c->pushOrder.empty() || c->closing) lws_callback_on_writable(wsi);
          return 0;
        }
        if (!c->pushOrder.empty()) {
          auto node = c->pushes.extract(c->pushOrder.front());
          c->pushOrder.pop_front();
          std::string buf(LWS_PRE, '\0');
          buf += node.mapped();
          size_t n = buf.size() - LWS_PRE;
          if (lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, n, LWS_WRITE_BINARY) < static_cast<int>(n))
            return -1;
          if (s->options_.metrics) s->options_.metrics->noticesSentTotal++;
          if (!c->pushOrder.empty() || c->closing) lws_callback_on_writable(wsi);
          return 0;
        }
        if (c->closing) {
          lws_close_reason(wsi, static_cast<lws_close_status>(c->closeCode),
                           reinterpret_cast<unsigned char*>(c->closeReason.data()), c->closeReason.size());
          return -1;
        }
        return 0;
      }
      case LWS_CALLBACK_CLOSED: {
        WsConn* c = pss->ws;
        if (!c) return 0;
        pss->ws = nullptr;
        ConnId id = c->id;
        // Notices still queued for a connection that is gone are never written.
        if (s->options_.metrics) s->options_.metrics->noticesDroppedTotal += static_cast<int64_t>(c->pushOrder.size());
        s->conns_.erase(id);  // deletes c
        s->ws_.onClose(id);
        return 0;
      }
      case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        return 0;  // handled once, by the http protocol
      default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
  }

  // ---------------------------------------------------------------- HTTP protocol
  void dispatchHttp(HttpConn* h) {
    // lws 4.1 repeats BODY_COMPLETION on every loop turn while bytes of a pipelined next request
    // wait behind the body (until this transaction completes): the request is handled once.
    h->dispatched = true;
    h->request.bodyTooLarge = h->bodyTooLarge;
    uint64_t id = h->id;
    http_.handle(h->request, [this, id](HttpResponse r) { replyHttp(id, std::move(r)); });
  }

  static HttpResponse framingResponse(int status, const std::string& why) {
    // The same response the gate gives (request_head.cpp), as an HttpResponse.
    RejectParts parts = headRejectParts(status, why);
    HttpResponse r;
    r.status = status;
    r.contentType = "application/x-amz-json-1.1";
    r.body = std::move(parts.body);
    r.headers.emplace_back("x-amzn-ErrorType", parts.errorType);
    r.headers.emplace_back("x-amzn-RequestId", newRequestId());
    r.headers.emplace_back("Connection", "close");
    return r;
  }

  Status writeHttpResponse(HttpConn* h) {
    std::string& body = h->response.body;
    std::vector<unsigned char> head(LWS_PRE + 4096);
    unsigned char* start = head.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = head.data() + head.size() - 1;
    if (lws_add_http_common_headers(h->wsi, static_cast<unsigned>(h->response.status),
                                    h->response.contentType.c_str(), body.size(), &p, end))
      return Status::internal("headers too long");
    for (auto& [name, value] : h->response.headers) {
      std::string n = name + ":";
      if (lws_add_http_header_by_name(h->wsi, reinterpret_cast<const unsigned char*>(n.c_str()),
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), &p, end))
        return Status::internal("headers too long");
    }
    if (lws_finalize_write_http_header(h->wsi, start, &p, end)) return Status::internal("header write failed");
    h->headersSent = true;
    return Status::ok();
  }

  static int httpCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto* pss = static_cast<Pss*>(user);
    LwsNetServer* s = self(wsi);
    switch (reason) {
      case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s) {
          s->drainOutbox();
          // stop(): leave ev_run (serviceLoop then flushes; during the flush this only ends
          // the current EVRUN_ONCE pass early).
          if (s->loop_ && s->stopping_.load()) ev_break(s->loop_, EVBREAK_ALL);
        }
        return 0;
      case LWS_CALLBACK_HTTP: {
        auto h = std::make_unique<HttpConn>();
        h->id = ++s->nextHttpId_;
        h->wsi = wsi;
        h->request.method = methodOf(wsi);
        h->request.path.assign(static_cast<const char*>(in), len);
        h->request.query = queryOf(wsi);
        collectHeaders(wsi, h->request);
        char peer[64] = "";
        lws_get_peer_simple(wsi, peer, sizeof peer);
        h->request.peer = s->clientAddress(wsi, peer);
        HttpConn* raw = h.get();
        s->https_.emplace(raw->id, std::move(h));
        pss->http = raw;
        std::string why;
        if (int status = framingStatus(wsi, why); status != 0) {
          if (s->options_.metrics) s->options_.metrics->countHeadRejection(status);
          spdlog::debug("http: {} from {}: {}", status, raw->request.peer, why);
          raw->closeAfter = true;
          raw->replied = true;
          raw->response = framingResponse(status, why);
          lws_callback_on_writable(wsi);
          return 0;
        }
        const std::string* cl = raw->request.header("content-length");
        bool hasBody = (cl && *cl != "0") || raw->request.header("transfer-encoding");
        if (!hasBody || raw->request.method == "GET" || raw->request.method == "HEAD") {
          s->dispatchHttp(raw);
        }
        return 0;  // body (if any) arrives in HTTP_BODY
      }
      case LWS_CALLBACK_HTTP_BODY: {
        HttpConn* h = pss->http;
        if (!h) return 0;
        if (h->bodyTooLarge || h->closeAfter) return 0;
        if (h->request.body.size() + len > tuning::kMaxHttpBodyBytes) {
          h->bodyTooLarge = true;
          std::string().swap(h->request.body);
        } else {
          h->request.body.append(static_cast<const char*>(in), len);
        }
        return 0;
      }
      case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        HttpConn* h = pss->http;
        if (!h || h->closeAfter) return 0;
        // Once per request; a request without a body (dispatched at LWS_CALLBACK_HTTP, e.g. a
        // POST with Content-Length: 0) gets it too.
        if (++h->bodyCompletions > 1) {
          // A pipelined request waits behind this body: lws 4.1 then repeats BODY_COMPLETION on
          // every loop turn and, preferring input, never writes the response (a busy loop that
          // pinned the network thread for good). No HTTP client we serve pipelines: close.
          spdlog::debug("http: {}: pipelined request after a body, closing", h->request.peer);
          return -1;
        }
        if (!h->dispatched) s->dispatchHttp(h);
        return 0;
      }
      case LWS_CALLBACK_HTTP_WRITEABLE: {
        HttpConn* h = pss->http;
        if (!h || !h->replied) return 0;
        if (!h->headersSent) {
          if (!s->writeHttpResponse(h).isOk()) return -1;
          if (!h->response.body.empty()) {
            lws_callback_on_writable(wsi);
            return 0;
          }
        } else if (!h->response.body.empty()) {
          std::string buf(LWS_PRE, '\0');
          buf += h->response.body;
          h->response.body.clear();
          int n = lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE,
                            buf.size() - LWS_PRE, LWS_WRITE_HTTP_FINAL);
          if (n < 0) return -1;
        }
        // Done with this transaction; keep-alive continues with a fresh HttpConn (unless the
        // request was refused for its framing: what follows it cannot be trusted).
        bool closeAfter = h->closeAfter;
        pss->http = nullptr;
        s->https_.erase(h->id);
        if (closeAfter) return -1;
        if (lws_http_transaction_completed(wsi)) return -1;
        return 0;
      }
      case LWS_CALLBACK_CLOSED_HTTP:
      case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss && pss->http) {
          s->https_.erase(pss->http->id);
          pss->http = nullptr;
        }
        return 0;
      case LWS_CALLBACK_WSI_DESTROY:
        // Every wsi of the vhost ends here (WebSocket ones too): give its gate slot back.
        if (auto* ticket = static_cast<GateTicket*>(lws_get_opaque_user_data(wsi))) {
          lws_set_opaque_user_data(wsi, nullptr);
          if (s) s->guard_.untrack(ticket->fd, wsi);
          if (s && s->gate_) s->gate_->release(ticket->peer);
          delete ticket;
        }
        return 0;
      case LWS_CALLBACK_ESTABLISHED:
        // A WebSocket upgrade without our subprotocol lands on the default protocol.
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
                         reinterpret_cast<unsigned char*>(const_cast<char*>("subprotocol tether.v1 required")), 30);
        return -1;
      default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
  }


  NetServerOptions options_;
  WsHandler& ws_;
  HttpHandler& http_;
  lws_protocols protocols_[3];
  lws_retry_bo_t retry_;
  // Declared before context_: destroying the context untracks every socket it still has.
  ReadGuard guard_{options_.head, options_.metrics};
  LwsContextPtr context_;
  lws_vhost* vhost_ = nullptr;
  std::unique_ptr<ConnectionGate> gate_;
  struct ev_loop* loop_ = nullptr;  // null: lws's built-in poll() loop
  TickSul tick_{};                  // libev only: see startTick
  int port_ = 0;
  bool tls_ = false;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  Mutex outMu_;
  std::vector<OutItem> out_ TETHER_GUARDED_BY(outMu_);

  // Network thread only.
  ConnId nextConnId_ = 0;
  uint64_t nextHttpId_ = 0;
  std::unordered_map<ConnId, std::unique_ptr<WsConn>> conns_;
  std::unordered_map<uint64_t, std::unique_ptr<HttpConn>> https_;
};

}  // namespace

Result<std::unique_ptr<NetServer>> NetServer::start(const NetServerOptions& options, WsHandler& ws,
                                                    HttpHandler& http) {
  auto server = std::make_unique<LwsNetServer>(options, ws, http);
  TETHER_RETURN_IF_ERROR(server->init());
  return std::unique_ptr<NetServer>(std::move(server));
}

}  // namespace tether::server
