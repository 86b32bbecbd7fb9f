#include "storage/pg_conn.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace tether::server {
namespace {

std::string trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// ---- PgResult

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_ != nullptr) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (r_ != nullptr) PQclear(r_);
}

int PgResult::rows() const { return r_ != nullptr ? PQntuples(r_) : 0; }

int64_t PgResult::affected() const {
  if (r_ == nullptr) return 0;
  const char* n = PQcmdTuples(r_);
  return (n != nullptr && *n != '\0') ? std::strtoll(n, nullptr, 10) : 0;
}

bool PgResult::isNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

std::string PgResult::text(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

int64_t PgResult::int64(int row, int col) const { return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10); }

bool PgResult::boolean(int row, int col) const { return PQgetvalue(r_, row, col)[0] == 't'; }

std::string PgResult::bytes(int row, int col) const {
  // bytea_output = hex (set per session in connect()): "\x" then two hex digits per byte.
  const char* v = PQgetvalue(r_, row, col);
  size_t n = static_cast<size_t>(PQgetlength(r_, row, col));
  std::string out;
  if (n < 2 || v[0] != '\\' || v[1] != 'x') return out;
  out.reserve((n - 2) / 2);
  for (size_t i = 2; i + 1 < n; i += 2)
    out.push_back(static_cast<char>(hexValue(v[i]) * 16 + hexValue(v[i + 1])));
  return out;
}

std::optional<std::string> PgResult::optionalBytes(int row, int col) const {
  if (isNull(row, col)) return std::nullopt;
  return bytes(row, col);
}

// ---- PgConn

Result<std::unique_ptr<PgConn>> PgConn::connect(const std::string& conninfo) {
  // Check the conninfo's syntax first: PQconnectdb would report it as a failed connection.
  char* parseError = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parseError);
  if (parsed == nullptr) {
    std::string why = trimmed(parseError != nullptr ? parseError : "out of memory");
    PQfreemem(parseError);
    return Status::invalidArgument("PostgreSQL connection string: " + why);
  }
  PQconninfoFree(parsed);

  // libpq waits for an unreachable host as long as the kernel does (minutes) unless told
  // otherwise: default to 10 s, which the conninfo's own connect_timeout or PGCONNECT_TIMEOUT
  // overrides (expanded parameters later in the array win over earlier ones).
  std::vector<const char*> keywords, values;
  if (std::getenv("PGCONNECT_TIMEOUT") == nullptr) {
    keywords.push_back("connect_timeout");
    values.push_back("10");
  }
  keywords.push_back("dbname");  // the only dbname: libpq expands the first one only
  values.push_back(conninfo.c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* raw = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return Status::unavailable("PostgreSQL: out of memory while connecting");
  std::unique_ptr<PgConn> conn(new PgConn(raw));
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(raw));
    // A refused login, or a role or database that does not exist, is an operator error, not an
    // outage: no amount of retrying fixes it. (libpq gives these only as text.)
    if (why.find("authentication failed") != std::string::npos)
      return Status::unauthenticated("PostgreSQL refused the login (" + describePgConninfo(conninfo) + "): " + why);
    if (why.find("does not exist") != std::string::npos)
      return Status::invalidArgument("PostgreSQL (" + describePgConninfo(conninfo) + "): " + why);
    return Status::unavailable("cannot connect to PostgreSQL (" + describePgConninfo(conninfo) + "): " + why);
  }
  // Acknowledged means durable (synchronous_commit = on, whatever the server default), times in
  // UTC, bytea in hex (PgResult::bytes), and no statement cut short by a server-wide timeout.
  TETHER_RETURN_IF_ERROR(conn->execScript(
      "SET synchronous_commit = on; SET TimeZone = 'UTC'; SET bytea_output = 'hex';"
      " SET client_min_messages = warning"));
  return conn;
}

PgConn::~PgConn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

int PgConn::backendPid() const { return PQbackendPID(conn_); }

bool PgConn::checkAlive() {
  if (broken_) return false;
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    return false;
  }
  // A notice or a FATAL error message may have arrived; a healthy idle connection has none.
  while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  if (PQisBusy(conn_) != 0) {
    broken_ = true;
    return false;
  }
  return true;
}

Status PgConn::statusOf(pg_result* r, std::string_view sql) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = trimmed(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  const std::string code = state != nullptr ? state : "";
  if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
  if (code.empty() || code.compare(0, 2, "08") == 0 || code == "57P01" || code == "57P02" || code == "57P03") {
    broken_ = broken_ || code.empty() || code.compare(0, 2, "08") == 0 || code.compare(0, 3, "57P") == 0;
    return Status::unavailable("PostgreSQL connection lost: " + message);
  }
  if (code == "40001" || code == "40P01") {
    lastAbortRetryable_ = true;
    return Status::unavailable("PostgreSQL aborted the transaction (" + code + "): " + message);
  }
  if (code == "23505") return Status::conflict(message);
  if (code.compare(0, 2, "23") == 0) return Status::internal("constraint violated: " + message);
  if (code.compare(0, 2, "22") == 0) return Status::invalidArgument(message);
  if (code == "53100") return Status::ioError("PostgreSQL: " + message);
  if (code.compare(0, 2, "53") == 0 || code == "57014") return Status::unavailable("PostgreSQL: " + message);
  std::string head(sql.substr(0, 80));
  return Status::internal("PostgreSQL error " + code + ": " + message + " (in: " + head + ")");
}

