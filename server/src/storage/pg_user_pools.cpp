// PgUserPoolStore: pools, app clients, groups, tickets and revocations (the users are in
// pg_users.cpp). See pg_user_pools.h for the concurrency rules.
#include "storage/pg_user_pools.h"

#include <algorithm>
#include <string>
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

UserPoolRow readPool(const PgResult& r, int i) {
  return UserPoolRow{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3), r.int64(i, 4), r.text(i, 5)};
}

UserPoolClientRow readClient(const PgResult& r, int i) {
  return UserPoolClientRow{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3), r.int64(i, 4), r.text(i, 5)};
}

UserGroupRow readGroup(const PgResult& r, int i) {
  UserGroupRow g;
  g.poolId = r.text(i, 0);
  g.name = r.text(i, 1);
  g.description = r.text(i, 2);
  g.roleArn = r.text(i, 3);
  if (!r.isNull(i, 4)) g.precedence = r.int64(i, 4);
  g.createdMs = r.int64(i, 5);
  g.modifiedMs = r.int64(i, 6);
  return g;
}

template <class T, class Fn>
std::vector<T> readAll(const PgResult& r, Fn&& read) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
  return out;
}

PgParam optionalInt(const std::optional<int64_t>& v) {
  return v ? PgParam(*v) : PgParam(std::nullopt);
}

}  // namespace

std::string pgTextArray(const std::vector<std::string_view>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Result<PgResult> PgUserPoolStore::exec(std::string_view sql, std::initializer_list<PgParam> params) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return conn->exec(sql, params);
}

// ---- pools

Status PgUserPoolStore::createUserPool(const UserPoolRow& pool) {
  Status s = exec("INSERT INTO idp_pools (id, name, domain, created_ms, modified_ms, config)"
                  " VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6)",
                  {pool.id, pool.name, pool.domain, pool.createdMs, pool.modifiedMs, pool.configJson})
                 .status();
  if (s.code() == StatusCode::kConflict)
    return Status::conflict("user pool " + pool.id + " already exists, or another pool has its domain");
  return s;
}

Result<std::optional<UserPoolRow>> PgUserPoolStore::getUserPool(std::string_view poolId) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kPoolColumns, " FROM idp_pools WHERE id = $1"), {poolId}));
  if (r.rows() == 0) return std::optional<UserPoolRow>();
  return std::optional<UserPoolRow>(readPool(r, 0));
}

Result<std::optional<UserPoolRow>> PgUserPoolStore::findUserPoolByDomain(std::string_view domain) {
  if (domain.empty()) return std::optional<UserPoolRow>();  // "" is "no domain", never a match
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kPoolColumns, " FROM idp_pools WHERE domain = $1"), {domain}));
  if (r.rows() == 0) return std::optional<UserPoolRow>();
  return std::optional<UserPoolRow>(readPool(r, 0));
}

Result<std::vector<UserPoolRow>> PgUserPoolStore::listUserPools(std::string_view afterId, int limit) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kPoolColumns, " FROM idp_pools WHERE id > $1 ORDER BY id LIMIT $2"),
                              {afterId, clampLimit(limit)}));
  return readAll<UserPoolRow>(r, readPool);
}

Status PgUserPoolStore::updateUserPool(const UserPoolRow& pool) {
  Result<PgResult> r = exec("UPDATE idp_pools SET name = $2, domain = NULLIF($3, ''), modified_ms = $4, config = $5"
                            " WHERE id = $1",
                            {pool.id, pool.name, pool.domain, pool.modifiedMs, pool.configJson});
  if (r.status().code() == StatusCode::kConflict)
    return Status::conflict("another user pool has the domain " + pool.domain);
  if (!r.isOk()) return r.status();
  if (r->affected() == 0) return Status::notFound("no such user pool");
  return Status::ok();
}

