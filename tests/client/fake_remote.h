// FakeServer + FakeRemote: an in-memory server with the sync rules of spec 3.3 (atomic batches,
// whole batch rejected on a stale record sync count, D+1 per accepted batch, tombstones,
// deletion with monotonic counts, 20 datasets / 1,024 records / 1 MB, paging, merged names),
// and a per-device Remote that reaches it through the device's sync executor.
// Live sync: each FakeRemote is one "connection"; it can subscribe, and every accepted change
// (updateRecords, deleteDataset, remoteWrite) notifies the other connections subscribed to that
// identity's dataset, as tetherd does (writer excluded). setOnline(false) drops the connection
// (and its subscriptions); setOnline(true) reconnects and tells the listener.
// Threading: FakeServer is thread-safe (one mutex). FakeRemote's calls come from the executor
// and complete later on it, as the Remote contract requires; its knobs are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sync/remote.h"
#include "util/executor.h"

namespace tether::client::testing {

class FakeServer {
 public:
  struct DatasetState {
    int64_t syncCount = 0;
    bool live = false;
    std::optional<int64_t> deletedAt;
    int64_t creationMs = 0;
    std::map<std::string, Record> records;  // live and tombstones
    std::vector<std::string> mergedNames;
  };

  std::string createIdentity();
  bool hasIdentity(const std::string& id);

  // Logins (provider -> token). A token is valid unless it starts with "expired:" (then
  // kUnauthenticated); its subject is the token itself. As tetherd / spec 2.2 and 2.5:
  // GetId with logins returns the identity linked to them (created and linked on first use);
  // GetToken links new logins to the identity, merges a guest into the identity owning a
  // presented login (that one survives: its ID is returned), and refuses with
  // kUnauthenticated "Logins don't match" an authenticated identity presented with logins of
  // another, or without any of its own. Merging moves each live dataset `n` of the loser to
  // the winner as `n.<loserId>` (sync counts renumbered 1..k, tombstones dropped), reported in
  // the winner's `n` as a merged name until deleted; the loser is disabled.
  Result<std::string> getId(const std::vector<Login>& logins);
  Result<std::string> getToken(const std::string& id, const std::vector<Login>& logins);
  std::optional<std::string> identityOfLogin(const std::string& provider, const std::string& token);
  bool isDisabled(const std::string& id);

  Result<proto::ListDatasetsResponse> listDatasets(const std::string& id, const proto::ListDatasetsRequest& req);
  Result<proto::ListRecordsResponse> listRecords(const std::string& id, const proto::ListRecordsRequest& req);
  // `origin` = the writing connection (not notified); 0 = none.
  Result<proto::UpdateRecordsResponse> updateRecords(const std::string& id, const proto::UpdateRecordsRequest& req,
                                                     uint64_t origin = 0);
  Result<proto::DeleteDatasetResponse> deleteDataset(const std::string& id, const proto::DeleteDatasetRequest& req,
                                                     uint64_t origin = 0);

  // Live sync connections. `notify` is called under the server lock: it must only hand off.
  using Notify = std::function<void(const proto::DatasetChanged&)>;
  uint64_t addConnection(Notify notify);
  void removeConnection(uint64_t conn);  // also drops its subscriptions
  proto::SubscribeResponse subscribe(uint64_t conn, const std::string& id, const std::vector<std::string>& names);
  void unsubscribe(uint64_t conn, const std::vector<std::string>& names);
  void dropSubscriptions(uint64_t conn);
  int notificationsSent() const { return notificationsSent_; }
  // Off: writes notify nobody (a subscriber that missed a notification, e.g. coalesced).
  void setNotifications(bool on) { notify_ = on; }

