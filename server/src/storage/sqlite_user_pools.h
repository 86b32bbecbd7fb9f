// SqliteUserPoolStore: the Cognito User Pools part of the SQLite store (user_pool_store.h).
// SqliteStore (sqlite_store.cpp) derives from it; it owns the connections both halves use, so
// the user-pool work lives in its own files (sqlite_user_pools.cpp: pools, clients, groups,
// tickets, revocations; sqlite_users.cpp: users) and not in sqlite_store.cpp.
//
// Every call runs on the write connection under its mutex (SqliteConnection::lockForAutocommit),
// like the other autocommit calls of the store; a call of several statements runs them in one
// transaction (BEGIN IMMEDIATE for writes, so a second process on the file waits for the lock
// up front; BEGIN for reads, one snapshot). Writes from one process are therefore serialized,
// and the check-then-write steps (a username, sub or alias taken, a user's version) cannot race.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/sqlite_transaction.h"
#include "storage/store.h"

namespace tether::server {

class SqliteUserPoolStore : public Store {
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

  // ---- users (sqlite_users.cpp)
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
                                                const UserCursor& after, int limit) override;  // sqlite_users.cpp

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

  // ---- Console (issue 17): operators, sessions, audit, usage history (sqlite_console.cpp)
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
  SqliteUserPoolStore() = default;

  // The connection lock for one autocommit call. A thread that holds an open transaction would
  // deadlock here; tell it instead. Callers return early on an error (TETHER_TRY), so the rest of
  // their scope runs under the lock: the analysis takes conn_.mu as held there (the returned lock
  // holds it; clang cannot follow a scoped lock returned by value).
  Result<std::unique_lock<std::mutex>> lockConnection() TETHER_ASSERT_CAPABILITY(conn_.mu);

  // Runs `body` (returning Status) in one transaction on the write connection: BEGIN IMMEDIATE
  // (`write`) or BEGIN; commits if it returns ok, rolls back otherwise.
  template <class Fn>
  Status inTransaction(bool write, Fn&& body) TETHER_REQUIRES(conn_.mu) {
    TETHER_RETURN_IF_ERROR(conn_.db->exec(write ? "BEGIN IMMEDIATE" : "BEGIN"));
    Status s = body();
    if (s.isOk()) s = conn_.db->exec("COMMIT");
    if (!s.isOk() && conn_.db->inTransaction()) (void)conn_.db->exec("ROLLBACK");
    return s;
  }

  SqliteConnection conn_;  // shared with SqliteStore and the transactions it begins

 private:
  // sqlite_users.cpp: the user writes' and reads' steps, run inside inTransaction().
  Result<UserWriteOutcome> insertUserLocked(const UserRow& user) TETHER_REQUIRES(conn_.mu);
  Result<UserWriteOutcome> updateUserLocked(const UserRow& user, bool moveAliases) TETHER_REQUIRES(conn_.mu);
  Status writeAttributesAndAliases(const UserRow& user) TETHER_REQUIRES(conn_.mu);
  // Reads the users a statement selects (its columns: kUserColumns in sqlite_users.cpp), each
  // with its attributes and aliases.
  Result<std::vector<UserRow>> readUsers(Statement& st) TETHER_REQUIRES(conn_.mu);
  // The first user `sql` selects, its parameters bound in order as text.
  Result<std::optional<UserRow>> readOneUser(std::string_view sql, std::initializer_list<std::string_view> params);
  // Runs a statement that changes rows; kNotFound (with `what`) if it changed none.
  Status runExpectingChange(Statement& st, const char* what) TETHER_REQUIRES(conn_.mu);
};

}  // namespace tether::server
