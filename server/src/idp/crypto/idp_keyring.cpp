// See idp_keyring.h.
#include "idp/crypto/idp_keyring.h"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/secret_store.h"
#include "idp/crypto/crypto_util.h"

namespace tether::server::idp {
namespace {

constexpr int kMaxSealingKeyId = 255;
constexpr std::string_view kCodeHashKeyLabel = "tether idp code-hash key v1";

// `[\w-]+_[0-9a-zA-Z]+`, which also keeps the id safe as a folder name in a key path.
bool validPoolId(std::string_view id) {
  if (id.empty() || id.size() > IdpKeyring::kMaxPoolIdChars) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  size_t underscore = id.rfind('_');
  if (underscore == std::string_view::npos || underscore == 0 || underscore + 1 == id.size()) return false;
  return id.substr(underscore + 1).find('-') == std::string_view::npos;
}

Result<std::string> newSealingKey() { return detail::randomBytes(Sealer::kKeyBytes); }

// The id of a rotated key's name "<base>.<n>" (2..255, no leading zero), or 0 if it is not one.
int rotatedKeyId(std::string_view name, std::string_view base) {
  if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base || name[base.size()] != '.') return 0;
  std::string_view digits = name.substr(base.size() + 1);
  if (digits.size() > 3 || digits[0] == '0') return 0;
  int id = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    id = id * 10 + (c - '0');
  }
  return id >= 2 && id <= kMaxSealingKeyId ? id : 0;
}

Result<std::string> loadSealingKey(auth::SecretStore& store, const std::string& name, bool create) {
  auto mustExist = [&]() -> Result<std::string> {
    return Status::corruption("sealing key " + store.describe(name) + " vanished while loading");
  };
  Result<std::string> key = create ? store.loadOrCreate(name, Sealer::kKeyBytes, newSealingKey)
                                   : store.loadOrCreate(name, Sealer::kKeyBytes, mustExist);
  if (key.isOk() && key->size() != Sealer::kKeyBytes)
    return Status::corruption("sealing key " + store.describe(name) + " is not 32 bytes");
  return key;
}

// The keys `<base>` (id 1, created if absent) and every `<base>.<n>` present, by id.
Result<std::vector<SealingKey>> loadSealingKeys(auth::SecretStore& store, std::string_view base) {
  std::vector<SealingKey> keys;
  TETHER_TRY(std::string first, loadSealingKey(store, std::string(base), true));
  keys.push_back({1, std::move(first)});
  TETHER_TRY(std::vector<std::string> names, store.list(base));
  for (const std::string& name : names) {
    int id = rotatedKeyId(name, base);
    if (id == 0) continue;
    TETHER_TRY(std::string key, loadSealingKey(store, name, false));
    keys.push_back({static_cast<uint8_t>(id), std::move(key)});
  }
  return keys;
}

Result<std::shared_ptr<const Rs256Key>> loadRsaKey(auth::SecretStore& store, const std::string& name) {
  TETHER_TRY(std::string pem, store.loadOrCreate(name, Rs256Key::kMaxPemBytes, Rs256Key::newPem));
  TETHER_TRY(std::unique_ptr<Rs256Key> key, Rs256Key::fromPem(pem, store.describe(name)));
  return std::shared_ptr<const Rs256Key>(std::move(key));
}

}  // namespace

std::string IdpKeyring::idKeyName(std::string_view poolId) { return "idp/" + std::string(poolId) + "/id-key.pem"; }

std::string IdpKeyring::accessKeyName(std::string_view poolId) {
  return "idp/" + std::string(poolId) + "/access-key.pem";
}

Result<uint8_t> IdpKeyring::addSealingKey(auth::SecretStore& store, std::string_view baseName) {
  TETHER_TRY(std::vector<SealingKey> keys, loadSealingKeys(store, baseName));
  int newest = 0;
  for (const SealingKey& k : keys) newest = std::max(newest, static_cast<int>(k.id));
  if (newest >= kMaxSealingKeyId) return Status::limitExceeded("no sealing key id left after 255");
  const int id = newest + 1;
  TETHER_TRY(std::string key, loadSealingKey(store, std::string(baseName) + "." + std::to_string(id), true));
  (void)key;
  return static_cast<uint8_t>(id);
}

IdpKeyring::IdpKeyring(auth::SecretStore& tokenKeys, auth::SecretStore& atRestKeys)
    : tokenKeys_(tokenKeys), atRestKeys_(atRestKeys) {}

