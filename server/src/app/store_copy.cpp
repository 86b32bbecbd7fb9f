// tetherd store copy: see store_copy.h.
#include "app/store_copy.h"

#include <climits>
#include <iostream>
#include <limits>
#include <memory>

#include "app/open_store.h"
#include "idp/crypto/idp_keyring.h"
#include "app/store_walk.h"

namespace tether::server {
namespace {

constexpr int kPage = kWalkPage;

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

void countIdentity(StoreCopyCounts& n, const IdentityData& data) {
  n.identities++;
  n.logins += static_cast<int64_t>(data.logins.size());
  for (const DeviceData& d : data.devices) {
    n.devices++;
    n.subscriptions += static_cast<int64_t>(d.subscriptions.size());
  }
  for (const DatasetData& d : data.datasets) {
    n.datasets++;
    n.mergedRelations += static_cast<int64_t>(d.merged.size());
    for (const Record& r : d.records) (r.value ? n.records : n.tombstones)++;
  }
}

// Every secret `from` keeps: the names directly in its secret store (the token signing keys,
// rotated ones too, the session-token and credential keys, the user-pool sealing keys) and each
// user pool's token keys (idp/<poolId>/..., in folders a file store does not list).
Result<std::vector<std::string>> secretNames(Store& from, auth::SecretStore& secrets) {
  TETHER_TRY(std::vector<std::string> names, secrets.list(""));
  std::string after;
  while (true) {
    TETHER_TRY(std::vector<UserPoolRow> pools, from.listUserPools(after, kPage));
    for (const UserPoolRow& p : pools) {
      names.push_back(idp::IdpKeyring::idKeyName(p.id));
      names.push_back(idp::IdpKeyring::accessKeyName(p.id));
    }
    if (static_cast<int>(pools.size()) < kPage) break;
    after = pools.back().id;
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

bool isAtRestKey(std::string_view name) { return name.starts_with(idp::IdpKeyring::kAtRestKeyName); }

Status requireEmpty(Store& to, auth::SecretStore& toSecrets) {
  TETHER_TRY(std::vector<PoolInfo> pools, to.listPools());
  TETHER_TRY(std::vector<UserPoolRow> userPools, to.listUserPools("", 1));
  TETHER_TRY(std::vector<DeveloperCredentialRow> creds, to.listDeveloperCredentials());
  TETHER_TRY(std::vector<OidcProviderRow> providers, to.listOidcProviders(""));
  TETHER_TRY(auto meta, to.listMeta(""));
  bool hasSecret = false;
  TETHER_TRY(std::vector<std::string> secrets, toSecrets.list(""));
  hasSecret = !secrets.empty();
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
                                  auth::SecretStore& toSecrets, auth::SecretStore* atRestSecrets) {
  TETHER_RETURN_IF_ERROR(requireEmpty(to, toSecrets));
  StoreCopyCounts n;

  // Secrets first: the tokens and credentials devices hold were signed with them, and user-pool
  // values were sealed with them.
  TETHER_TRY(std::vector<std::string> names, secretNames(from, fromSecrets));
  for (const std::string& name : names) {
    auth::SecretStore& target = atRestSecrets != nullptr && isAtRestKey(name) ? *atRestSecrets : toSecrets;
    Result<std::string> bytes = fromSecrets.loadOrCreate(name, kMaxSecretBytes, []() -> Result<std::string> {
      return Status::notFound("absent");
    });
    if (!bytes.isOk()) {
      if (bytes.status().code() == StatusCode::kNotFound) continue;  // never created: nothing to keep
      return bytes.status();
    }
    TETHER_TRY(std::string stored, target.loadOrCreate(name, kMaxSecretBytes, [&]() -> Result<std::string> {
      return *bytes;
    }));
    if (stored != *bytes)
      return Status::conflict("secret " + name + " differs in the target (" + target.describe(name) + ")");
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
    TETHER_TRY(PoolData poolData, readPool(from, pool));
    TETHER_RETURN_IF_ERROR(writePool(to, poolData));
    n.pools++;
    n.oidcProviders += static_cast<int64_t>(poolData.oidcProviders.size());
    TETHER_RETURN_IF_ERROR(forEachIdentity(from, pool.id, [&](const IdentityInfo& identity) -> Status {
      TETHER_TRY(IdentityData data, readIdentity(from, identity));
      TETHER_RETURN_IF_ERROR(writeIdentity(to, data));
      countIdentity(n, data);
      return Status::ok();
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
      TETHER_TRY(IdentityData data, readIdentity(store, identity));
      countIdentity(n, data);
      digestIdentity(all, data);
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

int runStoreCopy(const std::string& fromUrl, const std::string& toUrl, const std::string& keyDir) {
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
  std::unique_ptr<auth::FileSecretStore> atRest;
  if (!keyDir.empty()) atRest = std::make_unique<auth::FileSecretStore>(keyDir);
  Result<StoreCopyCounts> copied = copyStore(*from->store, *from->secrets, *to->store, *to->secrets, atRest.get());
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
