// PgUserPoolStore: users, their attributes and aliases, and the user lists (pg_user_pools.h).
// A user write is one READ COMMITTED transaction that commits only on kOk; it is run again when
// PostgreSQL aborts it for a deadlock (at most kMaxAttempts times).
#include "storage/pg_user_pools.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "storage/user_pool_rows.h"

namespace tether::server {
namespace {

constexpr int kMaxAttempts = 3;
// Characters of an attribute value in its index (pg_schema.cpp, migration 3).
constexpr size_t kIndexedValueChars = 200;

constexpr const char* kUserColumns =
    "u.pool_id, u.sub, u.username, u.username_key, u.status, u.enabled, u.created_ms, u.modified_ms,"
    " u.version, u.state";

UserRow readUserColumns(const PgResult& r, int i) {
  UserRow u;
  u.poolId = r.text(i, 0);
  u.sub = r.text(i, 1);
  u.username = r.text(i, 2);
  u.usernameKey = r.text(i, 3);
  u.status = r.text(i, 4);
  u.enabled = r.boolean(i, 5);
  u.createdMs = r.int64(i, 6);
  u.modifiedMs = r.int64(i, 7);
  u.version = r.int64(i, 8);
  u.stateJson = r.text(i, 9);
  return u;
}

// Runs one user write on a pooled connection: `body(conn)` returns the outcome; the transaction
// commits only on kOk (otherwise nothing of it stays). A deadlock abort runs it again.
template <class Fn>
Result<UserWriteOutcome> userWrite(PgPool& pool, Fn&& body) {
  for (int attempt = 1;; ++attempt) {
    TETHER_TRY(PgPool::Lease conn, pool.acquire());
    UserWriteOutcome outcome = UserWriteOutcome::kOk;
    bool decided = false;   // body answered an outcome other than kOk: rolled back on purpose
    bool retryable = false;
    Status s = pgTransaction(*conn, false, [&]() -> Status {
      Result<UserWriteOutcome> r = body(*conn);
      if (!r.isOk()) {
        retryable = conn->lastAbortRetryable();  // before ROLLBACK resets it
        return r.status();
      }
      outcome = *r;
      if (outcome == UserWriteOutcome::kOk) return Status::ok();
      decided = true;
      return Status::conflict("not written");  // rolls back
    });
    if (decided) return outcome;
    if (s.isOk()) return outcome;
    if (!retryable || attempt >= kMaxAttempts) return s;
  }
}

Status insertAttributes(PgConn& conn, const UserRow& user) {
  if (user.attributes.empty()) return Status::ok();
  std::vector<std::string_view> names, values;
  for (const auto& [name, value] : user.attributes) {
    names.push_back(name);
    values.push_back(value);
  }
  return conn
      .exec("INSERT INTO idp_user_attrs (pool_id, sub, name, value)"
            " SELECT $1::text, $2::text, n, v FROM unnest($3::text[], $4::text[]) AS t(n, v)",
            {user.poolId, user.sub, pgTextArray(names), pgTextArray(values)})
      .status();
}

// The aliases as two parallel text[] parameters (kinds, value keys), sorted.
std::pair<std::string, std::string> aliasArrays(const UserRow& user) {
  std::vector<UserAlias> sorted = user_pool_rows::sortedAliases(user);
  std::vector<std::string_view> kinds, keys;
  for (const UserAlias& a : sorted) {
    kinds.push_back(a.kind);
    keys.push_back(a.valueKey);
  }
  return {pgTextArray(kinds), pgTextArray(keys)};
}

Result<UserWriteOutcome> insertSteps(PgConn& conn, const UserRow& user) {
  TETHER_TRY(PgResult pool, conn.exec("SELECT 1 FROM idp_pools WHERE id = $1 FOR KEY SHARE", {user.poolId}));
  if (pool.rows() == 0) return Status::notFound("no such user pool");
  TETHER_TRY(PgResult ins, conn.exec("INSERT INTO idp_users (pool_id, sub, username, username_key, status, enabled,"
                                     " created_ms, modified_ms, version, state)"
                                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) ON CONFLICT DO NOTHING",
                                     {user.poolId, user.sub, user.username, user.usernameKey, user.status,
                                      user.enabled, user.createdMs, user.modifiedMs, user.stateJson}));
  if (ins.affected() == 0) {
    // A unique key was taken (by a committed row: ON CONFLICT waited for any in flight). Which?
    TETHER_TRY(PgResult which, conn.exec("SELECT EXISTS (SELECT 1 FROM idp_users WHERE pool_id = $1"
                                         " AND username_key = $2), EXISTS (SELECT 1 FROM idp_users"
                                         " WHERE pool_id = $1 AND sub = $3)",
                                         {user.poolId, user.usernameKey, user.sub}));
    if (which.boolean(0, 0)) return UserWriteOutcome::kUsernameTaken;
    if (which.boolean(0, 1)) return UserWriteOutcome::kSubTaken;
    return Status::unavailable("the user was deleted while it was being created; try again");
  }
  TETHER_RETURN_IF_ERROR(insertAttributes(conn, user));
  if (!user.aliases.empty()) {
    auto [kinds, keys] = aliasArrays(user);
    TETHER_TRY(PgResult aliases, conn.exec("INSERT INTO idp_aliases (pool_id, kind, value_key, sub)"
                                           " SELECT $1::text, k, v, $2::text FROM unnest($3::text[], $4::text[])"
                                           " AS t(k, v) ON CONFLICT DO NOTHING",
                                           {user.poolId, user.sub, kinds, keys}));
    if (aliases.affected() != static_cast<int64_t>(user.aliases.size())) return UserWriteOutcome::kAliasTaken;
  }
  return UserWriteOutcome::kOk;
}

Result<UserWriteOutcome> updateSteps(PgConn& conn, const UserRow& user, bool moveAliases) {
  // The version check and the row lock in one statement: a concurrent writer of this version
  // waits here, then re-reads the row and matches nothing.
  TETHER_TRY(PgResult upd, conn.exec("UPDATE idp_users SET status = $3, enabled = $4, modified_ms = $5, state = $6,"
                                     " version = version + 1 WHERE pool_id = $1 AND sub = $2 AND version = $7",
                                     {user.poolId, user.sub, user.status, user.enabled, user.modifiedMs,
                                      user.stateJson, user.version}));
  if (upd.affected() == 0) {
    TETHER_TRY(PgResult row, conn.exec("SELECT 1 FROM idp_users WHERE pool_id = $1 AND sub = $2", {user.poolId, user.sub}));
    return row.rows() == 0 ? UserWriteOutcome::kGone : UserWriteOutcome::kStale;
  }
  TETHER_RETURN_IF_ERROR(
      conn.exec("DELETE FROM idp_user_attrs WHERE pool_id = $1 AND sub = $2", {user.poolId, user.sub}).status());
  TETHER_RETURN_IF_ERROR(insertAttributes(conn, user));
  auto [kinds, keys] = aliasArrays(user);
  TETHER_RETURN_IF_ERROR(conn.exec("DELETE FROM idp_aliases WHERE pool_id = $1 AND sub = $2 AND (kind, value_key)"
                                   " NOT IN (SELECT k, v FROM unnest($3::text[], $4::text[]) AS t(k, v))",
                                   {user.poolId, user.sub, kinds, keys})
                             .status());
  if (user.aliases.empty()) return UserWriteOutcome::kOk;
  // Ours already, or free, or (moveAliases) another user's: written. Another user's without
  // moveAliases: left alone and not counted.
  TETHER_TRY(PgResult aliases, conn.exec("INSERT INTO idp_aliases (pool_id, kind, value_key, sub)"
                                         " SELECT $1::text, k, v, $2::text FROM unnest($3::text[], $4::text[]) AS t(k, v)"
                                         " ON CONFLICT (pool_id, kind, value_key) DO UPDATE SET sub = excluded.sub"
                                         " WHERE $5::boolean OR idp_aliases.sub = excluded.sub",
                                         {user.poolId, user.sub, kinds, keys, moveAliases}));
  if (aliases.affected() != static_cast<int64_t>(user.aliases.size())) return UserWriteOutcome::kAliasTaken;
  return UserWriteOutcome::kOk;
}

// Builds a statement's parameter list alongside its text: param(v) appends v and returns "$n".
class Params {
 public:
  std::string operator()(PgParam p) {
    list.push_back(std::move(p));
    std::string ref = "$";  // appended, not "$" + ...: gcc 12 warns falsely (-Wrestrict) on that
    ref += std::to_string(list.size());
    return ref;
  }
  std::vector<PgParam> list;
};

}  // namespace

