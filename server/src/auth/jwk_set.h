// JwkSet: the public keys of an external OpenID Connect issuer, parsed from a JWKS document
// (RFC 7517), and JWS signature checks with them (RS256 and ES256 only). Keys of other types,
// curves or algorithms in the document are skipped, not errors: issuers publish several.
// Thread-safety: immutable after parse(); verify() may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/status.h"

namespace tether::server {

class JwkSet {
 public:
  // kInvalidArgument if `json` is not a JWKS document or holds no usable key.
  static Result<std::shared_ptr<const JwkSet>> parse(std::string_view json);
  ~JwkSet();

  // True when a key with this kid (or, for an empty kid, the only key) and a matching type
  // for `alg` ("RS256" or "ES256") verifies `signature` (raw JWS bytes) over `signingInput`.
  // `found` reports whether any key matched kid and alg at all (unknown kid vs bad signature).
  bool verify(std::string_view alg, std::string_view kid, std::string_view signingInput,
              std::string_view signature, bool* found) const;
  size_t size() const;

  struct Key;
 private:
  JwkSet() = default;
  std::vector<std::unique_ptr<Key>> keys_;
};

}  // namespace tether::server
