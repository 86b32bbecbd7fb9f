// UserPoolStore: what tetherd keeps for Cognito User Pools (cognito-idp, issue 15; the spec is
// ../shared/spec/cognito-user-pools.md, its Appendix C the model this follows). Both backends
// implement it (SQLite and PostgreSQL) and the storage contract suite runs on both.
//
// Shape. A user is one row: the columns a lookup or ListUsers needs (username key, sub,
// status, enabled, times), its attributes (also kept in an index table so ListUsers can filter
// by one attribute without scanning), the aliases it owns, and an opaque `stateJson` the
// user-pool logic owns (SRP salt + verifier, codes, MFA, lockout counters, revocation time;
// the sensitive parts already encrypted by the caller). Every user write is one atomic
// transaction with an optimistic version check, so a read-modify-write that raced another
// one fails with kStale instead of losing an update, and nothing is ever half-written (a
// user never has a new verifier with old attributes, an alias without its owner, ...).
//
// Pools and app clients keep their configuration as JSON the user-pool logic owns (it is the
// AWS shape, which changes with the API; the store only needs ids, names and times).
//
// Tickets are short-lived single-use values shared by every node: SRP handshakes keyed by
// SECRET_BLOCK, challenge sessions, hosted-UI authorization codes and sessions, and "this
// TOTP step was used" markers. Revoked refresh-token sessions (origin_jti) live until the
// tokens would expire.
//
// Thread-safety: every method may be called from any thread, concurrently, and from several
// nodes on one PostgreSQL database; each call is atomic and durable when it returns.
//
// Storage rules the contract did not spell out (the implementations follow them; the storage
// contract suite, tests/server/storage/user_pool_store_test.cpp, checks them):
//   - Text is stored and compared byte-exactly (ids, names, keys, attribute values); order is
//     byte order. PostgreSQL cannot hold a NUL byte or invalid UTF-8 in text: such a value is
//     kInvalidArgument there (SQLite stores it). The user-pool logic rejects both earlier.
//   - A `limit` below 0 is taken as 0.
//   - A UserRow whose attributes repeat a name, or whose aliases repeat an alias, is
//     kInvalidArgument (nothing is written).
//   - Tickets, use-once records and revocations expire at `expiresMs`: at nowMs >= expiresMs
//     they are gone for takeTicket / peekTicket / useOnce, and pruneTickets(nowMs) deletes them.
//   - A ticket or use-once record belongs to a pool when its key starts with the pool id and
//     '/' ("<poolId>/..."); deleteUserPool removes those with the pool. Keys without that
//     prefix live until they expire.
//   - isOriginRevoked does not look at the expiry: a revocation counts until pruned (the token
//     it revoked has expired by then anyway).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/status.h"