// ---- reads

Result<std::vector<UserRow>> PgUserPoolStore::readUsers(const std::string& sql, const std::vector<PgParam>& params) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  std::vector<UserRow> users;
  TETHER_RETURN_IF_ERROR(pgTransaction(*conn, true, [&]() -> Status {
    TETHER_TRY(PgResult rows, conn->exec(sql, params));
    for (int i = 0; i < rows.rows(); ++i) users.push_back(readUserColumns(rows, i));
    if (users.empty()) return Status::ok();
    // Every statement here reads one pool (the callers' queries are per pool).
    std::map<std::string, UserRow*> bySub;
    std::vector<std::string_view> subs;
    for (UserRow& u : users) {
      bySub[u.sub] = &u;
      subs.push_back(u.sub);
    }
    const std::string subArray = pgTextArray(subs);
    TETHER_TRY(PgResult attrs, conn->exec("SELECT sub, name, value FROM idp_user_attrs WHERE pool_id = $1"
                                          " AND sub = ANY($2::text[]) ORDER BY sub, name",
                                          {users.front().poolId, subArray}));
    // Every sub these return is in bySub (the queries select by those subs, in one snapshot).
    for (int i = 0; i < attrs.rows(); ++i)
      if (auto it = bySub.find(attrs.text(i, 0)); it != bySub.end())
        it->second->attributes.emplace_back(attrs.text(i, 1), attrs.text(i, 2));
    TETHER_TRY(PgResult aliases, conn->exec("SELECT sub, kind, value_key FROM idp_aliases WHERE pool_id = $1"
                                            " AND sub = ANY($2::text[]) ORDER BY sub, kind, value_key",
                                            {users.front().poolId, subArray}));
    for (int i = 0; i < aliases.rows(); ++i)
      if (auto it = bySub.find(aliases.text(i, 0)); it != bySub.end())
        it->second->aliases.push_back(UserAlias{aliases.text(i, 1), aliases.text(i, 2)});
    return Status::ok();
  }));
  return users;
}

