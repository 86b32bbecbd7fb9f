// PgChangeBus: see pg_change_bus.h.
#include "events/pg_change_bus.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace tether::server {

struct PgChangeBus::Conn {
  PGconn* pg = nullptr;
  ~Conn() {
    if (pg != nullptr) PQfinish(pg);
  }
};

namespace {

using Clock = std::chrono::steady_clock;

bool validChannel(const std::string& c) {
  if (c.empty() || c.size() > 63) return false;
  for (char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  return !(c[0] >= '0' && c[0] <= '9');
}

std::string lastError(PGconn* pg) {
  std::string m = pg != nullptr ? PQerrorMessage(pg) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

PgChangeBus::PgChangeBus(PgChangeBusOptions options, NoticeFn onNotice, CatchUpFn onCatchUp)
    : options_(std::move(options)), onNotice_(std::move(onNotice)), onCatchUp_(std::move(onCatchUp)) {}

Result<std::unique_ptr<PgChangeBus>> PgChangeBus::start(PgChangeBusOptions options, NoticeFn onNotice,
                                                        CatchUpFn onCatchUp) {
  if (!validChannel(options.channel)) return Status::invalidArgument("bad NOTIFY channel name: " + options.channel);
  std::unique_ptr<PgChangeBus> bus(new PgChangeBus(std::move(options), std::move(onNotice), std::move(onCatchUp)));
  bus->wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (bus->wakeFd_ < 0) return Status::ioError("eventfd failed");
  TETHER_RETURN_IF_ERROR(bus->connect());
  bus->thread_ = std::thread([b = bus.get()] { b->run(); });
  return bus;
}

PgChangeBus::~PgChangeBus() {
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
  conn_.reset();
  if (wakeFd_ >= 0) close(wakeFd_);
}

Status PgChangeBus::connect() {
  // The operator's URL first (expanded), then what a listening session needs: a bounded
  // connect and TCP keepalives, so a database that vanishes without a reset is noticed.
  const char* keys[] = {"dbname", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "application_name", nullptr};
  const char* values[] = {options_.conninfo.c_str(), "5", "1", "10", "5", "3", options_.applicationName.c_str(),
                          nullptr};
  auto conn = std::make_unique<Conn>();
  conn->pg = PQconnectdbParams(keys, values, 1);
  if (conn->pg == nullptr || PQstatus(conn->pg) != CONNECTION_OK)
    return Status::unavailable("cannot connect to PostgreSQL for change notices: " + lastError(conn->pg));
  // Notices are hints (a lost one is caught up): their commits need not wait for a WAL flush.
  PGresult* r = PQexec(conn->pg, ("SET synchronous_commit = off; LISTEN " + options_.channel).c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) return Status::unavailable("LISTEN failed: " + lastError(conn->pg));
  if (PQsetnonblocking(conn->pg, 0) != 0) return Status::unavailable("PQsetnonblocking failed");
  backendPid_.store(PQbackendPID(conn->pg));
  conn_ = std::move(conn);
  MutexLock lock(mu_);
  stats_.connected = true;
  return Status::ok();
}

void PgChangeBus::publish(ChangeNotice notice) {
  {
    MutexLock lock(mu_);
    if (!stats_.connected || queue_.size() >= options_.maxQueued) {
      stats_.dropped++;
      return;
    }
    queue_.push_back(std::move(notice));
  }
  wake();
}

void PgChangeBus::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wakeFd_, &one, sizeof one);
}

PgChangeBus::Stats PgChangeBus::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

bool PgChangeBus::flushQueue() {
  std::deque<ChangeNotice> batch;
  {
    MutexLock lock(mu_);
    batch.swap(queue_);
  }
  while (!batch.empty()) {
    // Up to 64 NOTIFYs per round trip (one simple-query message).
    // One transaction for the lot: one commit (NOTIFY's queue lock is taken at commit).
    std::string sql = "BEGIN;";
    size_t n = std::min<size_t>(batch.size(), 64);
    for (size_t i = 0; i < n; ++i) {
      std::string payload = encodeChangeNotice(batch[i]);
      char* lit = PQescapeLiteral(conn_->pg, payload.data(), payload.size());
      if (lit == nullptr) return false;
      sql += "NOTIFY " + options_.channel + ", " + lit + ";";
      PQfreemem(lit);
    }
    sql += "COMMIT;";
    PGresult* r = PQexec(conn_->pg, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    MutexLock lock(mu_);
    if (!ok) {
      stats_.dropped += static_cast<int64_t>(batch.size());
      return false;
    }
    stats_.published += static_cast<int64_t>(n);
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return true;
}

bool PgChangeBus::readNotices() {
  if (PQconsumeInput(conn_->pg) == 0) return false;
  while (PGnotify* n = PQnotifies(conn_->pg)) {
    std::optional<ChangeNotice> notice = decodeChangeNotice(n->extra);
    PQfreemem(n);
    {
      MutexLock lock(mu_);
      stats_.received++;
    }
    if (notice) onNotice_(*notice);
  }
  return PQstatus(conn_->pg) == CONNECTION_OK;
}

void PgChangeBus::run() {
  auto nextCatchUp = Clock::now() + std::chrono::milliseconds(options_.catchUpIntervalMs);
  int backoffMs = options_.reconnectMinMs;
  auto catchUp = [&] {
    {
      MutexLock lock(mu_);
      stats_.catchUps++;
    }
    if (onCatchUp_) onCatchUp_();
    nextCatchUp = Clock::now() + std::chrono::milliseconds(options_.catchUpIntervalMs);
  };
  auto lost = [&](const char* what) {
    spdlog::warn("change notices: connection lost ({}): {}; reconnecting", what, lastError(conn_->pg));
    conn_.reset();
    backendPid_.store(0);
    MutexLock lock(mu_);
    stats_.connected = false;
    stats_.dropped += static_cast<int64_t>(queue_.size());
    queue_.clear();
  };
  while (!stop_.load()) {
    if (!conn_) {
      Status s = connect();
      if (!s.isOk()) {
        pollfd w{wakeFd_, POLLIN, 0};
        poll(&w, 1, backoffMs);
        uint64_t v;
        [[maybe_unused]] ssize_t n = read(wakeFd_, &v, sizeof v);
        backoffMs = std::min(backoffMs * 2, options_.reconnectMaxMs);
        continue;
      }
      backoffMs = options_.reconnectMinMs;
      {
        MutexLock lock(mu_);
        stats_.reconnects++;
      }
      spdlog::info("change notices: listening again");
      catchUp();  // whatever was notified while nobody here listened
    }
    if (!flushQueue()) {
      lost("notify");
      continue;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(nextCatchUp - Clock::now()).count();
    pollfd fds[2] = {{PQsocket(conn_->pg), POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    int rc = poll(fds, 2, static_cast<int>(std::clamp<int64_t>(wait, 0, 60000)));
    if (rc > 0 && (fds[1].revents & POLLIN)) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = read(wakeFd_, &v, sizeof v);
    }
    if (rc > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
      if (!readNotices()) {
        lost("listen");
        continue;
      }
    }
    if (Clock::now() >= nextCatchUp) catchUp();
  }
}

}  // namespace tether::server
