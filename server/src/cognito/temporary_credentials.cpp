// Stateless temporary credentials; see temporary_credentials.h.
#include "cognito/temporary_credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <vector>

#include "auth/base64url.h"
#include "auth/key_file.h"
#include "auth/secret_store.h"
#include "tether/limits.h"

namespace tether::server::cognito {
namespace {

constexpr std::string_view kTokenPrefix = "TQ1.";
constexpr std::string_view kTokenContext{"tether.credentials.token.v1\0", 28};
constexpr std::string_view kSecretContext{"tether.credentials.secret.v1\0", 29};
// Our tokens are about 250 chars; anything much longer is not ours and is not worth decoding.
constexpr size_t kMaxTokenChars = 1024;
constexpr size_t kSecretChars = 40;

std::string base64Std(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::string randomAccessKeyId() {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char bytes[16];
  TETHER_ASSERT(RAND_bytes(bytes, sizeof bytes) == 1, "RAND_bytes failed");
  std::string id = "ASIA";
  for (unsigned char b : bytes) id += kAlphabet[b % 36];  // slight bias is harmless: not a secret
  return id;
}

}  // namespace

std::filesystem::path TemporaryCredentials::keyPath(const std::filesystem::path& dataDir) {
  return dataDir / "keys" / "credentials-key";
}

Result<std::unique_ptr<TemporaryCredentials>> TemporaryCredentials::open(const std::filesystem::path& dataDir) {
  auth::FileSecretStore files(dataDir);
  return open(files);
}

Result<std::unique_ptr<TemporaryCredentials>> TemporaryCredentials::open(auth::SecretStore& secrets) {
  constexpr const char* kName = "credentials-key";
  TETHER_TRY(std::string key, secrets.loadOrCreate(kName, kCredentialKeyBytes,
                                                           []() -> Result<std::string> {
                                                             std::string k(kCredentialKeyBytes, '\0');
                                                             if (RAND_bytes(reinterpret_cast<unsigned char*>(k.data()),
                                                                            static_cast<int>(k.size())) != 1)
                                                               return Status::internal("RAND_bytes failed");
                                                             return k;
                                                           }));
  if (key.size() != kCredentialKeyBytes)
    return Status::corruption("credentials key " + secrets.describe(kName) + " has the wrong size");
  return std::make_unique<TemporaryCredentials>(std::move(key));
}

TemporaryCredentials::TemporaryCredentials(std::string key) : key_(std::move(key)) {
  TETHER_ASSERT(key_.size() >= 16, "credentials key too short");
}

std::string TemporaryCredentials::mac(std::string_view context, std::string_view payload) const {
  std::string input(context);
  input += payload;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  TETHER_ASSERT(HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
                     reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len) != nullptr,
                "HMAC failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

IssuedCredentials TemporaryCredentials::issue(std::string_view poolId, std::string_view identityId,
                                              bool authenticated, int64_t nowMs) const {
  IssuedCredentials c;
  c.accessKeyId = randomAccessKeyId();
  c.expiresAtMs = nowMs + kCredentialLifetimeMs;
  std::string payload = c.accessKeyId + "\n" + std::string(poolId) + "\n" + std::string(identityId) + "\n" +
                        std::to_string(c.expiresAtMs) + "\n" + (authenticated ? "1" : "0");
  c.sessionToken = std::string(kTokenPrefix) + auth::base64UrlEncode(payload) + "." +
                   auth::base64UrlEncode(mac(kTokenContext, payload));
  c.secretKey = base64Std(mac(kSecretContext, payload)).substr(0, kSecretChars);
  return c;
}

CredentialCheck TemporaryCredentials::check(std::string_view accessKeyId, std::string_view token, int64_t nowMs,
                                            CredentialScope& out) const {
  if (token.size() > kMaxTokenChars || !token.starts_with(kTokenPrefix)) return CredentialCheck::kInvalid;
  token.remove_prefix(kTokenPrefix.size());
  size_t dot = token.find('.');
  if (dot == std::string_view::npos) return CredentialCheck::kInvalid;
  std::optional<std::string> payload = auth::base64UrlDecode(token.substr(0, dot));
  std::optional<std::string> tag = auth::base64UrlDecode(token.substr(dot + 1));
  if (!payload || !tag) return CredentialCheck::kInvalid;
  std::string expected = mac(kTokenContext, *payload);
  if (tag->size() != expected.size() || CRYPTO_memcmp(tag->data(), expected.data(), expected.size()) != 0)
    return CredentialCheck::kInvalid;
  std::vector<std::string_view> f = split(*payload, '\n');
  if (f.size() != 5 || f[0] != accessKeyId || (f[4] != "0" && f[4] != "1")) return CredentialCheck::kInvalid;
  int64_t expires = 0;
  auto [end, ec] = std::from_chars(f[3].data(), f[3].data() + f[3].size(), expires);
  if (ec != std::errc() || end != f[3].data() + f[3].size()) return CredentialCheck::kInvalid;
  if (nowMs >= expires) return CredentialCheck::kExpired;
  out.accessKeyId = std::string(f[0]);
  out.poolId = std::string(f[1]);
  out.identityId = std::string(f[2]);
  out.expiresAtMs = expires;
  out.authenticated = f[4] == "1";
  out.secretKey = base64Std(mac(kSecretContext, *payload)).substr(0, kSecretChars);
  return CredentialCheck::kValid;
}

}  // namespace tether::server::cognito
