// ChangeHub: who is subscribed to which datasets, and the fan-out of "dataset changed" when a
// change commits. Subscriptions belong to native-protocol connections and last as long as the
// connection. The hub never blocks a writer: datasetChanged() only looks up subscribers (under
// a short lock) and hands one encoded frame per subscriber to the PushSink, which queues it;
// the network layer keeps at most one pending notification per (connection, dataset), so a
// subscriber that reads slowly gets the newest sync count, not a backlog.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sync/change_listener.h"

namespace tether::server {

// Where the hub sends notifications. `key` identifies what may be coalesced (the dataset).
class PushSink {
 public:
  virtual ~PushSink() = default;
  virtual void push(uint64_t connection, const std::string& key, std::string frame) = 0;
};

class ChangeHub final : public ChangeListener {
 public:
  explicit ChangeHub(PushSink& sink) : sink_(sink) {}

  void subscribe(uint64_t connection, const std::string& poolId, const std::string& identityId,
                 const std::vector<std::string>& datasets);
  // Empty `datasets` = all of this connection's subscriptions.
  void unsubscribe(uint64_t connection, const std::vector<std::string>& datasets);
  void removeConnection(uint64_t connection);

  void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount) override;

  size_t subscribedConnections() const;
  int64_t notificationsSent() const;

 private:
  struct ConnSubs {
    std::string owner;               // pool + '\n' + identity
    std::set<std::string> datasets;
  };

  PushSink& sink_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, ConnSubs> byConnection_;                  // guarded by mu_
  std::unordered_map<std::string, std::set<uint64_t>> byOwner_;          // guarded by mu_
  int64_t sent_ = 0;                                                      // guarded by mu_
};

}  // namespace tether::server
