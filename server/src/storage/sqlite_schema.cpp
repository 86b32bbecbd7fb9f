#include "storage/sqlite_schema.h"

#include <array>
#include <string>

#include "storage/sqlite_db.h"

namespace tether::server {
namespace {

// Append only: a released migration never changes (files in the field have run it). Each entry
// moves the schema from version i to i + 1.
constexpr std::array<const char*, 8> kMigrations = {
    // 1: identity pools, identities, meta.
    R"sql(
      CREATE TABLE pools (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        allow_guests INTEGER NOT NULL,
        created_ms   INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE identities (
        id         TEXT PRIMARY KEY,
        pool_id    TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        disabled   INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX identities_by_pool ON identities (pool_id);
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    )sql",
    // 2: datasets, records, merged-dataset relation.
    // A dataset row survives DeleteDataset (live = 0) so sync_count stays monotonic.
    R"sql(
      CREATE TABLE datasets (
        pool_id          TEXT NOT NULL,
        identity_id      TEXT NOT NULL,
        name             TEXT NOT NULL,
        sync_count       INTEGER NOT NULL CHECK (sync_count >= 0),
        live             INTEGER NOT NULL,
        deleted_at       INTEGER,
        creation_ms      INTEGER NOT NULL,
        last_modified_ms INTEGER NOT NULL,
        last_modified_by TEXT NOT NULL,
        data_storage     INTEGER NOT NULL,
        num_records      INTEGER NOT NULL,
        PRIMARY KEY (pool_id, identity_id, name)
      ) WITHOUT ROWID;
      CREATE TABLE records (
        pool_id                 TEXT NOT NULL,
        identity_id             TEXT NOT NULL,
        dataset                 TEXT NOT NULL,
        key                     TEXT NOT NULL,
        value                   TEXT,
        sync_count              INTEGER NOT NULL,
        last_modified_ms        INTEGER NOT NULL,
        last_modified_by        TEXT NOT NULL,
        device_last_modified_ms INTEGER NOT NULL,
        PRIMARY KEY (pool_id, identity_id, dataset, key),
        FOREIGN KEY (pool_id, identity_id, dataset)
          REFERENCES datasets (pool_id, identity_id, name) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE INDEX records_by_sync_count ON records (pool_id, identity_id, dataset, sync_count, key);
      CREATE TABLE merged_datasets (
        pool_id     TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        dataset     TEXT NOT NULL,
        merged_name TEXT NOT NULL,
        PRIMARY KEY (pool_id, identity_id, dataset, merged_name)
      ) WITHOUT ROWID;
      CREATE INDEX merged_by_name ON merged_datasets (pool_id, identity_id, merged_name);
    )sql",
    // 3: logins linked to identities (Cognito developer-authenticated identities).
    R"sql(
      CREATE TABLE logins (
        pool_id     TEXT NOT NULL,
        provider    TEXT NOT NULL,
        subject     TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        PRIMARY KEY (pool_id, provider, subject)
      ) WITHOUT ROWID;
      CREATE INDEX logins_by_identity ON logins (identity_id, provider, subject);
    )sql",
    // 4: login providers and developer credentials kept in the database (`tetherd pool
    // add-oidc-provider`, `tetherd credentials create`), and Cognito push-sync devices and
    // dataset subscriptions (RegisterDevice / SubscribeToDataset).
    R"sql(
      -- OpenID Connect providers a pool accepts logins from. `name` is the key apps use in
      -- Logins (e.g. "accounts.google.com"); audiences holds the accepted client IDs, one per line;
      -- keys come from jwks_file (re-read when it changes) or the inline jwks, exactly one set.
      CREATE TABLE pool_oidc_providers (
        pool_id        TEXT NOT NULL,
        name           TEXT NOT NULL,
        issuer         TEXT NOT NULL,
        audiences      TEXT NOT NULL,
        jwks_file      TEXT,
        jwks           TEXT,
        leeway_seconds INTEGER NOT NULL,
        created_ms     INTEGER NOT NULL,
        PRIMARY KEY (pool_id, name)
      ) WITHOUT ROWID;
      ALTER TABLE pools ADD COLUMN developer_provider TEXT NOT NULL DEFAULT '';
      -- Long-term developer credentials. The secret is kept because SigV4 verification needs it
      -- (HMAC); the data directory already holds the signing keys and must be private anyway.
      CREATE TABLE developer_credentials (
        access_key_id TEXT PRIMARY KEY,
        secret        TEXT NOT NULL,
        description   TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- Cognito RegisterDevice: a device of an identity (DeviceId is ours, random).
      CREATE TABLE devices (
        pool_id     TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        platform    TEXT NOT NULL,
        push_token  TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        PRIMARY KEY (pool_id, identity_id, device_id)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX devices_by_token ON devices (pool_id, identity_id, platform, push_token);
      -- Cognito SubscribeToDataset: a device wants change notifications for a dataset.
      CREATE TABLE dataset_subscriptions (
        pool_id     TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        dataset     TEXT NOT NULL,
        PRIMARY KEY (pool_id, identity_id, device_id, dataset)
      ) WITHOUT ROWID;
    )sql",

    // 5: records become an ordinary rowid table. As WITHOUT ROWID, every record (up to 1 MB
    // with its value) lived inside the primary-key B-tree: a 4 KB page held about three of
    // 1 KB, and inserting or reading a 1,000-record batch split, moved and walked that tree.
    // Measured with the W2 batch (1,000 x 1 KB, WAL, synchronous=FULL): 32-36 ms to insert
    // and 7-10 ms to read back before, 10-12 ms and 3-4 ms after. Same columns, same keys.
    R"sql(
      CREATE TABLE records_v5 (
        pool_id                 TEXT NOT NULL,
        identity_id             TEXT NOT NULL,
        dataset                 TEXT NOT NULL,
        key                     TEXT NOT NULL,
        value                   TEXT,
        sync_count              INTEGER NOT NULL,
        last_modified_ms        INTEGER NOT NULL,
        last_modified_by        TEXT NOT NULL,
        device_last_modified_ms INTEGER NOT NULL,
        PRIMARY KEY (pool_id, identity_id, dataset, key),
        FOREIGN KEY (pool_id, identity_id, dataset)
          REFERENCES datasets (pool_id, identity_id, name) ON DELETE CASCADE
      );
      INSERT INTO records_v5 (pool_id, identity_id, dataset, key, value, sync_count,
                              last_modified_ms, last_modified_by, device_last_modified_ms)
        SELECT pool_id, identity_id, dataset, key, value, sync_count,
               last_modified_ms, last_modified_by, device_last_modified_ms
        FROM records ORDER BY pool_id, identity_id, dataset, sync_count, key;
      DROP TABLE records;
      ALTER TABLE records_v5 RENAME TO records;
      CREATE INDEX records_by_sync_count ON records (pool_id, identity_id, dataset, sync_count, key);
    )sql",

    // 6: Cognito Streams (docs/events.md). stream_outbox: records written in the transaction of
    // the batch they describe, deleted once delivered (AUTOINCREMENT: a seq is never reused, so
    // a sink that saw seq N never sees another record as N after a restart). stream_feed: what
    // the changes feed serves, by a position the one publisher assigns in delivery order.
    R"sql(
      CREATE TABLE stream_outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        stream      TEXT NOT NULL,
        pool_id     TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        dataset     TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        body        TEXT NOT NULL
      );
      CREATE INDEX stream_outbox_by_stream ON stream_outbox (stream, seq);
      -- The outbox depth, kept by triggers: writes check it against the bound on every batch,
      -- and COUNT(*) would walk the table (SQLite writes run one at a time: no contention).
      CREATE TABLE stream_outbox_depth (n INTEGER NOT NULL);
      INSERT INTO stream_outbox_depth (n) VALUES (0);
      CREATE TRIGGER stream_outbox_ins AFTER INSERT ON stream_outbox
        BEGIN UPDATE stream_outbox_depth SET n = n + 1; END;
      CREATE TRIGGER stream_outbox_del AFTER DELETE ON stream_outbox
        BEGIN UPDATE stream_outbox_depth SET n = n - 1; END;
      CREATE TABLE stream_feed (
        stream      TEXT NOT NULL,
        position    INTEGER NOT NULL,
        pool_id     TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        dataset     TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        body        TEXT NOT NULL,
        PRIMARY KEY (stream, position)
      );
    )sql",

