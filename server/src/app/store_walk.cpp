// The shared store walk and writes: see store_walk.h.
#include "app/store_walk.h"

#include <openssl/evp.h>

#include <limits>
#include <memory>

namespace tether::server {

struct Digest::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
};

Digest::Digest() : impl_(new Impl) { EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr); }
Digest::~Digest() {
  EVP_MD_CTX_free(impl_->ctx);
  delete impl_;
}

Digest& Digest::add(std::string_view s) {
  add(static_cast<int64_t>(s.size()));
  EVP_DigestUpdate(impl_->ctx, s.data(), s.size());
  return *this;
}

Digest& Digest::add(int64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * i));
  EVP_DigestUpdate(impl_->ctx, b, sizeof b);
  return *this;
}

Digest& Digest::addOptional(const std::optional<std::string>& v) {
  add(int64_t{v.has_value() ? 1 : 0});
  if (v) add(*v);
  return *this;
}

std::string Digest::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &n);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

Status forEachIdentity(Store& store, const std::string& poolId,
                       const std::function<Status(const IdentityInfo&)>& fn) {
  std::string after;
  while (true) {
    TETHER_TRY(std::vector<IdentityInfo> page, store.listIdentities(poolId, after, kWalkPage));
    for (const IdentityInfo& i : page) TETHER_RETURN_IF_ERROR(fn(i));
    if (static_cast<int>(page.size()) < kWalkPage) return Status::ok();
    after = page.back().id;
  }
}

Result<std::vector<DatasetData>> readDatasets(Store& store, const OwnerRef& owner, DatasetFilter filter) {
  TETHER_TRY(std::unique_ptr<StoreTransaction> txn, store.beginRead());
  std::vector<DatasetData> out;
  std::string after;
  while (true) {
    TETHER_TRY(std::vector<DatasetRow> rows, txn->listDatasets(owner, filter, after, kWalkPage));
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
    if (static_cast<int>(rows.size()) < kWalkPage) break;
    after = out.back().row.name;
  }
  return out;
}

Result<IdentityData> readIdentity(Store& store, const IdentityInfo& identity) {
  IdentityData out;
  out.identity = identity;
  TETHER_TRY(out.logins, store.listLogins(identity.id));
  TETHER_TRY(std::vector<DeviceInfo> devices, store.listDevices(identity.poolId, identity.id));
  for (DeviceInfo& d : devices) {
    DeviceData dd;
    TETHER_TRY(dd.subscriptions, store.listDeviceSubscriptions(identity.poolId, identity.id, d.deviceId));
    dd.device = std::move(d);
    out.devices.push_back(std::move(dd));
  }
  TETHER_TRY(out.datasets, readDatasets(store, OwnerRef{identity.poolId, identity.id}));
  return out;
}

Result<PoolData> readPool(Store& store, const PoolInfo& pool) {
  PoolData out;
  out.pool = pool;
  TETHER_TRY(out.developerProvider, store.getPoolDeveloperProvider(pool.id));
  TETHER_TRY(out.oidcProviders, store.listOidcProviders(pool.id));
  return out;
}

Status writePool(Store& to, const PoolData& pool) {
  TETHER_RETURN_IF_ERROR(to.putPool(pool.pool));
  if (!pool.developerProvider.empty())
    TETHER_RETURN_IF_ERROR(to.setPoolDeveloperProvider(pool.pool.id, pool.developerProvider));
  for (const OidcProviderRow& p : pool.oidcProviders) TETHER_RETURN_IF_ERROR(to.putOidcProvider(p));
  return Status::ok();
}

namespace {

Status writeIdentityParts(Store& to, const IdentityData& data) {
  const IdentityInfo& identity = data.identity;
  if (identity.disabled) TETHER_RETURN_IF_ERROR(to.setIdentityDisabled(identity.id, true));
  for (const LoginLink& l : data.logins) TETHER_RETURN_IF_ERROR(to.linkLogin(l));
  for (const DeviceData& d : data.devices) {
    TETHER_TRY(std::string id, to.registerDevice(d.device, std::numeric_limits<int>::max()));
    if (id != d.device.deviceId)
      return Status::conflict("device " + d.device.deviceId + " of identity " + identity.id +
                              " is registered as " + id + " (its push token is already registered)");
    for (const std::string& s : d.subscriptions)
      TETHER_RETURN_IF_ERROR(
          to.subscribeDevice(identity.poolId, identity.id, d.device.deviceId, s, std::numeric_limits<int>::max()));
  }
  if (data.datasets.empty()) return Status::ok();
  // One transaction per identity: its datasets arrive whole or not at all.
  OwnerRef owner{identity.poolId, identity.id};
  TETHER_TRY(std::unique_ptr<StoreTransaction> txn, to.begin());
  for (const DatasetData& d : data.datasets) {
    TETHER_RETURN_IF_ERROR(txn->putDataset(owner, d.row));
    if (!d.records.empty()) TETHER_RETURN_IF_ERROR(txn->putRecords(owner, d.row.name, d.records));
    for (const std::string& m : d.merged) TETHER_RETURN_IF_ERROR(txn->addMergedDataset(owner, d.row.name, m));
  }
  return txn->commit();
}

}  // namespace

Status writeIdentity(Store& to, const IdentityData& data) {
  TETHER_RETURN_IF_ERROR(to.createIdentity(data.identity));
  Status s = writeIdentityParts(to, data);
  if (!s.isOk()) (void)to.deleteIdentity(data.identity.id);  // so that a rerun writes it whole
  return s;
}

void digestIdentity(Digest& all, const IdentityData& data) {
  const IdentityInfo& identity = data.identity;
  all.add(identity.id).add(identity.createdMs).add(int64_t{identity.disabled});
  for (const LoginLink& l : data.logins) all.add(l.provider).add(l.subject);
  for (const DeviceData& dd : data.devices) {
    const DeviceInfo& d = dd.device;
    all.add(d.deviceId).add(d.platform).add(d.pushToken).add(d.createdMs);
    for (const std::string& s : dd.subscriptions) all.add(s);
  }
  for (const DatasetData& d : data.datasets) {
    const DatasetRow& r = d.row;
    all.add(r.name).add(r.syncCount).add(int64_t{r.live}).add(r.deletedAtSyncCount.value_or(-1))
        .add(r.creationMs).add(r.lastModifiedMs).add(r.lastModifiedBy).add(r.dataStorage).add(r.numRecords);
    all.add(static_cast<int64_t>(d.records.size()));
    for (const Record& rec : d.records)
      all.add(rec.key).addOptional(rec.value).add(rec.syncCount).add(rec.lastModifiedMs).add(rec.lastModifiedBy)
          .add(rec.deviceLastModifiedMs);
    for (const std::string& m : d.merged) all.add(m);
  }
}

}  // namespace tether::server
