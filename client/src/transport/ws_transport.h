// WsTransport: the WebSocket client (Boost.Beast on Boost.Asio) that speaks the native protocol
// to tetherd, and the client's sync thread.
//
// It is both the Remote the SyncEngine talks to and the Executor the engine runs on: one thread
// runs an asio io_context that owns the connection, runs every posted task, and calls every
// Remote callback (hence every app sync callback). Protocol: subprotocol "tether.v1", one
// Cap'n Proto message per binary frame (tether/codec.h); hello -> helloAck, then requests with
// ids, responses matched by id in any order. Auth: GetId (when no identity) -> GetToken ->
// Authenticate, presenting the caller's logins to GetId and GetToken; again when the token
// nears expiry or the caller asks to renew (logins changed); automatically on a new connection
// while the token is valid. GetToken may confirm another identity than asked (a merge). TLS
// (OpenSSL) verifies the server certificate chain (system store or a CA file) and the host name.
// Frames are read whole into one receive buffer that is kept across frames and decoded in place
// (no per-frame copy or allocation); a frame over kMaxFrameBytes drops the connection.
// Offline handling: the connection is retried in the background with exponential backoff and
// jitter; while it is down requests fail at once with kUnavailable (and a retry is kicked).
// Live sync: "dataset changed" pushes and every newly opened connection are reported to the
// RemoteListener (setListener), which re-subscribes; the transport keeps no subscription state.
// Timers (request timeouts, backoff, connect timeout) are steady_timers on the same io_context.
// Threading: post()/isCurrentThread()/shutdown() from any thread; the Remote methods only on the
// service thread (i.e. from posted tasks and callbacks). No asio types in this header.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "sync/remote.h"
#include "util/executor.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {

struct WsTransportOptions {
  std::string url;                 // ws://host[:port][/path] or wss://...
  std::string caFile;              // PEM; empty = system CA store
  std::string identityPoolId;      // for GetId
  std::chrono::milliseconds requestTimeout{15000};
  std::chrono::milliseconds connectTimeout{5000};
  std::string clientName = "libtether/0.1";
  std::function<int64_t()> nowMs;  // wall clock for token expiry; empty = system clock
  // An HTTP proxy to tunnel through (HTTP CONNECT, also for wss://):
  // "[http://][user:pass@]host:port". Unset: the http_proxy environment variable, as the
  // libwebsockets transport did (a value without a port is ignored there); "" = no proxy.
  std::optional<std::string> httpProxy;
};

class WsTransport final : public Executor, public Remote {
 public:
  // Validates the URL (and loads the CA file) and starts the thread; connects in the
  // background. kInvalidArgument for a bad URL or an unusable CA file.
  static Result<std::shared_ptr<WsTransport>> start(WsTransportOptions options);
  ~WsTransport() override;

  // Executor
  bool post(std::function<void()> fn) override;
  bool postAfter(std::chrono::milliseconds delay, std::function<void()> fn) override;
  bool isCurrentThread() const override;
  // Fails everything in flight with kCancelled (on the service thread), then joins.
  void shutdown() override;

  // Remote (REQUIRES: on the service thread)
  void authenticate(std::string identityId, LoginsFn logins, bool renew,
                    Callback<std::string> done) override;
  void listDatasets(proto::ListDatasetsRequest req, Callback<proto::ListDatasetsResponse> done) override;
  void listRecords(proto::ListRecordsRequest req, Callback<proto::ListRecordsResponse> done) override;
  void updateRecords(proto::UpdateRecordsRequest req, Callback<proto::UpdateRecordsResponse> done) override;
  bool conditionalPush() const override { return conditionalPush_; }
  void deleteDataset(proto::DeleteDatasetRequest req, Callback<proto::DeleteDatasetResponse> done) override;
  void subscribe(proto::SubscribeRequest req, Callback<proto::SubscribeResponse> done) override;
  void unsubscribe(proto::UnsubscribeRequest req, Callback<proto::UnsubscribeResponse> done) override;
  // Callable from any thread (it posts to the service thread).
  void setListener(RemoteListener* listener) override;

