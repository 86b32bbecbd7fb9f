#include "storage/pg_schema.h"

#include <array>
#include <string>

namespace tether::server {
namespace {

// Any constant: the advisory lock every migrating node takes ("tether" + 1).
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7310575183440880641)";

// Append only: a released migration never changes (databases in the field have run it). Entry i
// moves the schema from version i to i + 1. Text columns that are compared or ordered use
// COLLATE "C" (byte order, as SQLite's BINARY), record keys and values are bytea (any byte, NUL
// included, as SQLite's TEXT with explicit lengths).
constexpr std::array<const char*, 4> kMigrations = {
    // 1: the data model of SQLite schema version 5.
    R"sql(
      CREATE TABLE pools (
        id                 TEXT COLLATE "C" PRIMARY KEY,
        name               TEXT NOT NULL,
        allow_guests       BOOLEAN NOT NULL,
        created_ms         BIGINT NOT NULL,
        developer_provider TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE identities (
        id         TEXT COLLATE "C" PRIMARY KEY,
        pool_id    TEXT COLLATE "C" NOT NULL,
        created_ms BIGINT NOT NULL,
        disabled   BOOLEAN NOT NULL
      );
      CREATE INDEX identities_by_pool ON identities (pool_id, id);
      CREATE TABLE meta (
        key   TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
      );
      -- A dataset row survives DeleteDataset (live = false) so sync_count stays monotonic.
      CREATE TABLE datasets (
        identity_id      TEXT COLLATE "C" NOT NULL,
        pool_id          TEXT COLLATE "C" NOT NULL,
        name             TEXT COLLATE "C" NOT NULL,
        sync_count       BIGINT NOT NULL CHECK (sync_count >= 0),
        live             BOOLEAN NOT NULL,
        deleted_at       BIGINT,
        creation_ms      BIGINT NOT NULL,
        last_modified_ms BIGINT NOT NULL,
        last_modified_by TEXT NOT NULL,
        data_storage     BIGINT NOT NULL,
        num_records      BIGINT NOT NULL,
        PRIMARY KEY (identity_id, pool_id, name)
      );
      CREATE INDEX datasets_by_pool ON datasets (pool_id);
      CREATE TABLE records (
        identity_id             TEXT COLLATE "C" NOT NULL,
        pool_id                 TEXT COLLATE "C" NOT NULL,
        dataset                 TEXT COLLATE "C" NOT NULL,
        key                     BYTEA NOT NULL,
        value                   BYTEA,
        sync_count              BIGINT NOT NULL,
        last_modified_ms        BIGINT NOT NULL,
        last_modified_by        TEXT NOT NULL,
        device_last_modified_ms BIGINT NOT NULL,
        PRIMARY KEY (identity_id, pool_id, dataset, key),
        FOREIGN KEY (identity_id, pool_id, dataset)
          REFERENCES datasets (identity_id, pool_id, name) ON DELETE CASCADE
      );
      CREATE INDEX records_by_sync_count ON records (identity_id, pool_id, dataset, sync_count, key);
      CREATE TABLE merged_datasets (
        identity_id TEXT COLLATE "C" NOT NULL,
        pool_id     TEXT COLLATE "C" NOT NULL,
        dataset     TEXT COLLATE "C" NOT NULL,
        merged_name TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (identity_id, pool_id, dataset, merged_name)
      );
      CREATE INDEX merged_by_name ON merged_datasets (identity_id, pool_id, merged_name);
      -- A lookup table from a login to its identity: keyed by the login, not the identity.
      CREATE TABLE logins (
        pool_id     TEXT COLLATE "C" NOT NULL,
        provider    TEXT COLLATE "C" NOT NULL,
        subject     TEXT COLLATE "C" NOT NULL,
        identity_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (pool_id, provider, subject)
      );
      CREATE INDEX logins_by_identity ON logins (identity_id, provider, subject);
      CREATE TABLE pool_oidc_providers (
        pool_id        TEXT COLLATE "C" NOT NULL,
        name           TEXT COLLATE "C" NOT NULL,
        issuer         TEXT NOT NULL,
        audiences      TEXT NOT NULL,
        jwks_file      TEXT,
        jwks           TEXT,
        leeway_seconds INTEGER NOT NULL,
        created_ms     BIGINT NOT NULL,
        PRIMARY KEY (pool_id, name)
      );
      CREATE TABLE developer_credentials (
        access_key_id TEXT COLLATE "C" PRIMARY KEY,
        secret        TEXT NOT NULL,
        description   TEXT NOT NULL,
        created_ms    BIGINT NOT NULL
      );
      CREATE TABLE devices (
        identity_id TEXT COLLATE "C" NOT NULL,
        pool_id     TEXT COLLATE "C" NOT NULL,
        device_id   TEXT COLLATE "C" NOT NULL,
        platform    TEXT COLLATE "C" NOT NULL,
        push_token  TEXT COLLATE "C" NOT NULL,
        created_ms  BIGINT NOT NULL,
        PRIMARY KEY (identity_id, pool_id, device_id)
      );
      CREATE UNIQUE INDEX devices_by_token ON devices (identity_id, pool_id, platform, push_token);
      CREATE TABLE dataset_subscriptions (
        identity_id TEXT COLLATE "C" NOT NULL,
        pool_id     TEXT COLLATE "C" NOT NULL,
        device_id   TEXT COLLATE "C" NOT NULL,
        dataset     TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (identity_id, pool_id, device_id, dataset)
      );
    )sql",
    // 2: Cognito Streams (docs/events.md): the outbox written in the batch's transaction and
    // deleted once delivered, and the changes feed by publish-time position. A seq from the
    // sequence orders one dataset's records (its writers hold the dataset row lock while they
    // take it) but not records of different datasets: the feed's position is what consumers see.
    R"sql(
      CREATE TABLE stream_outbox (
        seq         BIGSERIAL PRIMARY KEY,
        stream      TEXT COLLATE "C" NOT NULL,
        pool_id     TEXT COLLATE "C" NOT NULL,
        identity_id TEXT COLLATE "C" NOT NULL,
        dataset     TEXT COLLATE "C" NOT NULL,
        created_ms  BIGINT NOT NULL,
        body        TEXT NOT NULL
      );
      CREATE INDEX stream_outbox_by_stream ON stream_outbox (stream, seq);
      CREATE TABLE stream_feed (
        stream      TEXT COLLATE "C" NOT NULL,
        position    BIGINT NOT NULL,
        pool_id     TEXT COLLATE "C" NOT NULL,
        identity_id TEXT COLLATE "C" NOT NULL,
        dataset     TEXT COLLATE "C" NOT NULL,
        created_ms  BIGINT NOT NULL,
        body        TEXT NOT NULL,
        PRIMARY KEY (stream, position)
      );
    )sql",
    // 3: Cognito User Pools (storage/user_pool_store.h), the tables of SQLite schema version 7.
    // Foreign keys cascade a pool's deletion to everything in it and a user's or group's to its
    // rows. Attribute values may be longer than a B-tree entry can be (about 2.7 KB), so their
    // index holds the first 200 characters; pg_user_pools.cpp compares the full value as well.
    R"sql(
      CREATE TABLE idp_pools (
        id          TEXT COLLATE "C" PRIMARY KEY,
        name        TEXT NOT NULL,
        domain      TEXT COLLATE "C" UNIQUE,   -- NULL: none
        created_ms  BIGINT NOT NULL,
        modified_ms BIGINT NOT NULL,
        config      TEXT NOT NULL
      );
      CREATE TABLE idp_clients (
        client_id   TEXT COLLATE "C" PRIMARY KEY,
        pool_id     TEXT COLLATE "C" NOT NULL REFERENCES idp_pools (id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        created_ms  BIGINT NOT NULL,
        modified_ms BIGINT NOT NULL,
        config      TEXT NOT NULL
      );
      CREATE INDEX idp_clients_by_pool ON idp_clients (pool_id, client_id);
      CREATE TABLE idp_users (
        pool_id      TEXT COLLATE "C" NOT NULL REFERENCES idp_pools (id) ON DELETE CASCADE,
        sub          TEXT COLLATE "C" NOT NULL,
        username     TEXT NOT NULL,
        username_key TEXT COLLATE "C" NOT NULL,
        status       TEXT COLLATE "C" NOT NULL,
        enabled      BOOLEAN NOT NULL,
        created_ms   BIGINT NOT NULL,
        modified_ms  BIGINT NOT NULL,
        version      BIGINT NOT NULL,
        state        TEXT NOT NULL,
        PRIMARY KEY (pool_id, sub),
        UNIQUE (pool_id, username_key)
      );
      CREATE INDEX idp_users_by_created ON idp_users (pool_id, created_ms, sub);
      CREATE TABLE idp_user_attrs (
        pool_id TEXT COLLATE "C" NOT NULL,
        sub     TEXT COLLATE "C" NOT NULL,
        name    TEXT COLLATE "C" NOT NULL,
        value   TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (pool_id, sub, name),
        FOREIGN KEY (pool_id, sub) REFERENCES idp_users (pool_id, sub) ON DELETE CASCADE
      );
      CREATE INDEX idp_user_attrs_by_value ON idp_user_attrs (pool_id, name, left(value, 200));
      CREATE TABLE idp_aliases (
        pool_id   TEXT COLLATE "C" NOT NULL,
        kind      TEXT COLLATE "C" NOT NULL,
        value_key TEXT COLLATE "C" NOT NULL,
        sub       TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (pool_id, kind, value_key),
        FOREIGN KEY (pool_id, sub) REFERENCES idp_users (pool_id, sub) ON DELETE CASCADE
      );
      CREATE INDEX idp_aliases_by_user ON idp_aliases (pool_id, sub);
      CREATE TABLE idp_groups (
        pool_id     TEXT COLLATE "C" NOT NULL REFERENCES idp_pools (id) ON DELETE CASCADE,
        name        TEXT COLLATE "C" NOT NULL,
        description TEXT NOT NULL,
        role_arn    TEXT NOT NULL,
        precedence  BIGINT,                   -- NULL: none
        created_ms  BIGINT NOT NULL,
        modified_ms BIGINT NOT NULL,
        PRIMARY KEY (pool_id, name)
      );
      CREATE TABLE idp_group_members (
        pool_id    TEXT COLLATE "C" NOT NULL,
        group_name TEXT COLLATE "C" NOT NULL,
        sub        TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (pool_id, group_name, sub),
        FOREIGN KEY (pool_id, group_name) REFERENCES idp_groups (pool_id, name) ON DELETE CASCADE,
        FOREIGN KEY (pool_id, sub) REFERENCES idp_users (pool_id, sub) ON DELETE CASCADE
      );
      CREATE INDEX idp_group_members_by_user ON idp_group_members (pool_id, sub);
      CREATE TABLE idp_tickets (
        key        TEXT COLLATE "C" PRIMARY KEY,
        value      TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
      );
      CREATE INDEX idp_tickets_by_expiry ON idp_tickets (expires_ms);
      CREATE TABLE idp_used_once (
        key        TEXT COLLATE "C" PRIMARY KEY,
        expires_ms BIGINT NOT NULL
      );
      CREATE INDEX idp_used_once_by_expiry ON idp_used_once (expires_ms);
      CREATE TABLE idp_revoked_origins (
        pool_id    TEXT COLLATE "C" NOT NULL,
        origin_jti TEXT COLLATE "C" NOT NULL,
        expires_ms BIGINT NOT NULL,
        PRIMARY KEY (pool_id, origin_jti)
      );
      CREATE INDEX idp_revoked_origins_by_expiry ON idp_revoked_origins (expires_ms);
    )sql",
    // 4: the console (issue 17): operators, their sessions, the audit log, pool usage history.
    R"sql(
      CREATE TABLE console_operators (
        name           TEXT COLLATE "C" PRIMARY KEY,
        password_hash  TEXT NOT NULL,
        created_ms     BIGINT NOT NULL,
        last_signin_ms BIGINT NOT NULL
      );
      CREATE TABLE console_sessions (
        handle_hash   TEXT COLLATE "C" PRIMARY KEY,
        operator_name TEXT COLLATE "C" NOT NULL,
        csrf_token    TEXT NOT NULL,
        created_ms    BIGINT NOT NULL,
        last_seen_ms  BIGINT NOT NULL,
        expires_ms    BIGINT NOT NULL
      );
      CREATE INDEX console_sessions_by_operator ON console_sessions (operator_name);
      CREATE TABLE console_audit (
        id            BIGSERIAL PRIMARY KEY,
        at_ms         BIGINT NOT NULL,
        operator_name TEXT NOT NULL,
        action        TEXT NOT NULL,
        target        TEXT NOT NULL,
        detail        TEXT NOT NULL,
        outcome       TEXT NOT NULL
      );
      CREATE TABLE console_pool_usage (
        pool_id    TEXT COLLATE "C" NOT NULL,
        bucket_ms  BIGINT NOT NULL,
        identities BIGINT NOT NULL,
        datasets   BIGINT NOT NULL,
        bytes      BIGINT NOT NULL,
        PRIMARY KEY (pool_id, bucket_ms)
      );
    )sql",
};

