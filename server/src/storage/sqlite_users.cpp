// SqliteUserPoolStore: users, their attributes and aliases, and the user lists (sqlite_user_pools.h).
// A write checks everything first (the pool, the username, the sub, the version, every alias)
// and writes only when the outcome is kOk, inside one IMMEDIATE transaction: SQLite runs one
// writer at a time, so nothing can change between the checks and the writes.
#include "storage/sqlite_user_pools.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "storage/user_pool_rows.h"

namespace tether::server {
namespace {

constexpr const char* kUserColumns =
    "u.pool_id, u.sub, u.username, u.username_key, u.status, u.enabled, u.created_ms, u.modified_ms,"
    " u.version, u.state";

UserRow readUserColumns(const Statement& st) {
  UserRow u;
  u.poolId = st.columnText(0);
  u.sub = st.columnText(1);
  u.username = st.columnText(2);
  u.usernameKey = st.columnText(3);
  u.status = st.columnText(4);
  u.enabled = st.columnInt64(5) != 0;
  u.createdMs = st.columnInt64(6);
  u.modifiedMs = st.columnInt64(7);
  u.version = st.columnInt64(8);
  u.stateJson = st.columnText(9);
  return u;
}

// Parameters of the listUsers statement (numbered so that every variant binds all of them).
enum ListParam { kPool = 1, kValue, kValueEnd, kAttribute, kAfterMs, kAfterSub, kLimit };

// The FROM and WHERE of listUsers for `filter` (SQL text from constants only; the values are
// bound). Prefixes are byte ranges: [prefix, bytePrefixEnd(prefix)).
Result<std::string> listUsersSql(const UserFilter& filter, bool hasEnd, bool hasCursor) {
  std::string from = " FROM idp_users u WHERE u.pool_id = ?1";
  std::string cond;
  const char* end = hasEnd ? " < ?3" : nullptr;
  switch (filter.kind) {
    case UserFilter::Kind::kNone: break;
    case UserFilter::Kind::kUsernameEquals: cond = " AND u.username_key = ?2"; break;
    case UserFilter::Kind::kUsernamePrefix:
      cond = " AND u.username_key >= ?2";
      if (end) cond += std::string(" AND u.username_key") + end;
      break;
    case UserFilter::Kind::kSubEquals: cond = " AND u.sub = ?2"; break;
    case UserFilter::Kind::kSubPrefix:
      cond = " AND u.sub >= ?2";
      if (end) cond += std::string(" AND u.sub") + end;
      break;
    case UserFilter::Kind::kStatusEquals: cond = " AND u.status = ?2"; break;
    case UserFilter::Kind::kEnabledEquals: cond = " AND u.enabled = ?2"; break;
    case UserFilter::Kind::kAttributeEquals:
    case UserFilter::Kind::kAttributePrefix:
      // From the attribute index (pool_id, name, value) to the users it names.
      from = " FROM idp_user_attrs a JOIN idp_users u ON u.pool_id = a.pool_id AND u.sub = a.sub"
             " WHERE a.pool_id = ?1 AND a.name = ?4";
      if (filter.kind == UserFilter::Kind::kAttributeEquals) {
        cond = " AND a.value = ?2";
      } else {
        cond = " AND a.value >= ?2";
        if (end) cond += std::string(" AND a.value") + end;
      }
      break;
    default: return Status::invalidArgument("unknown user filter kind");
  }
  std::string sql = std::string("SELECT ") + kUserColumns + from + cond;
  if (hasCursor) sql += " AND (u.created_ms, u.sub) > (?5, ?6)";
  sql += " ORDER BY u.created_ms, u.sub LIMIT ?7";
  return sql;
}

}  // namespace

// ---- reads

Result<std::vector<UserRow>> SqliteUserPoolStore::readUsers(Statement& st) {
  std::vector<UserRow> users;
  for (;;) {
    TETHER_TRY(bool row, st.step());
    if (!row) break;
    users.push_back(readUserColumns(st));
  }
  for (UserRow& u : users) {
    TETHER_TRY(Statement attrs, conn_.db->prepare(
        "SELECT name, value FROM idp_user_attrs WHERE pool_id = ?1 AND sub = ?2 ORDER BY name"));
    attrs.bind(1, u.poolId).bind(2, u.sub);
    for (;;) {
      TETHER_TRY(bool row, attrs.step());
      if (!row) break;
      u.attributes.emplace_back(attrs.columnText(0), attrs.columnText(1));
    }
    TETHER_TRY(Statement aliases, conn_.db->prepare(
        "SELECT kind, value_key FROM idp_aliases WHERE pool_id = ?1 AND sub = ?2 ORDER BY kind, value_key"));
    aliases.bind(1, u.poolId).bind(2, u.sub);
    for (;;) {
      TETHER_TRY(bool row, aliases.step());
      if (!row) break;
      u.aliases.push_back(UserAlias{aliases.columnText(0), aliases.columnText(1)});
    }
  }
  return users;
}

Result<std::optional<UserRow>> SqliteUserPoolStore::readOneUser(std::string_view sql,
                                                                std::initializer_list<std::string_view> params) {
  TETHER_TRY(auto lock, lockConnection());
  std::vector<UserRow> users;
  // One read transaction: the row, its attributes and its aliases from one snapshot.
  TETHER_RETURN_IF_ERROR(inTransaction(false, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    TETHER_TRY(Statement st, conn_.db->prepare(sql));
    int i = 0;
    for (std::string_view p : params) st.bind(++i, p);
    TETHER_TRY(users, readUsers(st));
    return Status::ok();
  }));
  if (users.empty()) return std::optional<UserRow>();
  return std::optional<UserRow>(std::move(users.front()));
}

