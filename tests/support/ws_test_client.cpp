#include "ws_test_client.h"

#include <libwebsockets.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "tether/codec.h"

namespace tether::testing {

struct WsTestClient::Impl {
  Options options;
  lws_context* context = nullptr;
  lws* wsi = nullptr;                  // service thread only (after connect)
  std::thread thread;
  std::atomic<bool> stop{false};

  mutable std::mutex mu;
  std::condition_variable cv;
  bool established = false;            // guarded by mu
  bool failed = false;
  bool closed = false;
  int closeCode = 0;
  std::string closeReason;
  std::deque<std::pair<std::string, bool>> outgoing;   // frames to send (binary?)
  bool wantClose = false;
  std::optional<int> reading;          // pending rx flow change
  std::map<uint64_t, proto::Response> responses;
  std::vector<proto::Response> unsolicited;             // id 0 errors
  std::vector<proto::DatasetChanged> pushes;
  std::optional<proto::HelloAck> helloAck;
  uint64_t nextId = 1;
  std::string rx;                      // service thread only

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto* self = static_cast<Impl*>(lws_context_user(lws_get_context(wsi)));
    (void)user;
    switch (reason) {
      case LWS_CALLBACK_CLIENT_ESTABLISHED: {
        std::lock_guard<std::mutex> lock(self->mu);
        self->established = true;
        self->cv.notify_all();
        if (!self->outgoing.empty()) lws_callback_on_writable(wsi);
        return 0;
      }
      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        std::lock_guard<std::mutex> lock(self->mu);
        self->failed = true;
        self->closed = true;
        self->wsi = nullptr;
        self->cv.notify_all();
        return 0;
      }
      case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        std::lock_guard<std::mutex> lock(self->mu);
        const auto* p = static_cast<const unsigned char*>(in);
        if (len >= 2) {
          self->closeCode = (p[0] << 8) | p[1];
          self->closeReason.assign(reinterpret_cast<const char*>(p) + 2, len - 2);
        }
        return 0;
      }
      case LWS_CALLBACK_CLIENT_RECEIVE: {
        self->rx.append(static_cast<const char*>(in), len);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0) return 0;
        std::string frame;
        frame.swap(self->rx);
        Result<proto::ServerMessage> msg = codec::decodeServerMessage(frame);
        std::lock_guard<std::mutex> lock(self->mu);
        if (!msg.isOk()) {
          self->unsolicited.push_back(proto::Response{0, msg.status()});
        } else if (auto* ack = std::get_if<proto::HelloAck>(&*msg)) {
          self->helloAck = *ack;
        } else if (auto* push = std::get_if<proto::DatasetChanged>(&*msg)) {
          self->pushes.push_back(*push);
        } else {
          auto& r = std::get<proto::Response>(*msg);
          if (r.id == 0) self->unsolicited.push_back(r);
          else self->responses[r.id] = std::move(r);
        }
        self->cv.notify_all();
        return 0;
      }
      case LWS_CALLBACK_CLIENT_WRITEABLE: {
        std::pair<std::string, bool> item;
        bool more = false;
        {
          std::lock_guard<std::mutex> lock(self->mu);
          if (self->outgoing.empty()) {
            if (self->wantClose) {
              lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
              return -1;
            }
            return 0;
          }
          item = std::move(self->outgoing.front());
          self->outgoing.pop_front();
          more = !self->outgoing.empty() || self->wantClose;
        }
        std::string buf(LWS_PRE, '\0');
        buf += item.first;
        int n = lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, item.first.size(),
                          item.second ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < 0) return -1;
        if (more) lws_callback_on_writable(wsi);
        return 0;
      }
      case LWS_CALLBACK_CLIENT_CLOSED: {
        std::lock_guard<std::mutex> lock(self->mu);
        self->closed = true;
        self->wsi = nullptr;
        self->cv.notify_all();
        return 0;
      }
      case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
        if (!self) return 0;
        std::lock_guard<std::mutex> lock(self->mu);
        if (self->wsi && (!self->outgoing.empty() || self->wantClose) && self->established)
          lws_callback_on_writable(self->wsi);
        if (self->wsi && self->reading) {
          lws_rx_flow_control(self->wsi, *self->reading);
          self->reading.reset();
        }
        return 0;
      }
      default:
        return 0;
    }
  }

  void wake() {
    if (context) lws_cancel_service(context);
  }
};

namespace {

lws_protocols gProtocols[] = {
    {"tether-test", &WsTestClient::Impl::callback, 0, 0, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

}  // namespace

WsTestClient::WsTestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsTestClient::~WsTestClient() {
  if (!impl_) return;
  impl_->stop = true;
  impl_->wake();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->context) lws_context_destroy(impl_->context);
}

std::unique_ptr<WsTestClient> WsTestClient::connect(const std::string& url, const std::string& caFile) {
  Options o;
  o.url = url;
  o.caFile = caFile;
  return connect(o);
}

std::unique_ptr<WsTestClient> WsTestClient::connect(const Options& options) {
  static std::once_flag logOnce;
  std::call_once(logOnce, [] { lws_set_log_level(LLL_ERR, nullptr); });

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  bool tls = options.url.rfind("wss://", 0) == 0;
  std::string rest = options.url.substr(tls ? 6 : 5);
  std::string host = rest.substr(0, rest.find(':'));
  int port = std::atoi(rest.c_str() + rest.find(':') + 1);

  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = gProtocols;
  info.user = impl.get();
  if (tls) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (!options.caFile.empty()) info.client_ssl_ca_filepath = options.caFile.c_str();
  }
  impl->context = lws_create_context(&info);
  if (!impl->context) return nullptr;

