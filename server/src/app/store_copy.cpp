// tetherd store copy: see store_copy.h.
#include "app/store_copy.h"

#include <openssl/evp.h>

#include <climits>
#include <iostream>
#include <limits>
#include <memory>

#include "app/open_store.h"

namespace tether::server {
namespace {

// The secrets tetherd keeps (auth/signing_key.cpp, auth/session_token_signer.cpp,
// cognito/temporary_credentials.cpp), each at most this big.
constexpr const char* kSecretNames[] = {"signing-key.pem", "session-key", "credentials-key"};
constexpr size_t kMaxSecretBytes = 65536;
constexpr int kPage = 500;

// Feeds length-prefixed fields into one SHA-256, so that ("ab","c") and ("a","bc") differ.
class Digest {
 public:
  Digest() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Digest() { EVP_MD_CTX_free(ctx_); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  Digest& add(std::string_view s) {
    add(static_cast<int64_t>(s.size()));
    EVP_DigestUpdate(ctx_, s.data(), s.size());
    return *this;
  }
  Digest& add(int64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * i));
    EVP_DigestUpdate(ctx_, b, sizeof b);
    return *this;
  }
  Digest& addOptional(const std::optional<std::string>& v) {
    add(int64_t{v.has_value() ? 1 : 0});
    if (v) add(*v);
    return *this;
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 15];
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Calls fn(identity) for every identity of the pool, page by page.
template <class Fn>
Status forEachIdentity(Store& store, const std::string& poolId, Fn&& fn) {
  std::string after;
  while (true) {
    TETHER_TRY(std::vector<IdentityInfo> page, store.listIdentities(poolId, after, kPage));
    for (const IdentityInfo& i : page) TETHER_RETURN_IF_ERROR(fn(i));
    if (static_cast<int>(page.size()) < kPage) return Status::ok();
    after = page.back().id;
  }
}

// One identity's datasets as stored: rows (deleted ones too), all records, merged relations.
struct DatasetData {
  DatasetRow row;
  std::vector<Record> records;
  std::vector<std::string> merged;
};

Result<std::vector<DatasetData>> readDatasets(Store& store, const OwnerRef& owner) {
  TETHER_TRY(std::unique_ptr<StoreTransaction> txn, store.beginRead());
  std::vector<DatasetData> out;
  std::string after;
  while (true) {
    TETHER_TRY(std::vector<DatasetRow> rows, txn->listDatasets(owner, DatasetFilter::kAll, after, kPage));
    for (DatasetRow& row : rows) {
      DatasetData d;
      RecordQuery q;
      q.afterSyncCount = 0;  // every record (sync counts start at 1)
      q.limit = 1024;
      while (true) {
        TETHER_TRY(std::vector<Record> page, txn->listRecords(owner, row.name, q));
        for (Record& r : page) d.records.push_back(std::move(r));
        if (page.size() < static_cast<size_t>(q.limit)) break;
        q.after = RecordCursor{d.records.back().syncCount, d.records.back().key};
      }
      TETHER_TRY(d.merged, txn->listMergedDatasets(owner, row.name));
      d.row = std::move(row);
      out.push_back(std::move(d));
    }
    if (static_cast<int>(rows.size()) < kPage) break;
    after = out.back().row.name;
  }
  return out;
}

// Calls fn(row) for every row of a paged list: list(after) returns a page of at most kPage rows
// after `after`, next(row) the position after a row.
template <class After, class List, class Next, class Fn>
Status forEachRow(After after, List&& list, Next&& next, Fn&& fn) {
  while (true) {
    TETHER_TRY(auto page, list(after));
    for (const auto& row : page) TETHER_RETURN_IF_ERROR(fn(row));
    if (static_cast<int>(page.size()) < kPage) return Status::ok();
    after = next(page.back());
  }
}

// Calls the visitor's functions for every user pool and what it holds, in a fixed order: pool(p),
// client(c), user(u), group(g), member(g, u) for each member of g, revoked(poolId, r).
template <class Visitor>
Status forEachUserPoolRow(Store& store, Visitor& v) {
  auto byId = [](const auto& row) { return row.id; };
  return forEachRow(std::string(), [&](const std::string& a) { return store.listUserPools(a, kPage); }, byId,
                    [&](const UserPoolRow& pool) -> Status {
    TETHER_RETURN_IF_ERROR(v.pool(pool));
    const std::string& id = pool.id;
    TETHER_RETURN_IF_ERROR(forEachRow(
        std::string(), [&](const std::string& a) { return store.listUserPoolClients(id, a, kPage); },
        [](const UserPoolClientRow& c) { return c.clientId; }, [&](const UserPoolClientRow& c) { return v.client(c); }));
    auto byCursor = [](const UserRow& u) { return UserCursor{u.createdMs, u.sub}; };
    TETHER_RETURN_IF_ERROR(forEachRow(
        UserCursor{}, [&](const UserCursor& a) { return store.listUsers(id, UserFilter{}, a, kPage); }, byCursor,
        [&](const UserRow& u) { return v.user(u); }));
    TETHER_RETURN_IF_ERROR(forEachRow(
        std::string(), [&](const std::string& a) { return store.listUserGroups(id, a, kPage); },
        [](const UserGroupRow& g) { return g.name; }, [&](const UserGroupRow& g) -> Status {
          TETHER_RETURN_IF_ERROR(v.group(g));
          return forEachRow(
              UserCursor{}, [&](const UserCursor& a) { return store.listUsersInGroup(id, g.name, a, kPage); },
              byCursor, [&](const UserRow& u) { return v.member(g, u); });
        }));
    return forEachRow(
        std::string(), [&](const std::string& a) { return store.listRevokedOrigins(id, a, kPage); },
        [](const RevokedOrigin& r) { return r.originJti; }, [&](const RevokedOrigin& r) { return v.revoked(id, r); });
  });
}

// Writes every user-pool row it visits into `to`.
struct UserPoolCopier {
  Store& to;
  StoreCopyCounts& n;
  Status pool(const UserPoolRow& p) {
    n.userPools++;
    return to.createUserPool(p);
  }
  Status client(const UserPoolClientRow& c) {
    n.userPoolClients++;
    return to.createUserPoolClient(c);
  }
  Status user(const UserRow& u) {
    TETHER_TRY(UserWriteOutcome outcome, to.insertUser(u));
    if (outcome != UserWriteOutcome::kOk)
      return Status::internal("user " + u.sub + " of user pool " + u.poolId + " could not be inserted (outcome " +
                              std::to_string(static_cast<int>(outcome)) + ")");
    n.users++;
    return Status::ok();
  }
  Status group(const UserGroupRow& g) {
    n.userGroups++;
    return to.createUserGroup(g);
  }
  Status member(const UserGroupRow& g, const UserRow& u) {
    n.groupMemberships++;
    return to.addUserToGroup(g.poolId, g.name, u.sub);
  }
  Status revoked(const std::string& poolId, const RevokedOrigin& r) {
    n.revokedOrigins++;
    return to.revokeOrigin(poolId, r.originJti, r.expiresMs);
  }
};

// Counts and digests every user-pool row it visits (a user's version left out: see store_copy.h).
struct UserPoolDigester {
  Digest& all;
  StoreCopyCounts& n;
  Status pool(const UserPoolRow& p) {
    n.userPools++;
    all.add(p.id).add(p.name).add(p.domain).add(p.createdMs).add(p.modifiedMs).add(p.configJson);
    return Status::ok();
  }
  Status client(const UserPoolClientRow& c) {
    n.userPoolClients++;
    all.add(c.clientId).add(c.name).add(c.createdMs).add(c.modifiedMs).add(c.configJson);
    return Status::ok();
  }
  Status user(const UserRow& u) {
    n.users++;
    all.add(u.sub).add(u.username).add(u.usernameKey).add(u.status).add(int64_t{u.enabled}).add(u.createdMs)
        .add(u.modifiedMs).add(u.stateJson);
    all.add(static_cast<int64_t>(u.attributes.size()));
    for (const auto& [name, value] : u.attributes) all.add(name).add(value);
    all.add(static_cast<int64_t>(u.aliases.size()));
    for (const UserAlias& a : u.aliases) all.add(a.kind).add(a.valueKey);
    return Status::ok();
  }
  Status group(const UserGroupRow& g) {
    n.userGroups++;
    all.add(g.name).add(g.description).add(g.roleArn).add(int64_t{g.precedence.has_value()})
        .add(g.precedence.value_or(0)).add(g.createdMs).add(g.modifiedMs);
    return Status::ok();
  }
  Status member(const UserGroupRow&, const UserRow& u) {
    n.groupMemberships++;
    all.add(u.sub);
    return Status::ok();
  }
  Status revoked(const std::string&, const RevokedOrigin& r) {
    n.revokedOrigins++;
    all.add(r.originJti).add(r.expiresMs);
    return Status::ok();
  }
};

Status requireEmpty(Store& to, auth::SecretStore& toSecrets) {
  TETHER_TRY(std::vector<PoolInfo> pools, to.listPools());
  TETHER_TRY(std::vector<UserPoolRow> userPools, to.listUserPools("", 1));
  TETHER_TRY(std::vector<DeveloperCredentialRow> creds, to.listDeveloperCredentials());
  TETHER_TRY(std::vector<OidcProviderRow> providers, to.listOidcProviders(""));
  TETHER_TRY(auto meta, to.listMeta(""));
  bool hasSecret = false;
  for (const char* name : kSecretNames) {
    Result<std::string> s = toSecrets.loadOrCreate(name, kMaxSecretBytes, []() -> Result<std::string> {
      return Status::notFound("absent");
    });
    if (s.isOk()) hasSecret = true;
    else if (s.status().code() != StatusCode::kNotFound) return s.status();
  }
  if (!pools.empty() || !userPools.empty() || !creds.empty() || !providers.empty() || !meta.empty() || hasSecret)
    return Status::conflict("the target store is not empty (" + std::to_string(pools.size()) + " pools, " +
                            (userPools.empty() ? "" : "user pools, ") +
                            std::to_string(creds.size()) + " developer credentials, " +
                            std::to_string(meta.size()) + " settings" + (hasSecret ? ", keys" : "") +
                            "); copy into an empty database");
  return Status::ok();
}

}  // namespace

Result<StoreCopyCounts> copyStore(Store& from, auth::SecretStore& fromSecrets, Store& to,
                                  auth::SecretStore& toSecrets) {
  TETHER_RETURN_IF_ERROR(requireEmpty(to, toSecrets));
  StoreCopyCounts n;

  // Secrets first: the tokens and credentials devices hold were signed with them.
  for (const char* name : kSecretNames) {
    Result<std::string> bytes = fromSecrets.loadOrCreate(name, kMaxSecretBytes, []() -> Result<std::string> {
      return Status::notFound("absent");
    });
    if (!bytes.isOk()) {
      if (bytes.status().code() == StatusCode::kNotFound) continue;  // never created: nothing to keep
      return bytes.status();
    }
    TETHER_TRY(std::string stored, toSecrets.loadOrCreate(name, kMaxSecretBytes, [&]() -> Result<std::string> {
      return *bytes;
    }));
    if (stored != *bytes) return Status::conflict(std::string("secret ") + name + " changed in the target meanwhile");
    n.secrets++;
  }
  TETHER_TRY(auto meta, from.listMeta(""));
  for (const auto& [key, value] : meta) {
    if (key.rfind("secret/", 0) == 0) continue;  // copied above, through the secret stores
    TETHER_TRY(std::string stored, to.putMetaIfAbsent(key, value));
    (void)stored;
    n.metaKeys++;
  }
  TETHER_TRY(std::vector<DeveloperCredentialRow> creds, from.listDeveloperCredentials());
  for (const DeveloperCredentialRow& c : creds) {
    TETHER_RETURN_IF_ERROR(to.createDeveloperCredential(c));
    n.developerCredentials++;
  }

  TETHER_TRY(std::vector<PoolInfo> pools, from.listPools());
  for (const PoolInfo& pool : pools) {
    TETHER_RETURN_IF_ERROR(to.putPool(pool));
    n.pools++;
    TETHER_TRY(std::string developer, from.getPoolDeveloperProvider(pool.id));
    if (!developer.empty()) TETHER_RETURN_IF_ERROR(to.setPoolDeveloperProvider(pool.id, developer));
    TETHER_TRY(std::vector<OidcProviderRow> providers, from.listOidcProviders(pool.id));
    for (const OidcProviderRow& p : providers) {
      TETHER_RETURN_IF_ERROR(to.putOidcProvider(p));
      n.oidcProviders++;
    }
    TETHER_RETURN_IF_ERROR(forEachIdentity(from, pool.id, [&](const IdentityInfo& identity) -> Status {
      TETHER_RETURN_IF_ERROR(to.createIdentity(identity));
      if (identity.disabled) TETHER_RETURN_IF_ERROR(to.setIdentityDisabled(identity.id, true));
      n.identities++;
      TETHER_TRY(std::vector<LoginLink> logins, from.listLogins(identity.id));
      for (const LoginLink& l : logins) {
        TETHER_RETURN_IF_ERROR(to.linkLogin(l));
        n.logins++;
      }
      TETHER_TRY(std::vector<DeviceInfo> devices, from.listDevices(pool.id, identity.id));
      for (const DeviceInfo& d : devices) {
        TETHER_TRY(std::string id, to.registerDevice(d, std::numeric_limits<int>::max()));
        if (id != d.deviceId) return Status::internal("device " + d.deviceId + " was registered as " + id);
        n.devices++;
        TETHER_TRY(std::vector<std::string> subs, from.listDeviceSubscriptions(pool.id, identity.id, d.deviceId));
        for (const std::string& s : subs) {
          TETHER_RETURN_IF_ERROR(to.subscribeDevice(pool.id, identity.id, d.deviceId, s, std::numeric_limits<int>::max()));
          n.subscriptions++;
        }
      }
      OwnerRef owner{pool.id, identity.id};
      TETHER_TRY(std::vector<DatasetData> datasets, readDatasets(from, owner));
      if (datasets.empty()) return Status::ok();
      // One transaction per identity: its datasets arrive whole or not at all.
      TETHER_TRY(std::unique_ptr<StoreTransaction> txn, to.begin());
      for (const DatasetData& d : datasets) {
        TETHER_RETURN_IF_ERROR(txn->putDataset(owner, d.row));
        if (!d.records.empty()) TETHER_RETURN_IF_ERROR(txn->putRecords(owner, d.row.name, d.records));
        for (const std::string& m : d.merged) TETHER_RETURN_IF_ERROR(txn->addMergedDataset(owner, d.row.name, m));
        n.datasets++;
        n.mergedRelations += static_cast<int64_t>(d.merged.size());
        for (const Record& r : d.records) (r.value ? n.records : n.tombstones)++;
      }
      return txn->commit();
    }));
  }
  UserPoolCopier copier{to, n};
  TETHER_RETURN_IF_ERROR(forEachUserPoolRow(from, copier));
  return n;
}

Result<StoreSummary> summarizeStore(Store& store) {
  StoreSummary out;
  StoreCopyCounts& n = out.counts;
  Digest all;
  TETHER_TRY(std::vector<PoolInfo> pools, store.listPools());
  for (const PoolInfo& pool : pools) {
    n.pools++;
    all.add(pool.id).add(pool.name).add(int64_t{pool.allowGuests}).add(pool.createdMs);
    TETHER_TRY(std::string developer, store.getPoolDeveloperProvider(pool.id));
    all.add(developer);
    TETHER_TRY(std::vector<OidcProviderRow> providers, store.listOidcProviders(pool.id));
    for (const OidcProviderRow& p : providers) {
      n.oidcProviders++;
      all.add(p.name).add(p.issuer).add(p.jwksFile).add(p.jwks).add(int64_t{p.leewaySeconds});
      for (const std::string& a : p.audiences) all.add(a);
    }
    TETHER_RETURN_IF_ERROR(forEachIdentity(store, pool.id, [&](const IdentityInfo& identity) -> Status {
      n.identities++;
      all.add(identity.id).add(identity.createdMs).add(int64_t{identity.disabled});
      TETHER_TRY(std::vector<LoginLink> logins, store.listLogins(identity.id));
      for (const LoginLink& l : logins) {
        n.logins++;
        all.add(l.provider).add(l.subject);
      }
      TETHER_TRY(std::vector<DeviceInfo> devices, store.listDevices(pool.id, identity.id));
      for (const DeviceInfo& d : devices) {
        n.devices++;
        all.add(d.deviceId).add(d.platform).add(d.pushToken).add(d.createdMs);
        TETHER_TRY(std::vector<std::string> subs, store.listDeviceSubscriptions(pool.id, identity.id, d.deviceId));
        for (const std::string& s : subs) {
          n.subscriptions++;
          all.add(s);
        }
      }
      TETHER_TRY(std::vector<DatasetData> datasets, readDatasets(store, OwnerRef{pool.id, identity.id}));
      for (const DatasetData& d : datasets) {
        n.datasets++;
        const DatasetRow& r = d.row;
        all.add(r.name).add(r.syncCount).add(int64_t{r.live}).add(r.deletedAtSyncCount.value_or(-1))
            .add(r.creationMs).add(r.lastModifiedMs).add(r.lastModifiedBy).add(r.dataStorage).add(r.numRecords);
        all.add(static_cast<int64_t>(d.records.size()));
        for (const Record& rec : d.records) {
          (rec.value ? n.records : n.tombstones)++;
          all.add(rec.key).addOptional(rec.value).add(rec.syncCount).add(rec.lastModifiedMs).add(rec.lastModifiedBy)
              .add(rec.deviceLastModifiedMs);
        }
        for (const std::string& m : d.merged) all.add(m);
        n.mergedRelations += static_cast<int64_t>(d.merged.size());
      }
      return Status::ok();
    }));
  }
  TETHER_TRY(std::vector<DeveloperCredentialRow> creds, store.listDeveloperCredentials());
  for (const DeveloperCredentialRow& c : creds) {
    n.developerCredentials++;
    all.add(c.accessKeyId).add(c.secret).add(c.description).add(c.createdMs);
  }
  TETHER_TRY(auto meta, store.listMeta(""));
  for (const auto& [key, value] : meta) {
    if (key.rfind("secret/", 0) == 0) continue;  // where secrets live differs by backend
    n.metaKeys++;
    all.add(key).add(value);
  }
  UserPoolDigester digester{all, n};
  TETHER_RETURN_IF_ERROR(forEachUserPoolRow(store, digester));
  out.checksum = all.hex();
  return out;
}

int runStoreCopy(const std::string& fromUrl, const std::string& toUrl) {
  Result<OpenedStore> from = openStore(fromUrl, OpenMode::kMustExist);
  if (!from.isOk()) {
    std::cerr << "tetherd store copy: cannot open the source " << fromUrl << ": " << from.status() << "\n";
    return 1;
  }
  Result<OpenedStore> to = openStore(toUrl, OpenMode::kCreate);
  if (!to.isOk()) {
    std::cerr << "tetherd store copy: cannot open the target " << toUrl << ": " << to.status() << "\n";
    return 1;
  }
  Result<StoreCopyCounts> copied = copyStore(*from->store, *from->secrets, *to->store, *to->secrets);
  if (!copied.isOk()) {
    std::cerr << "tetherd store copy: " << copied.status() << "\n";
    return 1;
  }
  const StoreCopyCounts& n = *copied;
  std::cout << "copied " << n.pools << " pools, " << n.identities << " identities, " << n.logins << " logins, "
            << n.datasets << " datasets, " << n.records << " records, " << n.tombstones << " tombstones, "
            << n.mergedRelations << " merged-dataset relations, " << n.devices << " devices, " << n.subscriptions
            << " subscriptions, " << n.oidcProviders << " OIDC providers, " << n.developerCredentials
            << " developer credentials, " << n.metaKeys << " settings, " << n.secrets << " keys, " << n.userPools
            << " user pools, " << n.userPoolClients << " app clients, " << n.users << " users, " << n.userGroups
            << " user groups, " << n.groupMemberships << " group memberships, " << n.revokedOrigins
            << " revoked sessions\n";
  Result<StoreSummary> a = summarizeStore(*from->store);
  Result<StoreSummary> b = summarizeStore(*to->store);
  if (!a.isOk() || !b.isOk()) {
    std::cerr << "tetherd store copy: verification could not read a store: " << (a.isOk() ? b.status() : a.status())
              << "\n";
    return 1;
  }
  if (!(*a == *b)) {
    std::cerr << "tetherd store copy: VERIFICATION FAILED: source " << a->counts.records << " records, checksum "
              << a->checksum << "; target " << b->counts.records << " records, checksum " << b->checksum << "\n";
    return 1;
  }
  std::cout << "verified: " << a->counts.datasets << " datasets, " << a->counts.records << " records and "
            << a->counts.tombstones << " tombstones on both sides, sha256 " << a->checksum << "\n";
  return 0;
}

}  // namespace tether::server
