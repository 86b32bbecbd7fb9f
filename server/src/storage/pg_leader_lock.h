// PgLeaderLock: "at most one node does this job" on a shared PostgreSQL store (the Cognito
// Streams publisher, docs/events.md). A session advisory lock held on a dedicated connection:
// the node that holds it does the job; when that node dies (or its connection does), PostgreSQL
// releases the lock and the next node that asks takes over. held() checks the connection each
// time (a SELECT on it), so a node whose connection broke stops within one round.
// Threading: one thread at a time (the job's own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "storage/pg_conn.h"

namespace tether::server {

class PgLeaderLock {
 public:
  PgLeaderLock(std::string conninfo, int64_t key) : conninfo_(std::move(conninfo)), key_(key) {}
  // True while this node holds the lock (connecting and trying when it does not).
  bool held();

 private:
  std::string conninfo_;
  int64_t key_;
  std::unique_ptr<PgConn> conn_;
  bool held_ = false;
};

}  // namespace tether::server