  // Test views and knobs.
  std::optional<DatasetState> dataset(const std::string& id, const std::string& name);
  std::map<std::string, std::string> liveValues(const std::string& id, const std::string& name);
  // Writes a record as if another device pushed it (D+1).
  void remoteWrite(const std::string& id, const std::string& name, const std::string& key,
                   std::optional<std::string> value, int64_t deviceLastModifiedMs);
  void setMergedNames(const std::string& id, const std::string& name, std::vector<std::string> merged);
  void setNowMs(int64_t ms) { nowMs_ = ms; }
  int updateCalls() const { return updateCalls_; }
  int listCalls() const { return listCalls_; }
  // Understand conditional pushes (ifDatasetSyncCount, omitValues) like tetherd; off = an
  // older server that requires a sync session token. FakeRemotes announce what this says.
  void setConditionalPush(bool on) { conditionalPush_ = on; }
  bool conditionalPush() const { return conditionalPush_; }
  int conditionalRefusals() const { return conditionalRefusals_; }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, DatasetState>> data_;  // identity -> name -> state
  std::map<std::pair<std::string, std::string>, std::string> logins_;  // (provider, subject) -> id
  std::set<std::string> disabled_;
  std::string createIdentityLocked();
  void mergeLocked(const std::string& loser, const std::string& winner);
  int identitySeq_ = 0;
  std::atomic<int64_t> nowMs_{1'000'000};
  std::atomic<int> updateCalls_{0};
  std::atomic<int> listCalls_{0};
  std::atomic<bool> conditionalPush_{false};
  std::atomic<int> conditionalRefusals_{0};
  struct Connection {
    Notify notify;
    std::string identity;
    std::set<std::string> datasets;
  };
  std::map<uint64_t, Connection> connections_;  // guarded by mu_
  uint64_t nextConn_ = 1;                        // guarded by mu_
  std::atomic<int> notificationsSent_{0};
  std::atomic<bool> notify_{true};
  // REQUIRES: mu_ held.
  // `batch`: the records of the write that made syncCount (nullptr: a deletion); sent along
  // when conditionalPush is on, as tetherd does.
  void notifyLocked(const std::string& id, const std::string& name, int64_t syncCount, uint64_t origin,
                    const std::vector<Record>* batch);
};

class FakeRemote final : public Remote {
 public:
  enum class Phase { kBefore, kAfter };  // around the server processing a request
  using Hook = std::function<void(const std::string& op, Phase phase)>;

  FakeRemote(std::shared_ptr<FakeServer> server, std::shared_ptr<Executor> executor);
  ~FakeRemote() override;

  void authenticate(std::string identityId, LoginsFn logins, bool renew,
                    Callback<std::string> done) override;
  void listDatasets(proto::ListDatasetsRequest req, Callback<proto::ListDatasetsResponse> done) override;
  void listRecords(proto::ListRecordsRequest req, Callback<proto::ListRecordsResponse> done) override;
  void updateRecords(proto::UpdateRecordsRequest req, Callback<proto::UpdateRecordsResponse> done) override;
  void deleteDataset(proto::DeleteDatasetRequest req, Callback<proto::DeleteDatasetResponse> done) override;
  void subscribe(proto::SubscribeRequest req, Callback<proto::SubscribeResponse> done) override;
  void unsubscribe(proto::UnsubscribeRequest req, Callback<proto::UnsubscribeResponse> done) override;
  void setListener(RemoteListener* listener) override;
  // What the server understands, unless announceConditionalPush() overrode it (e.g. to model a
  // client whose connection moved to an older server after the helloAck it remembers).
  bool conditionalPush() const override {
    int a = announce_;
    return a < 0 ? server_->conditionalPush() : a == 1;
  }
  void announceConditionalPush(bool on) { announce_ = on ? 1 : 0; }

  // false: requests fail kUnavailable and the connection's subscriptions are dropped.
  // true (from false): a new connection; the listener hears onConnected().
  void setOnline(bool online);
  int subscribeCalls() const { return subscribeCalls_; }
  void setHook(Hook hook) {
    std::lock_guard lock(mu_);
    hook_ = std::move(hook);
  }
  // The next `n` updateRecords fail with kConflict without touching the server.
  void failNextUpdatesWithConflict(int n) { forcedConflicts_ = n; }
  int getIdCalls() const { return getIdCalls_; }
  int getTokenCalls() const { return getTokenCalls_; }  // authenticate() calls with an identity
  int renewCalls() const { return renewCalls_; }        // authenticate() calls with renew set
  std::vector<Login> lastLogins() const {
    std::lock_guard lock(mu_);
    return lastLogins_;
  }
  std::string authenticatedAs() const {
    std::lock_guard lock(mu_);
    return identity_;
  }

 private:
  template <class Resp, class Fn>
  void dispatch(const std::string& op, Callback<Resp> done, Fn fn);

  std::shared_ptr<FakeServer> server_;
  std::shared_ptr<Executor> executor_;
  mutable std::mutex mu_;
  Hook hook_;             // guarded by mu_
  std::string identity_;  // guarded by mu_
  std::atomic<bool> online_{true};
  std::atomic<int> forcedConflicts_{0};
  std::atomic<int> announce_{-1};  // -1: as the server
  std::atomic<int> getIdCalls_{0};
  std::atomic<int> getTokenCalls_{0};
  std::atomic<int> renewCalls_{0};
  std::vector<Login> lastLogins_;  // guarded by mu_
  std::atomic<int> subscribeCalls_{0};
  uint64_t conn_ = 0;
  std::atomic<RemoteListener*> listener_{nullptr};
};

}  // namespace tether::client::testing