Status PgUserPoolStore::deleteUserPool(std::string_view poolId) {
  const std::string prefix = user_pool_rows::ticketKeyPrefix(poolId);
  const std::string prefixEnd = *user_pool_rows::utf8PrefixEnd(prefix);  // the prefix ends in '/': it has one
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    // The pool row first: inserts under the pool hold it FOR KEY SHARE (pg_user_pools.h).
    TETHER_TRY(PgResult lock, conn->exec("SELECT 1 FROM idp_pools WHERE id = $1 FOR UPDATE", {poolId}));
    if (lock.rows() == 0) return Status::notFound("no such user pool");
    static constexpr const char* kByPool[] = {
        "DELETE FROM idp_group_members WHERE pool_id = $1", "DELETE FROM idp_groups WHERE pool_id = $1",
        "DELETE FROM idp_aliases WHERE pool_id = $1",       "DELETE FROM idp_user_attrs WHERE pool_id = $1",
        "DELETE FROM idp_users WHERE pool_id = $1",         "DELETE FROM idp_clients WHERE pool_id = $1",
        "DELETE FROM idp_revoked_origins WHERE pool_id = $1", "DELETE FROM idp_pools WHERE id = $1",
    };
    for (const char* step : kByPool) TETHER_RETURN_IF_ERROR(conn->exec(step, {poolId}).status());
    for (const char* step : {"DELETE FROM idp_tickets WHERE key >= $1 AND key < $2",
                             "DELETE FROM idp_used_once WHERE key >= $1 AND key < $2"})
      TETHER_RETURN_IF_ERROR(conn->exec(step, {prefix, prefixEnd}).status());
    return Status::ok();
  });
}

Result<int64_t> PgUserPoolStore::countUsers(std::string_view poolId) {
  TETHER_TRY(PgResult r, exec("SELECT COUNT(*) FROM idp_users WHERE pool_id = $1", {poolId}));
  return r.int64(0, 0);
}

// ---- app clients

Status PgUserPoolStore::createUserPoolClient(const UserPoolClientRow& c) {
  // One statement: the pool row FOR KEY SHARE, and the insert only if it was there.
  Result<PgResult> r = exec("WITH p AS (SELECT id FROM idp_pools WHERE id = $2 FOR KEY SHARE)"
                            " INSERT INTO idp_clients (client_id, pool_id, name, created_ms, modified_ms, config)"
                            " SELECT $1::text, p.id, $3::text, $4::bigint, $5::bigint, $6::text FROM p",
                            {c.clientId, c.poolId, c.name, c.createdMs, c.modifiedMs, c.configJson});
  if (r.status().code() == StatusCode::kConflict) return Status::conflict("app client " + c.clientId + " already exists");
  if (!r.isOk()) return r.status();
  if (r->affected() == 0) return Status::notFound("no such user pool");
  return Status::ok();
}

Result<std::optional<UserPoolClientRow>> PgUserPoolStore::getUserPoolClient(std::string_view clientId) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kClientColumns, " FROM idp_clients WHERE client_id = $1"), {clientId}));
  if (r.rows() == 0) return std::optional<UserPoolClientRow>();
  return std::optional<UserPoolClientRow>(readClient(r, 0));
}

Result<std::vector<UserPoolClientRow>> PgUserPoolStore::listUserPoolClients(std::string_view poolId,
                                                                            std::string_view afterId, int limit) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kClientColumns,
                                  " FROM idp_clients WHERE pool_id = $1 AND client_id > $2 ORDER BY client_id LIMIT $3"),
                              {poolId, afterId, clampLimit(limit)}));
  return readAll<UserPoolClientRow>(r, readClient);
}

Status PgUserPoolStore::updateUserPoolClient(const UserPoolClientRow& c) {
  TETHER_TRY(PgResult r, exec("UPDATE idp_clients SET name = $3, modified_ms = $4, config = $5"
                              " WHERE client_id = $1 AND pool_id = $2",
                              {c.clientId, c.poolId, c.name, c.modifiedMs, c.configJson}));
  if (r.affected() == 0) return Status::notFound("no such app client in this user pool");
  return Status::ok();
}

Status PgUserPoolStore::deleteUserPoolClient(std::string_view poolId, std::string_view clientId) {
  TETHER_TRY(PgResult r, exec("DELETE FROM idp_clients WHERE client_id = $1 AND pool_id = $2", {clientId, poolId}));
  if (r.affected() == 0) return Status::notFound("no such app client in this user pool");
  return Status::ok();
}

// ---- groups