Result<std::optional<UserRow>> PgUserPoolStore::getUserByUsernameKey(std::string_view poolId,
                                                                     std::string_view usernameKey) {
  TETHER_TRY(std::vector<UserRow> users,
             readUsers(std::string("SELECT ") + kUserColumns +
                           " FROM idp_users u WHERE u.pool_id = $1 AND u.username_key = $2",
                       {poolId, usernameKey}));
  if (users.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(std::move(users.front()));
}

Result<std::optional<UserRow>> PgUserPoolStore::getUserBySub(std::string_view poolId, std::string_view sub) {
  TETHER_TRY(std::vector<UserRow> users,
             readUsers(std::string("SELECT ") + kUserColumns + " FROM idp_users u WHERE u.pool_id = $1 AND u.sub = $2",
                       {poolId, sub}));
  if (users.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(std::move(users.front()));
}

Result<std::optional<UserRow>> PgUserPoolStore::getUserByAlias(std::string_view poolId, std::string_view kind,
                                                               std::string_view valueKey) {
  TETHER_TRY(std::vector<UserRow> users,
             readUsers(std::string("SELECT ") + kUserColumns +
                           " FROM idp_aliases a JOIN idp_users u ON u.pool_id = a.pool_id AND u.sub = a.sub"
                           " WHERE a.pool_id = $1 AND a.kind = $2 AND a.value_key = $3",
                       {poolId, kind, valueKey}));
  if (users.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(std::move(users.front()));
}

Result<std::vector<UserRow>> PgUserPoolStore::listUsers(std::string_view poolId, const UserFilter& filter,
                                                        const UserCursor& after, int limit) {
  using Kind = UserFilter::Kind;
  Params param;
  const std::string pool = param(poolId);
  std::string from = " FROM idp_users u WHERE u.pool_id = " + pool;
  std::string cond;
  // A prefix is the range [prefix, utf8PrefixEnd(prefix)) of a "C"-collated column.
  auto range = [&](const std::string& column) {
    cond = " AND " + column + " >= " + param(filter.value);
    if (auto end = user_pool_rows::utf8PrefixEnd(filter.value)) cond += " AND " + column + " < " + param(*end);
  };
  switch (filter.kind) {
    case Kind::kNone: break;
    case Kind::kUsernameEquals: cond = " AND u.username_key = " + param(filter.value); break;
    case Kind::kUsernamePrefix: range("u.username_key"); break;
    case Kind::kSubEquals: cond = " AND u.sub = " + param(filter.value); break;
    case Kind::kSubPrefix: range("u.sub"); break;
    case Kind::kStatusEquals: cond = " AND u.status = " + param(filter.value); break;
    case Kind::kEnabledEquals:
      if (filter.value != "true" && filter.value != "false")
        return Status::invalidArgument("an enabled filter is \"true\" or \"false\"");
      cond = " AND u.enabled = " + param(filter.value == "true");
      break;
    case Kind::kAttributeEquals:
    case Kind::kAttributePrefix: {
      // From the attribute index (pool_id, name, left(value, 200)) to the users it names. The
      // index holds a value's first 200 characters: the range on those finds the candidates,
      // the comparison of the whole value decides.
      from = " FROM idp_user_attrs a JOIN idp_users u ON u.pool_id = a.pool_id AND u.sub = a.sub"
             " WHERE a.pool_id = " + pool + " AND a.name = " + param(filter.attribute);
      const std::string value = param(filter.value);
      const std::string indexed = "left(a.value, " + std::to_string(kIndexedValueChars) + ")";
      const std::string valueHead = "left(" + value + ", " + std::to_string(kIndexedValueChars) + ")";
      if (filter.kind == Kind::kAttributeEquals) {
        cond = " AND " + indexed + " = " + valueHead + " AND a.value = " + value;
      } else {
        cond = " AND " + indexed + " >= " + valueHead;
        if (auto end = user_pool_rows::utf8PrefixEnd(user_pool_rows::utf8Left(filter.value, kIndexedValueChars)))
          cond += " AND " + indexed + " < " + param(*end);
        cond += " AND starts_with(a.value, " + value + ")";
      }
      break;
    }
    default: return Status::invalidArgument("unknown user filter kind");
  }
  std::string sql = std::string("SELECT ") + kUserColumns + from + cond;
  if (!after.sub.empty())
    sql += " AND (u.created_ms, u.sub) > (" + param(after.createdMs) + "::bigint, " + param(after.sub) + "::text)";
  sql += " ORDER BY u.created_ms, u.sub LIMIT " + param(int64_t{std::max(limit, 0)});
  return readUsers(sql, param.list);
}

Result<std::vector<UserRow>> PgUserPoolStore::listUsersInGroup(std::string_view poolId, std::string_view groupName,
                                                               const UserCursor& after, int limit) {
  Params param;
  std::string sql = std::string("SELECT ") + kUserColumns +
                    " FROM idp_group_members m JOIN idp_users u ON u.pool_id = m.pool_id AND u.sub = m.sub"
                    " WHERE m.pool_id = " + param(poolId) + " AND m.group_name = " + param(groupName);
  if (!after.sub.empty())
    sql += " AND (u.created_ms, u.sub) > (" + param(after.createdMs) + "::bigint, " + param(after.sub) + "::text)";
  sql += " ORDER BY u.created_ms, u.sub LIMIT " + param(int64_t{std::max(limit, 0)});
  return readUsers(sql, param.list);
}

// ---- writes

Result<UserWriteOutcome> PgUserPoolStore::insertUser(const UserRow& user) {
  TETHER_RETURN_IF_ERROR(user_pool_rows::checkUser(user));
  return userWrite(*pool_, [&](PgConn& conn) { return insertSteps(conn, user); });
}

Result<UserWriteOutcome> PgUserPoolStore::updateUser(const UserRow& user, bool moveAliases) {
  TETHER_RETURN_IF_ERROR(user_pool_rows::checkUser(user));
  return userWrite(*pool_, [&](PgConn& conn) { return updateSteps(conn, user, moveAliases); });
}

Status PgUserPoolStore::deleteUser(std::string_view poolId, std::string_view sub) {
  TETHER_TRY(PgPool::Lease conn, pool_->acquire());
  return pgTransaction(*conn, false, [&]() -> Status {
    // The user row first (its lock orders us after a writer of this user in flight); the
    // foreign keys cascade too, the explicit deletes match the SQLite store.
    TETHER_TRY(PgResult r, conn->exec("DELETE FROM idp_users WHERE pool_id = $1 AND sub = $2", {poolId, sub}));
    if (r.affected() == 0) return Status::notFound("no such user");
    for (const char* sql : {"DELETE FROM idp_group_members WHERE pool_id = $1 AND sub = $2",
                            "DELETE FROM idp_aliases WHERE pool_id = $1 AND sub = $2",
                            "DELETE FROM idp_user_attrs WHERE pool_id = $1 AND sub = $2"})
      TETHER_RETURN_IF_ERROR(conn->exec(sql, {poolId, sub}).status());
    return Status::ok();
  });
}

}  // namespace tether::server