Result<PgResult> PgConn::exec(std::string_view sql, std::initializer_list<PgParam> params) {
  return exec(sql, std::vector<PgParam>(params));
}

Result<PgResult> PgConn::exec(std::string_view sql, const std::vector<PgParam>& params) {
  lastAbortRetryable_ = false;
  if (broken_) return Status::unavailable("PostgreSQL connection lost");
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    // libpq reads a text parameter up to its first NUL: the rest would be dropped silently.
    if (params[i].value && !params[i].binary && params[i].value->find('\0') != std::string::npos)
      return Status::invalidArgument("PostgreSQL text cannot hold a NUL byte (parameter $" + std::to_string(i + 1) +
                                     ")");
    values[i] = params[i].value ? params[i].value->data() : nullptr;
    lengths[i] = params[i].value ? static_cast<int>(params[i].value->size()) : 0;
    formats[i] = params[i].binary ? 1 : 0;
  }
  std::string text(sql);
  const int n = static_cast<int>(params.size());
  auto it = prepared_.find(text);
  if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    std::string name = "tether_" + std::to_string(prepared_.size());
    PgResult prep(PQprepare(conn_, name.c_str(), text.c_str(), n, nullptr));
    pg_result* pr = prep.raw();
    if (pr == nullptr || PQresultStatus(pr) != PGRES_COMMAND_OK) return statusOf(pr, sql);
    it = prepared_.emplace(text, std::move(name)).first;
  }
  PgResult result(it != prepared_.end()
                      ? PQexecPrepared(conn_, it->second.c_str(), n, values.data(), lengths.data(), formats.data(), 0)
                      : PQexecParams(conn_, text.c_str(), n, nullptr, values.data(), lengths.data(), formats.data(),
                                     0));
  pg_result* r = result.raw();
  ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return result;
  return statusOf(r, sql);
}

Status PgConn::execScript(std::string_view sql) {
  lastAbortRetryable_ = false;
  if (broken_) return Status::unavailable("PostgreSQL connection lost");
  std::string text(sql);
  PgResult result(PQexec(conn_, text.c_str()));
  pg_result* r = result.raw();
  ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::ok();
  return statusOf(r, sql);
}

// ---- PgPool

PgPool::PgPool(std::string conninfo, PgPoolOptions options)
    : conninfo_(std::move(conninfo)), options_(options) {}

PgPool::~PgPool() = default;

PgPool::Lease& PgPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    conn_ = std::move(o.conn_);
    o.pool_ = nullptr;
  }
  return *this;
}

void PgPool::Lease::release() {
  if (pool_ != nullptr && conn_) pool_->giveBack(std::move(conn_));
  conn_.reset();
  pool_ = nullptr;
}

Result<PgPool::Lease> PgPool::acquire() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.acquireTimeoutMs);
  MutexLock lock(mu_);
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConn> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->checkAlive()) return Lease(this, std::move(conn));
      --open_;  // died while idle (server restarted, backend terminated): drop it
    }
    if (open_ < options_.size) {
      ++open_;
      lock.unlock();
      Result<std::unique_ptr<PgConn>> conn = PgConn::connect(conninfo_);
      lock.lock();
      if (!conn.isOk()) {
        --open_;
        returned_.notify_one();
        return conn.status();
      }
      return Lease(this, std::move(*conn));
    }
    if (lock.waitUntil(returned_, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size)
      return Status::unavailable("all " + std::to_string(options_.size) +
                                 " PostgreSQL connections of this node stayed busy for " +
                                 std::to_string(options_.acquireTimeoutMs) + " ms");
  }
}

void PgPool::giveBack(std::unique_ptr<PgConn> conn) {
  MutexLock lock(mu_);
  // A connection left inside a transaction (a bug) or broken is not reused.
  if (conn->broken() || PQtransactionStatus(conn->raw()) != PQTRANS_IDLE) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

int PgPool::openConnections() {
  MutexLock lock(mu_);
  return open_;
}

std::string describePgConninfo(std::string_view conninfo) {
  char* error = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(conninfo).c_str(), &error);
  if (opts == nullptr) {
    PQfreemem(error);
    return "postgresql (unparsable connection string)";
  }
  std::string host, port, user, db;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "host") == 0) host = o->val;
    else if (std::strcmp(o->keyword, "port") == 0) port = o->val;
    else if (std::strcmp(o->keyword, "user") == 0) user = o->val;
    else if (std::strcmp(o->keyword, "dbname") == 0) db = o->val;
  }
  PQconninfoFree(opts);
  // Unset parts come from the PG* environment (or libpq's defaults).
  std::string out = "postgresql://";
  if (!user.empty()) out += user + "@";
  out += host;
  if (!port.empty()) out += ":" + port;
  out += "/" + db;
  return out;
}

}  // namespace tether::server