Result<std::optional<UserRow>> SqliteUserPoolStore::getUserByUsernameKey(std::string_view poolId,
                                                                         std::string_view usernameKey) {
  return readOneUser(std::string("SELECT ") + kUserColumns +
                         " FROM idp_users u WHERE u.pool_id = ?1 AND u.username_key = ?2",
                     {poolId, usernameKey});
}

Result<std::optional<UserRow>> SqliteUserPoolStore::getUserBySub(std::string_view poolId, std::string_view sub) {
  return readOneUser(std::string("SELECT ") + kUserColumns + " FROM idp_users u WHERE u.pool_id = ?1 AND u.sub = ?2",
                     {poolId, sub});
}

Result<std::optional<UserRow>> SqliteUserPoolStore::getUserByAlias(std::string_view poolId, std::string_view kind,
                                                                   std::string_view valueKey) {
  return readOneUser(std::string("SELECT ") + kUserColumns +
                         " FROM idp_aliases a JOIN idp_users u ON u.pool_id = a.pool_id AND u.sub = a.sub"
                         " WHERE a.pool_id = ?1 AND a.kind = ?2 AND a.value_key = ?3",
                     {poolId, kind, valueKey});
}

Result<std::vector<UserRow>> SqliteUserPoolStore::listUsers(std::string_view poolId, const UserFilter& filter,
                                                            const UserCursor& after, int limit) {
  const bool prefix = filter.kind == UserFilter::Kind::kUsernamePrefix ||
                      filter.kind == UserFilter::Kind::kSubPrefix || filter.kind == UserFilter::Kind::kAttributePrefix;
  std::optional<std::string> end = prefix ? user_pool_rows::bytePrefixEnd(filter.value) : std::nullopt;
  if (filter.kind == UserFilter::Kind::kEnabledEquals && filter.value != "true" && filter.value != "false")
    return Status::invalidArgument("an enabled filter is \"true\" or \"false\"");
  TETHER_TRY(std::string sql, listUsersSql(filter, end.has_value(), !after.sub.empty()));
  TETHER_TRY(auto lock, lockConnection());
  std::vector<UserRow> users;
  TETHER_RETURN_IF_ERROR(inTransaction(false, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    TETHER_TRY(Statement st, conn_.db->prepare(sql));
    st.bind(kPool, poolId).bind(kAttribute, filter.attribute).bind(kValueEnd, end.value_or(""))
        .bind(kAfterMs, after.createdMs).bind(kAfterSub, after.sub).bind(kLimit, int64_t{std::max(limit, 0)});
    if (filter.kind == UserFilter::Kind::kEnabledEquals) st.bind(kValue, int64_t{filter.value == "true" ? 1 : 0});
    else st.bind(kValue, filter.value);
    TETHER_TRY(users, readUsers(st));
    return Status::ok();
  }));
  return users;
}

