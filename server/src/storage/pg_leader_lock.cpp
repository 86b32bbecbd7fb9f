// See pg_leader_lock.h.
#include "storage/pg_leader_lock.h"

namespace tether::server {

bool PgLeaderLock::held() {
  if (conn_ && (conn_->broken() || !conn_->checkAlive())) {
    conn_.reset();
    held_ = false;
  }
  if (!conn_) {
    Result<std::unique_ptr<PgConn>> c = PgConn::connect(conninfo_);
    if (!c.isOk()) return false;
    conn_ = std::move(c).value();
  }
  if (held_) {
    // A round trip: a connection the server terminated is noticed here, before the job runs.
    if (!conn_->exec("SELECT 1").isOk()) {
      conn_.reset();
      held_ = false;
    }
    return held_;
  }
  Result<PgResult> r = conn_->exec("SELECT pg_try_advisory_lock($1::bigint)", {key_});
  if (!r.isOk()) {
    conn_.reset();
    return false;
  }
  held_ = r->boolean(0, 0);
  return held_;
}

}  // namespace tether::server
