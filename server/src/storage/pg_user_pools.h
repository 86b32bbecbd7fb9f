// PgUserPoolStore: the Cognito User Pools part of the PostgreSQL store (user_pool_store.h).
// PgStore (pg_store.cpp) derives from it; it owns the connection pool both halves use, so the
// user-pool work lives in its own files (pg_user_pools.cpp: pools, clients, groups, tickets,
// revocations; pg_users.cpp: users) and not in pg_store.cpp.
//
// Concurrency across nodes (READ COMMITTED, row locks; no advisory locks):
//   - A write that adds rows under a pool (a client, a group, a user) first takes the pool row
//     FOR KEY SHARE; deleteUserPool takes it FOR UPDATE first. So a pool's deletion waits for
//     the inserts in flight, and an insert after it finds the pool gone (kNotFound).
//   - updateUser is `UPDATE ... WHERE version = expected`: of two writers of one version the
//     second waits for the first's row lock, re-reads the row and matches nothing (kStale).
//   - Uniqueness (username, sub, alias, domain, ids) is the unique indexes' work, with
//     INSERT ... ON CONFLICT: a concurrent inserter of the same key waits and then conflicts.
//   - Aliases are written in sorted order. Two writers that trade aliases can still deadlock;
//     PostgreSQL aborts one, and user writes run again, at most kMaxAttempts times.
//   - takeTicket is DELETE ... RETURNING (one winner); useOnce an upsert whose update only
//     takes over an expired record.
// Reads of a user (the row, its attributes, its aliases) run in one REPEATABLE READ READ ONLY
// transaction: one snapshot, never half of a concurrent update.
// Thread-safety: every method may be called from any thread; each takes its own pooled connection.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/pg_conn.h"
#include "storage/store.h"

namespace tether::server {

class PgUserPoolStore : public Store {
 public:
  // ---- pools
  Status createUserPool(const UserPoolRow& pool) override;
  Result<std::optional<UserPoolRow>> getUserPool(std::string_view poolId) override;
  Result<std::optional<UserPoolRow>> findUserPoolByDomain(std::string_view domain) override;
  Result<std::vector<UserPoolRow>> listUserPools(std::string_view afterId, int limit) override;
  Status updateUserPool(const UserPoolRow& pool) override;
  Status deleteUserPool(std::string_view poolId) override;
  Result<int64_t> countUsers(std::string_view poolId) override;

  // ---- app clients
  Status createUserPoolClient(const UserPoolClientRow& client) override;
  Result<std::optional<UserPoolClientRow>> getUserPoolClient(std::string_view clientId) override;
  Result<std::vector<UserPoolClientRow>> listUserPoolClients(std::string_view poolId, std::string_view afterId,
                                                             int limit) override;
  Status updateUserPoolClient(const UserPoolClientRow& client) override;
  Status deleteUserPoolClient(std::string_view poolId, std::string_view clientId) override;

  // ---- users (pg_users.cpp)
  Result<UserWriteOutcome> insertUser(const UserRow& user) override;
  Result<UserWriteOutcome> updateUser(const UserRow& user, bool moveAliases) override;
  Result<std::optional<UserRow>> getUserByUsernameKey(std::string_view poolId, std::string_view usernameKey) override;
  Result<std::optional<UserRow>> getUserBySub(std::string_view poolId, std::string_view sub) override;
  Result<std::optional<UserRow>> getUserByAlias(std::string_view poolId, std::string_view kind,
                                                std::string_view valueKey) override;
  Status deleteUser(std::string_view poolId, std::string_view sub) override;
  Result<std::vector<UserRow>> listUsers(std::string_view poolId, const UserFilter& filter, const UserCursor& after,
                                         int limit) override;

  // ---- groups
  Status createUserGroup(const UserGroupRow& group) override;
  Result<std::optional<UserGroupRow>> getUserGroup(std::string_view poolId, std::string_view name) override;
  Status updateUserGroup(const UserGroupRow& group) override;
  Status deleteUserGroup(std::string_view poolId, std::string_view name) override;
  Result<std::vector<UserGroupRow>> listUserGroups(std::string_view poolId, std::string_view afterName,
                                                   int limit) override;
  Status addUserToGroup(std::string_view poolId, std::string_view groupName, std::string_view sub) override;
  Status removeUserFromGroup(std::string_view poolId, std::string_view groupName, std::string_view sub) override;
  Result<std::vector<UserGroupRow>> listGroupsForUser(std::string_view poolId, std::string_view sub) override;
  Result<std::vector<UserRow>> listUsersInGroup(std::string_view poolId, std::string_view groupName,
                                                const UserCursor& after, int limit) override;  // pg_users.cpp

