// SqliteUserPoolStore: pools, app clients, groups, tickets and revocations (the users are in
// sqlite_users.cpp). See sqlite_user_pools.h.
#include "storage/sqlite_user_pools.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>

#include "storage/user_pool_rows.h"

namespace tether::server {
namespace {

constexpr const char* kPoolColumns = "id, name, COALESCE(domain, ''), created_ms, modified_ms, config";
constexpr const char* kClientColumns = "client_id, pool_id, name, created_ms, modified_ms, config";
constexpr const char* kGroupColumns = "g.pool_id, g.name, g.description, g.role_arn, g.precedence, g.created_ms,"
                                      " g.modified_ms";

std::string sql(std::string_view a, std::string_view b = {}, std::string_view c = {}) {
  std::string s(a);
  s += b;
  s += c;
  return s;
}

int64_t clampLimit(int limit) { return int64_t{std::max(limit, 0)}; }

UserPoolRow readPool(const Statement& st) {
  return UserPoolRow{st.columnText(0), st.columnText(1), st.columnText(2), st.columnInt64(3), st.columnInt64(4),
                     st.columnText(5)};
}

UserPoolClientRow readClient(const Statement& st) {
  return UserPoolClientRow{st.columnText(0), st.columnText(1),  st.columnText(2),
                           st.columnInt64(3), st.columnInt64(4), st.columnText(5)};
}

UserGroupRow readGroup(const Statement& st) {
  UserGroupRow g;
  g.poolId = st.columnText(0);
  g.name = st.columnText(1);
  g.description = st.columnText(2);
  g.roleArn = st.columnText(3);
  if (!st.columnIsNull(4)) g.precedence = st.columnInt64(4);
  g.createdMs = st.columnInt64(5);
  g.modifiedMs = st.columnInt64(6);
  return g;
}

// Steps a query to its end, reading each row with `read`.
template <class T, class Fn>
Result<std::vector<T>> readAll(Statement& st, Fn&& read) {
  std::vector<T> out;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) return out;
    out.push_back(read(st));
  }
}

// True if the query yields a row.
Result<bool> exists(Statement& st) { return st.step(); }

}  // namespace

Result<std::unique_lock<std::mutex>> SqliteUserPoolStore::lockConnection() {
  if (conn_.txnOwner.load() == std::this_thread::get_id())
    return Status::internal("Store called on a thread that holds an open transaction");
  return conn_.lockForAutocommit();
}

Status SqliteUserPoolStore::runExpectingChange(Statement& st, const char* what) {
  TETHER_RETURN_IF_ERROR(st.run());
  if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound(what);
  return Status::ok();
}

// ---- pools

Status SqliteUserPoolStore::createUserPool(const UserPoolRow& pool) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO idp_pools (id, name, domain, created_ms, modified_ms, config)"
      " VALUES (?1, ?2, NULLIF(?3, ''), ?4, ?5, ?6)"));
  st.bind(1, pool.id).bind(2, pool.name).bind(3, pool.domain).bind(4, pool.createdMs).bind(5, pool.modifiedMs)
      .bind(6, pool.configJson);
  Status s = st.run();
  if (s.code() == StatusCode::kConflict)
    return Status::conflict("user pool " + pool.id + " already exists, or another pool has its domain");
  return s;
}

Result<std::optional<UserPoolRow>> SqliteUserPoolStore::getUserPool(std::string_view poolId) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(sql("SELECT ", kPoolColumns, " FROM idp_pools WHERE id = ?1")));
  st.bind(1, poolId);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<UserPoolRow>();
  return std::optional<UserPoolRow>(readPool(st));
}

Result<std::optional<UserPoolRow>> SqliteUserPoolStore::findUserPoolByDomain(std::string_view domain) {
  if (domain.empty()) return std::optional<UserPoolRow>();  // "" is "no domain", never a match
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(sql("SELECT ", kPoolColumns, " FROM idp_pools WHERE domain = ?1")));
  st.bind(1, domain);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<UserPoolRow>();
  return std::optional<UserPoolRow>(readPool(st));
}

Result<std::vector<UserPoolRow>> SqliteUserPoolStore::listUserPools(std::string_view afterId, int limit) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      sql("SELECT ", kPoolColumns, " FROM idp_pools WHERE id > ?1 ORDER BY id LIMIT ?2")));
  st.bind(1, afterId).bind(2, clampLimit(limit));
  return readAll<UserPoolRow>(st, readPool);
}

Status SqliteUserPoolStore::updateUserPool(const UserPoolRow& pool) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "UPDATE idp_pools SET name = ?2, domain = NULLIF(?3, ''), modified_ms = ?4, config = ?5 WHERE id = ?1"));
  st.bind(1, pool.id).bind(2, pool.name).bind(3, pool.domain).bind(4, pool.modifiedMs).bind(5, pool.configJson);
  Status s = runExpectingChange(st, "no such user pool");
  if (s.code() == StatusCode::kConflict) return Status::conflict("another user pool has the domain " + pool.domain);
  return s;
}

