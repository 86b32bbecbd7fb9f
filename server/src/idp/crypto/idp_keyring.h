// IdpKeyring: every key of the user-pool service, loaded (or created on first use) through the
// secret stores and cached for the life of the process (spec 6.1, 9.6).
//
// In `tokenKeys` (the store every node shares: files next to SQLite, the database with
// PostgreSQL):
//   idp/<poolId>/id-key.pem       RS256 key of the pool's ID tokens      (PKCS#8 PEM)
//   idp/<poolId>/access-key.pem   RS256 key of the pool's access tokens  (another key, another kid)
//   idp-token.key[.<n>]           32-byte AES key(s) sealing refresh tokens, SECRET_BLOCKs and
//                                 challenge sessions
// In `atRestKeys` (with PostgreSQL the lead points it at a directory outside the database, so a
// copy of the database alone does not open what it protects):
//   idp-at-rest.key[.<n>]         32-byte AES key(s) sealing TOTP secrets and other values at rest;
//                                 the code-hash key is derived from the newest one
//
// Creation goes through SecretStore::loadOrCreate, so nodes (and threads) starting at once
// agree on one key. Sealing keys rotate: `<name>` has key id 1, `<name>.<n>` (2..255) id n, the
// highest id seals (addSealingKey()); a running keyring picks up a new id when it is restarted,
// so add the key, restart every node, and keep the old one until what it sealed has expired.
// A rotation of the at-rest key also voids codes hashed under the old one (users ask for a new
// code). Pool token keys do not rotate yet (TODO(soon): a ring like auth/token_issuer.h's).
//
// Thread-safety: every method may be called concurrently (the keyring is shared by all worker
// threads). Loads are serialized, so each key is read or generated once per process; cache hits
// take one short lock. Both stores must outlive the keyring; they may be the same object.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "idp/crypto/code_hash.h"
#include "idp/crypto/rs256_key.h"
#include "idp/crypto/sealer.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server {
namespace auth {
class SecretStore;
}  // namespace auth

namespace idp {

class IdpKeyring {
 public:
  static constexpr std::string_view kTokenSealingKeyName = "idp-token.key";
  static constexpr std::string_view kAtRestKeyName = "idp-at-rest.key";
  // Longest pool id (spec 1.3).
  static constexpr size_t kMaxPoolIdChars = 55;

  // Names of a pool's keys in the token store.
  static std::string idKeyName(std::string_view poolId);
  static std::string accessKeyName(std::string_view poolId);

  // Adds the sealing key with the next id to `store` (base name kTokenSealingKeyName or
  // kAtRestKeyName) and returns that id; it seals once keyrings are restarted.
  // kLimitExceeded past id 255; the store's errors otherwise.
  static Result<uint8_t> addSealingKey(auth::SecretStore& store, std::string_view baseName);

  IdpKeyring(auth::SecretStore& tokenKeys, auth::SecretStore& atRestKeys);
  ~IdpKeyring();
  IdpKeyring(const IdpKeyring&) = delete;
  IdpKeyring& operator=(const IdpKeyring&) = delete;

  struct PoolKeys {
    std::shared_ptr<const Rs256Key> idToken;
    std::shared_ptr<const Rs256Key> accessToken;
  };
  // The pool's two signing keys, created on first use. kInvalidArgument if poolId does not match
  // `[\w-]+_[0-9a-zA-Z]+` (at most 55 characters); kCorruption if a stored key is not a usable
  // RSA key or both names hold the same key; the store's kIOError / kUnavailable otherwise.
  Result<PoolKeys> poolKeys(std::string_view poolId);
  // {"keys":[<ID-token JWK>,<access-token JWK>]}, the pool's /.well-known/jwks.json. Errors as
  // poolKeys().
  Result<std::string> jwksJson(std::string_view poolId);
  // Drops the pool's keys from the cache (after DeleteUserPool); the stored keys stay.
  void forgetPool(std::string_view poolId);

  // Sealer of refresh tokens, SECRET_BLOCKs and sessions (idp-token.key). kCorruption if a
  // stored key is not 32 bytes.
  Result<std::shared_ptr<const Sealer>> tokenSealer();
  // Sealer of values at rest (idp-at-rest.key).
  Result<std::shared_ptr<const Sealer>> atRestSealer();
  // Hashes codes for storage, keyed from the newest at-rest key.
  Result<std::shared_ptr<const CodeHasher>> codeHasher();

 private:
  struct AtRest {
    std::shared_ptr<const Sealer> sealer;
    std::shared_ptr<const CodeHasher> codes;
  };
  Result<PoolKeys> loadPoolKeys(const std::string& poolId) TETHER_REQUIRES(loadMu_);
  Result<AtRest> atRest();

  auth::SecretStore& tokenKeys_;
  auth::SecretStore& atRestKeys_;
  Mutex loadMu_ TETHER_ACQUIRED_BEFORE(cacheMu_);  // one load at a time
  Mutex cacheMu_;
  std::map<std::string, PoolKeys, std::less<>> pools_ TETHER_GUARDED_BY(cacheMu_);
  std::shared_ptr<const Sealer> tokenSealer_ TETHER_GUARDED_BY(cacheMu_);
  std::shared_ptr<const Sealer> atRestSealer_ TETHER_GUARDED_BY(cacheMu_);
  std::shared_ptr<const CodeHasher> codeHasher_ TETHER_GUARDED_BY(cacheMu_);
};

}  // namespace idp
}  // namespace tether::server
