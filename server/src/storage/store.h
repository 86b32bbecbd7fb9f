// Store: everything tetherd keeps, behind one interface split by concern (pools, identities and
// logins, push-sync devices, auth configuration, datasets and records, and the Cognito User Pools
// of user_pool_store.h). The sync logic (sync/)
// and the identity logic (auth/) see only these interfaces; SQLite (sqlite_store.h, the default)
// and PostgreSQL (pg_store.h) implement them all: every method is pure virtual, so a backend
// that misses one does not compile. app/open_store.h picks the backend from a store URL.
//
// Thread-safety: every method may be called from any thread, concurrently, and from several
// processes (nodes) on one database. Callers serialize the work of one identity themselves
// within a node (a strand per identity); across nodes the backends guarantee the isolation rule
// of docs/storage.md: two write transactions of one dataset never both pass the sync-count check.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/store_transaction.h"
#include "storage/user_pool_store.h"
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

// A login known by its provider only: `tetherd import-cognito` learns from AWS that an identity
// has, say, a graph.facebook.com login, but Cognito's APIs never reveal the provider's user ID.
// The import links it with this placeholder subject (unique per identity, never a real subject:
// it starts with a control character, and LoginResolver refuses a token whose subject does). The
// identity is then authenticated like on AWS (no guest access by its ID alone), and the first
// GetCredentialsForIdentity / GetOpenIdToken that names the identity with a verified login of
// that provider replaces the placeholder with the real subject (LoginResolver).
inline constexpr std::string_view kPendingLoginPrefix = "\x1fpending:";
inline std::string pendingLoginSubject(std::string_view identityId) {
  return std::string(kPendingLoginPrefix) + std::string(identityId);
}
inline bool isPendingLoginSubject(std::string_view subject) { return subject.starts_with(kPendingLoginPrefix); }

// ---- login providers and developer credentials kept in the database (issue 5, auth block)
// An OpenID Connect provider a pool accepts logins from (`tetherd pool add-oidc-provider`).
struct OidcProviderRow {
  std::string poolId;
  std::string name;                    // the Logins key apps send
  std::string issuer;                  // exact `iss`
  std::vector<std::string> audiences;  // accepted `aud` values
  std::string jwksFile;                // exactly one of jwksFile / jwks is non-empty
  std::string jwks;                    // inline JWKS JSON
  int leewaySeconds = 60;
  int64_t createdMs = 0;
  friend bool operator==(const OidcProviderRow&, const OidcProviderRow&) = default;
};

// A long-term developer credential (`tetherd credentials create`). The secret is stored because
// SigV4 and the native developer request are HMACs keyed by it.
struct DeveloperCredentialRow {
  std::string accessKeyId;
  std::string secret;
  std::string description;
  int64_t createdMs = 0;
  friend bool operator==(const DeveloperCredentialRow&, const DeveloperCredentialRow&) = default;
};

// Totals over a pool's live datasets (Cognito DescribeIdentityPoolUsage).
struct PoolUsage {
  int64_t datasetCount = 0;
  int64_t dataStorage = 0;
  int64_t lastModifiedMs = 0;  // 0 = no dataset ever written
};

// A push-sync device of an identity (Cognito RegisterDevice). `deviceId` is chosen by tetherd
// (random); (poolId, identityId, platform, pushToken) is unique. The device's dataset
// subscriptions drive mobile push (APNs/FCM, docs/events.md "Mobile push") and live-sync
// notifications on native connections that present its deviceId (docs/live-sync.md).
struct DeviceInfo {
  std::string poolId;
  std::string identityId;
  std::string deviceId;
  std::string platform;      // APNS, APNS_SANDBOX, GCM or ADM
  std::string pushToken;
  int64_t createdMs = 0;
  friend bool operator==(const DeviceInfo&, const DeviceInfo&) = default;
};

// ---- identity pools
class PoolStore {
 public:
  virtual ~PoolStore() = default;
  // Insert, or replace the pool with the same id. Durable when it returns.
  virtual Status putPool(const PoolInfo& pool) = 0;
  virtual Result<std::optional<PoolInfo>> getPool(std::string_view poolId) = 0;
  virtual Result<std::vector<PoolInfo>> listPools() = 0;  // ordered by createdMs, then id
  // Totals over the pool's live datasets (Cognito DescribeIdentityPoolUsage).
  virtual Result<PoolUsage> poolUsage(std::string_view poolId) = 0;
};

