#include "auth/secret_store.h"

#include <algorithm>

#include "auth/base64url.h"
#include "auth/key_file.h"

namespace tether::server::auth {

Result<std::string> FileSecretStore::loadOrCreate(std::string_view name, size_t maxBytes,
                                                  const std::function<Result<std::string>()>& generate) {
  std::filesystem::path keys = dataDir_ / "keys";
  std::filesystem::path path = keys / std::string(name);
  // A name may have folders ("idp/<poolId>/id-key.pem"): each level is created private, not
  // only the last one.
  std::filesystem::path dir = keys;
  TETHER_RETURN_IF_ERROR(ensurePrivateDir(dir));
  for (const std::filesystem::path& part : std::filesystem::path(std::string(name)).parent_path()) {
    dir /= part;
    TETHER_RETURN_IF_ERROR(ensurePrivateDir(dir));
  }
  return loadOrCreateSecretFile(path, maxBytes, generate);
}

Result<std::vector<std::string>> FileSecretStore::list(std::string_view prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::path dir = dataDir_ / "keys";
  if (!std::filesystem::exists(dir, ec)) return out;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    // Skip the temporary files of an interrupted create (key_file.h writes name + ".tmp*").
    if (name.rfind(prefix, 0) == 0 && name.find(".tmp") == std::string::npos && it->is_regular_file(ec))
      out.push_back(name);
  }
  if (ec) return Status::ioError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::string FileSecretStore::describe(std::string_view name) const {
  return (dataDir_ / "keys" / std::string(name)).string();
}

namespace {
std::string metaKey(std::string_view name) { return "secret/" + std::string(name); }
}  // namespace

Result<std::string> DatabaseSecretStore::loadOrCreate(std::string_view name, size_t maxBytes,
                                                      const std::function<Result<std::string>()>& generate) {
  const std::string key = metaKey(name);
  TETHER_TRY(std::optional<std::string> stored, store_.getMeta(key));
  if (!stored) {
    TETHER_TRY(std::string fresh, generate());
    // Nodes starting at once all generate; the first insert wins and everyone reads it back.
    TETHER_TRY(std::string winner, store_.putMetaIfAbsent(key, base64UrlEncode(fresh)));
    stored = std::move(winner);
  }
  std::optional<std::string> bytes = base64UrlDecode(*stored);
  if (!bytes) return Status::corruption(describe(name) + " is not base64url");
  if (bytes->size() > maxBytes)
    return Status::corruption(describe(name) + " is larger than " + std::to_string(maxBytes) + " bytes");
  return std::move(*bytes);
}

Result<std::vector<std::string>> DatabaseSecretStore::list(std::string_view prefix) {
  TETHER_TRY(auto rows, store_.listMeta(metaKey(prefix)));
  std::vector<std::string> out;
  for (const auto& [key, value] : rows) out.push_back(key.substr(metaKey("").size()));
  return out;
}

std::string DatabaseSecretStore::describe(std::string_view name) const {
  return "database meta key " + metaKey(name);
}

}  // namespace tether::server::auth
