// WsTransport against a scripted in-process WebSocket server: URL validation, out-of-order
// responses matched by id, request timeout, a garbage frame from the server, offline fail-fast
// and reconnect, shutdown cancelling requests in flight, an HTTP CONNECT proxy.
#include "transport/ws_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "tether/codec.h"

namespace tether::client::testing {
namespace {

// A one-connection-at-a-time tether.v1 server. Modes decide how requests are answered.
class ScriptedServer {
 public:
  enum class Mode { kNormal, kReversePairs, kSilent, kGarbage };

  ScriptedServer() {
    static lws_protocols protocols[] = {
        {"http", lws_callback_http_dummy, 0, 0, 0, nullptr, 0},
        {proto::kSubprotocol, &ScriptedServer::callback, 0, 0, 0, nullptr, 0},
        {nullptr, nullptr, 0, 0, 0, nullptr, 0},
    };
    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.user = this;
    info.gid = -1;
    info.uid = -1;
    ctx_ = lws_create_context(&info);
    port_ = ctx_ ? lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx_, "default")) : 0;
    thread_ = std::thread([this] {
      while (!stop_) lws_service(ctx_, 0);
    });
  }
  ~ScriptedServer() {
    stop_ = true;
    lws_cancel_service(ctx_);
    thread_.join();
    lws_context_destroy(ctx_);
  }
  int port() const { return port_; }
  void setMode(Mode m) { mode_ = m; }
  int connections() const { return connections_; }
  int getTokenCalls() const { return getTokenCalls_; }
  void setTokenLifetimeMs(int64_t ms) { tokenLifetimeMs_ = ms; }
  static int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  }

 private:
  static int callback(lws* wsi, lws_callback_reasons reason, void*, void* in, size_t len) {
    auto* self = static_cast<ScriptedServer*>(lws_context_user(lws_get_context(wsi)));
    switch (reason) {
      case LWS_CALLBACK_ESTABLISHED:
        ++self->connections_;
        self->out_.clear();
        self->held_.clear();
        return 0;
      case LWS_CALLBACK_RECEIVE: {
        self->rx_.append(static_cast<const char*>(in), len);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) return 0;
        std::string frame;
        frame.swap(self->rx_);
        self->onMessage(frame);
        if (!self->out_.empty()) lws_callback_on_writable(wsi);
        return 0;
      }
      case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (self->out_.empty()) return 0;
        std::string f = std::move(self->out_.front());
        self->out_.pop_front();
        std::string buf(LWS_PRE, '\0');
        buf += f;
        lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, f.size(), LWS_WRITE_BINARY);
        if (!self->out_.empty()) lws_callback_on_writable(wsi);
        return 0;
      }
      default:
        return 0;
    }
  }

  void onMessage(const std::string& frame) {
    auto msg = codec::decodeClientMessage(frame);
    if (!msg.isOk()) return;
    if (std::holds_alternative<proto::Hello>(*msg)) {
      out_.push_back(codec::encode(proto::ServerMessage{proto::HelloAck{1, "scripted", 0}}));
      return;
    }
    auto& req = std::get<proto::Request>(*msg);
    proto::Response resp{req.id, Status::internal("unhandled")};
    if (std::holds_alternative<proto::GetIdRequest>(req.body)) {
      resp.body = proto::GetIdResponse{"local:00000000-0000-4000-8000-000000000001"};
    } else if (auto* gt = std::get_if<proto::GetTokenRequest>(&req.body)) {
      ++getTokenCalls_;
      resp.body = proto::GetTokenResponse{gt->identityId, "token", nowMs() + tokenLifetimeMs_};
    } else if (std::holds_alternative<proto::AuthenticateRequest>(req.body)) {
      resp.body = proto::AuthenticateResponse{"local:00000000-0000-4000-8000-000000000001", "local:1",
                                              nowMs() + tokenLifetimeMs_};
    } else if (auto* lr = std::get_if<proto::ListRecordsRequest>(&req.body)) {
      proto::ListRecordsResponse r;
      r.lastModifiedBy = lr->datasetName;  // lets the test see which answer it got
      r.syncSessionToken = "s";
      resp.body = r;
      if (mode_ == Mode::kSilent) return;
      if (mode_ == Mode::kGarbage) {
        out_.push_back("this is not a capnp message at all");
        return;
      }
      if (mode_ == Mode::kReversePairs) {
        held_.push_back(codec::encode(proto::ServerMessage{resp}));
        if (held_.size() == 2) {
          out_.push_back(held_[1]);
          out_.push_back(held_[0]);
          held_.clear();
        }
        return;
      }
    }
    out_.push_back(codec::encode(proto::ServerMessage{resp}));
  }

  lws_context* ctx_ = nullptr;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<Mode> mode_{Mode::kNormal};
  std::atomic<int> connections_{0};
  std::atomic<int> getTokenCalls_{0};
  std::atomic<int64_t> tokenLifetimeMs_{3'600'000};
  std::string rx_;
  std::deque<std::string> out_;
  std::vector<std::string> held_;
};

