// tetherd export / import / identity delete (data_commands.h, docs/export-format.md).
//
// Export walks the store (store_walk.h) one identity at a time (each identity a consistent
// snapshot of its datasets) and writes JSON Lines (export_format.h) to FILE.tmp, renamed to FILE
// when whole. Import reads the file twice: the first pass validates every line and checks every
// pool, credential, identity and login against the target, so a corrupt file or an overlap is
// refused before anything is written; the second pass writes, one identity at a time
// (writeIdentity: its datasets in one transaction, removed again if a later step fails). What
// the target already holds identically (a pool, a credential, an identity from an earlier,
// interrupted run) is skipped, so a rerun finishes an interrupted import.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "app/data_commands.h"
#include "app/export_format.h"
#include "app/open_store.h"
#include "app/store_walk.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

Status exportTo(Store& store, const ExportArgs& args, ExportWriter& w) {
  w.header(args.poolId, args.identityId);
  if (!args.identityId.empty()) {
    TETHER_TRY(std::optional<IdentityInfo> identity, store.getIdentity(args.identityId));
    if (!identity) return Status::notFound("no identity " + args.identityId);
    if (!args.poolId.empty() && identity->poolId != args.poolId)
      return Status::notFound("identity " + args.identityId + " is not in pool " + args.poolId);
    TETHER_TRY(std::optional<PoolInfo> pool, store.getPool(identity->poolId));
    if (!pool) return Status::notFound("the pool of identity " + args.identityId + " is gone");
    TETHER_TRY(PoolData poolData, readPool(store, *pool));
    w.pool(poolData);
    TETHER_TRY(IdentityData data, readIdentity(store, *identity));
    w.identity(data);
  } else {
    if (args.withCredentials) {
      TETHER_TRY(std::vector<DeveloperCredentialRow> creds, store.listDeveloperCredentials());
      for (const DeveloperCredentialRow& c : creds) w.credential(c);
    }
    std::vector<PoolInfo> pools;
    if (!args.poolId.empty()) {
      TETHER_TRY(std::optional<PoolInfo> pool, store.getPool(args.poolId));
      if (!pool) return Status::notFound("no pool " + args.poolId);
      pools.push_back(*pool);
    } else {
      TETHER_TRY(pools, store.listPools());
    }
    for (const PoolInfo& pool : pools) {
      TETHER_TRY(PoolData poolData, readPool(store, pool));
      w.pool(poolData);
      TETHER_RETURN_IF_ERROR(forEachIdentity(store, pool.id, [&](const IdentityInfo& identity) -> Status {
        TETHER_TRY(IdentityData data, readIdentity(store, identity));
        w.identity(data);
        return w.status();
      }));
    }
  }
  w.trailer();
  return w.status();
}

std::string describeCounts(const ExportCounts& n) {
  return std::to_string(n.pools) + " pools, " + std::to_string(n.credentials) + " developer credentials, " +
         std::to_string(n.identities) + " identities, " + std::to_string(n.devices) + " devices, " +
         std::to_string(n.datasets) + " datasets, " + std::to_string(n.records) + " records, " +
         std::to_string(n.tombstones) + " tombstones";
}

// Whether the target already holds `x` as the file has it (true), nothing of that id (false),
// or something else (kConflict naming it).
Result<bool> poolPresent(Store& to, const PoolData& p) {
  TETHER_TRY(std::optional<PoolInfo> existing, to.getPool(p.pool.id));
  if (!existing) return false;
  TETHER_TRY(PoolData have, readPool(to, *existing));
  if (have == p) return true;
  return Status::conflict("pool " + p.pool.id + " exists in the target with other settings");
}

Result<bool> credentialPresent(Store& to, const DeveloperCredentialRow& c) {
  TETHER_TRY(std::optional<DeveloperCredentialRow> existing, to.findDeveloperCredential(c.accessKeyId));
  if (!existing) return false;
  if (*existing == c) return true;
  return Status::conflict("developer credential " + c.accessKeyId + " exists in the target with another secret");
}

Result<bool> identityPresent(Store& to, const IdentityData& d) {
  TETHER_TRY(std::optional<IdentityInfo> existing, to.getIdentity(d.identity.id));
  if (existing) {
    TETHER_TRY(IdentityData have, readIdentity(to, *existing));
    if (have == d) return true;
    return Status::conflict("identity " + d.identity.id + " already exists in the target with other data "
                            "(delete it there with `tetherd identity delete` if it is a leftover)");
  }
  for (const LoginLink& l : d.logins) {
    TETHER_TRY(std::optional<std::string> owner, to.findLogin(l.poolId, l.provider, l.subject));
    if (owner && *owner != d.identity.id)
      return Status::conflict("login " + l.provider + "/" + l.subject + " of identity " + d.identity.id +
                              " is linked to identity " + *owner + " in the target");
  }
  return false;
}

}  // namespace

