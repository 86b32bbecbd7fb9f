// Store: everything tetherd keeps, behind one interface. The sync logic (sync/) and the identity
// logic (auth/) see only this; SQLite (sqlite_store.h) is the default implementation and
// PostgreSQL comes later behind the same interface.
//
// Thread-safety: every method may be called from any thread, concurrently. Callers serialize
// the work of one identity themselves (a strand per identity), so two write transactions for
// the same identity never overlap; transactions of different identities may.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store_transaction.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether::server {

struct PoolInfo {
  std::string id;            // region:uuid
  std::string name;          // 1..128 chars
  bool allowGuests = false;  // unauthenticated identities allowed
  int64_t createdMs = 0;
  friend bool operator==(const PoolInfo&, const PoolInfo&) = default;
};

struct IdentityInfo {
  std::string id;            // region:uuid, unguessable (a guest's ID is its bearer secret)
  std::string poolId;
  int64_t createdMs = 0;
  bool disabled = false;     // merged away or unlinked; no tokens are issued for it
  friend bool operator==(const IdentityInfo&, const IdentityInfo&) = default;
};

// A login linked to an identity: (pool, provider, subject) -> identity. `subject` is the
// provider's user ID (for the pool's developer provider: the developer user identifier).
struct LoginLink {
  std::string poolId;
  std::string provider;
  std::string subject;
  std::string identityId;
  friend bool operator==(const LoginLink&, const LoginLink&) = default;
};

// Totals over a pool's live datasets (Cognito DescribeIdentityPoolUsage).
struct PoolUsage {
  int64_t datasetCount = 0;
  int64_t dataStorage = 0;
  int64_t lastModifiedMs = 0;  // 0 = no dataset ever written
};

class Store {
 public:
  virtual ~Store() = default;

  // ---- identity pools
  // Insert, or replace the pool with the same id. Durable when it returns.
  virtual Status putPool(const PoolInfo& pool) = 0;
  virtual Result<std::optional<PoolInfo>> getPool(std::string_view poolId) = 0;
  virtual Result<std::vector<PoolInfo>> listPools() = 0;  // ordered by createdMs, then id

  // ---- identities
  // kConflict if the id exists. Durable when it returns.
  virtual Status createIdentity(const IdentityInfo& identity) = 0;
  virtual Result<std::optional<IdentityInfo>> getIdentity(std::string_view identityId) = 0;

  // ---- linked logins and identity administration (Cognito developer operations).
  // Added after the first Store implementations: the defaults answer kInternal "not supported"
  // so that test fakes which never use logins keep compiling; the SQLite store implements all.
  // The identity a login is linked to, or nullopt.
  virtual Result<std::optional<std::string>> findLogin(std::string_view poolId, std::string_view provider,
                                                       std::string_view subject);
  // Links the login. Linking it again to the same identity is a no-op; kConflict if it is linked
  // to another identity. Durable when it returns.
  virtual Status linkLogin(const LoginLink& login);
  // kNotFound if the login is not linked to `identityId`.
  virtual Status unlinkLogin(std::string_view identityId, std::string_view provider, std::string_view subject);
  // The identity's logins, ordered by provider then subject.
  virtual Result<std::vector<LoginLink>> listLogins(std::string_view identityId);
  // Moves every login of `fromIdentity` to `toIdentity` (identity merge).
  virtual Status moveLogins(std::string_view fromIdentity, std::string_view toIdentity);
  // Identities of a pool ordered by id, ids strictly greater than afterId, at most `limit`.
  virtual Result<std::vector<IdentityInfo>> listIdentities(std::string_view poolId, std::string_view afterId,
                                                           int limit);
  // kNotFound if the identity does not exist.
  virtual Status setIdentityDisabled(std::string_view identityId, bool disabled);
  // Removes the identity with its logins, datasets and records. kNotFound if absent.
  virtual Status deleteIdentity(std::string_view identityId);
  virtual Result<PoolUsage> poolUsage(std::string_view poolId);

  // ---- datasets and records (store_transaction.h)
  // A read-write transaction: the sync logic reads, checks and writes inside it atomically.
  // Write transactions are serialized (at most one open at a time per Store); the caller's
  // per-identity strand keeps one identity's batches in order.
  virtual Result<std::unique_ptr<StoreTransaction>> begin() = 0;
  // A transaction for reads only (a consistent snapshot); writing through it is a bug.
  // Implementations may let these run beside a writer.
  virtual Result<std::unique_ptr<StoreTransaction>> beginRead() = 0;

  // ---- meta: small operator/server key-value settings (e.g. a server instance id).
  virtual Result<std::optional<std::string>> getMeta(std::string_view key) = 0;
  // Insert or replace. Durable when it returns.
  virtual Status putMeta(std::string_view key, std::string_view value) = 0;
};

inline Status storeNotSupported() { return Status::internal("operation not supported by this store"); }
inline Result<std::optional<std::string>> Store::findLogin(std::string_view, std::string_view, std::string_view) {
  return storeNotSupported();
}
inline Status Store::linkLogin(const LoginLink&) { return storeNotSupported(); }
inline Status Store::unlinkLogin(std::string_view, std::string_view, std::string_view) { return storeNotSupported(); }
inline Result<std::vector<LoginLink>> Store::listLogins(std::string_view) { return storeNotSupported(); }
inline Status Store::moveLogins(std::string_view, std::string_view) { return storeNotSupported(); }
inline Result<std::vector<IdentityInfo>> Store::listIdentities(std::string_view, std::string_view, int) {
  return storeNotSupported();
}
inline Status Store::setIdentityDisabled(std::string_view, bool) { return storeNotSupported(); }
inline Status Store::deleteIdentity(std::string_view) { return storeNotSupported(); }
inline Result<PoolUsage> Store::poolUsage(std::string_view) { return storeNotSupported(); }

}  // namespace tether::server
