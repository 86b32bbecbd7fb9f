// `tetherd store copy --from URL --to URL`: moves a deployment from one store to another (the
// usual case: off the SQLite default onto PostgreSQL for scale-out, docs/scale-out.md), with
// everything a device or an app backend holds a reference to, unchanged: pools and their login
// providers, identities (disabled ones too) and logins, datasets with their sync counts, dates
// and deletion markers, every record with its sync count and dates (tombstones included), merged
// dataset relations, push-sync devices and subscriptions, developer credentials, meta settings
// and every secret (token signing keys, rotated ones too, session-token and credential keys,
// the user-pool sealing, at-rest and token keys; the at-rest keys into `--key-dir` when given,
// the target's [user_pools] key_dir). Devices therefore go
// on syncing against the new store without a re-pull and without conflicts, and the tokens and
// credentials they hold stay valid. Cognito User Pools too: pools, app clients, users (with
// their attributes, aliases and state), groups and memberships, and revoked refresh-token
// sessions. Not copied: user-pool tickets (SRP handshakes, challenge sessions, authorization
// codes, used-once markers: minutes-long, the clients holding them simply sign in again), and a
// user's version (a concurrency token nothing outside the store keeps: every user arrives with
// version 1, and the verification leaves it out).
//
// The target must be empty (no pool, user pool, credential, provider or secret): copying into a live
// deployment would merge two histories. The source should not be served while it is copied
// (stop tetherd first): the copy reads it in many transactions. Afterwards both sides are read
// again and compared, dataset by dataset (record counts and a SHA-256 over every field).
// The walk over pools and identities and the writes are shared with export/import (store_walk.h).
#pragma once

#include <cstdint>
#include <string>

#include "auth/secret_store.h"
#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

struct StoreCopyCounts {
  int64_t pools = 0, identities = 0, logins = 0, datasets = 0, records = 0, tombstones = 0, mergedRelations = 0,
          devices = 0, subscriptions = 0, oidcProviders = 0, developerCredentials = 0, metaKeys = 0, secrets = 0;
  int64_t userPools = 0, userPoolClients = 0, users = 0, userGroups = 0, groupMemberships = 0, revokedOrigins = 0;
  friend bool operator==(const StoreCopyCounts&, const StoreCopyCounts&) = default;
};

// Copies `from` into `to`. kFailedPrecondition-like refusal as kConflict ("target is not
// empty") before anything is written; other errors as the stores report them (a failure part
// way leaves a partial target: empty it, e.g. DROP and re-create the database, and run again).
// Every secret of `from` is copied (signing keys incl. rotated ones, session and credential keys,
// the user-pool sealing and token keys); the user-pool at-rest keys (idp-at-rest.key*) go to
// `atRestSecrets` when given (the target's [user_pools] key_dir), else to `toSecrets`.
Result<StoreCopyCounts> copyStore(Store& from, auth::SecretStore& fromSecrets, Store& to,
                                  auth::SecretStore& toSecrets, auth::SecretStore* atRestSecrets = nullptr);

// What a store holds, dataset by dataset: the counts and one SHA-256 (hex) over every pool,
// identity, login, device, subscription, dataset row, record and merged relation, and every
// user pool, app client, user, group, membership and revocation, in a fixed order. Two stores
// with equal summaries hold the same data.
struct StoreSummary {
  StoreCopyCounts counts;
  std::string checksum;
  friend bool operator==(const StoreSummary&, const StoreSummary&) = default;
};
Result<StoreSummary> summarizeStore(Store& store);

// The command: opens both URLs, copies, verifies, prints the counts. Exit code.
int runStoreCopy(const std::string& fromUrl, const std::string& toUrl, const std::string& keyDir = "");

}  // namespace tether::server