Result<std::vector<UserRow>> SqliteUserPoolStore::listUsersInGroup(std::string_view poolId,
                                                                   std::string_view groupName,
                                                                   const UserCursor& after, int limit) {
  std::string sql = std::string("SELECT ") + kUserColumns +
                    " FROM idp_group_members m JOIN idp_users u ON u.pool_id = m.pool_id AND u.sub = m.sub"
                    " WHERE m.pool_id = ?1 AND m.group_name = ?2";
  if (!after.sub.empty()) sql += " AND (u.created_ms, u.sub) > (?3, ?4)";
  sql += " ORDER BY u.created_ms, u.sub LIMIT ?5";
  TETHER_TRY(auto lock, lockConnection());
  std::vector<UserRow> users;
  TETHER_RETURN_IF_ERROR(inTransaction(false, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    TETHER_TRY(Statement st, conn_.db->prepare(sql));
    st.bind(1, poolId).bind(2, groupName).bind(3, after.createdMs).bind(4, after.sub)
        .bind(5, int64_t{std::max(limit, 0)});
    TETHER_TRY(users, readUsers(st));
    return Status::ok();
  }));
  return users;
}

// ---- writes

Result<UserWriteOutcome> SqliteUserPoolStore::insertUser(const UserRow& user) {
  TETHER_RETURN_IF_ERROR(user_pool_rows::checkUser(user));
  TETHER_TRY(auto lock, lockConnection());
  UserWriteOutcome outcome = UserWriteOutcome::kOk;
  TETHER_RETURN_IF_ERROR(inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    TETHER_TRY(outcome, insertUserLocked(user));
    return Status::ok();  // not kOk: nothing was written, and the empty transaction commits
  }));
  return outcome;
}

Result<UserWriteOutcome> SqliteUserPoolStore::insertUserLocked(const UserRow& user) {
  {
    TETHER_TRY(Statement pool, conn_.db->prepare("SELECT 1 FROM idp_pools WHERE id = ?1"));
    pool.bind(1, user.poolId);
    TETHER_TRY(bool found, pool.step());
    if (!found) return Status::notFound("no such user pool");
  }
  {
    TETHER_TRY(Statement st, conn_.db->prepare("SELECT 1 FROM idp_users WHERE pool_id = ?1 AND username_key = ?2"));
    st.bind(1, user.poolId).bind(2, user.usernameKey);
    TETHER_TRY(bool taken, st.step());
    if (taken) return UserWriteOutcome::kUsernameTaken;
  }
  {
    TETHER_TRY(Statement st, conn_.db->prepare("SELECT 1 FROM idp_users WHERE pool_id = ?1 AND sub = ?2"));
    st.bind(1, user.poolId).bind(2, user.sub);
    TETHER_TRY(bool taken, st.step());
    if (taken) return UserWriteOutcome::kSubTaken;
  }
  for (const UserAlias& alias : user.aliases) {
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT 1 FROM idp_aliases WHERE pool_id = ?1 AND kind = ?2 AND value_key = ?3"));
    st.bind(1, user.poolId).bind(2, alias.kind).bind(3, alias.valueKey);
    TETHER_TRY(bool taken, st.step());
    if (taken) return UserWriteOutcome::kAliasTaken;
  }
  {
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO idp_users (pool_id, sub, username, username_key, status, enabled, created_ms, modified_ms,"
        " version, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9)"));
    st.bind(1, user.poolId).bind(2, user.sub).bind(3, user.username).bind(4, user.usernameKey).bind(5, user.status)
        .bind(6, int64_t{user.enabled ? 1 : 0}).bind(7, user.createdMs).bind(8, user.modifiedMs)
        .bind(9, user.stateJson);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  TETHER_RETURN_IF_ERROR(writeAttributesAndAliases(user));
  return UserWriteOutcome::kOk;
}

Result<UserWriteOutcome> SqliteUserPoolStore::updateUser(const UserRow& user, bool moveAliases) {
  TETHER_RETURN_IF_ERROR(user_pool_rows::checkUser(user));
  TETHER_TRY(auto lock, lockConnection());
  UserWriteOutcome outcome = UserWriteOutcome::kOk;
  TETHER_RETURN_IF_ERROR(inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    TETHER_TRY(outcome, updateUserLocked(user, moveAliases));
    return Status::ok();  // not kOk: nothing was written, and the empty transaction commits
  }));
  return outcome;
}

