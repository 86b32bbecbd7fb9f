#include "storage/sqlite_store.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "storage/sqlite_checkpointer.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_transaction.h"
#include "storage/sqlite_user_pools.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {
namespace {

// The Store over one SQLite write connection plus pooled read connections. Every autocommit call
// and write transaction takes the write connection's mutex (a transaction holds it from begin to
// commit); write transactions share fsyncs by group commit and read transactions run on their own
// connections (sqlite_transaction.h), so the store is safe to call from any thread. The user
// pools (and the connections, conn_) are in the base class, sqlite_user_pools.h.
class SqliteStore final : public SqliteUserPoolStore {
 public:
  SqliteStore(std::unique_ptr<SqliteDb> db, std::unique_ptr<SqliteCheckpointer> checkpointer,
              std::filesystem::path file, int busyTimeoutMs) {
    conn_.db = std::move(db);
    conn_.checkpointer = std::move(checkpointer);
    conn_.file = std::move(file);
    conn_.busyTimeoutMs = busyTimeoutMs;
  }

  Status putPool(const PoolInfo& pool) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO pools (id, name, allow_guests, created_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " allow_guests = excluded.allow_guests, created_ms = excluded.created_ms"));
    st.bind(1, pool.id).bind(2, pool.name).bind(3, int64_t{pool.allowGuests ? 1 : 0})
        .bind(4, pool.createdMs);
    return st.run();
  }

  Result<std::optional<PoolInfo>> getPool(std::string_view poolId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, name, allow_guests, created_ms FROM pools WHERE id = ?1"));
    st.bind(1, poolId);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<PoolInfo>();
    return std::optional<PoolInfo>(readPool(st));
  }

  Result<std::vector<PoolInfo>> listPools() override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, name, allow_guests, created_ms FROM pools ORDER BY created_ms, id"));
    std::vector<PoolInfo> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(readPool(st));
    }
    return out;
  }

  Status createIdentity(const IdentityInfo& identity) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO identities (id, pool_id, created_ms, disabled) VALUES (?1, ?2, ?3, ?4)"));
    st.bind(1, identity.id).bind(2, identity.poolId).bind(3, identity.createdMs)
        .bind(4, int64_t{identity.disabled ? 1 : 0});
    Status s = st.run();
    if (s.code() == StatusCode::kConflict)
      return Status::conflict("identity " + identity.id + " already exists");
    return s;
  }

  Result<std::optional<IdentityInfo>> getIdentity(std::string_view identityId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, pool_id, created_ms, disabled FROM identities WHERE id = ?1"));
    st.bind(1, identityId);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<IdentityInfo>();
    IdentityInfo info;
    info.id = st.columnText(0);
    info.poolId = st.columnText(1);
    info.createdMs = st.columnInt64(2);
    info.disabled = st.columnInt64(3) != 0;
    return std::optional<IdentityInfo>(std::move(info));
  }

  Result<std::optional<std::string>> findLogin(std::string_view poolId, std::string_view provider,
                                               std::string_view subject) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT identity_id FROM logins WHERE pool_id = ?1 AND provider = ?2 AND subject = ?3"));
    st.bind(1, poolId).bind(2, provider).bind(3, subject);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st.columnText(0));
  }

  Status linkLogin(const LoginLink& login) override {
    TETHER_TRY(auto lock, lockConnection());
    // INSERT OR IGNORE, then read back: the row tells whether it is ours or another identity's.
    TETHER_TRY(Statement ins, conn_.db->prepare(
        "INSERT OR IGNORE INTO logins (pool_id, provider, subject, identity_id) VALUES (?1, ?2, ?3, ?4)"));
    ins.bind(1, login.poolId).bind(2, login.provider).bind(3, login.subject).bind(4, login.identityId);
    TETHER_RETURN_IF_ERROR(ins.run());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT identity_id FROM logins WHERE pool_id = ?1 AND provider = ?2 AND subject = ?3"));
    st.bind(1, login.poolId).bind(2, login.provider).bind(3, login.subject);
    TETHER_TRY(bool row, st.step());
    if (!row) return Status::internal("login vanished after insert");
    if (st.columnText(0) != login.identityId)
      return Status::conflict("login is already linked to another identity");
    return Status::ok();
  }

  Status unlinkLogin(std::string_view identityId, std::string_view provider, std::string_view subject) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "DELETE FROM logins WHERE identity_id = ?1 AND provider = ?2 AND subject = ?3"));
    st.bind(1, identityId).bind(2, provider).bind(3, subject);
    TETHER_RETURN_IF_ERROR(st.run());
    if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound("login is not linked to this identity");
    return Status::ok();
  }

  Result<std::vector<LoginLink>> listLogins(std::string_view identityId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT pool_id, provider, subject, identity_id FROM logins WHERE identity_id = ?1"
        " ORDER BY provider, subject"));
    st.bind(1, identityId);
    std::vector<LoginLink> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(LoginLink{st.columnText(0), st.columnText(1), st.columnText(2), st.columnText(3)});
    }
    return out;
  }

  Status moveLogins(std::string_view fromIdentity, std::string_view toIdentity) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("UPDATE logins SET identity_id = ?2 WHERE identity_id = ?1"));
    st.bind(1, fromIdentity).bind(2, toIdentity);
    return st.run();
  }

  Result<std::vector<IdentityInfo>> listIdentities(std::string_view poolId, std::string_view afterId,
                                                   int limit) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT id, pool_id, created_ms, disabled FROM identities WHERE pool_id = ?1 AND id > ?2"
        " ORDER BY id LIMIT ?3"));
    st.bind(1, poolId).bind(2, afterId).bind(3, int64_t{limit});
    std::vector<IdentityInfo> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(IdentityInfo{st.columnText(0), st.columnText(1), st.columnInt64(2), st.columnInt64(3) != 0});
    }
    return out;
  }

  Status setIdentityDisabled(std::string_view identityId, bool disabled) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("UPDATE identities SET disabled = ?2 WHERE id = ?1"));
    st.bind(1, identityId).bind(2, int64_t{disabled ? 1 : 0});
    TETHER_RETURN_IF_ERROR(st.run());
    if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound("no such identity");
    return Status::ok();
  }

  Status deleteIdentity(std::string_view identityId) override {
    TETHER_TRY(auto lock, lockConnection());
    // An erasure: the freed pages are overwritten with zeros, so the values do not linger in
    // the file's free space (the WAL's old frames go at the next checkpoint).
    TETHER_RETURN_IF_ERROR(conn_.db->exec("PRAGMA secure_delete = ON"));
    struct SecureOff {
      SqliteDb& db;
      ~SecureOff() { (void)db.exec("PRAGMA secure_delete = OFF"); }
    } secureOff{*conn_.db};
    TETHER_RETURN_IF_ERROR(conn_.db->exec("BEGIN IMMEDIATE"));
    auto rollback = [this](Status s) {
      conn_.mu.assertHeld();  // called below, under `lock`
      if (conn_.db->inTransaction()) (void)conn_.db->exec("ROLLBACK");
      return s;
    };
    const char* kSteps[] = {
        "DELETE FROM records WHERE identity_id = ?1",
        "DELETE FROM merged_datasets WHERE identity_id = ?1",
        "DELETE FROM datasets WHERE identity_id = ?1",
        "DELETE FROM logins WHERE identity_id = ?1",
        "DELETE FROM dataset_subscriptions WHERE identity_id = ?1",  // push-sync devices
        "DELETE FROM devices WHERE identity_id = ?1",
        // Cognito Streams rows carry the identity's record values: an erasure takes them too
        // (undelivered ones never reach the sink; the feed keeps a gap in its positions).
        "DELETE FROM stream_outbox WHERE identity_id = ?1",
        "DELETE FROM stream_feed WHERE identity_id = ?1",
        "DELETE FROM identities WHERE id = ?1",
    };
    for (const char* sql : kSteps) {
      Result<Statement> st = conn_.db->prepare(sql);
      if (!st.isOk()) return rollback(st.status());
      st->bind(1, identityId);
      if (Status s = st->run(); !s.isOk()) return rollback(s);
    }
    if (sqlite3_changes(conn_.db->raw()) == 0) return rollback(Status::notFound("no such identity"));
    if (Status s = conn_.db->exec("COMMIT"); !s.isOk()) return rollback(s);
    return Status::ok();
  }

  Result<PoolUsage> poolUsage(std::string_view poolId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT COALESCE(SUM(live), 0), COALESCE(SUM(CASE WHEN live THEN data_storage ELSE 0 END), 0),"
        " COALESCE(MAX(last_modified_ms), 0) FROM datasets WHERE pool_id = ?1"));
    st.bind(1, poolId);
    TETHER_TRY(bool row, st.step());
    PoolUsage u;
    if (row) {
      u.datasetCount = st.columnInt64(0);
      u.dataStorage = st.columnInt64(1);
      u.lastModifiedMs = st.columnInt64(2);
    }
    return u;
  }

  // ---- push-sync devices and dataset subscriptions (store.h). Multi-statement writes run in
  // one IMMEDIATE transaction (devicesTxn) so a crash never leaves half of one.
  Result<std::string> registerDevice(const DeviceInfo& device, int maxDevices) override {
    TETHER_TRY(auto lock, lockConnection());
    std::string id;
    TETHER_RETURN_IF_ERROR(devicesTxn([&]() -> Status {
      conn_.mu.assertHeld();  // devicesTxn runs it under `lock`
      TETHER_TRY(Statement find, conn_.db->prepare(
          "SELECT device_id FROM devices WHERE pool_id = ?1 AND identity_id = ?2 AND platform = ?3"
          " AND push_token = ?4"));
      find.bind(1, device.poolId).bind(2, device.identityId).bind(3, device.platform).bind(4, device.pushToken);
      TETHER_TRY(bool found, find.step());
      if (found) {
        id = find.columnText(0);
        return Status::ok();
      }
      TETHER_TRY(Statement ins, conn_.db->prepare(
          "INSERT INTO devices (pool_id, identity_id, device_id, platform, push_token, created_ms)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
      ins.bind(1, device.poolId).bind(2, device.identityId).bind(3, device.deviceId).bind(4, device.platform)
          .bind(5, device.pushToken).bind(6, device.createdMs);
      TETHER_RETURN_IF_ERROR(ins.run());
      id = device.deviceId;
      // Keep the newest maxDevices; the one just registered always stays.
      const char* kEvict[] = {
          "DELETE FROM dataset_subscriptions WHERE pool_id = ?1 AND identity_id = ?2 AND device_id IN"
          " (SELECT device_id FROM devices WHERE pool_id = ?1 AND identity_id = ?2"
          "  ORDER BY device_id = ?3 DESC, created_ms DESC, device_id DESC LIMIT -1 OFFSET ?4)",
          "DELETE FROM devices WHERE pool_id = ?1 AND identity_id = ?2 AND device_id IN"
          " (SELECT device_id FROM devices WHERE pool_id = ?1 AND identity_id = ?2"
          "  ORDER BY device_id = ?3 DESC, created_ms DESC, device_id DESC LIMIT -1 OFFSET ?4)",
      };
      for (const char* sql : kEvict) {
        TETHER_TRY(Statement st, conn_.db->prepare(sql));
        st.bind(1, device.poolId).bind(2, device.identityId).bind(3, device.deviceId)
            .bind(4, int64_t{std::max(maxDevices, 1)});
        TETHER_RETURN_IF_ERROR(st.run());
      }
      return Status::ok();
    }));
    return id;
  }

  Result<std::optional<DeviceInfo>> getDevice(std::string_view poolId, std::string_view identityId,
                                              std::string_view deviceId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT platform, push_token, created_ms FROM devices WHERE pool_id = ?1 AND identity_id = ?2"
        " AND device_id = ?3"));
    st.bind(1, poolId).bind(2, identityId).bind(3, deviceId);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<DeviceInfo>();
    return std::optional<DeviceInfo>(DeviceInfo{std::string(poolId), std::string(identityId), std::string(deviceId),
                                                st.columnText(0), st.columnText(1), st.columnInt64(2)});
  }

  Result<std::vector<DeviceInfo>> listDevices(std::string_view poolId, std::string_view identityId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT device_id, platform, push_token, created_ms FROM devices WHERE pool_id = ?1 AND identity_id = ?2"
        " ORDER BY device_id"));
    st.bind(1, poolId).bind(2, identityId);
    std::vector<DeviceInfo> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(DeviceInfo{std::string(poolId), std::string(identityId), st.columnText(0), st.columnText(1),
                               st.columnText(2), st.columnInt64(3)});
    }
    return out;
  }

  Status subscribeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId,
                         std::string_view dataset, int maxSubscriptions) override {
    TETHER_TRY(auto lock, lockConnection());
    return devicesTxn([&]() -> Status {
      conn_.mu.assertHeld();  // devicesTxn runs it under `lock`
      TETHER_RETURN_IF_ERROR(requireDevice(poolId, identityId, deviceId));
      TETHER_TRY(Statement count, conn_.db->prepare(
          "SELECT COUNT(*), COALESCE(SUM(dataset = ?4), 0) FROM dataset_subscriptions"
          " WHERE pool_id = ?1 AND identity_id = ?2 AND device_id = ?3"));
      count.bind(1, poolId).bind(2, identityId).bind(3, deviceId).bind(4, dataset);
      TETHER_TRY(bool row, count.step());
      if (row && count.columnInt64(1) > 0) return Status::ok();  // already subscribed
      if (row && count.columnInt64(0) >= maxSubscriptions)
        return Status::limitExceeded("a device may subscribe to at most " + std::to_string(maxSubscriptions) +
                                     " datasets");
      TETHER_TRY(Statement ins, conn_.db->prepare(
          "INSERT INTO dataset_subscriptions (pool_id, identity_id, device_id, dataset) VALUES (?1, ?2, ?3, ?4)"));
      ins.bind(1, poolId).bind(2, identityId).bind(3, deviceId).bind(4, dataset);
      return ins.run();
    });
  }

  Status unsubscribeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId,
                           std::string_view dataset) override {
    TETHER_TRY(auto lock, lockConnection());
    return devicesTxn([&]() -> Status {
      conn_.mu.assertHeld();  // devicesTxn runs it under `lock`
      TETHER_RETURN_IF_ERROR(requireDevice(poolId, identityId, deviceId));
      TETHER_TRY(Statement st, conn_.db->prepare(
          "DELETE FROM dataset_subscriptions WHERE pool_id = ?1 AND identity_id = ?2 AND device_id = ?3"
          " AND dataset = ?4"));
      st.bind(1, poolId).bind(2, identityId).bind(3, deviceId).bind(4, dataset);
      TETHER_RETURN_IF_ERROR(st.run());
      if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound("device is not subscribed to this dataset");
      return Status::ok();
    });
  }

  Result<std::vector<std::string>> listDeviceSubscriptions(std::string_view poolId, std::string_view identityId,
                                                           std::string_view deviceId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT dataset FROM dataset_subscriptions WHERE pool_id = ?1 AND identity_id = ?2 AND device_id = ?3"
        " ORDER BY dataset"));
    st.bind(1, poolId).bind(2, identityId).bind(3, deviceId);
    std::vector<std::string> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(st.columnText(0));
    }
    return out;
  }

  Result<std::vector<DeviceInfo>> listSubscribedDevices(std::string_view poolId, std::string_view identityId,
                                                        std::string_view dataset) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT d.device_id, d.platform, d.push_token, d.created_ms FROM devices d JOIN dataset_subscriptions s"
        " ON s.pool_id = d.pool_id AND s.identity_id = d.identity_id AND s.device_id = d.device_id"
        " WHERE d.pool_id = ?1 AND d.identity_id = ?2 AND s.dataset = ?3 ORDER BY d.device_id"));
    st.bind(1, poolId).bind(2, identityId).bind(3, dataset);
    std::vector<DeviceInfo> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(DeviceInfo{std::string(poolId), std::string(identityId), st.columnText(0), st.columnText(1),
                               st.columnText(2), st.columnInt64(3)});
    }
    return out;
  }

  Status removeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId) override {
    TETHER_TRY(auto lock, lockConnection());
    return devicesTxn([&]() -> Status {
      conn_.mu.assertHeld();  // devicesTxn runs it under `lock`
      TETHER_RETURN_IF_ERROR(requireDevice(poolId, identityId, deviceId));
      for (const char* sql : {"DELETE FROM dataset_subscriptions WHERE pool_id = ?1 AND identity_id = ?2 AND device_id = ?3",
                              "DELETE FROM devices WHERE pool_id = ?1 AND identity_id = ?2 AND device_id = ?3"}) {
        TETHER_TRY(Statement st, conn_.db->prepare(sql));
        st.bind(1, poolId).bind(2, identityId).bind(3, deviceId);
        TETHER_RETURN_IF_ERROR(st.run());
      }
      return Status::ok();
    });
  }

  Status moveDevices(std::string_view poolId, std::string_view fromIdentity, std::string_view toIdentity) override {
    TETHER_TRY(auto lock, lockConnection());
    return devicesTxn([&] {
      conn_.mu.assertHeld();  // devicesTxn runs it under `lock`
      return moveDevicesSql(*conn_.db, poolId, fromIdentity, toIdentity);
    });
  }

  Result<std::unique_ptr<StoreTransaction>> begin() override {
    return SqliteTransaction::begin(conn_, SqliteTransaction::Mode::kWrite);
  }

  Result<std::unique_ptr<StoreTransaction>> beginRead() override {
    return SqliteTransaction::begin(conn_, SqliteTransaction::Mode::kRead);
  }

  // Meta reads run on a pooled read connection, not the write connection: the sync trigger's
  // lookup happens before every push, and on the write connection it had to wait for the open
  // commit group's COMMIT and then closed that group early (lockForAutocommit), so concurrent
  // pushes committed about one per fsync (bench W4). Nor do they wait for group commits' WAL
  // syncs (kReadCommitted): settings are written by autocommit calls, durable when they return;
  // the only meta written inside group transactions are progress markers (a bulk publish's
  // state, a feed's floor), which a power cut can only set back, repeating work.
  Result<std::optional<std::string>> getMeta(std::string_view key) override {
    TETHER_TRY(auto txn, SqliteTransaction::begin(conn_, SqliteTransaction::Mode::kReadCommitted));
    return txn->getMeta(key);
  }

  Status putMeta(std::string_view key, std::string_view value) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
    st.bind(1, key).bind(2, value);
    return st.run();
  }

  Result<std::vector<std::pair<std::string, std::string>>> listMeta(std::string_view prefix) override {
    TETHER_TRY(auto txn, SqliteTransaction::begin(conn_, SqliteTransaction::Mode::kRead));
    return static_cast<SqliteTransaction&>(*txn).listMeta(prefix);
  }

  Result<std::string> putMetaIfAbsent(std::string_view key, std::string_view value) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement ins, conn_.db->prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING"));
    ins.bind(1, key).bind(2, value);
    TETHER_RETURN_IF_ERROR(ins.run());
    TETHER_TRY(Statement st, conn_.db->prepare("SELECT value FROM meta WHERE key = ?1"));
    st.bind(1, key);
    TETHER_TRY(bool row, st.step());
    if (!row) return Status::internal("meta key vanished after insert");
    return st.columnText(0);
  }

  // ---- auth block: login providers and developer credentials (issue 5).
  Status putOidcProvider(const OidcProviderRow& p) override {
    std::string audiences;
    for (const std::string& a : p.audiences) {
      // One per line in the column; a newline inside an audience would split it.
      if (a.find('\n') != std::string::npos) return Status::invalidArgument("audience contains a newline");
      if (!audiences.empty()) audiences += '\n';
      audiences += a;
    }
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO pool_oidc_providers (pool_id, name, issuer, audiences, jwks_file, jwks, leeway_seconds,"
        " created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (pool_id, name) DO UPDATE SET"
        " issuer = excluded.issuer, audiences = excluded.audiences, jwks_file = excluded.jwks_file,"
        " jwks = excluded.jwks, leeway_seconds = excluded.leeway_seconds, created_ms = excluded.created_ms"));
    st.bind(1, p.poolId).bind(2, p.name).bind(3, p.issuer).bind(4, audiences).bind(5, p.jwksFile)
        .bind(6, p.jwks).bind(7, int64_t{p.leewaySeconds}).bind(8, p.createdMs);
    return st.run();
  }

  Status deleteOidcProvider(std::string_view poolId, std::string_view name) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM pool_oidc_providers WHERE pool_id = ?1 AND name = ?2"));
    st.bind(1, poolId).bind(2, name);
    TETHER_RETURN_IF_ERROR(st.run());
    if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound("no such OIDC provider in this pool");
    return Status::ok();
  }

  Result<std::vector<OidcProviderRow>> listOidcProviders(std::string_view poolId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT pool_id, name, issuer, audiences, COALESCE(jwks_file, ''), COALESCE(jwks, ''), leeway_seconds,"
        " created_ms FROM pool_oidc_providers WHERE ?1 = '' OR pool_id = ?1 ORDER BY pool_id, name"));
    st.bind(1, poolId);
    std::vector<OidcProviderRow> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      OidcProviderRow p;
      p.poolId = st.columnText(0);
      p.name = st.columnText(1);
      p.issuer = st.columnText(2);
      std::string audiences = st.columnText(3);
      for (size_t start = 0; start <= audiences.size() && !audiences.empty();) {
        size_t end = audiences.find('\n', start);
        if (end == std::string::npos) end = audiences.size();
        p.audiences.push_back(audiences.substr(start, end - start));
        start = end + 1;
      }
      p.jwksFile = st.columnText(4);
      p.jwks = st.columnText(5);
      p.leewaySeconds = static_cast<int>(st.columnInt64(6));
      p.createdMs = st.columnInt64(7);
      out.push_back(std::move(p));
    }
    return out;
  }

  Result<std::string> getPoolDeveloperProvider(std::string_view poolId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("SELECT developer_provider FROM pools WHERE id = ?1"));
    st.bind(1, poolId);
    TETHER_TRY(bool row, st.step());
    if (!row) return Status::notFound("no such pool");
    return st.columnText(0);
  }

  Status setPoolDeveloperProvider(std::string_view poolId, std::string_view name) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("UPDATE pools SET developer_provider = ?2 WHERE id = ?1"));
    st.bind(1, poolId).bind(2, name);
    TETHER_RETURN_IF_ERROR(st.run());
    if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound("no such pool");
    return Status::ok();
  }

  Status createDeveloperCredential(const DeveloperCredentialRow& c) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "INSERT INTO developer_credentials (access_key_id, secret, description, created_ms) VALUES (?1, ?2, ?3, ?4)"));
    st.bind(1, c.accessKeyId).bind(2, c.secret).bind(3, c.description).bind(4, c.createdMs);
    Status s = st.run();
    if (s.code() == StatusCode::kConflict) return Status::conflict("developer credential " + c.accessKeyId + " exists");
    return s;
  }

  Result<std::optional<DeveloperCredentialRow>> findDeveloperCredential(std::string_view accessKeyId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT access_key_id, secret, description, created_ms FROM developer_credentials WHERE access_key_id = ?1"));
    st.bind(1, accessKeyId);
    TETHER_TRY(bool row, st.step());
    if (!row) return std::optional<DeveloperCredentialRow>();
    return std::optional<DeveloperCredentialRow>(
        DeveloperCredentialRow{st.columnText(0), st.columnText(1), st.columnText(2), st.columnInt64(3)});
  }

  Result<std::vector<DeveloperCredentialRow>> listDeveloperCredentials() override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT access_key_id, secret, description, created_ms FROM developer_credentials ORDER BY access_key_id"));
    std::vector<DeveloperCredentialRow> out;
    while (true) {
      TETHER_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(DeveloperCredentialRow{st.columnText(0), st.columnText(1), st.columnText(2), st.columnInt64(3)});
    }
    return out;
  }

  Status deleteDeveloperCredential(std::string_view accessKeyId) override {
    TETHER_TRY(auto lock, lockConnection());
    TETHER_TRY(Statement st, conn_.db->prepare("DELETE FROM developer_credentials WHERE access_key_id = ?1"));
    st.bind(1, accessKeyId);
    TETHER_RETURN_IF_ERROR(st.run());
    if (sqlite3_changes(conn_.db->raw()) == 0) return Status::notFound("no such developer credential");
    return Status::ok();
  }
  // ---- end of auth block

 private:
  static PoolInfo readPool(const Statement& st) {
    PoolInfo p;
    p.id = st.columnText(0);
    p.name = st.columnText(1);
    p.allowGuests = st.columnInt64(2) != 0;
    p.createdMs = st.columnInt64(3);
    return p;
  }

  // Runs `body` in one IMMEDIATE transaction on the write connection: commits if it returns ok,
  // rolls back otherwise.
  template <class Fn>
  Status devicesTxn(Fn&& body) TETHER_REQUIRES(conn_.mu) {
    TETHER_RETURN_IF_ERROR(conn_.db->exec("BEGIN IMMEDIATE"));
    Status s = body();
    if (s.isOk()) s = conn_.db->exec("COMMIT");
    if (!s.isOk() && conn_.db->inTransaction()) (void)conn_.db->exec("ROLLBACK");
    return s;
  }

  // kNotFound unless the device is registered for the identity.
  Status requireDevice(std::string_view poolId, std::string_view identityId,
                       std::string_view deviceId) TETHER_REQUIRES(conn_.mu) {
    TETHER_TRY(Statement st, conn_.db->prepare(
        "SELECT 1 FROM devices WHERE pool_id = ?1 AND identity_id = ?2 AND device_id = ?3"));
    st.bind(1, poolId).bind(2, identityId).bind(3, deviceId);
    TETHER_TRY(bool row, st.step());
    if (!row) return Status::notFound("device is not registered for this identity");
    return Status::ok();
  }

};

