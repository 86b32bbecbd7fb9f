// openStore(url): the one place that turns a store URL into a Store (and the place its secrets
// live). Every tetherd command opens its database through it.
//
//   sqlite:DIR                        SQLite file DIR/tether.db, keys in DIR/keys/ (the default,
//                                     sqlite:./tether-data; --data-dir DIR means sqlite:DIR)
//   postgresql://user@host:port/db    PostgreSQL (also postgres://); passed to libpq unchanged, so
//   postgresql://                     libpq's own PG* environment variables fill in what the URL
//   host=... dbname=...               leaves out; a libpq keyword string works too. Keys live in
//                                     the database (meta table), shared by every node.
// PostgreSQL takes one extra parameter that libpq never sees: pool_size (connections per node,
// default 8), as `?pool_size=N` in a URL or `pool_size=N` in a keyword string.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "auth/secret_store.h"
#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

struct StoreUrl {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::filesystem::path dataDir;  // kSqlite
  std::string conninfo;           // kPostgres: what libpq gets (pool_size removed)
  int poolSize = 8;               // kPostgres
};

// kInvalidArgument for an empty or unknown URL, an empty sqlite: directory or a bad pool_size.
Result<StoreUrl> parseStoreUrl(std::string_view url);

// "sqlite:DIR" for a data directory.
std::string sqliteStoreUrl(const std::filesystem::path& dataDir);

struct OpenedStore {
  std::unique_ptr<Store> store;
  std::unique_ptr<auth::SecretStore> secrets;  // uses *store; destroy it first
  std::string description;                     // for startup lines: "./tether-data", "postgresql://h/db"
};

enum class OpenMode {
  kCreate,        // serve: create the SQLite directory and file / the PostgreSQL schema
  kMustExist,     // administration: a SQLite directory without a database is a mistake (kNotFound)
};

// Opens (and migrates) the store. The backends' errors: kIOError / kCorruption / kInvalidArgument
// (SQLite), kUnavailable (PostgreSQL server unreachable), kInvalidArgument (bad URL).
Result<OpenedStore> openStore(std::string_view url, OpenMode mode);

}  // namespace tether::server