Status SqliteUserPoolStore::deleteUserPool(std::string_view poolId) {
  TETHER_TRY(auto lock, lockConnection());
  const std::string prefix = user_pool_rows::ticketKeyPrefix(poolId);
  const std::string prefixEnd = *user_pool_rows::bytePrefixEnd(prefix);  // the prefix ends in '/': it has one
  return inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    // Children first (the foreign keys would cascade too; this does not depend on them).
    static constexpr const char* kByPool[] = {
        "DELETE FROM idp_group_members WHERE pool_id = ?1", "DELETE FROM idp_groups WHERE pool_id = ?1",
        "DELETE FROM idp_aliases WHERE pool_id = ?1",       "DELETE FROM idp_user_attrs WHERE pool_id = ?1",
        "DELETE FROM idp_users WHERE pool_id = ?1",         "DELETE FROM idp_clients WHERE pool_id = ?1",
        "DELETE FROM idp_revoked_origins WHERE pool_id = ?1",
    };
    for (const char* step : kByPool) {
      TETHER_TRY(Statement st, conn_.db->prepare(step));
      st.bind(1, poolId);
      TETHER_RETURN_IF_ERROR(st.run());
    }
    for (const char* step : {"DELETE FROM idp_tickets WHERE key >= ?1 AND key < ?2",
                             "DELETE FROM idp_used_once WHERE key >= ?1 AND key < ?2"}) {
      TETHER_TRY(Statement st, conn_.db->prepare(step));
      st.bind(1, prefix).bind(2, prefixEnd);
      TETHER_RETURN_IF_ERROR(st.run());
    }
    TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM idp_pools WHERE id = ?1"));
    st.bind(1, poolId);
    return runExpectingChange(st, "no such user pool");  // then everything above rolls back
  });
}

Result<int64_t> SqliteUserPoolStore::countUsers(std::string_view poolId) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("SELECT COUNT(*) FROM idp_users WHERE pool_id = ?1"));
  st.bind(1, poolId);
  TETHER_TRY(bool row, st.step());
  return row ? st.columnInt64(0) : int64_t{0};
}

// ---- app clients

Status SqliteUserPoolStore::createUserPoolClient(const UserPoolClientRow& c) {
  TETHER_TRY(auto lock, lockConnection());
  // One statement: inserts only if the pool exists.
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO idp_clients (client_id, pool_id, name, created_ms, modified_ms, config)"
      " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM idp_pools WHERE id = ?2)"));
  st.bind(1, c.clientId).bind(2, c.poolId).bind(3, c.name).bind(4, c.createdMs).bind(5, c.modifiedMs)
      .bind(6, c.configJson);
  Status s = runExpectingChange(st, "no such user pool");
  if (s.code() == StatusCode::kConflict) return Status::conflict("app client " + c.clientId + " already exists");
  return s;
}

Result<std::optional<UserPoolClientRow>> SqliteUserPoolStore::getUserPoolClient(std::string_view clientId) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(sql("SELECT ", kClientColumns, " FROM idp_clients WHERE client_id = ?1")));
  st.bind(1, clientId);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<UserPoolClientRow>();
  return std::optional<UserPoolClientRow>(readClient(st));
}

Result<std::vector<UserPoolClientRow>> SqliteUserPoolStore::listUserPoolClients(std::string_view poolId,
                                                                                std::string_view afterId, int limit) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(sql("SELECT ", kClientColumns,
                                                 " FROM idp_clients WHERE pool_id = ?1 AND client_id > ?2"
                                                 " ORDER BY client_id LIMIT ?3")));
  st.bind(1, poolId).bind(2, afterId).bind(3, clampLimit(limit));
  return readAll<UserPoolClientRow>(st, readClient);
}

Status SqliteUserPoolStore::updateUserPoolClient(const UserPoolClientRow& c) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "UPDATE idp_clients SET name = ?3, modified_ms = ?4, config = ?5 WHERE client_id = ?1 AND pool_id = ?2"));
  st.bind(1, c.clientId).bind(2, c.poolId).bind(3, c.name).bind(4, c.modifiedMs).bind(5, c.configJson);
  return runExpectingChange(st, "no such app client in this user pool");
}

Status SqliteUserPoolStore::deleteUserPoolClient(std::string_view poolId, std::string_view clientId) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM idp_clients WHERE client_id = ?1 AND pool_id = ?2"));
  st.bind(1, clientId).bind(2, poolId);
  return runExpectingChange(st, "no such app client in this user pool");
}