Status configure(SqliteDb& db, const SqliteStoreOptions& options) {
  // Before anything reads the file: fail fast with kCorruption on a non-database file.
  TETHER_TRY(std::string mode, db.queryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal")
    return Status::ioError("cannot switch the database to WAL mode (journal_mode=" + mode + ")");
  // FULL: every commit fsyncs the WAL, so an acknowledged write survives power loss as well as
  // a killed process (docs/storage.md). Group commits switch to NORMAL for their COMMIT and
  // sync the WAL themselves right after it, outside the connection's mutex (sqlite_transaction.h).
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA synchronous = FULL"));
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys = ON"));
  // 16 MB of page cache instead of SQLite's 2 MB default: a 1 MB batch (W2) dirties more pages
  // than that (records + index), and a full cache spills them to the WAL mid-transaction
  // (sqlite3PcacheFetchStress in the W2 profile).
  TETHER_RETURN_IF_ERROR(db.exec("PRAGMA cache_size = -16384"));
  if (int rc = sqlite3_busy_timeout(db.raw(), options.busyTimeoutMs); rc != SQLITE_OK)
    return db.error(rc, "setting busy_timeout");
  if (options.maxPageCount > 0) {
    TETHER_TRY(int64_t pages, db.queryInt("PRAGMA max_page_count = " +
                                          std::to_string(options.maxPageCount)));
    (void)pages;
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& dbFile) {
  return openSqliteStore(dbFile, SqliteStoreOptions{});
}

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& dbFile,
                                               const SqliteStoreOptions& options) {
  if (dbFile.empty()) return Status::invalidArgument("database path is empty");
  std::filesystem::path parent = dbFile.parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Status::ioError("cannot create directory " + parent.string() + ": " +
                             ec.message());
    }
  }
  // NOMUTEX: SQLite's own per-connection mutex would be redundant with SqliteStore's.
  TETHER_TRY(std::unique_ptr<SqliteDb> db,
             SqliteDb::open(dbFile, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                        SQLITE_OPEN_NOMUTEX));
  TETHER_RETURN_IF_ERROR(configure(*db, options));
  TETHER_RETURN_IF_ERROR(migrateSqliteSchema(*db));
  TETHER_TRY(std::unique_ptr<SqliteCheckpointer> checkpointer, SqliteCheckpointer::attach(*db, dbFile));
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(db), std::move(checkpointer), dbFile, options.busyTimeoutMs));
}

}  // namespace tether::server
