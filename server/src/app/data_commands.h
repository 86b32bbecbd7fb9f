// Data-lifecycle commands (docs/backup.md, docs/export-format.md): online backup and restore of a
// SQLite data directory, export and import of the data in JSON Lines (export_import.cpp), and
// erasure of one identity. Each returns the process exit code: 0 done, 1 failed (the message on
// stderr names the problem), 2 bad arguments.
#pragma once

#include <string>

namespace tether::server {

// `tetherd backup --to FILE`: a consistent copy of a SQLite store taken while tetherd serves and
// writes go on (one read snapshot, VACUUM INTO), with the data directory's keys inside it, written
// to FILE.tmp, checked (integrity_check), fsynced and renamed: FILE exists only if it is whole.
// A PostgreSQL store is refused with a pointer to pg_dump (docs/backup.md).
int runBackup(const std::string& storeUrl, const std::string& toFile);

// `tetherd restore --from FILE --data-dir DIR`: checks the backup (integrity_check, format,
// schema) and writes DIR/tether.db and DIR/keys/ from it. Refused if DIR holds a database
// (tether.db, -wal, -shm) or keys — a live or used data directory is never overwritten — or, unless
// `force`, any other file.
int runRestore(const std::string& fromFile, const std::string& dataDir, bool force);

// `tetherd identity delete --identity ID`: removes every trace of the identity (Store::deleteIdentity).
int runIdentityDelete(const std::string& storeUrl, const std::string& identityId);

struct ExportArgs {
  std::string store;
  std::string poolId;       // "" = every pool
  std::string identityId;   // "" = every identity (of the pool)
  std::string outFile;      // "" or "-" = stdout
  bool withCredentials = false;  // developer credentials (server secrets): whole-server exports only
};
// `tetherd export`: see docs/export-format.md.
int runExport(const ExportArgs& args);
// `tetherd import --in FILE`: validates the whole file, then writes it; see docs/export-format.md.
int runImport(const std::string& storeUrl, const std::string& inFile);

}  // namespace tether::server
