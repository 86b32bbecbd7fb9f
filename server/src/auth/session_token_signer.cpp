// HMAC-signed sync session tokens; see session_token_signer.h.
#include "auth/session_token_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

#include "auth/base64url.h"
#include "auth/key_file.h"
#include "auth/secret_store.h"

namespace tether::server {
namespace {

constexpr uint8_t kPayloadVersion = 1;
constexpr size_t kNonceBytes = 16;
constexpr size_t kMacBytes = 32;
// Names are at most 55 (IDs) and 128 (dataset) chars; 1 KB leaves room and bounds the work.
constexpr size_t kMaxTokenChars = 1024;
// Separates this MAC from any other use a future version might make of the same key.
constexpr std::string_view kMacContext{"tether.sync-session-token.v1\0", 29};

Status invalidToken() { return Status::invalidArgument("SyncSessionToken not valid for these inputs"); }

void putU16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void putI64(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
}

void putString(std::string& out, std::string_view s) {
  // Longer names never pass validation upstream; truncation here would only make a token that
  // matches nothing, so cap rather than abort.
  if (s.size() > 0xffff) s = s.substr(0, 0xffff);
  putU16(out, s.size());
  out += s;
}

// Reads the payload back; any deviation from what putX wrote makes it invalid.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool str(std::string_view& v) {
    if (in_.size() < 2) return false;
    size_t n = static_cast<size_t>(static_cast<uint8_t>(in_[0])) << 8 | static_cast<uint8_t>(in_[1]);
    if (in_.size() < 2 + n) return false;
    v = in_.substr(2, n);
    in_.remove_prefix(2 + n);
    return true;
  }
  bool i64(int64_t& v) {
    if (in_.size() < 8) return false;
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = u << 8 | static_cast<uint8_t>(in_[static_cast<size_t>(i)]);
    v = static_cast<int64_t>(u);
    in_.remove_prefix(8);
    return true;
  }
  bool skip(size_t n) {
    if (in_.size() < n) return false;
    in_.remove_prefix(n);
    return true;
  }
  bool atEnd() const { return in_.empty(); }
 private:
  std::string_view in_;
};

}  // namespace

std::filesystem::path SessionTokenSigner::keyPath(const std::filesystem::path& dataDir) {
  return dataDir / "keys" / "session-key";
}

Result<std::unique_ptr<SessionTokenSigner>> SessionTokenSigner::open(
    const std::filesystem::path& dataDir) {
  auth::FileSecretStore files(dataDir);
  return open(files);
}

Result<std::unique_ptr<SessionTokenSigner>> SessionTokenSigner::open(auth::SecretStore& secrets) {
  constexpr const char* kName = "session-key";
  auto generate = []() -> Result<std::string> {
    std::string key(kSessionKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
      return Status::internal("RAND_bytes failed while creating the session-token key");
    return key;
  };
  TETHER_TRY(std::string key, secrets.loadOrCreate(kName, kSessionKeyBytes, generate));
  if (key.size() != kSessionKeyBytes)
    return Status::corruption("session key " + secrets.describe(kName) + " is not " +
                              std::to_string(kSessionKeyBytes) + " bytes");
  return std::make_unique<SessionTokenSigner>(std::move(key));
}

SessionTokenSigner::SessionTokenSigner(std::string key) : key_(std::move(key)) {
  TETHER_ASSERT(key_.size() >= 16, "session-token HMAC key shorter than 16 bytes");
}

std::string SessionTokenSigner::mac(std::string_view payload) const {
  std::string input;
  input.reserve(kMacContext.size() + payload.size());
  input += kMacContext;
  input += payload;
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  unsigned char* ok = HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
                           reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                           out.data(), &len);
  TETHER_ASSERT(ok != nullptr && len == kMacBytes, "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

std::string SessionTokenSigner::issue(std::string_view poolId, std::string_view identityId,
                                      std::string_view dataset, int64_t nowMs) const {
  std::array<unsigned char, kNonceBytes> nonce{};
  TETHER_ASSERT(RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) == 1,
                "RAND_bytes failed while issuing a session token");
  std::string payload;
  payload += static_cast<char>(kPayloadVersion);
  putString(payload, poolId);
  putString(payload, identityId);
  putString(payload, dataset);
  putI64(payload, nowMs);
  putI64(payload, nowMs + kSessionTokenLifetimeMs);
  payload.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  return auth::base64UrlEncode(payload) + "." + auth::base64UrlEncode(mac(payload));
}

Status SessionTokenSigner::verify(std::string_view token, std::string_view poolId,
                                  std::string_view identityId, std::string_view dataset,
                                  int64_t nowMs) const {
  if (token.empty() || token.size() > kMaxTokenChars) return invalidToken();
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos)
    return invalidToken();
  std::optional<std::string> payload = auth::base64UrlDecode(token.substr(0, dot));
  std::optional<std::string> tag = auth::base64UrlDecode(token.substr(dot + 1));
  if (!payload || !tag || tag->size() != kMacBytes) return invalidToken();
  // Authenticate before interpreting anything in the payload.
  std::string expected = mac(*payload);
  if (CRYPTO_memcmp(expected.data(), tag->data(), kMacBytes) != 0) return invalidToken();

  Reader r(*payload);
  uint8_t version = 0;
  std::string_view pool, identity, ds;
  int64_t issuedAtMs = 0, expiresAtMs = 0;
  if (!r.u8(version) || version != kPayloadVersion || !r.str(pool) || !r.str(identity) ||
      !r.str(ds) || !r.i64(issuedAtMs) || !r.i64(expiresAtMs) || !r.skip(kNonceBytes) || !r.atEnd())
    return invalidToken();
  if (pool != poolId || identity != identityId || ds != dataset) return invalidToken();
  if (nowMs >= expiresAtMs) return invalidToken();
  return Status::ok();
}

}  // namespace tether::server
