// ClusterFanout: live sync when several tetherd nodes share one database. It stands where the
// ChangeHub stood as the SyncService's ChangeListener and the Cognito front end's
// DeviceSubscriptionListener: each change goes to this node's hub at once (with its batch, so
// local subscribers may skip the pull) and, as a short notice, onto the ChangeBus for the other
// nodes. Notices arriving from the bus go to the hub, except this node's own (already fanned
// out here, with the writer's connection excluded).
//
// A notice carries no records (NOTIFY payloads stay small); for a batch, the receiving node
// re-reads it from the store on the identity's strand — only when one of its connections
// follows that dataset, and only while the batch is still the dataset's newest — so its
// subscribers get the records inline and need not pull, as on the writer's node.
//
// Thread-safety: as ChangeHub; deliver() is called on the bus's thread.
#pragma once

#include <atomic>
#include <string>

#include "common/work_pool.h"
#include "events/change_bus.h"
#include "events/change_hub.h"
#include "storage/store.h"

namespace tether::server {

class ClusterFanout final : public ChangeListener, public DeviceSubscriptionListener {
 public:
  // `store` and `pool` (both or neither) let remote batches be re-read; without them a remote
  // change is announced without its records (subscribers pull).
  ClusterFanout(ChangeHub& hub, ChangeBus& bus, std::string nodeName, Store* store = nullptr,
                WorkPool* pool = nullptr)
      : hub_(hub), bus_(bus), node_(std::move(nodeName)), store_(store), pool_(pool) {}

  void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                      const std::vector<Record>* batch) override;
  void deviceSubscribed(const std::string& poolId, const std::string& identityId, const std::string& deviceId,
                        const std::string& dataset) override;
  void deviceUnsubscribed(const std::string& poolId, const std::string& identityId,
                          const std::string& deviceId, const std::string& dataset) override;

  // A notice from the bus.
  void deliver(const ChangeNotice& notice);

  const std::string& nodeName() const { return node_; }
  int64_t noticesReceived() const { return received_.load(std::memory_order_relaxed); }

 private:
  ChangeHub& hub_;
  ChangeBus& bus_;
  void announceBatch(const ChangeNotice& n);

  const std::string node_;
  Store* const store_;
  WorkPool* const pool_;
  std::atomic<int64_t> received_{0};
};

}  // namespace tether::server