namespace tether::server {

struct UserPoolRow {
  std::string id;            // <region>_<9 alnum>
  std::string name;          // PoolName
  std::string domain;        // CreateUserPoolDomain prefix ("" = none); unique over all pools
  int64_t createdMs = 0;
  int64_t modifiedMs = 0;
  std::string configJson;    // owned by the user-pool logic
  friend bool operator==(const UserPoolRow&, const UserPoolRow&) = default;
};

struct UserPoolClientRow {
  std::string clientId;      // 26 [a-z0-9], unique over all pools
  std::string poolId;
  std::string name;
  int64_t createdMs = 0;
  int64_t modifiedMs = 0;
  std::string configJson;    // owned by the user-pool logic (includes the client secret)
  friend bool operator==(const UserPoolClientRow&, const UserPoolClientRow&) = default;
};

// An alias a user owns: (kind, valueKey) is unique within a pool. kind is "email",
// "phone_number" or "preferred_username"; valueKey is the normalized value (the caller
// lower-cases emails).
struct UserAlias {
  std::string kind;
  std::string valueKey;
  friend bool operator==(const UserAlias&, const UserAlias&) = default;
  friend auto operator<=>(const UserAlias&, const UserAlias&) = default;
};

struct UserRow {
  std::string poolId;
  std::string username;      // the internal Username, as stored (USER_ID_FOR_SRP)
  std::string usernameKey;   // lookup key: username, lower-cased in case-insensitive pools
  std::string sub;           // UUID, unique within the pool, immutable
  std::string status;        // UNCONFIRMED, CONFIRMED, FORCE_CHANGE_PASSWORD, RESET_REQUIRED
  bool enabled = true;
  int64_t createdMs = 0;
  int64_t modifiedMs = 0;
  // Set by the store: 1 on insert, +1 on every update. updateUser() checks it.
  int64_t version = 0;
  // Name -> value, sorted by name, names unique; `sub` is not among them (it is a column).
  std::vector<std::pair<std::string, std::string>> attributes;
  // The aliases this user owns, sorted.
  std::vector<UserAlias> aliases;
  std::string stateJson;     // owned by the user-pool logic
  friend bool operator==(const UserRow&, const UserRow&) = default;
};

enum class UserWriteOutcome {
  kOk,
  kUsernameTaken,  // insertUser: another user has this usernameKey
  kSubTaken,       // insertUser: another user has this sub (a bug or a UUID collision)
  kAliasTaken,     // another user owns one of the aliases (and moving was not allowed)
  kStale,          // updateUser: the stored version is not `expectedVersion`
  kGone,           // updateUser: the user no longer exists
};

// ListUsers: one condition (spec 4.11). kAttributeEquals/Prefix compare `attribute` (a user
// attribute name other than sub) byte-exactly with the stored value.
struct UserFilter {
  enum class Kind {
    kNone,
    kUsernameEquals, kUsernamePrefix,   // against usernameKey (the caller normalizes `value`)
    kSubEquals, kSubPrefix,
    kStatusEquals,                      // `value` is one of the status names (exact)
    kEnabledEquals,                     // `value` "true" / "false"
    kAttributeEquals, kAttributePrefix,
  };
  Kind kind = Kind::kNone;
  std::string attribute;
  std::string value;
};

// Position in ListUsers' stable order (createdMs, sub); empty sub = from the start.
struct UserCursor {
  int64_t createdMs = 0;
  std::string sub;
};

struct UserGroupRow {
  std::string poolId;
  std::string name;
  std::string description;
  std::string roleArn;               // "" = none
  std::optional<int64_t> precedence; // lower wins; nullopt = none
  int64_t createdMs = 0;
  int64_t modifiedMs = 0;
  friend bool operator==(const UserGroupRow&, const UserGroupRow&) = default;
};

// A revoked refresh-token session (RevokeToken), for `tetherd store copy`.
struct RevokedOrigin {
  std::string originJti;
  int64_t expiresMs = 0;
  friend bool operator==(const RevokedOrigin&, const RevokedOrigin&) = default;
};

class UserPoolStore {
 public:
  virtual ~UserPoolStore() = default;

  // ---- pools
  // kConflict if the id exists, or the domain is not "" and another pool has it.
  virtual Status createUserPool(const UserPoolRow& pool) = 0;
  virtual Result<std::optional<UserPoolRow>> getUserPool(std::string_view poolId) = 0;
  // The pool whose domain is `domain`, or nullopt.
  virtual Result<std::optional<UserPoolRow>> findUserPoolByDomain(std::string_view domain) = 0;
  // Ordered by id, ids strictly greater than afterId, at most `limit`.
  virtual Result<std::vector<UserPoolRow>> listUserPools(std::string_view afterId, int limit) = 0;
  // Replaces name, domain, modifiedMs and configJson (createdMs is kept). kNotFound if absent;
  // kConflict if the domain belongs to another pool.
  virtual Status updateUserPool(const UserPoolRow& pool) = 0;
  // Removes the pool with its clients, users, groups, tickets and revocations. kNotFound if absent.
  virtual Status deleteUserPool(std::string_view poolId) = 0;
  // Users in the pool (DescribeUserPool's EstimatedNumberOfUsers).
  virtual Result<int64_t> countUsers(std::string_view poolId) = 0;

  // ---- app clients
  // kConflict if the client id exists; kNotFound if the pool does not exist.
  virtual Status createUserPoolClient(const UserPoolClientRow& client) = 0;
  // By client id alone (client ids are unique over all pools: the hosted UI and the public
  // operations name only a ClientId).
  virtual Result<std::optional<UserPoolClientRow>> getUserPoolClient(std::string_view clientId) = 0;
  // The pool's clients ordered by clientId, ids strictly greater than afterId, at most `limit`.
  virtual Result<std::vector<UserPoolClientRow>> listUserPoolClients(std::string_view poolId,
                                                                     std::string_view afterId, int limit) = 0;
  // Replaces name, modifiedMs and configJson. kNotFound if absent (or in another pool).
  virtual Status updateUserPoolClient(const UserPoolClientRow& client) = 0;
  // kNotFound if absent (or in another pool).
  virtual Status deleteUserPoolClient(std::string_view poolId, std::string_view clientId) = 0;

