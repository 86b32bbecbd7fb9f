// Remote: the server as the sync engine sees it. The production implementation is the
// WebSocket transport (transport/ws_remote.h); unit tests use an in-memory fake that applies
// the server rules. Requests and replies are the plain structs of tether/protocol.h.
//
// Contract: every call returns at once; its callback runs exactly once, later, on the sync
// executor's thread (never inside the call). An unreachable server is kUnavailable.
// Live sync: the Remote tells its RemoteListener (set once, before traffic) when a connection
// has opened (subscriptions are per connection: the listener subscribes again) and when the
// server pushes "dataset changed". Listener calls also run on the executor's thread.
// Threading: call only from the sync executor's thread (setListener: before the first request).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tether/protocol.h"
#include "tether/status.h"

namespace tether::client {

// Receives the server-initiated events of a Remote. REQUIRES: called on the executor thread.
class RemoteListener {
 public:
  virtual ~RemoteListener() = default;
  // A connection to the server is open and ready for requests (after a reconnect too). Any
  // earlier subscriptions are gone with the earlier connection.
  virtual void onConnected() = 0;
  // Another connection of this identity changed a dataset this connection subscribed to.
  virtual void onDatasetChanged(const proto::DatasetChanged& change) = 0;
};

class Remote {
 public:
  template <class T>
  using Callback = std::function<void(Result<T>)>;

  virtual ~Remote() = default;

  // Supplies the logins to present; called on the executor right before each GetId / GetToken
  // actually sent (not when the held token is reused). An error fails authenticate() with it.
  using LoginsFn = std::function<Result<std::vector<Login>>()>;

  // Makes dataset requests possible as an identity: `identityId` empty = GetId first (a guest
  // identity without logins, else the logins' identity), then GetToken + Authenticate, both
  // with `logins()` (empty function = none). Reports the identity the server confirmed, which
  // may differ from `identityId` (a guest merged into a login's identity). `renew`: get a new
  // token even if the held one for this identity is still valid (the logins changed).
  virtual void authenticate(std::string identityId, LoginsFn logins, bool renew,
                            Callback<std::string> done) = 0;
  virtual void listDatasets(proto::ListDatasetsRequest req,
                            Callback<proto::ListDatasetsResponse> done) = 0;
  virtual void listRecords(proto::ListRecordsRequest req,
                           Callback<proto::ListRecordsResponse> done) = 0;
  virtual void updateRecords(proto::UpdateRecordsRequest req,
                             Callback<proto::UpdateRecordsResponse> done) = 0;
  // Whether the server of the current (or, between connections, the last) connection
  // announced conditional pushes (HelloAck.conditionalPush): updateRecords without a prior
  // pull (ifDatasetSyncCount) and replies without values (omitValues).
  virtual bool conditionalPush() const { return false; }
  virtual void deleteDataset(proto::DeleteDatasetRequest req,
                             Callback<proto::DeleteDatasetResponse> done) = 0;
  // Live sync, on the current connection (needs an authenticated identity).
  virtual void subscribe(proto::SubscribeRequest req, Callback<proto::SubscribeResponse> done) = 0;
  virtual void unsubscribe(proto::UnsubscribeRequest req,
                           Callback<proto::UnsubscribeResponse> done) = 0;
  // The listener must outlive the Remote's callbacks (the owner stops the executor first).
  // nullptr = none. If a connection is already open, onConnected() follows (posted).
  virtual void setListener(RemoteListener* listener) = 0;
};

}  // namespace tether::client
