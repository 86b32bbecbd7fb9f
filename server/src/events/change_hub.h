// ChangeHub: who is subscribed to which datasets, and the fan-out of "dataset changed" when a
// change commits. Subscriptions belong to native-protocol connections and last as long as the
// connection. A connection is subscribed to a dataset if it asked for it itself (subscribe) or
// if it presents a device ID (attachDevice) whose stored Cognito subscriptions include it; the
// device's set is shared by every connection presenting it and follows SubscribeToDataset /
// UnsubscribeFromDataset while they are open (DeviceSubscriptionListener).
//
// The hub never blocks a writer: datasetChanged() only looks up subscribers (under a short
// lock) and hands one encoded frame per subscriber to the PushSink, which queues it; the
// network layer keeps at most one pending notification per (connection, dataset), so a
// subscriber that reads slowly gets the newest sync count, not a backlog.
//
// Thread-safety: every method may be called from any thread. Callers serialize attachDevice()
// and the device listener calls of one identity (its strand), so a device's set is never
// replaced by a stale read of the Store.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/device_subscription_listener.h"
#include "sync/change_listener.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

// Where the hub sends notifications. `key` identifies what may be coalesced (the dataset).
class PushSink {
 public:
  virtual ~PushSink() = default;
  virtual void push(uint64_t connection, const std::string& key, std::string frame) = 0;
};

class ChangeHub final : public ChangeListener, public DeviceSubscriptionListener {
 public:
  explicit ChangeHub(PushSink& sink) : sink_(sink) {}

  void subscribe(uint64_t connection, const std::string& poolId, const std::string& identityId,
                 const std::vector<std::string>& datasets);
  // The connection presents `deviceId` of this identity: it is also told about changes to
  // `storedDatasets` (the device's subscriptions as stored now, replacing what the hub knew
  // for that device) and to whatever deviceSubscribed() adds later. A connection presents at
  // most one device; presenting another one replaces it.
  void attachDevice(uint64_t connection, const std::string& poolId, const std::string& identityId,
                    const std::string& deviceId, const std::vector<std::string>& storedDatasets);
  // Empty `datasets` = all of this connection's subscriptions, its device's included (the
  // device's stored subscriptions themselves stay: only UnsubscribeFromDataset removes them).
  void unsubscribe(uint64_t connection, const std::vector<std::string>& datasets);
  void removeConnection(uint64_t connection);

  // A small batch (kInlineChangeBytes of keys and values at most) travels inside the
  // notification, so a subscriber that was current need not pull it. Larger ones are left to
  // the pull: one copy per subscriber of a big batch would cost more than the round trip.
  static constexpr size_t kInlineChangeBytes = 64 * 1024;
  void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                      const std::vector<Record>* batch) override;

  // No-ops when no open connection presents the device (the Store is read on attach).
  void deviceSubscribed(const std::string& poolId, const std::string& identityId, const std::string& deviceId,
                        const std::string& dataset) override;
  void deviceUnsubscribed(const std::string& poolId, const std::string& identityId,
                          const std::string& deviceId, const std::string& dataset) override;

  // ---- what the hub knows of sync counts (for live sync across nodes, events/change_bus.h)
  // A notice that reached this node some other way than through datasetChanged (the catch-up
  // read of the database, a subscriber's own read at subscribe time): if `syncCount` is newer
  // than any the hub has seen for that followed dataset, every following connection except
  // `exclude` is told, as for a change with no batch. The first count seen for a dataset only
  // sets the baseline. Returns whether a notification went out. Ignored for datasets nobody
  // here follows.
  bool observeSyncCount(const std::string& poolId, const std::string& identityId, const std::string& dataset,
                        int64_t syncCount, uint64_t exclude = 0);
  // True if some connection here follows that dataset (cheap: decides whether a remote batch
  // is worth re-reading).
  bool follows(const std::string& poolId, const std::string& identityId, const std::string& dataset) const;
  // What this node's connections follow, grouped by identity, with the newest sync count the
  // hub has seen for each (-1 = none yet): the catch-up compares them with the database.
  struct FollowedIdentity {
    std::string poolId;
    std::string identityId;
    std::vector<std::pair<std::string, int64_t>> datasets;  // name -> known sync count, by name
    std::vector<std::string> devices;                       // device IDs presented by open connections
  };
  std::vector<FollowedIdentity> followed() const;
  // The same for one identity (nullopt if no connection here follows it).
  std::optional<FollowedIdentity> followed(const std::string& poolId, const std::string& identityId) const;
  // Replaces what the hub knows of a presented device's stored subscriptions (the catch-up
  // re-reads them after it may have missed a Subscribe/UnsubscribeFromDataset made elsewhere).
  void setDeviceDatasets(const std::string& poolId, const std::string& identityId, const std::string& deviceId,
                         const std::vector<std::string>& storedDatasets);

  size_t subscribedConnections() const;
  int64_t notificationsSent() const;
  // Devices presented by at least one open connection (for tests and metrics).
  size_t attachedDevices() const;

 private:
  struct ConnSubs {
    std::string owner;               // pool + '\n' + identity
    std::set<std::string> datasets;  // asked for by the connection itself
    std::string device;              // owner + '\n' + deviceId, or empty
  };
  struct DeviceSubs {
    std::set<std::string> datasets;  // the device's stored Cognito subscriptions
    std::set<uint64_t> connections;  // open connections presenting it
  };
  // Resets `subs` to `owner` if it belonged to someone else.
  void setOwnerLocked(uint64_t connection, ConnSubs& subs, const std::string& owner)
      TETHER_REQUIRES(mu_);
  void detachDeviceLocked(uint64_t connection, ConnSubs& subs) TETHER_REQUIRES(mu_);
  // The connections of `owner` that follow `dataset`, except `exclude`.
  std::vector<uint64_t> followersLocked(const std::string& owner, const std::string& dataset,
                                        uint64_t exclude) const TETHER_REQUIRES(mu_);
  // Drops what is known of an owner no connection follows any more.
  void forgetOwnerIfUnfollowedLocked(const std::string& owner) TETHER_REQUIRES(mu_);
  // `conns` = byOwner_[owner].
  FollowedIdentity followedLocked(const std::string& owner, const std::set<uint64_t>& conns) const
      TETHER_REQUIRES(mu_);
  void send(std::string_view poolId, std::string_view identityId, const std::string& dataset, int64_t syncCount,
            const std::vector<Record>* batch, const std::vector<uint64_t>& targets);

  PushSink& sink_;
  mutable Mutex mu_;
  std::unordered_map<uint64_t, ConnSubs> byConnection_ TETHER_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::set<uint64_t>> byOwner_ TETHER_GUARDED_BY(mu_);
  std::unordered_map<std::string, DeviceSubs> byDevice_ TETHER_GUARDED_BY(mu_);
  // owner -> dataset -> newest sync count seen (notified or observed); only for followed owners.
  std::unordered_map<std::string, std::map<std::string, int64_t>> known_ TETHER_GUARDED_BY(mu_);
  int64_t sent_ TETHER_GUARDED_BY(mu_) = 0;
};

}  // namespace tether::server
