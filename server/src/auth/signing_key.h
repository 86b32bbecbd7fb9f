// SigningKey: the server's ES256 (ECDSA P-256 + SHA-256) key that signs the JWTs it issues.
// Kept at `<dataDir>/keys/signing-key.pem` (PKCS#8 PEM, mode 0600, directory 0700), created on
// first start; the same file on every start means tokens stay valid across restarts and every
// node sharing the data directory verifies the others' tokens.
// The key ID (`kid`) is the RFC 7638 JWK thumbprint of the public key, so it changes exactly
// when the key does.
// Thread-safety: immutable after loadOrCreate(); sign() and verify() may run concurrently.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server {
namespace auth {
class SecretStore;
}  // namespace auth


// The public half as a JSON Web Key (RFC 7517/7518): kty "EC", crv "P-256".
struct PublicJwk {
  std::string x;    // base64url, 32 bytes big-endian
  std::string y;    // base64url, 32 bytes big-endian
  std::string kid;  // RFC 7638 thumbprint, base64url SHA-256
};

class SigningKey {
 public:
  // Path of the key file inside a data directory.
  static std::filesystem::path keyPath(const std::filesystem::path& dataDir);

  // Loads the key, or generates and stores a new one if the file does not exist.
  // kIOError if the directory or file cannot be created or read; kCorruption if the file is not
  // an unencrypted P-256 private key in PEM.
  static Result<std::unique_ptr<SigningKey>> loadOrCreate(const std::filesystem::path& dataDir);
  // The same through any secret store (the key is "signing-key.pem" there).
  static Result<std::unique_ptr<SigningKey>> loadOrCreate(auth::SecretStore& secrets);
  // A key from PKCS#8 PEM (`where` names it in errors: kCorruption if it is not a P-256 key).
  static Result<std::unique_ptr<SigningKey>> fromPem(std::string_view pem, const std::string& where);
  // A fresh P-256 key as PKCS#8 PEM (for a rotation).
  static Result<std::string> newPem();
  static constexpr size_t kMaxPemBytes = 16384;

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  const PublicJwk& publicJwk() const { return jwk_; }
  const std::string& kid() const { return jwk_.kid; }

  // ES256 signature of `data` in JWS form: raw r||s, 64 bytes (not DER). kInternal if OpenSSL fails.
  Result<std::string> sign(std::string_view data) const;

  // True if `rawSignature` (64 bytes r||s) is this key's ES256 signature of `data`.
  bool verify(std::string_view data, std::string_view rawSignature) const;

 private:
  struct Impl;  // holds the EVP_PKEY (OpenSSL stays out of this header)
  SigningKey(std::unique_ptr<Impl> impl, PublicJwk jwk);
  std::unique_ptr<Impl> impl_;
  PublicJwk jwk_;
};

}  // namespace tether::server