// ---- groups

Status SqliteUserPoolStore::createUserGroup(const UserGroupRow& g) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO idp_groups (pool_id, name, description, role_arn, precedence, created_ms, modified_ms)"
      " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM idp_pools WHERE id = ?1)"));
  st.bind(1, g.poolId).bind(2, g.name).bind(3, g.description).bind(4, g.roleArn).bind(6, g.createdMs)
      .bind(7, g.modifiedMs);
  if (g.precedence) st.bind(5, *g.precedence);
  else st.bindNull(5);
  Status s = runExpectingChange(st, "no such user pool");
  if (s.code() == StatusCode::kConflict) return Status::conflict("group " + g.name + " already exists");
  return s;
}

Result<std::optional<UserGroupRow>> SqliteUserPoolStore::getUserGroup(std::string_view poolId, std::string_view name) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      sql("SELECT ", kGroupColumns, " FROM idp_groups g WHERE g.pool_id = ?1 AND g.name = ?2")));
  st.bind(1, poolId).bind(2, name);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<UserGroupRow>();
  return std::optional<UserGroupRow>(readGroup(st));
}

Status SqliteUserPoolStore::updateUserGroup(const UserGroupRow& g) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "UPDATE idp_groups SET description = ?3, role_arn = ?4, precedence = ?5, modified_ms = ?6"
      " WHERE pool_id = ?1 AND name = ?2"));
  st.bind(1, g.poolId).bind(2, g.name).bind(3, g.description).bind(4, g.roleArn).bind(6, g.modifiedMs);
  if (g.precedence) st.bind(5, *g.precedence);
  else st.bindNull(5);
  return runExpectingChange(st, "no such group");
}

Status SqliteUserPoolStore::deleteUserGroup(std::string_view poolId, std::string_view name) {
  TETHER_TRY(auto lock, lockConnection());
  return inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    {
      TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM idp_group_members WHERE pool_id = ?1 AND group_name = ?2"));
      st.bind(1, poolId).bind(2, name);
      TETHER_RETURN_IF_ERROR(st.run());
    }
    TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM idp_groups WHERE pool_id = ?1 AND name = ?2"));
    st.bind(1, poolId).bind(2, name);
    return runExpectingChange(st, "no such group");
  });
}

Result<std::vector<UserGroupRow>> SqliteUserPoolStore::listUserGroups(std::string_view poolId,
                                                                      std::string_view afterName, int limit) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(sql("SELECT ", kGroupColumns,
                                                 " FROM idp_groups g WHERE g.pool_id = ?1 AND g.name > ?2"
                                                 " ORDER BY g.name LIMIT ?3")));
  st.bind(1, poolId).bind(2, afterName).bind(3, clampLimit(limit));
  return readAll<UserGroupRow>(st, readGroup);
}

Status SqliteUserPoolStore::addUserToGroup(std::string_view poolId, std::string_view groupName, std::string_view sub) {
  TETHER_TRY(auto lock, lockConnection());
  return inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    {
      TETHER_TRY(Statement group, conn_.db->prepare("SELECT 1 FROM idp_groups WHERE pool_id = ?1 AND name = ?2"));
      group.bind(1, poolId).bind(2, groupName);
      TETHER_TRY(bool found, exists(group));
      if (!found) return Status::notFound("no such group");
    }
    {
      TETHER_TRY(Statement user, conn_.db->prepare("SELECT 1 FROM idp_users WHERE pool_id = ?1 AND sub = ?2"));
      user.bind(1, poolId).bind(2, sub);
      TETHER_TRY(bool found, exists(user));
      if (!found) return Status::notFound("no such user");
    }
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO idp_group_members (pool_id, group_name, sub) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"));
    st.bind(1, poolId).bind(2, groupName).bind(3, sub);
    return st.run();
  });
}

Status SqliteUserPoolStore::removeUserFromGroup(std::string_view poolId, std::string_view groupName,
                                                std::string_view sub) {
  TETHER_TRY(auto lock, lockConnection());
  return inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    {
      TETHER_TRY(Statement group, conn_.db->prepare("SELECT 1 FROM idp_groups WHERE pool_id = ?1 AND name = ?2"));
      group.bind(1, poolId).bind(2, groupName);
      TETHER_TRY(bool found, exists(group));
      if (!found) return Status::notFound("no such group");
    }
    TETHER_TRY(Statement st, conn_.db->prepare(
        "DELETE FROM idp_group_members WHERE pool_id = ?1 AND group_name = ?2 AND sub = ?3"));
    st.bind(1, poolId).bind(2, groupName).bind(3, sub);
    return st.run();
  });
}

