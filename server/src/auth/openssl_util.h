// Small OpenSSL helpers shared by the JWT code (our ES256 signing key and the JWKS verifier):
// owning pointers for OpenSSL objects, and the conversion between the two encodings of an
// ECDSA P-256 signature (JWS carries r||s, OpenSSL signs and verifies DER).
// Thread-safety: pure functions.
#pragma once

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace tether::server {

template <auto Fn>
struct OpensslFree {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslFree<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslFree<EVP_MD_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslFree<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpensslFree<ECDSA_SIG_free>>;

// P-256: each of r and s is 32 bytes in the JWS form.
inline constexpr size_t kEs256CoordBytes = 32;
inline constexpr size_t kEs256RawSigBytes = 2 * kEs256CoordBytes;

// r||s (64 bytes) -> DER. Empty if `raw` is not 64 bytes or OpenSSL fails.
std::string es256RawToDer(std::string_view raw);
// DER -> r||s (64 bytes). Empty if `der` does not decode or a component is too large.
std::string es256DerToRaw(std::string_view der);

}  // namespace tether::server
