// `tetherd import-cognito`: copies a live Amazon Cognito identity pool and its Cognito Sync data
// into tetherd through AWS's public APIs (docs/migrating-from-cognito.md), keeping what devices
// hold: identity IDs, dataset names, dataset and record sync counts, and every date (creation,
// last modified, device last modified, last modified by). Devices that cached their identity ID
// and sync counts then continue against tetherd with an ordinary incremental sync.
//
// Reads (SigV4, app/aws_client.h): DescribeIdentityPool, ListIdentities (which carries each
// identity's creation date and login provider names, so no DescribeIdentity per identity),
// LookupDeveloperIdentity for identities with a developer login, and per identity ListDatasets
// and ListRecords(LastSyncCount 0). Writes through the Store API, like `tetherd store copy`: the
// identity, its developer logins, then all its datasets in one transaction.
//
// Resumable: the checkpoint (import_cognito_checkpoint.h) records the ListIdentities page being
// worked on and which identities it owns, plus an append-only list of finished identities; a
// rerun with the same checkpoint continues, an identity half-written by an interruption is
// deleted and written again whole, and a rerun after a finished import does nothing. Before
// writing anything the command lists the whole pool (which also gives the total for the
// progress line) and refuses, naming them, identities that already exist in the target with
// other data and were not written by this import; identities already there identically are
// skipped.
//
// Not importable through the public APIs: the subjects of social / OIDC / SAML / user-pool
// logins (DescribeIdentity names the provider only), deleted datasets (ListDatasets shows live
// ones), push-sync devices and subscriptions, and which identities are disabled. Those logins
// are linked again when a device presents its cached IdentityId with its Logins
// (GetCredentialsForIdentity / GetOpenIdToken link an unlinked login to that identity).
// Thread-safety: the functions below are called by one thread per identity; the Store is shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/aws_client.h"
#include "app/store_walk.h"
#include "storage/store.h"
#include "storage/store_transaction.h"
#include "tether/model.h"
#include "tether/status.h"

namespace tether::server {

struct ImportCognitoArgs {
  std::string region;
  std::string sourcePool;
  std::string targetPool;  // empty = the source pool's ID
  std::string endpoint;    // empty = AWS's endpoints of the region
  std::string caFile;
  std::string checkpoint;  // empty = not resumable
  std::string store;       // target store URL
  int parallel = 4;
  int maxAttempts = 8;
  int progressSeconds = 10;  // log-line interval when stderr is not a terminal
};
// Exit codes: 0 done, 1 an AWS or store error, 2 bad arguments or credentials, 3 refused
// (an identity in the target that this import did not write, or a checkpoint of another pool).
int runImportCognito(const ImportCognitoArgs& args);

// ---- one identity, as read from Cognito and as stored (import_cognito_identity.cpp)

// A dataset as ListRecords shows it: row, records (tombstones too), MergedDatasetNames.
using ImportedDataset = DatasetData;

struct ImportedIdentity {
  IdentityInfo info;
  std::vector<LoginLink> logins;             // the developer logins (the only knowable subjects)
  std::vector<std::string> unknownProviders;  // other providers: linked again by the devices
  std::vector<ImportedDataset> datasets;     // by name
  int64_t recordCount() const;
};

struct SourcePool {
  std::string id;
  std::string developerProvider;  // empty: none
};

// Everything Cognito says about one identity (`description` is its ListIdentities entry), with
// its pool set to `targetPool`.
Result<ImportedIdentity> fetchIdentity(AwsClient& aws, const SourcePool& source, const std::string& targetPool,
                                       const nlohmann::json& description);

// The identity as the target store holds it (nullopt: absent), in the same shape.
Result<std::optional<ImportedIdentity>> readTargetIdentity(Store& store, const std::string& identityId,
                                                           const std::string& developerProvider);

// Whether the target holds exactly what was fetched (live datasets, developer logins).
bool sameIdentity(const ImportedIdentity& fetched, const ImportedIdentity& stored);

// Writes the identity, its logins, then its datasets in one transaction. The identity must not exist.
Status writeIdentity(Store& store, const ImportedIdentity& identity);

}  // namespace tether::server