// An HTTP CONNECT proxy on 127.0.0.1 that tunnels to 127.0.0.1:<the requested port>, or answers
// every CONNECT with `status` when that is not 200. Records the request heads it saw.
class ConnectProxy {
 public:
  explicit ConnectProxy(std::string status = "200 Connection established") : status_(std::move(status)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(listen_, 8) == 0 &&
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { acceptLoop(); });
  }
  ~ConnectProxy() {
    stop_ = true;
    thread_.join();
    for (auto& t : relays_) t.join();
    ::close(listen_);
  }
  int port() const { return port_; }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }

 private:
  static bool waitReadable(int fd, const std::atomic<bool>& stop) {
    pollfd p{fd, POLLIN, 0};
    while (!stop) {
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  void acceptLoop() {
    while (waitReadable(listen_, stop_)) {
      int c = ::accept(listen_, nullptr, nullptr);
      if (c >= 0) relays_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int client) {
    std::string head;
    char buf[16384];
    while (head.find("\r\n\r\n") == std::string::npos && waitReadable(client, stop_)) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      heads_.push_back(head);
    }
    size_t colon = head.find(':'), space = head.find(' ', colon == std::string::npos ? 0 : colon);
    int target = -1;
    if (status_.rfind("200", 0) == 0 && head.rfind("CONNECT ", 0) == 0 && colon != std::string::npos) {
      target = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(std::atoi(head.substr(colon + 1, space - colon - 1).c_str())));
      if (::connect(target, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(target);
        target = -1;
      }
    }
    std::string reply = "HTTP/1.1 " + (target >= 0 || status_.rfind("200", 0) != 0 ? status_ : "502 Bad Gateway") +
                        "\r\nContent-Length: 0\r\n\r\n";
    ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
    while (target >= 0 && !stop_) {  // relay both ways until either side closes
      pollfd p[2] = {{client, POLLIN, 0}, {target, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
        closed = n <= 0 || ::send(p[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n;
      }
      if (closed) break;
    }
    if (target >= 0) ::close(target);
    ::close(client);
  }

  std::string status_;
  int listen_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> relays_;  // only the accept thread adds; joined after it ends
  std::mutex mu_;
  std::vector<std::string> heads_;
};

WsTransportOptions optionsFor(int port) {
  WsTransportOptions o;
  o.url = "ws://127.0.0.1:" + std::to_string(port);
  o.identityPoolId = "local:11111111-2222-3333-4444-555555555555";
  o.requestTimeout = std::chrono::milliseconds(800);
  o.connectTimeout = std::chrono::milliseconds(2000);
  return o;
}

// Runs `fn` on the transport's thread and waits for the Result it reports.
template <class T>
Result<T> onLoop(WsTransport& t, std::function<void(Remote::Callback<T>)> fn) {
  auto p = std::make_shared<std::promise<Result<T>>>();
  auto f = p->get_future();
  EXPECT_TRUE(t.post([fn, p] { fn([p](Result<T> r) { p->set_value(std::move(r)); }); }));
  if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
    return Status::internal("test timed out");
  return f.get();
}

Result<proto::ListRecordsResponse> list(WsTransport& t, const std::string& name) {
  return onLoop<proto::ListRecordsResponse>(t, [&t, name](auto done) {
    proto::ListRecordsRequest r;
    r.datasetName = name;
    t.listRecords(r, done);
  });
}

TEST(WsTransportTest, RejectsBadUrls) {
  for (const char* url : {"http://example.com", "ws://", "ws://host:abc", "ws://host:70000",
                          "ws://[::1", "ws://host:", "example.com:80"}) {
    WsTransportOptions o;
    o.url = url;
    auto t = WsTransport::start(o);
    ASSERT_FALSE(t.isOk()) << url;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << url;
  }
  WsTransportOptions o;
  o.url = "ws://127.0.0.1:1";
  o.caFile = "/nonexistent/ca.pem";
  EXPECT_EQ(WsTransport::start(o).status().code(), StatusCode::kInvalidArgument);
  o.url = "wss://127.0.0.1:1";
  EXPECT_EQ(WsTransport::start(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(WsTransportTest, AuthenticatesAndAnswersOutOfOrderAreMatchedById) {
  ScriptedServer server;
  ASSERT_GT(server.port(), 0);
  server.setMode(ScriptedServer::Mode::kReversePairs);
  auto t = WsTransport::start(optionsFor(server.port()));
  ASSERT_TRUE(t.isOk()) << t.status();
  auto id = onLoop<std::string>(**t, [&](auto done) { (*t)->authenticate("", nullptr, false, done); });
  ASSERT_TRUE(id.isOk()) << id.status();
  EXPECT_EQ(*id, "local:00000000-0000-4000-8000-000000000001");
  // Two requests in flight; the server answers the second first.
  auto a = std::make_shared<std::promise<std::string>>();
  auto b = std::make_shared<std::promise<std::string>>();
  (*t)->post([tr = *t, a, b] {
    proto::ListRecordsRequest ra, rb;
    ra.datasetName = "alpha";
    rb.datasetName = "beta";
    tr->listRecords(ra, [a](auto r) { a->set_value(r.isOk() ? r->lastModifiedBy : r.status().toString()); });
    tr->listRecords(rb, [b](auto r) { b->set_value(r.isOk() ? r->lastModifiedBy : r.status().toString()); });
  });
  auto fa = a->get_future(), fb = b->get_future();
  ASSERT_EQ(fa.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ASSERT_EQ(fb.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(fa.get(), "alpha");
  EXPECT_EQ(fb.get(), "beta");
}

TEST(WsTransportTest, ReauthenticatesOnlyWhenTheTokenNearsExpiry) {
  ScriptedServer server;
  auto t = WsTransport::start(optionsFor(server.port()));
  ASSERT_TRUE(t.isOk());
  const std::string id = "local:00000000-0000-4000-8000-000000000001";
  auto auth = [&] { return onLoop<std::string>(**t, [&](auto done) { (*t)->authenticate(id, nullptr, false, done); }); };
  ASSERT_TRUE(auth().isOk());
  ASSERT_TRUE(auth().isOk());
  EXPECT_EQ(server.getTokenCalls(), 1);  // a fresh token is reused
  server.setTokenLifetimeMs(30'000);     // below the re-auth margin
  ASSERT_TRUE(auth().isOk());            // still the old long-lived token: reused
  EXPECT_EQ(server.getTokenCalls(), 1);
  // Force one refresh with the short token, then every call refreshes.
  ASSERT_TRUE(onLoop<std::string>(**t, [&](auto done) { (*t)->authenticate("", nullptr, false, done); }).isOk());
  EXPECT_EQ(server.getTokenCalls(), 2);
  ASSERT_TRUE(auth().isOk());
  EXPECT_EQ(server.getTokenCalls(), 3);
}

TEST(WsTransportTest, RequestTimeoutIsUnavailable) {
  ScriptedServer server;
  server.setMode(ScriptedServer::Mode::kSilent);
  auto t = WsTransport::start(optionsFor(server.port()));
  ASSERT_TRUE(t.isOk());
  auto start = std::chrono::steady_clock::now();
  auto r = list(**t, "x");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  server.setMode(ScriptedServer::Mode::kNormal);
  // Nothing at all arrived on the connection for a whole request timeout: the transport drops
  // it (it may be dead without a FIN) and the next requests connect again.
  bool ok = false;
  for (int i = 0; i < 200 && !ok; ++i) {
    ok = list(**t, "x").isOk();
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(25));  // retry pacing
  }
  EXPECT_TRUE(ok) << "the transport recovers from a silent connection";
}

TEST(WsTransportTest, GarbageFromServerDropsTheConnectionAndRecovers) {
  ScriptedServer server;
  server.setMode(ScriptedServer::Mode::kGarbage);
  auto t = WsTransport::start(optionsFor(server.port()));
  ASSERT_TRUE(t.isOk());
  auto r = list(**t, "x");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  server.setMode(ScriptedServer::Mode::kNormal);
  // Fail-fast kicks a reconnect; poll with a deadline until the new connection serves us.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Result<proto::ListRecordsResponse> again = Status::unavailable("not yet");
  while (!again.isOk() && std::chrono::steady_clock::now() < deadline) {
    again = list(**t, "x");
    if (!again.isOk()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(again.isOk()) << again.status();
  EXPECT_GE(server.connections(), 2);
}

TEST(WsTransportTest, OfflineFailsFast) {
  auto t = WsTransport::start(optionsFor(1));  // nothing listens on port 1
  ASSERT_TRUE(t.isOk());
  auto start = std::chrono::steady_clock::now();
  auto first = list(**t, "x");  // waits for the first attempt, which is refused at once
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable);
  auto second = list(**t, "x");
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(second.status().isRetryable());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(WsTransportTest, ShutdownCancelsRequestsInFlight) {
  ScriptedServer server;
  server.setMode(ScriptedServer::Mode::kSilent);
  auto opts = optionsFor(server.port());
  opts.requestTimeout = std::chrono::seconds(60);
  auto t = WsTransport::start(opts);
  ASSERT_TRUE(t.isOk());
  auto p = std::make_shared<std::promise<Status>>();
  (*t)->post([tr = *t, p] {
    proto::ListRecordsRequest r;
    r.datasetName = "x";
    tr->listRecords(r, [p](auto res) { p->set_value(res.status()); });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let it reach the server
  (*t)->shutdown();
  auto f = p->get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_EQ(f.get().code(), StatusCode::kCancelled);
  EXPECT_FALSE((*t)->post([] {}));
}

TEST(WsTransportTest, TunnelsThroughAnHttpProxy) {
  ScriptedServer server;
  ConnectProxy proxy;
  ASSERT_GT(proxy.port(), 0);
  auto o = optionsFor(server.port());
  o.httpProxy = "http://user:pw@127.0.0.1:" + std::to_string(proxy.port()) + "/";
  auto t = WsTransport::start(o);
  ASSERT_TRUE(t.isOk()) << t.status();
  auto r = list(**t, "through-proxy");
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->lastModifiedBy, "through-proxy");
  EXPECT_EQ(server.connections(), 1);
  std::vector<std::string> heads = proxy.heads();
  ASSERT_EQ(heads.size(), 1u);
  std::string target = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(heads[0].rfind("CONNECT " + target + " HTTP/1.1\r\n", 0), 0u) << heads[0];
  EXPECT_NE(heads[0].find("Host: " + target + "\r\n"), std::string::npos) << heads[0];
  EXPECT_NE(heads[0].find("Proxy-Authorization: Basic dXNlcjpwdw==\r\n"), std::string::npos) << heads[0];
  (*t)->shutdown();
}

TEST(WsTransportTest, ProxyRefusingTheTunnelIsUnavailable) {
  ScriptedServer server;
  ConnectProxy proxy("407 Proxy Authentication Required");
  auto o = optionsFor(server.port());
  o.httpProxy = "127.0.0.1:" + std::to_string(proxy.port());
  auto t = WsTransport::start(o);
  ASSERT_TRUE(t.isOk()) << t.status();
  auto r = list(**t, "x");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_NE(r.status().message().find("407"), std::string::npos) << r.status();
  EXPECT_EQ(server.connections(), 0);
  ASSERT_GE(proxy.heads().size(), 1u);  // a background retry may have come since
  EXPECT_EQ(proxy.heads()[0].find("Proxy-Authorization"), std::string::npos);
}

TEST(WsTransportTest, RejectsABadProxy) {
  for (const char* p : {"127.0.0.1", "http://127.0.0.1:", "127.0.0.1:99999", ":80", "host:8x"}) {
    auto o = optionsFor(1);
    o.httpProxy = p;
    auto t = WsTransport::start(o);
    ASSERT_FALSE(t.isOk()) << p;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << p;
  }
}

}  // namespace
}  // namespace tether::client::testing