// ---- identities, linked logins and identity administration (Cognito developer operations)
class IdentityStore {
 public:
  virtual ~IdentityStore() = default;
  // kConflict if the id exists. Durable when it returns.
  virtual Status createIdentity(const IdentityInfo& identity) = 0;
  virtual Result<std::optional<IdentityInfo>> getIdentity(std::string_view identityId) = 0;
  // The identity a login is linked to, or nullopt.
  virtual Result<std::optional<std::string>> findLogin(std::string_view poolId, std::string_view provider,
                                                       std::string_view subject) = 0;
  // Links the login. Linking it again to the same identity is a no-op; kConflict (and nothing
  // else means that) if it is linked to another identity. Durable when it returns.
  virtual Status linkLogin(const LoginLink& login) = 0;
  // kNotFound if the login is not linked to `identityId`.
  virtual Status unlinkLogin(std::string_view identityId, std::string_view provider, std::string_view subject) = 0;
  // The identity's logins, ordered by provider then subject.
  virtual Result<std::vector<LoginLink>> listLogins(std::string_view identityId) = 0;
  // Moves every login of `fromIdentity` to `toIdentity` (identity merge).
  virtual Status moveLogins(std::string_view fromIdentity, std::string_view toIdentity) = 0;
  // Identities of a pool ordered by id, ids strictly greater than afterId, at most `limit`.
  virtual Result<std::vector<IdentityInfo>> listIdentities(std::string_view poolId, std::string_view afterId,
                                                           int limit) = 0;
  // kNotFound if the identity does not exist.
  virtual Status setIdentityDisabled(std::string_view identityId, bool disabled) = 0;
  // Removes the identity with its logins, datasets, records (tombstones too), merged relations,
  // devices, subscriptions and its Cognito Streams outbox/feed rows, atomically: no row of any
  // table names it afterwards (a user's erasure request). kNotFound if absent.
  virtual Status deleteIdentity(std::string_view identityId) = 0;
};

// ---- push-sync devices and their dataset subscriptions (Cognito RegisterDevice,
// SubscribeToDataset, UnsubscribeFromDataset). Each call is atomic and durable when it returns.
class DeviceStore {
 public:
  virtual ~DeviceStore() = default;
  // Registers `device`. If (poolId, identityId, platform, pushToken) is already registered, returns
  // that device's ID and changes nothing (AWS returns the same DeviceId); otherwise stores it with
  // device.deviceId and returns that. If the identity then has more than `maxDevices` devices, the
  // oldest (by createdMs, then deviceId) are removed with their subscriptions: a push token that
  // rotates registers again, and the stale registrations must not pile up.
  virtual Result<std::string> registerDevice(const DeviceInfo& device, int maxDevices) = 0;
  virtual Result<std::optional<DeviceInfo>> getDevice(std::string_view poolId, std::string_view identityId,
                                                      std::string_view deviceId) = 0;
  // Subscribing again is a no-op. kNotFound: the device is not registered for this identity;
  // kLimitExceeded: the device already has `maxSubscriptions` other subscriptions.
  virtual Status subscribeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId,
                                 std::string_view dataset, int maxSubscriptions) = 0;
  // kNotFound: the device is not registered for this identity, or not subscribed to `dataset`.
  virtual Status unsubscribeDevice(std::string_view poolId, std::string_view identityId,
                                   std::string_view deviceId, std::string_view dataset) = 0;
  // Every device of the identity, ordered by deviceId (`tetherd store copy`, administration).
  virtual Result<std::vector<DeviceInfo>> listDevices(std::string_view poolId, std::string_view identityId) = 0;
  // The datasets the device is subscribed to, by name; empty for an unknown device.
  virtual Result<std::vector<std::string>> listDeviceSubscriptions(std::string_view poolId,
                                                                   std::string_view identityId,
                                                                   std::string_view deviceId) = 0;
  // The devices of the identity subscribed to `dataset`, ordered by deviceId (mobile push).
  virtual Result<std::vector<DeviceInfo>> listSubscribedDevices(std::string_view poolId, std::string_view identityId,
                                                                std::string_view dataset) = 0;
  // Removes the device with its subscriptions (a push token the provider reports as gone).
  // kNotFound if it is not registered for this identity.
  virtual Status removeDevice(std::string_view poolId, std::string_view identityId, std::string_view deviceId) = 0;
  // Identity merge: moves every device of `fromIdentity` (with its subscriptions, dataset names
  // unchanged) to `toIdentity`. A device whose (platform, pushToken) `toIdentity` already has is
  // dropped with its subscriptions (the survivor's registration wins). deleteIdentity() removes
  // an identity's devices and subscriptions itself.
  virtual Status moveDevices(std::string_view poolId, std::string_view fromIdentity, std::string_view toIdentity) = 0;
};

