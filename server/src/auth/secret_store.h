// SecretStore: where tetherd keeps its few secrets (the token signing key, the session-token key,
// the temporary-credentials key). Every key is loaded through this one interface so that a
// deployment can keep them next to its SQLite file (FileSecretStore: `<dataDir>/keys/<name>`, the
// on-disk layout of earlier versions, unchanged) or in the database every node shares
// (DatabaseSecretStore: the Store's meta table, used with PostgreSQL, which has no data dir).
// Thread-safety: loadOrCreate may be called concurrently, from several processes or nodes at
// once: exactly one creator wins and every caller gets the winner's bytes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server::auth {

class SecretStore {
 public:
  virtual ~SecretStore() = default;
  // The secret called `name` (e.g. "signing-key.pem"), or, if there is none yet, the bytes of
  // `generate()` stored under it (insert-if-absent: if another creator won the race, its bytes).
  // kCorruption if the stored secret is larger than `maxBytes` or unreadable; kIOError /
  // kUnavailable from the medium.
  virtual Result<std::string> loadOrCreate(std::string_view name, size_t maxBytes,
                                           const std::function<Result<std::string>()>& generate) = 0;
  // The names of the stored secrets that start with `prefix`, sorted.
  virtual Result<std::vector<std::string>> list(std::string_view prefix) = 0;
  // Where `name` lives, for messages ("/data/keys/session-key", "database meta secret/session-key").
  virtual std::string describe(std::string_view name) const = 0;
};

// `<dataDir>/keys/<name>`, mode 0600 in a 0700 directory (key_file.h). A name may contain '/'
// (folders, each created 0700); the caller keeps names free of ".." and absolute paths. list()
// sees only the names directly in keys/.
class FileSecretStore final : public SecretStore {
 public:
  explicit FileSecretStore(std::filesystem::path dataDir) : dataDir_(std::move(dataDir)) {}
  Result<std::string> loadOrCreate(std::string_view name, size_t maxBytes,
                                   const std::function<Result<std::string>()>& generate) override;
  Result<std::vector<std::string>> list(std::string_view prefix) override;
  std::string describe(std::string_view name) const override;

 private:
  std::filesystem::path dataDir_;
};

// Meta key `secret/<name>`, value base64url (the meta value is text). The Store must outlive it.
class DatabaseSecretStore final : public SecretStore {
 public:
  explicit DatabaseSecretStore(AuthConfigStore& store) : store_(store) {}
  Result<std::string> loadOrCreate(std::string_view name, size_t maxBytes,
                                   const std::function<Result<std::string>()>& generate) override;
  Result<std::vector<std::string>> list(std::string_view prefix) override;
  std::string describe(std::string_view name) const override;

 private:
  AuthConfigStore& store_;
};

}  // namespace tether::server::auth