IdpKeyring::~IdpKeyring() = default;

Result<IdpKeyring::PoolKeys> IdpKeyring::loadPoolKeys(const std::string& poolId) {
  TETHER_TRY(std::shared_ptr<const Rs256Key> id, loadRsaKey(tokenKeys_, idKeyName(poolId)));
  TETHER_TRY(std::shared_ptr<const Rs256Key> access, loadRsaKey(tokenKeys_, accessKeyName(poolId)));
  // The two must differ (spec 6.1): otherwise an access token would verify as an ID token.
  if (id->kid() == access->kid())
    return Status::corruption("the ID-token and access-token keys of pool " + poolId + " are the same key");
  return PoolKeys{std::move(id), std::move(access)};
}

Result<IdpKeyring::PoolKeys> IdpKeyring::poolKeys(std::string_view poolId) {
  if (!validPoolId(poolId)) return Status::invalidArgument("invalid user pool id");
  {
    MutexLock lock(cacheMu_);
    auto it = pools_.find(poolId);
    if (it != pools_.end()) return it->second;
  }
  MutexLock load(loadMu_);
  {
    MutexLock lock(cacheMu_);  // another thread may have loaded it while we waited
    auto it = pools_.find(poolId);
    if (it != pools_.end()) return it->second;
  }
  TETHER_TRY(PoolKeys keys, loadPoolKeys(std::string(poolId)));
  MutexLock lock(cacheMu_);
  pools_.emplace(std::string(poolId), keys);
  return keys;
}

Result<std::string> IdpKeyring::jwksJson(std::string_view poolId) {
  TETHER_TRY(PoolKeys keys, poolKeys(poolId));
  nlohmann::json doc = {{"keys", nlohmann::json::array({keys.idToken->publicJwk(), keys.accessToken->publicJwk()})}};
  return doc.dump();
}

void IdpKeyring::forgetPool(std::string_view poolId) {
  MutexLock lock(cacheMu_);
  auto it = pools_.find(poolId);
  if (it != pools_.end()) pools_.erase(it);
}

Result<std::shared_ptr<const Sealer>> IdpKeyring::tokenSealer() {
  {
    MutexLock lock(cacheMu_);
    if (tokenSealer_) return tokenSealer_;
  }
  MutexLock load(loadMu_);
  {
    MutexLock lock(cacheMu_);
    if (tokenSealer_) return tokenSealer_;
  }
  TETHER_TRY(std::vector<SealingKey> keys, loadSealingKeys(tokenKeys_, kTokenSealingKeyName));
  TETHER_TRY(std::unique_ptr<Sealer> sealer, Sealer::create(std::move(keys)));
  MutexLock lock(cacheMu_);
  tokenSealer_ = std::move(sealer);
  return tokenSealer_;
}

Result<IdpKeyring::AtRest> IdpKeyring::atRest() {
  {
    MutexLock lock(cacheMu_);
    if (atRestSealer_) return AtRest{atRestSealer_, codeHasher_};
  }
  MutexLock load(loadMu_);
  {
    MutexLock lock(cacheMu_);
    if (atRestSealer_) return AtRest{atRestSealer_, codeHasher_};
  }
  TETHER_TRY(std::vector<SealingKey> keys, loadSealingKeys(atRestKeys_, kAtRestKeyName));
  const SealingKey* newest = &keys.front();
  for (const SealingKey& k : keys)
    if (k.id > newest->id) newest = &k;
  // A key of its own for codes, derived so that the sealing key is never used as an HMAC key.
  auto codes = std::make_shared<const CodeHasher>(detail::hmacSha256(newest->key, kCodeHashKeyLabel));
  TETHER_TRY(std::unique_ptr<Sealer> sealer, Sealer::create(std::move(keys)));
  MutexLock lock(cacheMu_);
  atRestSealer_ = std::move(sealer);
  codeHasher_ = std::move(codes);
  return AtRest{atRestSealer_, codeHasher_};
}

Result<std::shared_ptr<const Sealer>> IdpKeyring::atRestSealer() {
  TETHER_TRY(AtRest a, atRest());
  return a.sealer;
}

Result<std::shared_ptr<const CodeHasher>> IdpKeyring::codeHasher() {
  TETHER_TRY(AtRest a, atRest());
  return a.codes;
}

}  // namespace tether::server::idp
