// Remote: the server as the sync engine sees it. The production implementation is the
// WebSocket transport (transport/ws_remote.h); unit tests use an in-memory fake that applies
// the server rules. Requests and replies are the plain structs of tether/protocol.h.
//
// Contract: every call returns at once; its callback runs exactly once, later, on the sync
// executor's thread (never inside the call). An unreachable server is kUnavailable.
// Threading: call only from the sync executor's thread.
#pragma once

#include <functional>
#include <string>

#include "tether/protocol.h"
#include "tether/status.h"

namespace tether::client {

class Remote {
 public:
  template <class T>
  using Callback = std::function<void(Result<T>)>;

  virtual ~Remote() = default;

  // Makes dataset requests possible as an identity: `identityId` empty = GetId first (a new
  // guest identity), then GetToken + Authenticate. Reports the identity the server confirmed.
  virtual void authenticate(std::string identityId, Callback<std::string> done) = 0;
  virtual void listDatasets(proto::ListDatasetsRequest req,
                            Callback<proto::ListDatasetsResponse> done) = 0;
  virtual void listRecords(proto::ListRecordsRequest req,
                           Callback<proto::ListRecordsResponse> done) = 0;
  virtual void updateRecords(proto::UpdateRecordsRequest req,
                             Callback<proto::UpdateRecordsResponse> done) = 0;
  virtual void deleteDataset(proto::DeleteDatasetRequest req,
                             Callback<proto::DeleteDatasetResponse> done) = 0;
};

}  // namespace tether::client
