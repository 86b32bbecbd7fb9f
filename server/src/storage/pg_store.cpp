// The PostgreSQL Store; see pg_store.h and docs/storage.md. Its transactions (the dataset and
// record work, outbox and feed) are in pg_transaction.cpp.
//
// Locks (all held to commit; docs/storage.md "PostgreSQL: isolation"):
//   L1(identity)  advisory (1, hashtext(identity)). Every write transaction takes it SHARED first
//                 (identityDisabled, which SyncService calls first); a merge (lockIdentities) and
//                 deleteIdentity take it EXCLUSIVE, in ascending identity order. So a merge waits
//                 for the writes in flight and the writes after it see the loser disabled.
//   row lock      the dataset row, FOR UPDATE, by getDataset in a write transaction: a second
//                 writer of the dataset (any node) waits here, then reads the committed row and
//                 records (READ COMMITTED: each later statement takes a new snapshot).
//   L2(identity)  advisory (2, hashtext(identity)), exclusive: the identity's set of datasets.
//                 Taken by getDataset when the row does not exist yet (then it re-reads: a
//                 concurrent creator may have committed it meanwhile) and by countLiveDatasets, so
//                 the 20-dataset limit holds across nodes.
//   L3(identity)  advisory (3, hashtext(identity)), exclusive: the identity's push-sync devices.
// Order: L1 before the row lock before L2; L3 alone. Advisory locks rather than row locks on
// `identities` because the dataset tables do not require an identities row (a lock on a missing
// row locks nothing). A hash collision only serializes two unrelated identities.
#include "storage/pg_store.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "storage/pg_conn.h"
#include "storage/pg_device_ops.h"
#include "storage/pg_schema.h"
#include "storage/pg_transaction.h"
#include "storage/pg_user_pools.h"

namespace tether::server {
namespace {

// Runs `body` in one transaction on `conn` (READ COMMITTED): commits if it returns ok, rolls
// back otherwise.
template <class Fn>
Status inTransaction(PgConn& conn, Fn&& body) {
  TETHER_RETURN_IF_ERROR(conn.execScript("BEGIN"));
  Status s = body();
  if (s.isOk()) s = conn.execScript("COMMIT");
  if (!s.isOk() && !conn.broken()) (void)conn.execScript("ROLLBACK");
  return s;
}

// ---- the store

// The user pools (and the connection pool, pool_) are in the base class, pg_user_pools.h.
class PgStore final : public PgUserPoolStore {
 public:
  explicit PgStore(std::unique_ptr<PgPool> pool) : PgUserPoolStore(std::move(pool)) {}

  // ---- pools
  Status putPool(const PoolInfo& pool) override {
    return exec("INSERT INTO pools (id, name, allow_guests, created_ms) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, allow_guests = excluded.allow_guests,"
                " created_ms = excluded.created_ms",
                {pool.id, pool.name, pool.allowGuests, pool.createdMs})
        .status();
  }

  Result<std::optional<PoolInfo>> getPool(std::string_view poolId) override {
    TETHER_TRY(PgResult r, exec("SELECT id, name, allow_guests, created_ms FROM pools WHERE id = $1", {poolId}));
    if (r.rows() == 0) return std::optional<PoolInfo>();
    return std::optional<PoolInfo>(readPool(r, 0));
  }

  Result<std::vector<PoolInfo>> listPools() override {
    TETHER_TRY(PgResult r, exec("SELECT id, name, allow_guests, created_ms FROM pools ORDER BY created_ms, id", {}));
    std::vector<PoolInfo> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(readPool(r, i));
    return out;
  }

  Result<PoolUsage> poolUsage(std::string_view poolId) override {
    TETHER_TRY(PgResult r, exec("SELECT COUNT(*) FILTER (WHERE live),"
                                " COALESCE(SUM(CASE WHEN live THEN data_storage ELSE 0 END), 0),"
                                " COALESCE(MAX(last_modified_ms), 0) FROM datasets WHERE pool_id = $1",
                                {poolId}));
    PoolUsage u;
    if (r.rows() > 0) {
      u.datasetCount = r.int64(0, 0);
      u.dataStorage = r.int64(0, 1);
      u.lastModifiedMs = r.int64(0, 2);
    }
    return u;
  }