Result<UserWriteOutcome> SqliteUserPoolStore::updateUserLocked(const UserRow& user, bool moveAliases) {
  {
    TETHER_TRY(Statement st, conn_.db->prepare("SELECT version FROM idp_users WHERE pool_id = ?1 AND sub = ?2"));
    st.bind(1, user.poolId).bind(2, user.sub);
    TETHER_TRY(bool found, st.step());
    if (!found) return UserWriteOutcome::kGone;
    if (st.columnInt64(0) != user.version) return UserWriteOutcome::kStale;
  }
  if (!moveAliases) {
    for (const UserAlias& alias : user.aliases) {
      TETHER_TRY(Statement st, conn_.db->prepare(
          "SELECT 1 FROM idp_aliases WHERE pool_id = ?1 AND kind = ?2 AND value_key = ?3 AND sub <> ?4"));
      st.bind(1, user.poolId).bind(2, alias.kind).bind(3, alias.valueKey).bind(4, user.sub);
      TETHER_TRY(bool taken, st.step());
      if (taken) return UserWriteOutcome::kAliasTaken;
    }
  }
  {
    TETHER_TRY(Statement st, conn_.db->prepare(
        "UPDATE idp_users SET status = ?3, enabled = ?4, modified_ms = ?5, state = ?6, version = version + 1"
        " WHERE pool_id = ?1 AND sub = ?2"));
    st.bind(1, user.poolId).bind(2, user.sub).bind(3, user.status).bind(4, int64_t{user.enabled ? 1 : 0})
        .bind(5, user.modifiedMs).bind(6, user.stateJson);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  TETHER_RETURN_IF_ERROR(writeAttributesAndAliases(user));
  return UserWriteOutcome::kOk;
}

// Replaces the user's attributes and aliases with the row's; an alias another user owns moves
// (the callers checked that it may).
Status SqliteUserPoolStore::writeAttributesAndAliases(const UserRow& user) {
  for (const char* sql : {"DELETE FROM idp_user_attrs WHERE pool_id = ?1 AND sub = ?2",
                          "DELETE FROM idp_aliases WHERE pool_id = ?1 AND sub = ?2"}) {
    TETHER_TRY(Statement st, conn_.db->prepare(sql));
    st.bind(1, user.poolId).bind(2, user.sub);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  for (const auto& [name, value] : user.attributes) {
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO idp_user_attrs (pool_id, sub, name, value) VALUES (?1, ?2, ?3, ?4)"));
    st.bind(1, user.poolId).bind(2, user.sub).bind(3, name).bind(4, value);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  for (const UserAlias& alias : user.aliases) {
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO idp_aliases (pool_id, kind, value_key, sub) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (pool_id, kind, value_key) DO UPDATE SET sub = excluded.sub"));
    st.bind(1, user.poolId).bind(2, alias.kind).bind(3, alias.valueKey).bind(4, user.sub);
    TETHER_RETURN_IF_ERROR(st.run());
  }
  return Status::ok();
}

Status SqliteUserPoolStore::deleteUser(std::string_view poolId, std::string_view sub) {
  TETHER_TRY(auto lock, lockConnection());
  return inTransaction(true, [&]() -> Status {
    conn_.mu.assertHeld();  // inTransaction runs it under `lock`
    for (const char* sql : {"DELETE FROM idp_group_members WHERE pool_id = ?1 AND sub = ?2",
                            "DELETE FROM idp_aliases WHERE pool_id = ?1 AND sub = ?2",
                            "DELETE FROM idp_user_attrs WHERE pool_id = ?1 AND sub = ?2"}) {
      TETHER_TRY(Statement st, conn_.db->prepare(sql));
      st.bind(1, poolId).bind(2, sub);
      TETHER_RETURN_IF_ERROR(st.run());
    }
    TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM idp_users WHERE pool_id = ?1 AND sub = ?2"));
    st.bind(1, poolId).bind(2, sub);
    return runExpectingChange(st, "no such user");  // then everything above rolls back
  });
}

}  // namespace tether::server
