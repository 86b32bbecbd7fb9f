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

}  // namespace tether::server