 private:
  friend struct WsTransportIo;  // the asio/Beast connection steps (ws_connection.cpp)
  struct Net;                   // io_context + TLS context (ws_connection.h)
  struct Conn;                  // one connection attempt: socket, WebSocket stream, buffers
  enum class ConnState { kIdle, kConnecting, kHandshaking, kAuthenticating, kOpen };
  using ResponseCallback = std::function<void(Result<proto::ResponseBody>)>;
  struct Waiting {
    proto::RequestBody body;
    ResponseCallback done;
  };

  explicit WsTransport(WsTransportOptions options);
  Status init();
  Status parseProxy(std::string proxy);
  void serviceLoop();
  void drainInbox();

  // All below: REQUIRES: on the service thread.
  template <class Resp>
  void call(proto::RequestBody body, Callback<Resp> done);
  void sendRequestOnLoop(proto::RequestBody body, ResponseCallback done);
  void transmitOnLoop(proto::RequestBody body, ResponseCallback done);
  void sendFrameOnLoop(std::string frame);
  void connectOnLoop();
  void dropConnectionOnLoop(const std::string& why);  // close conn_ now, then onDisconnected
  void onEstablishedOnLoop();
  void onOpenOnLoop();
  void markOpenOnLoop();  // state_ = kOpen, flush waiting_, tell the listener
  void onFrameOnLoop(std::string_view frame);  // valid only during the call
  void onDisconnectedOnLoop(const std::string& why);
  void failAllOnLoop(const Status& status);
  void scheduleReconnectOnLoop();
  void closeConnectionOnLoop();
  void startTimer(std::chrono::milliseconds delay, std::function<void()> onLoop);
  int64_t nowMs() const;
  // host[:port] for the upgrade request (the port only when not the scheme's default) or the
  // CONNECT target (always with the port).
  std::string hostHeader(bool withDefaultPort) const;

  WsTransportOptions options_;
  bool tls_ = false;
  std::string host_, path_;
  int port_ = 0;
  std::string proxyHost_;           // empty: connect directly
  int proxyPort_ = 0;
  std::string proxyAuth_;           // base64 of "user:pass", or empty
  std::unique_ptr<Net> net_;  // destroyed after the service thread ends
  std::thread thread_;
  std::atomic<bool> stop_{false};

  Mutex inboxMu_;
  std::deque<std::function<void()>> inbox_ TETHER_GUARDED_BY(inboxMu_);
  bool closed_ TETHER_GUARDED_BY(inboxMu_) = false;  // no more posts
  bool wakePending_ TETHER_GUARDED_BY(inboxMu_) = false;  // a drainInbox is queued on the loop

  // Service-thread state.
  std::shared_ptr<Conn> conn_;     // the current connection attempt or connection; handlers of
                                   // an older one see it is no longer conn_ and do nothing
  ConnState state_ = ConnState::kIdle;
  uint64_t connGen_ = 0;            // bumped per connection attempt (stale timers ignore)
  uint64_t framesIn_ = 0;           // frames received (on any connection): a silent connection
                                    // is one where this did not move while a request waited
  int attempt_ = 0;                 // failed attempts since the last good connection
  bool lastAttemptFailed_ = false;
  bool reconnectPending_ = false;
  std::string lastError_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, ResponseCallback> inflight_;
  std::deque<Waiting> waiting_;     // for the connection to open
  std::string identity_;            // the identity of the token below
  std::string token_;
  int64_t tokenExpiresMs_ = 0;
  bool connAuthenticated_ = false;  // this connection presented token_
  bool conditionalPush_ = false;    // the last helloAck announced it
  RemoteListener* listener_ = nullptr;  // not owned; see setListener
};

}  // namespace tether::client
