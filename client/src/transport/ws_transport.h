// WsTransport: the libwebsockets client that speaks the native protocol to tetherd, and the
// client's sync thread.
//
// It is both the Remote the SyncEngine talks to and the Executor the engine runs on: one lws
// service thread owns the lws context and the connection, runs every posted task, and calls
// every Remote callback (hence every app sync callback). Protocol: subprotocol "tether.v1", one
// Cap'n Proto message per binary frame (tether/codec.h); hello -> helloAck, then requests with
// ids, responses matched by id in any order. Auth: GetId (when no identity) -> GetToken ->
// Authenticate, presenting the caller's logins to GetId and GetToken; again when the token
// nears expiry or the caller asks to renew (logins changed); automatically on a new connection
// while the token is valid. GetToken may confirm another identity than asked (a merge). TLS verifies the server certificate (system store or a CA file).
// Offline handling: the connection is retried in the background with exponential backoff and
// jitter; while it is down requests fail at once with kUnavailable (and a retry is kicked).
// Live sync: "dataset changed" pushes and every newly opened connection are reported to the
// RemoteListener (setListener), which re-subscribes; the transport keeps no subscription state.
// Timers (request timeouts, backoff, connect timeout) are Boost.Asio steady_timers on a small
// timer thread whose handlers only post back to the service thread.
// Threading: post()/isCurrentThread()/shutdown() from any thread; the Remote methods only on the
// service thread (i.e. from posted tasks and callbacks). No lws/asio types in this header.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sync/remote.h"
#include "util/executor.h"
#include "tether_internal/thread_annotations.h"

struct lws;
struct lws_context;

namespace tether::client {

struct WsTransportOptions {
  std::string url;                 // ws://host[:port][/path] or wss://...
  std::string caFile;              // PEM; empty = system CA store
  std::string identityPoolId;      // for GetId
  std::chrono::milliseconds requestTimeout{15000};
  std::chrono::milliseconds connectTimeout{5000};
  std::string clientName = "libtether/0.1";
  std::function<int64_t()> nowMs;  // wall clock for token expiry; empty = system clock
};

class WsTransport final : public Executor, public Remote {
 public:
  // Validates the URL, creates the lws context and starts the threads; connects in the
  // background. kInvalidArgument for a bad URL, kInternal if lws cannot start.
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
  friend struct WsTransportLws;  // the lws callback trampoline (ws_transport.cpp)
  struct Timers;                 // Boost.Asio io_context + thread (ws_transport.cpp)
  enum class ConnState { kIdle, kConnecting, kHandshaking, kAuthenticating, kOpen };
  using ResponseCallback = std::function<void(Result<proto::ResponseBody>)>;
  struct Waiting {
    proto::RequestBody body;
    ResponseCallback done;
  };

  explicit WsTransport(WsTransportOptions options);
  Status init();
  void serviceLoop();
  void drainInbox();

  // All below: REQUIRES: on the service thread.
  template <class Resp>
  void call(proto::RequestBody body, Callback<Resp> done);
  void sendRequestOnLoop(proto::RequestBody body, ResponseCallback done);
  void transmitOnLoop(proto::RequestBody body, ResponseCallback done);
  void sendFrameOnLoop(std::string frame);
  void connectOnLoop();
  void onEstablishedOnLoop();
  void onOpenOnLoop();
  void markOpenOnLoop();  // state_ = kOpen, flush waiting_, tell the listener
  void onFrameOnLoop(std::string frame);
  void onDisconnectedOnLoop(const std::string& why);
  void failAllOnLoop(const Status& status);
  void scheduleReconnectOnLoop();
  void closeConnectionOnLoop();
  void startTimer(std::chrono::milliseconds delay, std::function<void()> onLoop);
  int64_t nowMs() const;

  WsTransportOptions options_;
  bool tls_ = false;
  std::string host_, path_;
  int port_ = 0;
  lws_context* context_ = nullptr;  // owned; destroyed after the service thread ends
  std::unique_ptr<Timers> timers_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  Mutex inboxMu_;
  std::deque<std::function<void()>> inbox_ TETHER_GUARDED_BY(inboxMu_);
  bool closed_ TETHER_GUARDED_BY(inboxMu_) = false;  // no more posts

  // Service-thread state.
  lws* wsi_ = nullptr;
  ConnState state_ = ConnState::kIdle;
  uint64_t connGen_ = 0;            // bumped per connection attempt (stale timers ignore)
  uint64_t framesIn_ = 0;           // frames received (on any connection): a silent connection
                                    // is one where this did not move while a request waited
  int attempt_ = 0;                 // failed attempts since the last good connection
  bool lastAttemptFailed_ = false;
  bool reconnectPending_ = false;
  std::string lastError_;
  std::deque<std::string> outbox_;  // encoded frames waiting for WRITEABLE
  std::string rx_;                  // fragments of the frame being received
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
