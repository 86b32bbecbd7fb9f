// SqliteUserPoolStore: the console's tables (store.h, "Console (issue 17)"): operators, console
// sessions, the audit log and the pool usage history. Every call is one autocommit statement on
// the write connection under its mutex, or one IMMEDIATE transaction when it writes two tables
// (ending an operator's sessions with the operator).
// Thread-safety: every method may be called from any thread.
#include <string>
#include <utility>

#include "storage/sqlite_user_pools.h"

namespace tether::server {
namespace {

OperatorRow readOperator(const Statement& st) {
  OperatorRow op;
  op.name = st.columnText(0);
  op.passwordHash = st.columnText(1);
  op.createdMs = st.columnInt64(2);
  op.lastSignInMs = st.columnInt64(3);
  return op;
}

}  // namespace

// ---- operators

Status SqliteUserPoolStore::createOperator(const OperatorRow& op) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO console_operators (name, password_hash, created_ms, last_signin_ms) VALUES (?1, ?2, ?3, ?4)"));
  st.bind(1, op.name).bind(2, op.passwordHash).bind(3, op.createdMs).bind(4, op.lastSignInMs);
  Status s = st.run();
  if (s.code() == StatusCode::kConflict) return Status::conflict("operator " + op.name + " already exists");
  return s;
}

Result<std::optional<OperatorRow>> SqliteUserPoolStore::getOperator(std::string_view name) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT name, password_hash, created_ms, last_signin_ms FROM console_operators WHERE name = ?1"));
  st.bind(1, name);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<OperatorRow>();
  return std::optional<OperatorRow>(readOperator(st));
}

Result<std::vector<OperatorRow>> SqliteUserPoolStore::listOperators() {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT name, password_hash, created_ms, last_signin_ms FROM console_operators ORDER BY name"));
  std::vector<OperatorRow> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back(readOperator(st));
  }
  return out;
}

Status SqliteUserPoolStore::setOperatorPassword(std::string_view name, std::string_view passwordHash) {
  TETHER_TRY(auto lock, lockConnection());
  return inTransaction(true, [&]() -> Status {
    TETHER_TRY(Statement st, conn_.db->prepare("UPDATE console_operators SET password_hash = ?2 WHERE name = ?1"));
    st.bind(1, name).bind(2, passwordHash);
    TETHER_RETURN_IF_ERROR(runExpectingChange(st, "no such operator"));
    TETHER_TRY(Statement del, conn_.db->prepare("DELETE FROM console_sessions WHERE operator_name = ?1"));
    del.bind(1, name);
    return del.run();
  });
}

Status SqliteUserPoolStore::deleteOperator(std::string_view name) {
  TETHER_TRY(auto lock, lockConnection());
  return inTransaction(true, [&]() -> Status {
    TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM console_operators WHERE name = ?1"));
    st.bind(1, name);
    TETHER_RETURN_IF_ERROR(runExpectingChange(st, "no such operator"));
    TETHER_TRY(Statement del, conn_.db->prepare("DELETE FROM console_sessions WHERE operator_name = ?1"));
    del.bind(1, name);
    return del.run();
  });
}

Status SqliteUserPoolStore::recordOperatorSignIn(std::string_view name, int64_t atMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("UPDATE console_operators SET last_signin_ms = ?2 WHERE name = ?1"));
  st.bind(1, name).bind(2, atMs);
  return runExpectingChange(st, "no such operator");
}

// ---- sessions

Status SqliteUserPoolStore::createConsoleSession(const ConsoleSessionRow& s) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO console_sessions (handle_hash, operator_name, csrf_token, created_ms, last_seen_ms, expires_ms)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.bind(1, s.handleHash).bind(2, s.operatorName).bind(3, s.csrfToken).bind(4, s.createdMs).bind(5, s.lastSeenMs)
      .bind(6, s.expiresMs);
  return st.run();
}

Result<std::optional<ConsoleSessionRow>> SqliteUserPoolStore::getConsoleSession(std::string_view handleHash) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT handle_hash, operator_name, csrf_token, created_ms, last_seen_ms, expires_ms FROM console_sessions"
      " WHERE handle_hash = ?1"));
  st.bind(1, handleHash);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<ConsoleSessionRow>();
  ConsoleSessionRow s;
  s.handleHash = st.columnText(0);
  s.operatorName = st.columnText(1);
  s.csrfToken = st.columnText(2);
  s.createdMs = st.columnInt64(3);
  s.lastSeenMs = st.columnInt64(4);
  s.expiresMs = st.columnInt64(5);
  return std::optional<ConsoleSessionRow>(std::move(s));
}