Result<std::vector<UserGroupRow>> SqliteUserPoolStore::listGroupsForUser(std::string_view poolId,
                                                                         std::string_view sub) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(sql("SELECT ", kGroupColumns,
                                                 " FROM idp_group_members m JOIN idp_groups g"
                                                 " ON g.pool_id = m.pool_id AND g.name = m.group_name"
                                                 " WHERE m.pool_id = ?1 AND m.sub = ?2 ORDER BY g.name")));
  st.bind(1, poolId).bind(2, sub);
  return readAll<UserGroupRow>(st, readGroup);
}

// ---- tickets

Status SqliteUserPoolStore::putTicket(std::string_view key, std::string_view value, int64_t expiresMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO idp_tickets (key, value, expires_ms) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_ms = excluded.expires_ms"));
  st.bind(1, key).bind(2, value).bind(3, expiresMs);
  return st.run();
}

Result<std::optional<std::string>> SqliteUserPoolStore::takeTicket(std::string_view key, int64_t nowMs) {
  TETHER_TRY(auto lock, lockConnection());
  // The delete and the read are one statement; an expired ticket goes too.
  TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM idp_tickets WHERE key = ?1 RETURNING value, expires_ms"));
  st.bind(1, key);
  TETHER_TRY(bool row, st.step());
  std::optional<std::string> value;
  if (row && st.columnInt64(1) > nowMs) value = st.columnText(0);
  if (row) {
    TETHER_TRY(bool more, st.step());  // to the end: the autocommit commits (or reports) here
    (void)more;
  }
  return value;
}

Result<std::optional<std::string>> SqliteUserPoolStore::peekTicket(std::string_view key, int64_t nowMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare("SELECT value FROM idp_tickets WHERE key = ?1 AND expires_ms > ?2"));
  st.bind(1, key).bind(2, nowMs);
  TETHER_TRY(bool row, st.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.columnText(0));
}

Result<bool> SqliteUserPoolStore::useOnce(std::string_view key, int64_t expiresMs, int64_t nowMs) {
  TETHER_TRY(auto lock, lockConnection());
  // Inserts, or takes over an expired record; an unexpired one stays and nothing changes.
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO idp_used_once (key, expires_ms) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE"
      " SET expires_ms = excluded.expires_ms WHERE idp_used_once.expires_ms <= ?3"));
  st.bind(1, key).bind(2, expiresMs).bind(3, nowMs);
  TETHER_RETURN_IF_ERROR(st.run());
  return sqlite3_changes(conn_.db->raw()) > 0;
}

Result<int64_t> SqliteUserPoolStore::pruneTickets(int64_t nowMs) {
  TETHER_TRY(auto lock, lockConnection());
  int64_t removed = 0;
  TETHER_RETURN_IF_ERROR(inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    for (const char* step : {"DELETE FROM idp_tickets WHERE expires_ms <= ?1",
                             "DELETE FROM idp_used_once WHERE expires_ms <= ?1",
                             "DELETE FROM idp_revoked_origins WHERE expires_ms <= ?1"}) {
      TETHER_TRY(Statement st, conn_.db->prepare(step));
      st.bind(1, nowMs);
      TETHER_RETURN_IF_ERROR(st.run());
      removed += sqlite3_changes(conn_.db->raw());
    }
    return Status::ok();
  }));
  return removed;
}

// ---- revocations

Status SqliteUserPoolStore::revokeOrigin(std::string_view poolId, std::string_view originJti, int64_t expiresMs) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "INSERT INTO idp_revoked_origins (pool_id, origin_jti, expires_ms) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (pool_id, origin_jti) DO UPDATE"
      " SET expires_ms = MAX(idp_revoked_origins.expires_ms, excluded.expires_ms)"));
  st.bind(1, poolId).bind(2, originJti).bind(3, expiresMs);
  return st.run();
}

Result<bool> SqliteUserPoolStore::isOriginRevoked(std::string_view poolId, std::string_view originJti) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT 1 FROM idp_revoked_origins WHERE pool_id = ?1 AND origin_jti = ?2"));
  st.bind(1, poolId).bind(2, originJti);
  return exists(st);
}

Result<std::vector<RevokedOrigin>> SqliteUserPoolStore::listRevokedOrigins(std::string_view poolId,
                                                                           std::string_view afterJti, int limit) {
  TETHER_TRY(auto lock, lockConnection());
  TETHER_TRY(Statement st, conn_.db->prepare(
      "SELECT origin_jti, expires_ms FROM idp_revoked_origins WHERE pool_id = ?1 AND origin_jti > ?2"
      " ORDER BY origin_jti LIMIT ?3"));
  st.bind(1, poolId).bind(2, afterJti).bind(3, clampLimit(limit));
  return readAll<RevokedOrigin>(st, [](const Statement& s) { return RevokedOrigin{s.columnText(0), s.columnInt64(1)}; });
}

}  // namespace tether::server