Status PgUserPoolStore::createUserGroup(const UserGroupRow& g) {
  Result<PgResult> r = exec(
      "WITH p AS (SELECT id FROM idp_pools WHERE id = $1 FOR KEY SHARE)"
      " INSERT INTO idp_groups (pool_id, name, description, role_arn, precedence, created_ms, modified_ms)"
      " SELECT p.id, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::bigint FROM p",
      {g.poolId, g.name, g.description, g.roleArn, optionalInt(g.precedence), g.createdMs, g.modifiedMs});
  if (r.status().code() == StatusCode::kConflict) return Status::conflict("group " + g.name + " already exists");
  if (!r.isOk()) return r.status();
  if (r->affected() == 0) return Status::notFound("no such user pool");
  return Status::ok();
}

Result<std::optional<UserGroupRow>> PgUserPoolStore::getUserGroup(std::string_view poolId, std::string_view name) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kGroupColumns, " FROM idp_groups g WHERE g.pool_id = $1 AND g.name = $2"),
                              {poolId, name}));
  if (r.rows() == 0) return std::optional<UserGroupRow>();
  return std::optional<UserGroupRow>(readGroup(r, 0));
}

Status PgUserPoolStore::updateUserGroup(const UserGroupRow& g) {
  TETHER_TRY(PgResult r, exec("UPDATE idp_groups SET description = $3, role_arn = $4, precedence = $5::bigint,"
                              " modified_ms = $6 WHERE pool_id = $1 AND name = $2",
                              {g.poolId, g.name, g.description, g.roleArn, optionalInt(g.precedence), g.modifiedMs}));
  if (r.affected() == 0) return Status::notFound("no such group");
  return Status::ok();
}

Status PgUserPoolStore::deleteUserGroup(std::string_view poolId, std::string_view name) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    // The group row first: adding a member holds it FOR KEY SHARE.
    TETHER_TRY(PgResult r, conn->exec("DELETE FROM idp_groups WHERE pool_id = $1 AND name = $2", {poolId, name}));
    if (r.affected() == 0) return Status::notFound("no such group");
    // The foreign key cascades too; explicit, like the SQLite store.
    return conn->exec("DELETE FROM idp_group_members WHERE pool_id = $1 AND group_name = $2", {poolId, name}).status();
  });
}

Result<std::vector<UserGroupRow>> PgUserPoolStore::listUserGroups(std::string_view poolId, std::string_view afterName,
                                                                  int limit) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kGroupColumns,
                                  " FROM idp_groups g WHERE g.pool_id = $1 AND g.name > $2 ORDER BY g.name LIMIT $3"),
                              {poolId, afterName, clampLimit(limit)}));
  return readAll<UserGroupRow>(r, readGroup);
}

Status PgUserPoolStore::addUserToGroup(std::string_view poolId, std::string_view groupName, std::string_view sub) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    // Both rows FOR KEY SHARE: a concurrent deletion of either waits for us (and then cascades
    // the membership), or went first and we answer kNotFound.
    TETHER_TRY(PgResult group, conn->exec("SELECT 1 FROM idp_groups WHERE pool_id = $1 AND name = $2 FOR KEY SHARE",
                                          {poolId, groupName}));
    if (group.rows() == 0) return Status::notFound("no such group");
    TETHER_TRY(PgResult user, conn->exec("SELECT 1 FROM idp_users WHERE pool_id = $1 AND sub = $2 FOR KEY SHARE",
                                         {poolId, sub}));
    if (user.rows() == 0) return Status::notFound("no such user");
    return conn
        ->exec("INSERT INTO idp_group_members (pool_id, group_name, sub) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
               {poolId, groupName, sub})
        .status();
  });
}

Status PgUserPoolStore::removeUserFromGroup(std::string_view poolId, std::string_view groupName,
                                            std::string_view sub) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    TETHER_TRY(PgResult group, conn->exec("SELECT 1 FROM idp_groups WHERE pool_id = $1 AND name = $2 FOR KEY SHARE",
                                          {poolId, groupName}));
    if (group.rows() == 0) return Status::notFound("no such group");
    return conn
        ->exec("DELETE FROM idp_group_members WHERE pool_id = $1 AND group_name = $2 AND sub = $3",
               {poolId, groupName, sub})
        .status();
  });
}

Result<std::vector<UserGroupRow>> PgUserPoolStore::listGroupsForUser(std::string_view poolId, std::string_view sub) {
  TETHER_TRY(PgResult r, exec(sql("SELECT ", kGroupColumns,
                                  " FROM idp_group_members m JOIN idp_groups g"
                                  " ON g.pool_id = m.pool_id AND g.name = m.group_name"
                                  " WHERE m.pool_id = $1 AND m.sub = $2 ORDER BY g.name"),
                              {poolId, sub}));
  return readAll<UserGroupRow>(r, readGroup);
}

