// NativeHandler: the native protocol's session logic on top of NetServer. It decodes frames on
// the network thread, keeps each connection's session (hello done, authenticated identity),
// and hands requests to the worker pool: identity work on any worker, dataset work on the
// strand of the caller's identity so that one identity's batches never interleave. Workers
// encode the response and give it to NetServer::send.
//
// Threading: WsHandler callbacks on the network thread; request bodies run on the pool.
// A Session is shared between the two (its mutable fields are atomics or under its mutex).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/rate_limiter.h"
#include "common/clock.h"
#include "common/work_pool.h"
#include "events/change_hub.h"
#include "net/net_server.h"
#include "net/server_metrics.h"
#include "sync/sync_service.h"
#include "tether/protocol.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

class IdentityService;

class NativeHandler final : public WsHandler, private PushSink {
 public:
  NativeHandler(IdentityService& identities, SyncService& sync, WorkPool& pool,
                const Clock& clock, ServerMetrics& metrics);

  void attach(NetServer& server) override;
  void onOpen(ConnId conn, const std::string& peer) override;
  void onFrame(ConnId conn, std::string frame) override;
  void onClose(ConnId conn) override;

  // Any thread. From now on new requests are answered kUnavailable; in-flight ones finish.
  void beginShutdown() { shuttingDown_.store(true); }

  // The live-sync subscriptions of this handler's connections; give it to
  // SyncService::addChangeListener so every committed change reaches them.
  ChangeHub& changes() { return changes_; }

  // Optional (null = device IDs are only logged). With a store, a SubscribeRequest that carries
  // a deviceId also subscribes the connection to that device's stored Cognito subscriptions
  // (SubscribeToDataset), and changes()' device listener keeps them current. Set before serving;
  // must outlive the handler.
  void setDeviceStore(Store* store) { deviceStore_ = store; }
  // Optional (null = no rate limits): the per-address and per-pool limits on identity creation,
  // token issuance, sign-in and writes (docs/security.md). Set before serving.
  void setRateLimiter(RateLimiter* limiter) { limiter_ = limiter; }

 private:
  struct Session {
    ConnId id = 0;
    std::string peer;
    bool helloDone = false;                 // network thread only
    std::atomic<int> inFlight{0};
    Mutex mu;
    std::optional<Caller> caller TETHER_GUARDED_BY(mu);  // set by a successful authenticate
    int64_t expiresAtMs TETHER_GUARDED_BY(mu) = 0;
  };
  void onHello(Session& s, const proto::Hello& hello);
  bool rateAllows(Session& s, const proto::RequestBody& body);
  void onRequest(const std::shared_ptr<Session>& s, proto::Request request);
  void runIdentityRequest(const std::shared_ptr<Session>& s, proto::Request request);
  void runDatasetRequest(const Caller& caller, ConnId conn, proto::Request request);
  void runUpdateRecords(const std::shared_ptr<Session>& s, const Caller& caller, proto::Request request);
  // Encodes and sends a response; any thread.
  void respond(ConnId conn, uint64_t id, proto::ResponseBody body);
  Result<proto::SubscribeResponse> subscribe(const Caller& caller, const proto::SubscribeRequest& r);
  void push(uint64_t connection, const std::string& key, std::string frame) override;

  IdentityService& identities_;
  SyncService& sync_;
  WorkPool& pool_;
  const Clock& clock_;
  ServerMetrics& metrics_;
  NetServer* server_ = nullptr;             // set by attach, before any connection
  std::atomic<bool> shuttingDown_{false};
  ChangeHub changes_{*this};
  Store* deviceStore_ = nullptr;            // set before serving; see setDeviceStore
  RateLimiter* limiter_ = nullptr;          // set before serving; see setRateLimiter
  std::unordered_map<ConnId, std::shared_ptr<Session>> sessions_;  // network thread only
  // Requests between arrival and response, for tether_request_duration_seconds{surface="native"}
  // and the request ID of the response's log lines (keyed by connection and request id).
  struct Pending {
    std::chrono::steady_clock::time_point start;
    const char* operation;
    std::string requestId;
  };
  Mutex pendingMu_;
  std::map<std::pair<ConnId, uint64_t>, Pending> pending_ TETHER_GUARDED_BY(pendingMu_);
};

}  // namespace tether::server