  // ---- users
  // Inserts `user` (its version becomes 1) with its attributes and aliases, atomically.
  // kOk, kUsernameTaken, kSubTaken or kAliasTaken (then nothing is written). kNotFound
  // (Status) if the pool does not exist.
  virtual Result<UserWriteOutcome> insertUser(const UserRow& user) = 0;
  // Replaces the user keyed by (poolId, sub) if its stored version is `user.version`: status,
  // enabled, modifiedMs, attributes, aliases and stateJson (username, usernameKey, sub and
  // createdMs never change). On kOk the stored version is user.version + 1.
  // An alias owned by another user: kAliasTaken, unless `moveAliases`, which takes it from its
  // owner (whose row keeps its attributes; only the alias moves). Nothing is written unless kOk.
  virtual Result<UserWriteOutcome> updateUser(const UserRow& user, bool moveAliases) = 0;
  virtual Result<std::optional<UserRow>> getUserByUsernameKey(std::string_view poolId,
                                                              std::string_view usernameKey) = 0;
  virtual Result<std::optional<UserRow>> getUserBySub(std::string_view poolId, std::string_view sub) = 0;
  // The user owning the alias, or nullopt.
  virtual Result<std::optional<UserRow>> getUserByAlias(std::string_view poolId, std::string_view kind,
                                                        std::string_view valueKey) = 0;
  // Removes the user with its attributes, aliases and group memberships. kNotFound if absent.
  virtual Status deleteUser(std::string_view poolId, std::string_view sub) = 0;
  // Users matching `filter`, in (createdMs, sub) order strictly after `after`, at most `limit`.
  virtual Result<std::vector<UserRow>> listUsers(std::string_view poolId, const UserFilter& filter,
                                                 const UserCursor& after, int limit) = 0;

  // ---- groups
  // kConflict if (pool, name) exists; kNotFound if the pool does not exist.
  virtual Status createUserGroup(const UserGroupRow& group) = 0;
  virtual Result<std::optional<UserGroupRow>> getUserGroup(std::string_view poolId, std::string_view name) = 0;
  // Replaces description, roleArn, precedence and modifiedMs. kNotFound if absent.
  virtual Status updateUserGroup(const UserGroupRow& group) = 0;
  // Removes the group and its memberships. kNotFound if absent.
  virtual Status deleteUserGroup(std::string_view poolId, std::string_view name) = 0;
  // Ordered by name, names strictly greater than afterName, at most `limit`.
  virtual Result<std::vector<UserGroupRow>> listUserGroups(std::string_view poolId, std::string_view afterName,
                                                           int limit) = 0;
  // Idempotent. kNotFound if the group or the user does not exist.
  virtual Status addUserToGroup(std::string_view poolId, std::string_view groupName, std::string_view sub) = 0;
  // Idempotent (removing a non-member is ok). kNotFound if the group does not exist.
  virtual Status removeUserFromGroup(std::string_view poolId, std::string_view groupName,
                                     std::string_view sub) = 0;
  // The user's groups ordered by name (the caller orders by precedence for tokens).
  virtual Result<std::vector<UserGroupRow>> listGroupsForUser(std::string_view poolId, std::string_view sub) = 0;
  // Members of a group in (createdMs, sub) order strictly after `after`, at most `limit`
  // (none if the group does not exist).
  virtual Result<std::vector<UserRow>> listUsersInGroup(std::string_view poolId, std::string_view groupName,
                                                        const UserCursor& after, int limit) = 0;

  // ---- tickets: single-use values with an expiry, shared by all nodes
  // Stores `value` under `key` (replacing an existing ticket of that key).
  virtual Status putTicket(std::string_view key, std::string_view value, int64_t expiresMs) = 0;
  // Removes the ticket and returns its value, atomically: of two concurrent takers (on any
  // node) exactly one gets it. nullopt if absent or expired at `nowMs`.
  virtual Result<std::optional<std::string>> takeTicket(std::string_view key, int64_t nowMs) = 0;
  // Reads without taking (hosted-UI session cookies). nullopt if absent or expired.
  virtual Result<std::optional<std::string>> peekTicket(std::string_view key, int64_t nowMs) = 0;
  // Records that `key` has been used: true the first time, false if an unexpired record exists
  // (TOTP steps, consumed SECRET_BLOCKs). Atomic across nodes.
  virtual Result<bool> useOnce(std::string_view key, int64_t expiresMs, int64_t nowMs) = 0;
  // Deletes tickets, use-once records and revocations that expired before `nowMs`; returns
  // how many rows went.
  virtual Result<int64_t> pruneTickets(int64_t nowMs) = 0;

  // ---- revoked refresh-token sessions (RevokeToken)
  // Idempotent; kept until `expiresMs` (the refresh token's own expiry).
  virtual Status revokeOrigin(std::string_view poolId, std::string_view originJti, int64_t expiresMs) = 0;
  virtual Result<bool> isOriginRevoked(std::string_view poolId, std::string_view originJti) = 0;
  // The pool's revocations ordered by originJti, strictly greater than afterJti, at most `limit`
  // (expired ones too, until pruned).
  virtual Result<std::vector<RevokedOrigin>> listRevokedOrigins(std::string_view poolId, std::string_view afterJti,
                                                                int limit) = 0;
};

}  // namespace tether::server