  // ---- identities and logins
  Status createIdentity(const IdentityInfo& identity) override {
    Status s = exec("INSERT INTO identities (id, pool_id, created_ms, disabled) VALUES ($1, $2, $3, $4)",
                    {identity.id, identity.poolId, identity.createdMs, identity.disabled})
                   .status();
    if (s.code() == StatusCode::kConflict) return Status::conflict("identity " + identity.id + " already exists");
    return s;
  }

  Result<std::optional<IdentityInfo>> getIdentity(std::string_view identityId) override {
    TETHER_TRY(PgResult r, exec("SELECT id, pool_id, created_ms, disabled FROM identities WHERE id = $1", {identityId}));
    if (r.rows() == 0) return std::optional<IdentityInfo>();
    return std::optional<IdentityInfo>(IdentityInfo{r.text(0, 0), r.text(0, 1), r.int64(0, 2), r.boolean(0, 3)});
  }

  Result<std::optional<std::string>> findLogin(std::string_view poolId, std::string_view provider,
                                               std::string_view subject) override {
    TETHER_TRY(PgResult r, exec("SELECT identity_id FROM logins WHERE pool_id = $1 AND provider = $2 AND subject = $3",
                                {poolId, provider, subject}));
    if (r.rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.text(0, 0));
  }

  Status linkLogin(const LoginLink& login) override {
    // Insert if absent, then read back (one statement: the row is ours or the winner's).
    TETHER_TRY(PgResult r, exec("WITH ins AS (INSERT INTO logins (pool_id, provider, subject, identity_id)"
                                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING identity_id)"
                                " SELECT identity_id FROM ins UNION ALL"
                                " SELECT identity_id FROM logins WHERE pool_id = $1 AND provider = $2 AND subject = $3",
                                {login.poolId, login.provider, login.subject, login.identityId}));
    if (r.rows() == 0) {
      // Another node inserted it concurrently: ON CONFLICT waited for its commit, which the
      // statement's snapshot predates. A new statement sees it.
      TETHER_TRY(std::optional<std::string> linked, findLogin(login.poolId, login.provider, login.subject));
      if (!linked) return Status::internal("login vanished after insert");
      if (*linked != login.identityId) return Status::conflict("login is already linked to another identity");
      return Status::ok();
    }
    if (r.text(0, 0) != login.identityId) return Status::conflict("login is already linked to another identity");
    return Status::ok();
  }

  Status unlinkLogin(std::string_view identityId, std::string_view provider, std::string_view subject) override {
    TETHER_TRY(PgResult r, exec("DELETE FROM logins WHERE identity_id = $1 AND provider = $2 AND subject = $3",
                                {identityId, provider, subject}));
    if (r.affected() == 0) return Status::notFound("login is not linked to this identity");
    return Status::ok();
  }

  Result<std::vector<LoginLink>> listLogins(std::string_view identityId) override {
    TETHER_TRY(PgResult r, exec("SELECT pool_id, provider, subject, identity_id FROM logins WHERE identity_id = $1"
                                " ORDER BY provider, subject",
                                {identityId}));
    std::vector<LoginLink> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(LoginLink{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3)});
    return out;
  }

  Status moveLogins(std::string_view fromIdentity, std::string_view toIdentity) override {
    return exec("UPDATE logins SET identity_id = $2 WHERE identity_id = $1", {fromIdentity, toIdentity}).status();
  }

  Result<std::vector<IdentityInfo>> listIdentities(std::string_view poolId, std::string_view afterId,
                                                   int limit) override {
    TETHER_TRY(PgResult r, exec("SELECT id, pool_id, created_ms, disabled FROM identities WHERE pool_id = $1 AND id > $2"
                                " ORDER BY id LIMIT $3::bigint",
                                {poolId, afterId, int64_t{limit < 0 ? 0 : limit}}));
    std::vector<IdentityInfo> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(IdentityInfo{r.text(i, 0), r.text(i, 1), r.int64(i, 2), r.boolean(i, 3)});
    return out;
  }