Status SqliteUserPoolStore::touchConsoleSession(std::string_view handleHash, int64_t lastSeenMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "UPDATE console_sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE handle_hash = ?1"));
  st.bind(1, handleHash).bind(2, lastSeenMs);
  return runExpectingChange(st, "no such console session");
}

Status SqliteUserPoolStore::deleteConsoleSession(std::string_view handleHash) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM console_sessions WHERE handle_hash = ?1"));
  st.bind(1, handleHash);
  return st.run();
}

Result<int64_t> SqliteUserPoolStore::pruneConsoleSessions(int64_t idleBeforeMs, int64_t nowMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "DELETE FROM console_sessions WHERE last_seen_ms < ?1 OR expires_ms <= ?2"));
  st.bind(1, idleBeforeMs).bind(2, nowMs);
  TETHER_RETURN_IF_ERROR(st.run());
  return static_cast<int64_t>(sqlite3_changes(conn_.db->raw()));
}

// ---- audit

Result<int64_t> SqliteUserPoolStore::appendAudit(const AuditEntry& e) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO console_audit (at_ms, operator_name, action, target, detail, outcome)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.bind(1, e.atMs).bind(2, e.operatorName).bind(3, e.action).bind(4, e.target).bind(5, e.detail)
      .bind(6, e.outcome);
  TETHER_RETURN_IF_ERROR(st.run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(conn_.db->raw()));
}

Result<std::vector<AuditEntry>> SqliteUserPoolStore::listAudit(int64_t beforeId, int limit) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT id, at_ms, operator_name, action, target, detail, outcome FROM console_audit"
      " WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2"));
  st.bind(1, beforeId).bind(2, static_cast<int64_t>(limit));
  std::vector<AuditEntry> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    AuditEntry e;
    e.id = st.columnInt64(0);
    e.atMs = st.columnInt64(1);
    e.operatorName = st.columnText(2);
    e.action = st.columnText(3);
    e.target = st.columnText(4);
    e.detail = st.columnText(5);
    e.outcome = st.columnText(6);
    out.push_back(std::move(e));
  }
  return out;
}

// ---- usage history

Status SqliteUserPoolStore::putUsageSample(const UsageSample& u) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO console_pool_usage (pool_id, bucket_ms, identities, datasets, bytes) VALUES (?1, ?2, ?3, ?4, ?5)"
      " ON CONFLICT (pool_id, bucket_ms) DO UPDATE SET identities = excluded.identities,"
      " datasets = excluded.datasets, bytes = excluded.bytes"));
  st.bind(1, u.poolId).bind(2, u.bucketMs).bind(3, u.identities).bind(4, u.datasets).bind(5, u.bytes);
  return st.run();
}

Result<std::vector<UsageSample>> SqliteUserPoolStore::listUsageSamples(std::string_view poolId, int64_t sinceMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT pool_id, bucket_ms, identities, datasets, bytes FROM console_pool_usage"
      " WHERE pool_id = ?1 AND bucket_ms >= ?2 ORDER BY bucket_ms"));
  st.bind(1, poolId).bind(2, sinceMs);
  std::vector<UsageSample> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    out.push_back({st.columnText(0), st.columnInt64(1), st.columnInt64(2), st.columnInt64(3), st.columnInt64(4)});
  }
  return out;
}

Result<int64_t> SqliteUserPoolStore::pruneUsageSamples(int64_t beforeMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM console_pool_usage WHERE bucket_ms < ?1"));
  st.bind(1, beforeMs);
  TETHER_RETURN_IF_ERROR(st.run());
  return static_cast<int64_t>(sqlite3_changes(conn_.db->raw()));
}

Result<int64_t> SqliteUserPoolStore::countPoolIdentities(std::string_view poolId) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("SELECT count(*) FROM identities WHERE pool_id = ?1"));
  st.bind(1, poolId);
  TETHER_TRY(bool row, st.step());
  return row ? st.columnInt64(0) : int64_t{0};
}

}  // namespace tether::server
