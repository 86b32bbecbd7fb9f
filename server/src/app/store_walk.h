// The walk over everything a store holds, and the writes that put it into another store, shared
// by `tetherd store copy` (store_copy.h), `tetherd export` / `tetherd import` (export_import.h)
// and `tetherd import-cognito`: one identity at a time (IdentityData: the identity, its logins,
// devices with subscriptions, datasets with every record and merged relation), pools with their
// login providers, and the user-pool rows (forEachUserPoolRow).
//
// writeIdentity() is the store-level write helper for importers: it writes one identity's data
// with the sync counts, dates and tombstones given (not recomputed), its datasets in one
// transaction, so devices that hold those sync counts continue with an incremental sync.
//
// Thread-safety: plain functions on the Store (itself thread-safe); values are owned copies.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

inline constexpr int kWalkPage = 500;

// The largest secret tetherd keeps (an RSA or EC private key in PEM; the others are 32 bytes).
inline constexpr size_t kMaxSecretBytes = 65536;

// One dataset as stored: row (deleted ones too), all records (tombstones too), merged relations.
struct DatasetData {
  DatasetRow row;
  std::vector<Record> records;
  std::vector<std::string> merged;
  friend bool operator==(const DatasetData&, const DatasetData&) = default;
};

struct DeviceData {
  DeviceInfo device;
  std::vector<std::string> subscriptions;  // dataset names
  friend bool operator==(const DeviceData&, const DeviceData&) = default;
};

// Everything keyed by one identity.
struct IdentityData {
  IdentityInfo identity;
  std::vector<LoginLink> logins;     // by provider, subject
  std::vector<DeviceData> devices;   // by device ID
  std::vector<DatasetData> datasets; // by name
  friend bool operator==(const IdentityData&, const IdentityData&) = default;
};

// An identity pool with its login providers.
struct PoolData {
  PoolInfo pool;
  std::string developerProvider;  // "" = none
  std::vector<OidcProviderRow> oidcProviders;
  friend bool operator==(const PoolData&, const PoolData&) = default;
};

// Feeds length-prefixed fields into one SHA-256, so that ("ab","c") and ("a","bc") differ.
class Digest {
 public:
  Digest();
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  Digest& add(std::string_view s);
  Digest& add(int64_t v);
  Digest& addOptional(const std::optional<std::string>& v);
  std::string hex();  // once, at the end

 private:
  struct Impl;
  Impl* impl_;
};

// Reads one dataset set in one read transaction (a consistent snapshot of the identity's data).
Result<std::vector<DatasetData>> readDatasets(Store& store, const OwnerRef& owner,
                                              DatasetFilter filter = DatasetFilter::kAll);
Result<IdentityData> readIdentity(Store& store, const IdentityInfo& identity);
Result<PoolData> readPool(Store& store, const PoolInfo& pool);
// Calls fn for every identity of the pool, in id order, page by page.
Status forEachIdentity(Store& store, const std::string& poolId, const std::function<Status(const IdentityInfo&)>& fn);

// Writes the pool, its developer provider and OIDC providers (putPool replaces a pool of that id).
Status writePool(Store& to, const PoolData& pool);
// Writes one identity (which must not exist in `to`: kConflict otherwise) with its logins,
// devices, subscriptions, and datasets with records and merged relations exactly as given (sync
// counts, dates, tombstones, deletion markers). The datasets go in one transaction. A failure
// after the identity was created removes it again (best effort), so a rerun can write it whole.
Status writeIdentity(Store& to, const IdentityData& data);
// Adds the identity's data to a digest (summarizeStore, and import's "already imported
// identically" check).
void digestIdentity(Digest& d, const IdentityData& data);

}  // namespace tether::server