Status rollback(PgConn& conn, Status s) {
  (void)conn.execScript("ROLLBACK");
  return s;
}

}  // namespace

const int64_t kPgSchemaVersion = static_cast<int64_t>(kMigrations.size());

Result<int64_t> pgSchemaVersion(PgConn& conn) {
  TETHER_TRY(PgResult exists, conn.exec("SELECT to_regclass('schema_version') IS NOT NULL"));
  if (!exists.boolean(0, 0)) return int64_t{0};
  TETHER_TRY(PgResult v, conn.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  return v.int64(0, 0);
}

Status migratePgSchema(PgConn& conn, int64_t target) {
  if (target < 0) target = kPgSchemaVersion;
  if (target > kPgSchemaVersion) return Status::invalidArgument("no schema version " + std::to_string(target));
  TETHER_RETURN_IF_ERROR(conn.execScript("BEGIN"));
  // The lock first, each later statement in its own snapshot: whoever waited here sees the
  // schema the winner committed.
  if (Status s = conn.execScript(kMigrationLock); !s.isOk()) return rollback(conn, s);
  if (Status s = conn.execScript(
          "CREATE TABLE IF NOT EXISTS schema_version ("
          " version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
      !s.isOk())
    return rollback(conn, s);
  Result<int64_t> version = pgSchemaVersion(conn);
  if (!version.isOk()) return rollback(conn, version.status());
  if (*version > target) {
    return rollback(conn, Status::invalidArgument(
                              "database schema version " + std::to_string(*version) +
                              " is newer than this tetherd supports (" + std::to_string(target) +
                              "); run a newer tetherd or use another database"));
  }
  for (int64_t v = *version; v < target; ++v) {
    Status s = conn.execScript(kMigrations[static_cast<size_t>(v)]);
    if (s.isOk()) s = conn.exec("INSERT INTO schema_version (version) VALUES ($1)", {v + 1}).status();
    if (!s.isOk())
      return rollback(conn, Status(s.code(), "schema migration to version " + std::to_string(v + 1) +
                                                 " failed: " + s.message()));
  }
  if (Status s = conn.execScript("COMMIT"); !s.isOk()) return rollback(conn, s);
  return Status::ok();
}

}  // namespace tether::server
