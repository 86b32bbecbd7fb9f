// PgChangeBus: the ChangeBus of nodes that share a PostgreSQL database, over LISTEN/NOTIFY.
//
// One thread and one dedicated libpq connection per node (not from the store's pool: a
// listening session must stay open). publish() queues; the thread sends queued notices as
// NOTIFY statements (several per round trip), and hands every notice it receives to
// `onNotice` (its own included: ClusterFanout drops those). When the connection is lost it
// reconnects with backoff, LISTENs again and calls `onCatchUp`, since notices sent meanwhile
// are gone; it also calls `onCatchUp` every `catchUpIntervalMs`, which bounds how late a lost
// notice can be. Notices published while the connection is down are dropped (and counted):
// the catch-up delivers what they would have.
//
// Facts this relies on (PostgreSQL 15, measured): NOTIFY is delivered at commit, only to
// sessions listening then; its payload must be under 8,000 bytes (ours are ~200); it does not
// pass through pgbouncer in transaction mode (point this connection at PostgreSQL itself).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "events/change_bus.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {

struct PgChangeBusOptions {
  std::string conninfo;                     // a libpq URL or keyword string (PG* env vars apply)
  std::string channel = "tether_changes";
  std::string applicationName = "tetherd-changes";  // pg_stat_activity.application_name (63 bytes max)
  int catchUpIntervalMs = 5000;
  int reconnectMinMs = 100;
  int reconnectMaxMs = 5000;
  size_t maxQueued = 65536;                 // beyond this, notices are dropped (catch-up covers)
};

class PgChangeBus final : public ChangeBus {
 public:
  using NoticeFn = std::function<void(const ChangeNotice&)>;
  using CatchUpFn = std::function<void()>;

  // Connects and LISTENs before returning, so a node listens before it serves. kUnavailable if
  // the database cannot be reached, kInvalidArgument for a bad channel name.
  static Result<std::unique_ptr<PgChangeBus>> start(PgChangeBusOptions options, NoticeFn onNotice,
                                                    CatchUpFn onCatchUp);
  ~PgChangeBus() override;  // stops the thread, closes the connection

  void publish(ChangeNotice notice) override;

  struct Stats {
    int64_t published = 0;   // notices sent in a NOTIFY that succeeded
    int64_t received = 0;    // notices received (own included)
    int64_t dropped = 0;     // not sent: connection down, queue full, or a failed NOTIFY
    int64_t reconnects = 0;  // listener connections re-established after a loss
    int64_t catchUps = 0;    // onCatchUp calls
    bool connected = false;
  };
  Stats stats() const;
  // The server process ID of the listening session (0 while disconnected); tests terminate it.
  int listenerBackendPid() const { return backendPid_.load(); }

  PgChangeBus(const PgChangeBus&) = delete;
  PgChangeBus& operator=(const PgChangeBus&) = delete;

 private:
  struct Conn;
  PgChangeBus(PgChangeBusOptions options, NoticeFn onNotice, CatchUpFn onCatchUp);
  Status connect();   // on the bus thread (or in start(), before it exists)
  void run();
  bool flushQueue();  // false: the connection failed
  bool readNotices(); // false: the connection failed
  void wake();

  const PgChangeBusOptions options_;
  const NoticeFn onNotice_;
  const CatchUpFn onCatchUp_;
  std::unique_ptr<Conn> conn_;  // bus thread only (after start)
  int wakeFd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> backendPid_{0};
  std::thread thread_;

  mutable Mutex mu_;
  std::deque<ChangeNotice> queue_ TETHER_GUARDED_BY(mu_);
  Stats stats_ TETHER_GUARDED_BY(mu_);
};

}  // namespace tether::server