// ---- auth configuration kept in the database: login providers, developer credentials, and
// meta (small server key-value settings, e.g. the shared signing keys on PostgreSQL).
class AuthConfigStore {
 public:
  virtual ~AuthConfigStore() = default;
  // Insert, or replace the provider with the same (poolId, name). Durable when it returns.
  virtual Status putOidcProvider(const OidcProviderRow& provider) = 0;
  // kNotFound if the pool has no provider of that name.
  virtual Status deleteOidcProvider(std::string_view poolId, std::string_view name) = 0;
  // The providers of one pool ("" = every pool), ordered by pool then name.
  virtual Result<std::vector<OidcProviderRow>> listOidcProviders(std::string_view poolId) = 0;
  // The pool's developer provider name ("" = none). kNotFound if the pool does not exist.
  virtual Result<std::string> getPoolDeveloperProvider(std::string_view poolId) = 0;
  // kNotFound if the pool does not exist. "" removes it.
  virtual Status setPoolDeveloperProvider(std::string_view poolId, std::string_view name) = 0;
  // kConflict if the access key ID exists.
  virtual Status createDeveloperCredential(const DeveloperCredentialRow& credential) = 0;
  virtual Result<std::optional<DeveloperCredentialRow>> findDeveloperCredential(std::string_view accessKeyId) = 0;
  virtual Result<std::vector<DeveloperCredentialRow>> listDeveloperCredentials() = 0;  // by access key ID
  // kNotFound if absent.
  virtual Status deleteDeveloperCredential(std::string_view accessKeyId) = 0;

  virtual Result<std::optional<std::string>> getMeta(std::string_view key) = 0;
  // Insert or replace. Durable when it returns.
  virtual Status putMeta(std::string_view key, std::string_view value) = 0;
  // Every meta key that starts with `prefix` ("" = all) with its value, ordered by key.
  virtual Result<std::vector<std::pair<std::string, std::string>>> listMeta(std::string_view prefix) = 0;
  // Insert unless the key exists; returns the stored value (ours, or the one that was there or
  // won a concurrent insert on another node). Durable when it returns.
  virtual Result<std::string> putMetaIfAbsent(std::string_view key, std::string_view value) = 0;
};

// ---- datasets and records (store_transaction.h)
class DatasetStore {
 public:
  virtual ~DatasetStore() = default;
  // A read-write transaction: the sync logic reads, checks and writes inside it atomically.
  // Isolation (docs/storage.md): inside a write transaction, getDataset locks the dataset (a
  // missing dataset, and countLiveDatasets, lock the identity's dataset set), so two write
  // transactions of one dataset, on one node or on two, never both pass the sync-count check.
  // The SQLite store runs write transactions one at a time; the PostgreSQL store runs them
  // concurrently under row locks, and may abort one (a deadlock or serialization failure:
  // nothing was written, failedRetryably() is true, and the caller runs its whole logic again
  // in a new transaction; runWriteTransaction() does that, bounded).
  virtual Result<std::unique_ptr<StoreTransaction>> begin() = 0;
  // A transaction for reads only (a consistent snapshot); writing through it is a bug.
  // Implementations may let these run beside a writer.
  virtual Result<std::unique_ptr<StoreTransaction>> beginRead() = 0;
};