    // 7: Cognito User Pools (storage/user_pool_store.h). Foreign keys cascade a pool's deletion
    // to everything in it and a user's or group's to its rows (the store also deletes them
    // explicitly). Pools, clients, users, attributes, groups and tickets are rowid tables: their
    // JSON and attribute values may run to kilobytes.
    R"sql(
      CREATE TABLE idp_pools (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        domain      TEXT UNIQUE,          -- NULL: none
        created_ms  INTEGER NOT NULL,
        modified_ms INTEGER NOT NULL,
        config      TEXT NOT NULL
      );
      CREATE TABLE idp_clients (
        client_id   TEXT PRIMARY KEY,
        pool_id     TEXT NOT NULL REFERENCES idp_pools (id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        created_ms  INTEGER NOT NULL,
        modified_ms INTEGER NOT NULL,
        config      TEXT NOT NULL
      );
      CREATE INDEX idp_clients_by_pool ON idp_clients (pool_id, client_id);
      CREATE TABLE idp_users (
        pool_id      TEXT NOT NULL REFERENCES idp_pools (id) ON DELETE CASCADE,
        sub          TEXT NOT NULL,
        username     TEXT NOT NULL,
        username_key TEXT NOT NULL,
        status       TEXT NOT NULL,
        enabled      INTEGER NOT NULL,
        created_ms   INTEGER NOT NULL,
        modified_ms  INTEGER NOT NULL,
        version      INTEGER NOT NULL,
        state        TEXT NOT NULL,
        PRIMARY KEY (pool_id, sub),
        UNIQUE (pool_id, username_key)
      );
      -- ListUsers' order.
      CREATE INDEX idp_users_by_created ON idp_users (pool_id, created_ms, sub);
      CREATE TABLE idp_user_attrs (
        pool_id TEXT NOT NULL,
        sub     TEXT NOT NULL,
        name    TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (pool_id, sub, name),
        FOREIGN KEY (pool_id, sub) REFERENCES idp_users (pool_id, sub) ON DELETE CASCADE
      );
      -- ListUsers' attribute filters: equality and prefix (a range) on one attribute.
      CREATE INDEX idp_user_attrs_by_value ON idp_user_attrs (pool_id, name, value);
      CREATE TABLE idp_aliases (
        pool_id   TEXT NOT NULL,
        kind      TEXT NOT NULL,
        value_key TEXT NOT NULL,
        sub       TEXT NOT NULL,
        PRIMARY KEY (pool_id, kind, value_key),
        FOREIGN KEY (pool_id, sub) REFERENCES idp_users (pool_id, sub) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE INDEX idp_aliases_by_user ON idp_aliases (pool_id, sub);
      CREATE TABLE idp_groups (
        pool_id     TEXT NOT NULL REFERENCES idp_pools (id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        description TEXT NOT NULL,
        role_arn    TEXT NOT NULL,
        precedence  INTEGER,              -- NULL: none
        created_ms  INTEGER NOT NULL,
        modified_ms INTEGER NOT NULL,
        PRIMARY KEY (pool_id, name)
      );
      CREATE TABLE idp_group_members (
        pool_id    TEXT NOT NULL,
        group_name TEXT NOT NULL,
        sub        TEXT NOT NULL,
        PRIMARY KEY (pool_id, group_name, sub),
        FOREIGN KEY (pool_id, group_name) REFERENCES idp_groups (pool_id, name) ON DELETE CASCADE,
        FOREIGN KEY (pool_id, sub) REFERENCES idp_users (pool_id, sub) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE INDEX idp_group_members_by_user ON idp_group_members (pool_id, sub);
      -- Short-lived values shared by every node: SRP handshakes, sessions, authorization codes.
      CREATE TABLE idp_tickets (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        expires_ms INTEGER NOT NULL
      );
      CREATE INDEX idp_tickets_by_expiry ON idp_tickets (expires_ms);
      CREATE TABLE idp_used_once (
        key        TEXT PRIMARY KEY,
        expires_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX idp_used_once_by_expiry ON idp_used_once (expires_ms);
      CREATE TABLE idp_revoked_origins (
        pool_id    TEXT NOT NULL,
        origin_jti TEXT NOT NULL,
        expires_ms INTEGER NOT NULL,
        PRIMARY KEY (pool_id, origin_jti)
      ) WITHOUT ROWID;
      CREATE INDEX idp_revoked_origins_by_expiry ON idp_revoked_origins (expires_ms);
    )sql",
    // 8: the console (issue 17): operators, their sessions, the audit log, pool usage history.
    R"sql(
      CREATE TABLE console_operators (
        name           TEXT PRIMARY KEY,
        password_hash  TEXT NOT NULL,
        created_ms     INTEGER NOT NULL,
        last_signin_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE console_sessions (
        handle_hash   TEXT PRIMARY KEY,
        operator_name TEXT NOT NULL,
        csrf_token    TEXT NOT NULL,
        created_ms    INTEGER NOT NULL,
        last_seen_ms  INTEGER NOT NULL,
        expires_ms    INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX console_sessions_by_operator ON console_sessions (operator_name);
      CREATE TABLE console_audit (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms         INTEGER NOT NULL,
        operator_name TEXT NOT NULL,
        action        TEXT NOT NULL,
        target        TEXT NOT NULL,
        detail        TEXT NOT NULL,
        outcome       TEXT NOT NULL
      );
      CREATE TABLE console_pool_usage (
        pool_id    TEXT NOT NULL,
        bucket_ms  INTEGER NOT NULL,
        identities INTEGER NOT NULL,
        datasets   INTEGER NOT NULL,
        bytes      INTEGER NOT NULL,
        PRIMARY KEY (pool_id, bucket_ms)
      ) WITHOUT ROWID;
    )sql",
};

}  // namespace

const int64_t kSqliteSchemaVersion = static_cast<int64_t>(kMigrations.size());

Status migrateSqliteSchema(SqliteDb& db) { return migrateSqliteSchemaTo(db, kSqliteSchemaVersion); }

Status migrateSqliteSchemaTo(SqliteDb& db, int64_t target) {
  if (target < 0 || target > kSqliteSchemaVersion)
    return Status::invalidArgument("no schema version " + std::to_string(target));
  // IMMEDIATE: take the write lock before reading user_version, so two processes opening the
  // same new file cannot both run migration 1.
  TETHER_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
  auto rollback = [&db](Status s) {
    if (db.inTransaction()) (void)db.exec("ROLLBACK");
    return s;
  };
  Result<int64_t> version = db.queryInt("PRAGMA user_version");
  if (!version.isOk()) return rollback(version.status());
  if (*version > target) {
    return rollback(Status::invalidArgument(
        "database schema version " + std::to_string(*version) +
        " is newer than this tetherd supports (" + std::to_string(target) +
        "); run a newer tetherd or use another data directory"));
  }
  if (*version < 0) {
    return rollback(Status::corruption("database schema version " + std::to_string(*version) +
                                       " is negative"));
  }
  for (int64_t v = *version; v < target; ++v) {
    Status s = db.exec(kMigrations[static_cast<size_t>(v)]);
    if (!s.isOk()) {
      return rollback(Status(s.code(), "schema migration to version " + std::to_string(v + 1) +
                                           " failed: " + s.message()));
    }
  }
  if (*version != target) {
    // PRAGMA takes no bound parameters; the value is our own integer.
    Status s = db.exec("PRAGMA user_version = " + std::to_string(target));
    if (!s.isOk()) return rollback(s);
  }
  Status s = db.exec("COMMIT");
  if (!s.isOk()) return rollback(s);
  return Status::ok();
}

}  // namespace tether::server