// ---- tickets

Status PgUserPoolStore::putTicket(std::string_view key, std::string_view value, int64_t expiresMs) {
  return exec("INSERT INTO idp_tickets (key, value, expires_ms) VALUES ($1, $2, $3)"
              " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_ms = excluded.expires_ms",
              {key, value, expiresMs})
      .status();
}

Result<std::optional<std::string>> PgUserPoolStore::takeTicket(std::string_view key, int64_t nowMs) {
  // One statement: of two takers (any node) the second waits for the first's delete and then
  // finds nothing. An expired ticket goes too.
  TETHER_TRY(PgResult r, exec("DELETE FROM idp_tickets WHERE key = $1 RETURNING value, expires_ms", {key}));
  if (r.rows() == 0 || r.int64(0, 1) <= nowMs) return std::optional<std::string>();
  return std::optional<std::string>(r.text(0, 0));
}

Result<std::optional<std::string>> PgUserPoolStore::peekTicket(std::string_view key, int64_t nowMs) {
  TETHER_TRY(PgResult r, exec("SELECT value FROM idp_tickets WHERE key = $1 AND expires_ms > $2", {key, nowMs}));
  if (r.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r.text(0, 0));
}

Result<bool> PgUserPoolStore::useOnce(std::string_view key, int64_t expiresMs, int64_t nowMs) {
  // Inserts, or takes over an expired record; a concurrent user of the same key waits for the
  // row and then sees it unexpired (no row back).
  TETHER_TRY(PgResult r, exec("INSERT INTO idp_used_once (key, expires_ms) VALUES ($1, $2) ON CONFLICT (key)"
                              " DO UPDATE SET expires_ms = excluded.expires_ms WHERE idp_used_once.expires_ms <= $3"
                              " RETURNING 1",
                              {key, expiresMs, nowMs}));
  return r.rows() > 0;
}

Result<int64_t> PgUserPoolStore::pruneTickets(int64_t nowMs) {
  TETHER_TRY(PgResult r, exec("WITH t AS (DELETE FROM idp_tickets WHERE expires_ms <= $1 RETURNING 1),"
                              " u AS (DELETE FROM idp_used_once WHERE expires_ms <= $1 RETURNING 1),"
                              " o AS (DELETE FROM idp_revoked_origins WHERE expires_ms <= $1 RETURNING 1)"
                              " SELECT (SELECT COUNT(*) FROM t) + (SELECT COUNT(*) FROM u) + (SELECT COUNT(*) FROM o)",
                              {nowMs}));
  return r.int64(0, 0);
}

// ---- revocations

Status PgUserPoolStore::revokeOrigin(std::string_view poolId, std::string_view originJti, int64_t expiresMs) {
  return exec("INSERT INTO idp_revoked_origins (pool_id, origin_jti, expires_ms) VALUES ($1, $2, $3)"
              " ON CONFLICT (pool_id, origin_jti) DO UPDATE"
              " SET expires_ms = GREATEST(idp_revoked_origins.expires_ms, excluded.expires_ms)",
              {poolId, originJti, expiresMs})
      .status();
}

Result<bool> PgUserPoolStore::isOriginRevoked(std::string_view poolId, std::string_view originJti) {
  TETHER_TRY(PgResult r, exec("SELECT 1 FROM idp_revoked_origins WHERE pool_id = $1 AND origin_jti = $2",
                              {poolId, originJti}));
  return r.rows() > 0;
}

Result<std::vector<RevokedOrigin>> PgUserPoolStore::listRevokedOrigins(std::string_view poolId,
                                                                       std::string_view afterJti, int limit) {
  TETHER_TRY(PgResult r, exec("SELECT origin_jti, expires_ms FROM idp_revoked_origins WHERE pool_id = $1"
                              " AND origin_jti > $2 ORDER BY origin_jti LIMIT $3",
                              {poolId, afterJti, clampLimit(limit)}));
  return readAll<RevokedOrigin>(r, [](const PgResult& res, int i) {
    return RevokedOrigin{res.text(i, 0), res.int64(i, 1)};
  });
}

}  // namespace tether::server
