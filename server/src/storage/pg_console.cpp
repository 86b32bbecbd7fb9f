// PgUserPoolStore: the console's tables (store.h, "Console (issue 17)") on PostgreSQL:
// operators, console sessions, the audit log and the pool usage history. Each call is one
// autocommit statement, or one READ COMMITTED transaction when it writes two tables (ending an
// operator's sessions with the operator). Usage samples are an upsert on (pool, bucket), so
// several nodes sampling the same bucket leave one row.
// Thread-safety: every method may be called from any thread; each takes its own pooled connection.
#include <string>
#include <utility>

#include "storage/pg_user_pools.h"

namespace tether::server {
namespace {

constexpr const char* kOperatorColumns = "name, password_hash, created_ms, last_signin_ms";

OperatorRow readOperator(const PgResult& r, int row) {
  return OperatorRow{r.text(row, 0), r.text(row, 1), r.int64(row, 2), r.int64(row, 3)};
}

Status expectChange(const Result<PgResult>& r, const char* what) {
  if (!r.isOk()) return r.status();
  if (r->affected() == 0) return Status::notFound(what);
  return Status::ok();
}

}  // namespace

// ---- operators

Status PgUserPoolStore::createOperator(const OperatorRow& op) {
  auto r = exec("INSERT INTO console_operators (name, password_hash, created_ms, last_signin_ms) VALUES ($1, $2, $3, $4)",
                {op.name, op.passwordHash, op.createdMs, op.lastSignInMs});
  if (r.status().code() == StatusCode::kConflict) return Status::conflict("operator " + op.name + " already exists");
  return r.status();
}

Result<std::optional<OperatorRow>> PgUserPoolStore::getOperator(std::string_view name) {
  TETHER_TRY(PgResult r, exec(std::string("SELECT ") + kOperatorColumns + " FROM console_operators WHERE name = $1",
                              {name}));
  if (r.rows() == 0) return std::optional<OperatorRow>();
  return std::optional<OperatorRow>(readOperator(r, 0));
}

Result<std::vector<OperatorRow>> PgUserPoolStore::listOperators() {
  TETHER_TRY(PgResult r, exec(std::string("SELECT ") + kOperatorColumns + " FROM console_operators ORDER BY name", {}));
  std::vector<OperatorRow> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(readOperator(r, i));
  return out;
}

Status PgUserPoolStore::setOperatorPassword(std::string_view name, std::string_view passwordHash) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    TETHER_RETURN_IF_ERROR(expectChange(
        conn->exec("UPDATE console_operators SET password_hash = $2 WHERE name = $1", {name, passwordHash}),
        "no such operator"));
    return conn->exec("DELETE FROM console_sessions WHERE operator_name = $1", {name}).status();
  });
}

Status PgUserPoolStore::deleteOperator(std::string_view name) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    TETHER_RETURN_IF_ERROR(
        expectChange(conn->exec("DELETE FROM console_operators WHERE name = $1", {name}), "no such operator"));
    return conn->exec("DELETE FROM console_sessions WHERE operator_name = $1", {name}).status();
  });
}

Status PgUserPoolStore::recordOperatorSignIn(std::string_view name, int64_t atMs) {
  return expectChange(exec("UPDATE console_operators SET last_signin_ms = $2 WHERE name = $1", {name, atMs}),
                      "no such operator");
}

// ---- sessions

Status PgUserPoolStore::createConsoleSession(const ConsoleSessionRow& s) {
  return exec("INSERT INTO console_sessions (handle_hash, operator_name, csrf_token, created_ms, last_seen_ms,"
              " expires_ms) VALUES ($1, $2, $3, $4, $5, $6)",
              {s.handleHash, s.operatorName, s.csrfToken, s.createdMs, s.lastSeenMs, s.expiresMs})
      .status();
}

