#include "load_client.h"

#include <libwebsockets.h>
#include <sys/resource.h>

#include <cstring>
#include <deque>

#include "tether/codec.h"

namespace tether::bench {

struct Conn {
  lws* wsi = nullptr;
  BenchDevice* device = nullptr;
  std::deque<std::string> out;
  std::string rx;
  bool open = false;
  bool connecting = false;
};

struct LoadClient::Impl {
  std::string host;
  std::vector<int> ports;  // connection i goes to ports[i % size] (nodes of a deployment)
  bool tls = false;
  std::string caFile;
  lws_context* context = nullptr;
  std::vector<Conn> conns;
  size_t connecting = 0;
  size_t open = 0;

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto* self = static_cast<Impl*>(lws_context_user(lws_get_context(wsi)));
    auto index = reinterpret_cast<uintptr_t>(user);
    if (!self || index == 0 || index > self->conns.size()) return 0;
    Conn& c = self->conns[index - 1];
    switch (reason) {
      case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c.open = true;
        c.connecting = false;
        self->connecting--;
        self->open++;
        c.device->onOpen();
        return 0;
      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c.connecting) self->connecting--;
        c.connecting = false;
        c.wsi = nullptr;
        c.device->onClosed();
        return 0;
      case LWS_CALLBACK_CLIENT_RECEIVE: {
        c.rx.append(static_cast<const char*>(in), len);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0) return 0;
        std::string frame;
        frame.swap(c.rx);
        Result<proto::ServerMessage> msg = codec::decodeServerMessage(frame);
        if (!msg.isOk()) {
          c.device->failed = true;
          return 0;
        }
        c.device->onMessage(std::move(*msg));
        return 0;
      }
      case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (c.out.empty()) return 0;
        std::string buf(LWS_PRE, '\0');
        buf += c.out.front();
        c.out.pop_front();
        size_t n = buf.size() - LWS_PRE;
        if (lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, n, LWS_WRITE_BINARY) < static_cast<int>(n))
          return -1;
        if (!c.out.empty()) lws_callback_on_writable(wsi);
        return 0;
      }
      case LWS_CALLBACK_CLIENT_CLOSED:
        if (c.open) self->open--;
        c.open = false;
        c.wsi = nullptr;
        c.device->onClosed();
        return 0;
      default:
        return 0;
    }
  }

  void connect(size_t i) {
    lws_client_connect_info ci;
    std::memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = host.c_str();
    ci.port = ports[i % ports.size()];
    ci.path = "/";
    ci.host = host.c_str();
    ci.origin = host.c_str();
    ci.protocol = proto::kSubprotocol;
    ci.local_protocol_name = "tether-bench";
    ci.userdata = reinterpret_cast<void*>(static_cast<uintptr_t>(i + 1));
    ci.pwsi = &conns[i].wsi;
    if (tls) ci.ssl_connection = LCCSCF_USE_SSL;
    conns[i].connecting = true;
    connecting++;
    if (!lws_client_connect_via_info(&ci)) {
      conns[i].connecting = false;
      connecting--;
      conns[i].device->failed = true;
    }
  }
};

namespace {
lws_protocols gProtocols[] = {
    // tx_packet_size 1 MB: a whole W2 push goes to the socket in one write instead of 4 KB
    // chunks over many loop turns (lws's default when it is 0).
    {"tether-bench", &LoadClient::Impl::callback, 0, 0, 0, nullptr, 1u << 20},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};
}  // namespace

void raiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

LoadClient::LoadClient(std::string url, std::string caFile)
    : LoadClient(std::vector<std::string>{std::move(url)}, std::move(caFile)) {}

LoadClient::LoadClient(const std::vector<std::string>& urls, std::string caFile) : impl_(std::make_unique<Impl>()) {
  // Same scheme and host for all (the nodes of one test deployment on loopback); ports differ.
  impl_->tls = urls.front().rfind("wss://", 0) == 0;
  impl_->caFile = std::move(caFile);
  for (const std::string& url : urls) {
    std::string rest = url.substr(url.find("//") + 2);
    impl_->host = rest.substr(0, rest.find(':'));
    impl_->ports.push_back(std::atoi(rest.c_str() + rest.find(':') + 1));
  }
  lws_set_log_level(LLL_ERR, nullptr);
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = gProtocols;
  info.user = impl_.get();
  info.fd_limit_per_thread = 0;  // lws sizes its table from the (raised) rlimit
  if (impl_->tls) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (!impl_->caFile.empty()) info.client_ssl_ca_filepath = impl_->caFile.c_str();
  }
  impl_->context = lws_create_context(&info);
}

LoadClient::~LoadClient() {
  if (impl_->context) lws_context_destroy(impl_->context);
}

size_t LoadClient::openConnections() const { return impl_->open; }

void LoadClient::send(size_t index, std::string frame) {
  Conn& c = impl_->conns[index];
  c.out.push_back(std::move(frame));
  if (c.wsi) lws_callback_on_writable(c.wsi);
}

uint64_t BenchDevice::request(proto::RequestBody body) {
  uint64_t id = nextId_++;
  client_->send(index_, codec::encode(proto::ClientMessage{proto::Request{id, std::move(body)}}));
  return id;
}

void BenchDevice::hello() {
  client_->send(index_, codec::encode(proto::ClientMessage{proto::Hello{proto::kProtocolVersion, "tether-bench"}}));
}

bool LoadClient::run(std::vector<BenchDevice*> devices, const std::function<bool()>& until,
                     std::chrono::milliseconds timeout, size_t maxConnecting) {
  if (!impl_->context) return false;
  size_t base = impl_->conns.size();
  impl_->conns.resize(base + devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    impl_->conns[base + i].device = devices[i];
    devices[i]->client_ = this;
    devices[i]->index_ = base + i;
  }
  size_t next = base;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    while (next < impl_->conns.size() && impl_->connecting < maxConnecting) impl_->connect(next++);
    if (next == impl_->conns.size() && until()) return true;
    lws_service(impl_->context, 0);
  }
  return false;
}

void LoadClient::wake() {
  if (impl_->context) lws_cancel_service(impl_->context);
}

bool LoadClient::pump(const std::function<bool()>& until, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (until()) return true;
    lws_service(impl_->context, 0);
  }
  return until();
}

}  // namespace tether::bench
