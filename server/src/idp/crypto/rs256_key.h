// Rs256Key: one RSA-2048 key that signs a user pool's ID or access tokens (spec 6.1), and
// checks tokens it signed. Kept as PKCS#8 PEM in a secret store (idp_keyring.h).
//
// Tokens are compact JWS with the header exactly {"kid":"<kid>","alg":"RS256"} (AWS's member
// order) and the caller's JSON object as the payload. The kid is the standard base64 of SHA-256
// over the DER SubjectPublicKeyInfo: 44 characters ending '=', like AWS's kids, and it changes
// exactly when the key does. publicJwk() is the key as the pool's JWKS lists it.
//
// verify() checks the form, the algorithm, the kid and the signature and returns the payload;
// claim checks (iss, token_use, exp, client) are the caller's.
// Thread-safety: immutable after fromPem(); sign() and verify() may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tether/status.h"

namespace tether::server::idp {

class Rs256Key {
 public:
  static constexpr int kBits = 2048;
  // Keys of other sizes are refused when loading: smaller ones are weak, and nothing of ours
  // writes larger ones.
  static constexpr int kMinBits = 2048;
  static constexpr int kMaxBits = 4096;
  // A 2048-bit PKCS#8 PEM is about 1.7 KB.
  static constexpr size_t kMaxPemBytes = 16384;
  // Longest token verify() looks at. ID tokens carry the user's readable attributes (up to 50
  // custom ones of 2 KB each), so this is generous; it bounds the work a peer can cause.
  static constexpr size_t kMaxJwtBytes = 262144;

  // A fresh RSA-2048 key as unencrypted PKCS#8 PEM. kInternal if OpenSSL fails.
  static Result<std::string> newPem();
  // The key in `pem`; `where` names it in errors. kCorruption unless it is an unencrypted RSA
  // private key of kMinBits..kMaxBits in PEM.
  static Result<std::unique_ptr<Rs256Key>> fromPem(std::string_view pem, const std::string& where);

  ~Rs256Key();
  Rs256Key(const Rs256Key&) = delete;
  Rs256Key& operator=(const Rs256Key&) = delete;

  const std::string& kid() const { return kid_; }
  // {"alg":"RS256","e":"AQAB","kid":"…","kty":"RSA","n":"<base64url>","use":"sig"}
  const nlohmann::json& publicJwk() const { return jwk_; }

  // The compact JWS of `payload`. kInvalidArgument if payload is not a JSON object; kInternal if
  // OpenSSL fails.
  Result<std::string> sign(const nlohmann::json& payload) const;

  // The payload of `jwt` if it is a compact JWS this key signed: at most kMaxJwtBytes, header
  // alg exactly "RS256", kid this key's, no "crit", a valid signature, a JSON object payload.
  // Anything else is kUnauthenticated "invalid token: <why>".
  Result<nlohmann::json> verify(std::string_view jwt) const;

 private:
  struct Impl;  // the EVP_PKEY; OpenSSL stays out of this header
  Rs256Key(std::unique_ptr<Impl> impl, std::string kid, nlohmann::json jwk);
  std::unique_ptr<Impl> impl_;
  std::string kid_;
  nlohmann::json jwk_;
  std::string headerSegment_;  // base64url({"kid":…,"alg":"RS256"}), the same for every token
};

}  // namespace tether::server::idp