Result<std::optional<ConsoleSessionRow>> PgUserPoolStore::getConsoleSession(std::string_view handleHash) {
  TETHER_TRY(PgResult r, exec("SELECT handle_hash, operator_name, csrf_token, created_ms, last_seen_ms, expires_ms"
                              " FROM console_sessions WHERE handle_hash = $1",
                              {handleHash}));
  if (r.rows() == 0) return std::optional<ConsoleSessionRow>();
  return std::optional<ConsoleSessionRow>(
      ConsoleSessionRow{r.text(0, 0), r.text(0, 1), r.text(0, 2), r.int64(0, 3), r.int64(0, 4), r.int64(0, 5)});
}

Status PgUserPoolStore::touchConsoleSession(std::string_view handleHash, int64_t lastSeenMs) {
  return expectChange(exec("UPDATE console_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2)"
                           " WHERE handle_hash = $1",
                           {handleHash, lastSeenMs}),
                      "no such console session");
}

Status PgUserPoolStore::deleteConsoleSession(std::string_view handleHash) {
  return exec("DELETE FROM console_sessions WHERE handle_hash = $1", {handleHash}).status();
}

Result<int64_t> PgUserPoolStore::pruneConsoleSessions(int64_t idleBeforeMs, int64_t nowMs) {
  TETHER_TRY(PgResult r,
             exec("DELETE FROM console_sessions WHERE last_seen_ms < $1 OR expires_ms <= $2", {idleBeforeMs, nowMs}));
  return r.affected();
}

// ---- audit

Result<int64_t> PgUserPoolStore::appendAudit(const AuditEntry& e) {
  TETHER_TRY(PgResult r, exec("INSERT INTO console_audit (at_ms, operator_name, action, target, detail, outcome)"
                              " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                              {e.atMs, e.operatorName, e.action, e.target, e.detail, e.outcome}));
  return r.int64(0, 0);
}

Result<std::vector<AuditEntry>> PgUserPoolStore::listAudit(int64_t beforeId, int limit) {
  TETHER_TRY(PgResult r, exec("SELECT id, at_ms, operator_name, action, target, detail, outcome FROM console_audit"
                              " WHERE $1::bigint = 0 OR id < $1::bigint ORDER BY id DESC LIMIT $2",
                              {beforeId, limit}));
  std::vector<AuditEntry> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), r.int64(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4), r.text(i, 5), r.text(i, 6)});
  return out;
}

// ---- usage history

Status PgUserPoolStore::putUsageSample(const UsageSample& u) {
  return exec("INSERT INTO console_pool_usage (pool_id, bucket_ms, identities, datasets, bytes)"
              " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pool_id, bucket_ms) DO UPDATE SET"
              " identities = excluded.identities, datasets = excluded.datasets, bytes = excluded.bytes",
              {u.poolId, u.bucketMs, u.identities, u.datasets, u.bytes})
      .status();
}

Result<std::vector<UsageSample>> PgUserPoolStore::listUsageSamples(std::string_view poolId, int64_t sinceMs) {
  TETHER_TRY(PgResult r, exec("SELECT pool_id, bucket_ms, identities, datasets, bytes FROM console_pool_usage"
                              " WHERE pool_id = $1 AND bucket_ms >= $2 ORDER BY bucket_ms",
                              {poolId, sinceMs}));
  std::vector<UsageSample> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.text(i, 0), r.int64(i, 1), r.int64(i, 2), r.int64(i, 3), r.int64(i, 4)});
  return out;
}

Result<int64_t> PgUserPoolStore::pruneUsageSamples(int64_t beforeMs) {
  TETHER_TRY(PgResult r, exec("DELETE FROM console_pool_usage WHERE bucket_ms < $1", {beforeMs}));
  return r.affected();
}

Result<int64_t> PgUserPoolStore::countPoolIdentities(std::string_view poolId) {
  TETHER_TRY(PgResult r, exec("SELECT count(*) FROM identities WHERE pool_id = $1", {poolId}));
  return r.int64(0, 0);
}

}  // namespace tether::server