int runExport(const ExportArgs& args) {
  if (args.withCredentials && (!args.identityId.empty() || !args.poolId.empty())) {
    std::cerr << "tetherd export: --with-credentials only with a whole-server export (no --pool/--identity)\n";
    return 2;
  }
  Result<OpenedStore> opened = openStore(args.store, OpenMode::kMustExist);
  if (!opened.isOk()) {
    std::cerr << "tetherd export: " << opened.status() << "\n";
    return 1;
  }
  const bool toStdout = args.outFile.empty() || args.outFile == "-";
  const std::string tmp = args.outFile + ".tmp";
  std::ofstream file;
  if (!toStdout) {
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "tetherd export: cannot create " << tmp << "\n";
      return 1;
    }
  }
  ExportWriter w(toStdout ? std::cout : file);
  Status s = exportTo(*opened->store, args, w);
  if (!toStdout) {
    file.close();
    if (s.isOk() && !file) s = Status::ioError("writing " + tmp + " failed (disk full?)");
    if (s.isOk() && std::rename(tmp.c_str(), args.outFile.c_str()) != 0)
      s = Status::ioError("cannot rename " + tmp + " to " + args.outFile);
    if (!s.isOk()) std::remove(tmp.c_str());
  }
  if (!s.isOk()) {
    std::cerr << "tetherd export: FAILED: " << s.message() << "\n";
    return 1;
  }
  std::cerr << "exported " << describeCounts(w.counts()) << "\n";
  return 0;
}

int runImport(const std::string& storeUrl, const std::string& inFile) {
  std::ifstream in(inFile, std::ios::binary);
  if (!in) {
    std::cerr << "tetherd import: cannot read " << inFile << "\n";
    return 2;
  }
  Result<OpenedStore> opened = openStore(storeUrl, OpenMode::kCreate);
  if (!opened.isOk()) {
    std::cerr << "tetherd import: " << opened.status() << "\n";
    return 1;
  }
  Store& to = *opened->store;
  // Pass 1: the whole file valid, and nothing in it overlapping the target.
  std::set<std::string> seen;
  auto once = [&seen](const std::string& kind, const std::string& id) -> Status {
    if (!seen.insert(kind + " " + id).second) return Status::corruption(kind + " " + id + " appears twice in the file");
    return Status::ok();
  };
  ExportVisitor check;
  check.pool = [&](const PoolData& p) -> Status {
    TETHER_RETURN_IF_ERROR(once("pool", p.pool.id));
    return poolPresent(to, p).status();
  };
  check.credential = [&](const DeveloperCredentialRow& c) -> Status {
    TETHER_RETURN_IF_ERROR(once("credential", c.accessKeyId));
    return credentialPresent(to, c).status();
  };
  check.identity = [&](const IdentityData& d) -> Status {
    TETHER_RETURN_IF_ERROR(once("identity", d.identity.id));
    return identityPresent(to, d).status();
  };
  Result<ExportCounts> checked = readExport(in, check);
  if (!checked.isOk()) {
    std::cerr << "tetherd import: refused, nothing written: " << inFile << ": " << checked.status().message() << "\n";
    return 1;
  }
  // Pass 2: write what is not there yet.
  in.clear();
  in.seekg(0);
  ExportCounts written, skipped;
  ExportVisitor write;
  write.pool = [&](const PoolData& p) -> Status {
    TETHER_TRY(bool present, poolPresent(to, p));
    if (present) {
      skipped.pools++;
      return Status::ok();
    }
    written.pools++;
    return writePool(to, p);
  };
  write.credential = [&](const DeveloperCredentialRow& c) -> Status {
    TETHER_TRY(bool present, credentialPresent(to, c));
    if (present) {
      skipped.credentials++;
      return Status::ok();
    }
    written.credentials++;
    return to.createDeveloperCredential(c);
  };
  write.identity = [&](const IdentityData& d) -> Status {
    TETHER_TRY(bool present, identityPresent(to, d));
    if (present) {
      skipped.identities++;
      return Status::ok();
    }
    if (Status s = writeIdentity(to, d); !s.isOk())
      return Status(s.code(), "writing identity " + d.identity.id + ": " + s.message());
    written.identities++;
    return Status::ok();
  };
  Result<ExportCounts> done = readExport(in, write);
  if (!done.isOk()) {
    std::cerr << "tetherd import: FAILED part way (" << written.identities << " identities written; run the same "
              << "import again to finish it): " << done.status().message() << "\n";
    return 1;
  }
  std::cout << "imported " << describeCounts(*done) << " (already present and skipped: " << skipped.pools
            << " pools, " << skipped.credentials << " credentials, " << skipped.identities << " identities)\n";
  return 0;
}

int runIdentityDelete(const std::string& storeUrl, const std::string& identityId) {
  if (!validateIdentityId(identityId).isOk()) {
    std::cerr << "tetherd identity delete: '" << identityId << "' is not an identity ID\n";
    return 2;
  }
  Result<OpenedStore> opened = openStore(storeUrl, OpenMode::kMustExist);
  if (!opened.isOk()) {
    std::cerr << "tetherd identity delete: " << opened.status() << "\n";
    return 1;
  }
  Status s = opened->store->deleteIdentity(identityId);
  if (!s.isOk()) {
    std::cerr << "tetherd identity delete: " << (s.code() == StatusCode::kNotFound ? "no identity " + identityId
                                                                                   : s.message())
              << "\n";
    return 1;
  }
  std::cout << "deleted identity " << identityId
            << " with its records, tombstones, datasets, logins, devices, subscriptions and stream rows\n";
  return 0;
}

}  // namespace tether::server
