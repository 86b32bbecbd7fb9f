// ChangeCatchUp: makes cross-node live sync at-least-once. Bus notices can be lost (a node's
// listener connection drops, PostgreSQL restarts, a notice is sent while nobody listens), so
// after the bus reconnects, and periodically, each node reads the sync counts of the datasets
// its connections follow and notifies what is newer than what it has told them
// (ChangeHub::observeSyncCount). It also re-reads the stored subscriptions of the push-sync
// devices its connections present, in case a Subscribe/UnsubscribeFromDataset made through
// another node was missed.
//
// Each identity is checked on its own strand, so a check never races this node's own write of
// that identity (which would otherwise be announced to the writer's connection too).
// Thread-safety: run() may be called from any thread; the work happens on the WorkPool.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/work_pool.h"
#include "events/change_hub.h"
#include "storage/store.h"

namespace tether::server {

class ChangeCatchUp {
 public:
  ChangeCatchUp(Store& store, ChangeHub& hub, WorkPool& pool) : store_(store), hub_(hub), pool_(pool) {}

  // Queues one check per followed identity and returns.
  void run();
  // Checks one identity now, on the calling thread (the strand's task; tests call it directly).
  void checkIdentity(const ChangeHub::FollowedIdentity& followed);

  int64_t passes() const { return passes_.load(std::memory_order_relaxed); }
  int64_t noticesSent() const { return sent_.load(std::memory_order_relaxed); }  // catch-up notices
  int64_t readErrors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  Store& store_;
  ChangeHub& hub_;
  WorkPool& pool_;
  std::atomic<int64_t> passes_{0};
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> errors_{0};
};

}  // namespace tether::server