  // ---- tickets and revocations
  Status putTicket(std::string_view key, std::string_view value, int64_t expiresMs) override;
  Result<std::optional<std::string>> takeTicket(std::string_view key, int64_t nowMs) override;
  Result<std::optional<std::string>> peekTicket(std::string_view key, int64_t nowMs) override;
  Result<bool> useOnce(std::string_view key, int64_t expiresMs, int64_t nowMs) override;
  Result<int64_t> pruneTickets(int64_t nowMs) override;
  Status revokeOrigin(std::string_view poolId, std::string_view originJti, int64_t expiresMs) override;
  Result<bool> isOriginRevoked(std::string_view poolId, std::string_view originJti) override;
  Result<std::vector<RevokedOrigin>> listRevokedOrigins(std::string_view poolId, std::string_view afterJti,
                                                        int limit) override;

  // ---- Console (issue 17): operators, sessions, audit, usage history (pg_console.cpp)
  Status createOperator(const OperatorRow& op) override;
  Result<std::optional<OperatorRow>> getOperator(std::string_view name) override;
  Result<std::vector<OperatorRow>> listOperators() override;
  Status setOperatorPassword(std::string_view name, std::string_view passwordHash) override;
  Status deleteOperator(std::string_view name) override;
  Status recordOperatorSignIn(std::string_view name, int64_t atMs) override;
  Status createConsoleSession(const ConsoleSessionRow& session) override;
  Result<std::optional<ConsoleSessionRow>> getConsoleSession(std::string_view handleHash) override;
  Status touchConsoleSession(std::string_view handleHash, int64_t lastSeenMs) override;
  Status deleteConsoleSession(std::string_view handleHash) override;
  Result<int64_t> pruneConsoleSessions(int64_t idleBeforeMs, int64_t nowMs) override;
  Result<int64_t> appendAudit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> listAudit(int64_t beforeId, int limit) override;
  Status putUsageSample(const UsageSample& sample) override;
  Result<std::vector<UsageSample>> listUsageSamples(std::string_view poolId, int64_t sinceMs) override;
  Result<int64_t> pruneUsageSamples(int64_t beforeMs) override;
  Result<int64_t> countPoolIdentities(std::string_view poolId) override;
  // ---- end Console (issue 17)

 protected:
  explicit PgUserPoolStore(std::unique_ptr<PgPool> pool) : pool_(std::move(pool)) {}

  // One autocommit statement on a pooled connection.
  Result<PgResult> exec(std::string_view sql, std::initializer_list<PgParam> params);

  std::unique_ptr<PgPool> pool_;  // shared with PgStore and the transactions it begins

 private:
  // pg_users.cpp: the users a query selects (its columns: kUserColumns there), each with its
  // attributes and aliases, in one read transaction.
  Result<std::vector<UserRow>> readUsers(const std::string& sql, const std::vector<PgParam>& params);
};

// The statements of one transaction on `conn`: BEGIN (READ COMMITTED, or REPEATABLE READ READ
// ONLY for `readOnly`), `body` (returning Status), COMMIT if it returned ok, ROLLBACK otherwise.
// Internal to the PostgreSQL store.
template <class Fn>
Status pgTransaction(PgConn& conn, bool readOnly, Fn&& body) {
  TETHER_RETURN_IF_ERROR(conn.execScript(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"));
  Status s = body();
  if (s.isOk()) s = conn.execScript("COMMIT");
  if (!s.isOk() && !conn.broken()) (void)conn.execScript("ROLLBACK");
  return s;
}

// A PostgreSQL text[] literal ({"a","b\"c"}) for one bound parameter: every element quoted, '"'
// and '\' escaped. The array travels as one parameter, so a list costs one statement.
std::string pgTextArray(const std::vector<std::string_view>& items);

}  // namespace tether::server