  lws_client_connect_info ci;
  std::memset(&ci, 0, sizeof ci);
  ci.context = impl->context;
  ci.address = host == "localhost" ? "127.0.0.1" : host.c_str();
  ci.port = port;
  ci.path = "/";
  ci.host = host.c_str();
  ci.origin = host.c_str();
  ci.protocol = options.subprotocol.empty() ? nullptr : options.subprotocol.c_str();
  ci.local_protocol_name = "tether-test";
  ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
  ci.pwsi = &impl->wsi;
  if (!lws_client_connect_via_info(&ci)) return nullptr;

  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    while (!raw->stop.load()) lws_service(raw->context, 0);
  });

  auto client = std::unique_ptr<WsTestClient>(new WsTestClient(std::move(impl)));
  {
    std::unique_lock<std::mutex> lock(raw->mu);
    if (!raw->cv.wait_for(lock, std::chrono::seconds(10), [raw] { return raw->established || raw->failed; }) ||
        raw->failed)
      return nullptr;
  }
  if (options.sendHello) {
    client->sendHello(proto::kProtocolVersion);
    std::unique_lock<std::mutex> lock(raw->mu);
    if (!raw->cv.wait_for(lock, std::chrono::seconds(10), [raw] { return raw->helloAck.has_value() || raw->closed; }) ||
        !raw->helloAck)
      return nullptr;
  }
  return client;
}

void WsTestClient::sendRaw(std::string bytes, bool binary) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->outgoing.emplace_back(std::move(bytes), binary);
  }
  impl_->wake();
}

void WsTestClient::sendHello(uint32_t version) {
  sendRaw(codec::encode(proto::ClientMessage{proto::Hello{version, "tether-test"}}));
}

std::optional<proto::HelloAck> WsTestClient::helloAck() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->helloAck;
}

uint64_t WsTestClient::sendRequest(proto::RequestBody body) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    id = impl_->nextId++;
  }
  sendRaw(codec::encode(proto::ClientMessage{proto::Request{id, std::move(body)}}));
  return id;
}

std::optional<proto::Response> WsTestClient::waitResponse(uint64_t id, int timeoutMs) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  Impl* raw = impl_.get();
  raw->cv.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                   [raw, id] { return raw->responses.count(id) > 0 || raw->closed; });
  auto it = raw->responses.find(id);
  if (it == raw->responses.end()) return std::nullopt;
  proto::Response r = std::move(it->second);
  raw->responses.erase(it);
  return r;
}

Result<proto::ResponseBody> WsTestClient::call(proto::RequestBody body, int timeoutMs) {
  uint64_t id = sendRequest(std::move(body));
  std::optional<proto::Response> r = waitResponse(id, timeoutMs);
  if (!r) return Status::unavailable("no response (timeout or connection closed)");
  return std::move(r->body);
}

bool WsTestClient::isOpen() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->established && !impl_->closed;
}

bool WsTestClient::waitClosed(int timeoutMs, int* code, std::string* reason) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  Impl* raw = impl_.get();
  bool ok = raw->cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [raw] { return raw->closed; });
  if (code) *code = raw->closeCode;
  if (reason) *reason = raw->closeReason;
  return ok;
}

void WsTestClient::close() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->wantClose = true;
  }
  impl_->wake();
  waitClosed(5000);
}

void WsTestClient::setReading(bool on) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->reading = on ? 1 : 0;
  }
  impl_->wake();
}

std::vector<proto::DatasetChanged> WsTestClient::pushes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->pushes;
}

Result<std::string> WsTestClient::loginAsNewGuest(const std::string& poolId) {
  Result<proto::GetIdResponse> id = callAs<proto::GetIdResponse>(proto::GetIdRequest{poolId, {}});
  if (!id.isOk()) return id.status();
  return loginAs(id->identityId);
}

Result<std::string> WsTestClient::loginAs(const std::string& identityId) {
  Result<proto::GetTokenResponse> tok = callAs<proto::GetTokenResponse>(proto::GetTokenRequest{identityId, {}});
  if (!tok.isOk()) return tok.status();
  Result<proto::AuthenticateResponse> auth =
      callAs<proto::AuthenticateResponse>(proto::AuthenticateRequest{tok->token});
  if (!auth.isOk()) return auth.status();
  return auth->identityId;
}

Result<proto::UpdateRecordsResponse> WsTestClient::write(const std::string& dataset,
                                                        std::vector<RecordPatch> patches) {
  auto listed = callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{dataset, 0, 0, ""});
  if (!listed.isOk()) return listed.status();
  return callAs<proto::UpdateRecordsResponse>(
      proto::UpdateRecordsRequest{dataset, listed->syncSessionToken, "dev-a", std::move(patches)});
}

}  // namespace tether::testing