  Status setIdentityDisabled(std::string_view identityId, bool disabled) override {
    TETHER_TRY(PgResult r, exec("UPDATE identities SET disabled = $2 WHERE id = $1", {identityId, disabled}));
    if (r.affected() == 0) return Status::notFound("no such identity");
    return Status::ok();
  }

  Status deleteIdentity(std::string_view identityId) override {
    TETHER_TRY(PgPool::Lease conn, pool_->acquire());
    return inTransaction(*conn, [&]() -> Status {
      // Exclusive: no write of this identity (any node) runs meanwhile.
      TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kIdentityLock, identityId, false));
      TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kDevicesLock, identityId, false));
      static constexpr const char* kSteps[] = {
          "DELETE FROM records WHERE identity_id = $1",
          "DELETE FROM merged_datasets WHERE identity_id = $1",
          "DELETE FROM datasets WHERE identity_id = $1",
          "DELETE FROM logins WHERE identity_id = $1",
          "DELETE FROM dataset_subscriptions WHERE identity_id = $1",
          "DELETE FROM devices WHERE identity_id = $1",
          // Streams rows carry record values: an erasure takes them too (sqlite_store.cpp).
          "DELETE FROM stream_outbox WHERE identity_id = $1",
          "DELETE FROM stream_feed WHERE identity_id = $1",
      };
      for (const char* sql : kSteps) TETHER_RETURN_IF_ERROR(conn->exec(sql, {identityId}).status());
      TETHER_TRY(PgResult r, conn->exec("DELETE FROM identities WHERE id = $1", {identityId}));
      if (r.affected() == 0) return Status::notFound("no such identity");
      return Status::ok();
    });
  }

  // ---- push-sync devices (each call one transaction under the identity's L3 lock)
  Result<std::string> registerDevice(const DeviceInfo& device, int maxDevices) override {
    TETHER_TRY(PgPool::Lease conn, pool_->acquire());
    std::string id;
    TETHER_RETURN_IF_ERROR(inTransaction(*conn, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kDevicesLock, device.identityId, false));
      TETHER_TRY(PgResult found, conn->exec("SELECT device_id FROM devices WHERE identity_id = $1 AND pool_id = $2"
                                            " AND platform = $3 AND push_token = $4",
                                            {device.identityId, device.poolId, device.platform, device.pushToken}));
      if (found.rows() > 0) {
        id = found.text(0, 0);
        return Status::ok();
      }
      TETHER_RETURN_IF_ERROR(conn->exec("INSERT INTO devices (identity_id, pool_id, device_id, platform, push_token,"
                                        " created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                                        {device.identityId, device.poolId, device.deviceId, device.platform,
                                         device.pushToken, device.createdMs})
                                 .status());
      id = device.deviceId;
      // Keep the newest maxDevices; the one just registered always stays.
      static constexpr const char* kEvict[] = {
          "DELETE FROM dataset_subscriptions WHERE identity_id = $1 AND pool_id = $2 AND device_id IN"
          " (SELECT device_id FROM devices WHERE identity_id = $1 AND pool_id = $2"
          "  ORDER BY device_id = $3 DESC, created_ms DESC, device_id DESC OFFSET $4::bigint)",
          "DELETE FROM devices WHERE identity_id = $1 AND pool_id = $2 AND device_id IN"
          " (SELECT device_id FROM devices WHERE identity_id = $1 AND pool_id = $2"
          "  ORDER BY device_id = $3 DESC, created_ms DESC, device_id DESC OFFSET $4::bigint)",
      };
      for (const char* sql : kEvict)
        TETHER_RETURN_IF_ERROR(conn->exec(sql, {device.identityId, device.poolId, device.deviceId,
                                                int64_t{std::max(maxDevices, 1)}})
                                   .status());
      return Status::ok();
    }));
    return id;
  }

  Result<std::optional<DeviceInfo>> getDevice(std::string_view poolId, std::string_view identityId,
                                              std::string_view deviceId) override {
    TETHER_TRY(PgResult r, exec("SELECT platform, push_token, created_ms FROM devices WHERE identity_id = $1"
                                " AND pool_id = $2 AND device_id = $3",
                                {identityId, poolId, deviceId}));
    if (r.rows() == 0) return std::optional<DeviceInfo>();
    return std::optional<DeviceInfo>(DeviceInfo{std::string(poolId), std::string(identityId), std::string(deviceId),
                                                r.text(0, 0), r.text(0, 1), r.int64(0, 2)});
  }

  Result<std::vector<DeviceInfo>> listDevices(std::string_view poolId, std::string_view identityId) override {
    TETHER_TRY(PgResult r, exec("SELECT device_id, platform, push_token, created_ms FROM devices"
                                " WHERE identity_id = $1 AND pool_id = $2 ORDER BY device_id COLLATE \"C\"",
                                {identityId, poolId}));
    std::vector<DeviceInfo> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(DeviceInfo{std::string(poolId), std::string(identityId), r.text(i, 0), r.text(i, 1), r.text(i, 2),
                               r.int64(i, 3)});
    return out;
  }

  Status subscribeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId,
                         std::string_view dataset, int maxSubscriptions) override {
    TETHER_TRY(PgPool::Lease conn, pool_->acquire());
    return inTransaction(*conn, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kDevicesLock, identityId, false));
      TETHER_RETURN_IF_ERROR(requireDevice(*conn, poolId, identityId, deviceId));
      TETHER_TRY(PgResult count, conn->exec("SELECT COUNT(*), COUNT(*) FILTER (WHERE dataset = $4)"
                                            " FROM dataset_subscriptions WHERE identity_id = $1 AND pool_id = $2"
                                            " AND device_id = $3",
                                            {identityId, poolId, deviceId, dataset}));
      if (count.int64(0, 1) > 0) return Status::ok();  // already subscribed
      if (count.int64(0, 0) >= maxSubscriptions)
        return Status::limitExceeded("a device may subscribe to at most " + std::to_string(maxSubscriptions) +
                                     " datasets");
      return conn->exec("INSERT INTO dataset_subscriptions (identity_id, pool_id, device_id, dataset)"
                        " VALUES ($1, $2, $3, $4)",
                        {identityId, poolId, deviceId, dataset})
          .status();
    });
  }

  Status unsubscribeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId,
                           std::string_view dataset) override {
    TETHER_TRY(PgPool::Lease conn, pool_->acquire());
    return inTransaction(*conn, [&]() -> Status {
      TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kDevicesLock, identityId, false));
      TETHER_RETURN_IF_ERROR(requireDevice(*conn, poolId, identityId, deviceId));
      TETHER_TRY(PgResult r, conn->exec("DELETE FROM dataset_subscriptions WHERE identity_id = $1 AND pool_id = $2"
                                        " AND device_id = $3 AND dataset = $4",
                                        {identityId, poolId, deviceId, dataset}));
      if (r.affected() == 0) return Status::notFound("device is not subscribed to this dataset");
      return Status::ok();
    });
  }

  Result<std::vector<std::string>> listDeviceSubscriptions(std::string_view poolId, std::string_view identityId,
                                                           std::string_view deviceId) override {
    TETHER_TRY(PgResult r, exec("SELECT dataset FROM dataset_subscriptions WHERE identity_id = $1 AND pool_id = $2"
                                " AND device_id = $3 ORDER BY dataset",
                                {identityId, poolId, deviceId}));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  }

  Result<std::vector<DeviceInfo>> listSubscribedDevices(std::string_view p, std::string_view i,
                                                        std::string_view d) override {
    return pgListSubscribedDevices(*pool_, p, i, d);  // pg_device_ops.cpp
  }
  Status removeDevice(std::string_view p, std::string_view i, std::string_view d) override {
    return pgRemoveDevice(*pool_, p, i, d);
  }
  Status moveDevices(std::string_view poolId, std::string_view fromIdentity, std::string_view toIdentity) override {
    TETHER_TRY(PgPool::Lease conn, pool_->acquire());
    return inTransaction(*conn, [&]() -> Status {
      // Both identities' device locks, in id order (two opposite moves cannot deadlock).
      std::string_view a = std::min(fromIdentity, toIdentity), b = std::max(fromIdentity, toIdentity);
      TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kDevicesLock, a, false));
      if (b != a) TETHER_RETURN_IF_ERROR(lockAdvisory(*conn, kDevicesLock, b, false));
      return moveDevicesSql(*conn, poolId, fromIdentity, toIdentity);
    });
  }

  // ---- auth configuration
  Status putOidcProvider(const OidcProviderRow& p) override {
    std::string audiences;
    for (const std::string& a : p.audiences) {
      // One per line in the column; a newline inside an audience would split it.
      if (a.find('\n') != std::string::npos) return Status::invalidArgument("audience contains a newline");
      if (!audiences.empty()) audiences += '\n';
      audiences += a;
    }
    return exec("INSERT INTO pool_oidc_providers (pool_id, name, issuer, audiences, jwks_file, jwks, leeway_seconds,"
                " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (pool_id, name) DO UPDATE SET"
                " issuer = excluded.issuer, audiences = excluded.audiences, jwks_file = excluded.jwks_file,"
                " jwks = excluded.jwks, leeway_seconds = excluded.leeway_seconds, created_ms = excluded.created_ms",
                {p.poolId, p.name, p.issuer, audiences, p.jwksFile, p.jwks, p.leewaySeconds, p.createdMs})
        .status();
  }

  Status deleteOidcProvider(std::string_view poolId, std::string_view name) override {
    TETHER_TRY(PgResult r, exec("DELETE FROM pool_oidc_providers WHERE pool_id = $1 AND name = $2", {poolId, name}));
    if (r.affected() == 0) return Status::notFound("no such OIDC provider in this pool");
    return Status::ok();
  }

  Result<std::vector<OidcProviderRow>> listOidcProviders(std::string_view poolId) override {
    TETHER_TRY(PgResult r, exec("SELECT pool_id, name, issuer, audiences, COALESCE(jwks_file, ''), COALESCE(jwks, ''),"
                                " leeway_seconds, created_ms FROM pool_oidc_providers WHERE $1 = '' OR pool_id = $1"
                                " ORDER BY pool_id, name",
                                {poolId}));
    std::vector<OidcProviderRow> out;
    for (int i = 0; i < r.rows(); ++i) {
      OidcProviderRow p;
      p.poolId = r.text(i, 0);
      p.name = r.text(i, 1);
      p.issuer = r.text(i, 2);
      std::string audiences = r.text(i, 3);
      for (size_t start = 0; start <= audiences.size() && !audiences.empty();) {
        size_t end = audiences.find('\n', start);
        if (end == std::string::npos) end = audiences.size();
        p.audiences.push_back(audiences.substr(start, end - start));
        start = end + 1;
      }
      p.jwksFile = r.text(i, 4);
      p.jwks = r.text(i, 5);
      p.leewaySeconds = static_cast<int>(r.int64(i, 6));
      p.createdMs = r.int64(i, 7);
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<std::string> getPoolDeveloperProvider(std::string_view poolId) override {
    TETHER_TRY(PgResult r, exec("SELECT developer_provider FROM pools WHERE id = $1", {poolId}));
    if (r.rows() == 0) return Status::notFound("no such pool");
    return r.text(0, 0);
  }

  Status setPoolDeveloperProvider(std::string_view poolId, std::string_view name) override {
    TETHER_TRY(PgResult r, exec("UPDATE pools SET developer_provider = $2 WHERE id = $1", {poolId, name}));
    if (r.affected() == 0) return Status::notFound("no such pool");
    return Status::ok();
  }

  Status createDeveloperCredential(const DeveloperCredentialRow& c) override {
    Status s = exec("INSERT INTO developer_credentials (access_key_id, secret, description, created_ms)"
                    " VALUES ($1, $2, $3, $4)",
                    {c.accessKeyId, c.secret, c.description, c.createdMs})
                   .status();
    if (s.code() == StatusCode::kConflict) return Status::conflict("developer credential " + c.accessKeyId + " exists");
    return s;
  }

  Result<std::optional<DeveloperCredentialRow>> findDeveloperCredential(std::string_view accessKeyId) override {
    TETHER_TRY(PgResult r, exec("SELECT access_key_id, secret, description, created_ms FROM developer_credentials"
                                " WHERE access_key_id = $1",
                                {accessKeyId}));
    if (r.rows() == 0) return std::optional<DeveloperCredentialRow>();
    return std::optional<DeveloperCredentialRow>(
        DeveloperCredentialRow{r.text(0, 0), r.text(0, 1), r.text(0, 2), r.int64(0, 3)});
  }

  Result<std::vector<DeveloperCredentialRow>> listDeveloperCredentials() override {
    TETHER_TRY(PgResult r, exec("SELECT access_key_id, secret, description, created_ms FROM developer_credentials"
                                " ORDER BY access_key_id",
                                {}));
    std::vector<DeveloperCredentialRow> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(DeveloperCredentialRow{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3)});
    return out;
  }

  Status deleteDeveloperCredential(std::string_view accessKeyId) override {
    TETHER_TRY(PgResult r, exec("DELETE FROM developer_credentials WHERE access_key_id = $1", {accessKeyId}));
    if (r.affected() == 0) return Status::notFound("no such developer credential");
    return Status::ok();
  }

  Result<std::optional<std::string>> getMeta(std::string_view key) override {
    TETHER_TRY(PgResult r, exec("SELECT value FROM meta WHERE key = $1", {key}));
    if (r.rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(r.text(0, 0));
  }

  Status putMeta(std::string_view key, std::string_view value) override {
    return exec("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {key, value})
        .status();
  }

  Result<std::vector<std::pair<std::string, std::string>>> listMeta(std::string_view prefix) override {
    // left() instead of LIKE: a prefix may hold '%' or '_'. Byte order, as SQLite sorts.
    TETHER_TRY(PgResult r, exec("SELECT key, value FROM meta WHERE left(key, length($1)) = $1"
                                " ORDER BY key COLLATE \"C\"",
                                {prefix}));
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.text(i, 1));
    return out;
  }

  Result<std::string> putMetaIfAbsent(std::string_view key, std::string_view value) override {
    // Insert-if-absent and read back in one statement: nodes racing to create a key all get
    // the one row that won.
    TETHER_TRY(PgResult r, exec("WITH ins AS (INSERT INTO meta (key, value) VALUES ($1, $2)"
                                " ON CONFLICT (key) DO NOTHING RETURNING value)"
                                " SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE key = $1",
                                {key, value}));
    if (r.rows() > 0) return r.text(0, 0);
    // Another node's insert won while ours waited; it committed after our snapshot was taken.
    TETHER_TRY(std::optional<std::string> winner, getMeta(key));
    if (!winner) return Status::internal("meta key vanished after insert");
    return std::move(*winner);
  }

  // ---- datasets
  Result<std::unique_ptr<StoreTransaction>> begin() override {
    return beginPgTransaction(*pool_, PgTxnMode::kWrite);
  }
  Result<std::unique_ptr<StoreTransaction>> beginRead() override {
    return beginPgTransaction(*pool_, PgTxnMode::kRead);
  }

 private:
  static PoolInfo readPool(const PgResult& r, int i) {
    return PoolInfo{r.text(i, 0), r.text(i, 1), r.boolean(i, 2), r.int64(i, 3)};
  }

  static Status requireDevice(PgConn& conn, std::string_view poolId, std::string_view identityId,
                              std::string_view deviceId) {
    TETHER_TRY(PgResult r, conn.exec("SELECT 1 FROM devices WHERE identity_id = $1 AND pool_id = $2 AND device_id = $3",
                                     {identityId, poolId, deviceId}));
    if (r.rows() == 0) return Status::notFound("device is not registered for this identity");
    return Status::ok();
  }

};

}  // namespace

Result<std::unique_ptr<Store>> openPgStore(const std::string& conninfo, const PgStoreOptions& options) {
  if (options.poolSize < 1) return Status::invalidArgument("PostgreSQL pool size must be at least 1");
  auto pool = std::make_unique<PgPool>(conninfo, PgPoolOptions{options.poolSize, options.acquireTimeoutMs});
  {
    TETHER_TRY(PgPool::Lease conn, pool->acquire());
    TETHER_RETURN_IF_ERROR(migratePgSchema(*conn));
  }
  return std::unique_ptr<Store>(new PgStore(std::move(pool)));
}

}  // namespace tether::server