// ---- Console (issue 17): operators, console sessions, the audit log and pool usage history
// (docs/console.md). Each call is atomic and durable when it returns.
struct OperatorRow {
  std::string name;          // 1..64 chars of [A-Za-z0-9._@-]
  std::string passwordHash;  // an Argon2id encoded string ($argon2id$...)
  int64_t createdMs = 0;
  int64_t lastSignInMs = 0;  // 0 = never
  friend bool operator==(const OperatorRow&, const OperatorRow&) = default;
};

struct ConsoleSessionRow {
  std::string handleHash;    // hex SHA-256 of the cookie's handle (the handle itself is never stored)
  std::string operatorName;
  std::string csrfToken;
  int64_t createdMs = 0;
  int64_t lastSeenMs = 0;
  int64_t expiresMs = 0;     // absolute expiry
  friend bool operator==(const ConsoleSessionRow&, const ConsoleSessionRow&) = default;
};

struct AuditEntry {
  int64_t id = 0;            // assigned by appendAudit, increasing
  int64_t atMs = 0;
  std::string operatorName;
  std::string action;        // "PUT pools/eu-west-1:..."
  std::string target;
  std::string detail;
  std::string outcome;       // "ok" or the error name
  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

struct UsageSample {
  std::string poolId;
  int64_t bucketMs = 0;      // the sampling bucket's start
  int64_t identities = 0;
  int64_t datasets = 0;
  int64_t bytes = 0;
  friend bool operator==(const UsageSample&, const UsageSample&) = default;
};

class ConsoleStore {
 public:
  virtual ~ConsoleStore() = default;
  // kConflict if the name exists.
  virtual Status createOperator(const OperatorRow& op) = 0;
  virtual Result<std::optional<OperatorRow>> getOperator(std::string_view name) = 0;
  virtual Result<std::vector<OperatorRow>> listOperators() = 0;  // by name
  // kNotFound if absent. Both also end the operator's console sessions.
  virtual Status setOperatorPassword(std::string_view name, std::string_view passwordHash) = 0;
  virtual Status deleteOperator(std::string_view name) = 0;
  virtual Status recordOperatorSignIn(std::string_view name, int64_t atMs) = 0;

  // kConflict if the handle hash exists.
  virtual Status createConsoleSession(const ConsoleSessionRow& session) = 0;
  virtual Result<std::optional<ConsoleSessionRow>> getConsoleSession(std::string_view handleHash) = 0;
  virtual Status touchConsoleSession(std::string_view handleHash, int64_t lastSeenMs) = 0;
  virtual Status deleteConsoleSession(std::string_view handleHash) = 0;  // absent: ok
  // Removes sessions last seen before `idleBeforeMs` or expired at `nowMs`; returns how many.
  virtual Result<int64_t> pruneConsoleSessions(int64_t idleBeforeMs, int64_t nowMs) = 0;

  // Appends the entry (its id is ignored) and returns the id it got.
  virtual Result<int64_t> appendAudit(const AuditEntry& entry) = 0;
  // Newest first: entries with id < beforeId (0 = from the newest), at most `limit`.
  virtual Result<std::vector<AuditEntry>> listAudit(int64_t beforeId, int limit) = 0;

  // Insert, or replace the sample of the same (poolId, bucketMs): several nodes sampling one
  // bucket leave one row.
  virtual Status putUsageSample(const UsageSample& sample) = 0;
  // The pool's samples with bucketMs >= sinceMs, oldest first.
  virtual Result<std::vector<UsageSample>> listUsageSamples(std::string_view poolId, int64_t sinceMs) = 0;
  virtual Result<int64_t> pruneUsageSamples(int64_t beforeMs) = 0;
  // The number of identities of the pool (disabled ones too).
  virtual Result<int64_t> countPoolIdentities(std::string_view poolId) = 0;
};
// ---- end Console (issue 17)

class Store : public PoolStore,
              public IdentityStore,
              public DeviceStore,
              public AuthConfigStore,
              public DatasetStore,
              public UserPoolStore,
              public ConsoleStore {  // Console (issue 17)
 public:
  ~Store() override = default;
};

}  // namespace tether::server
