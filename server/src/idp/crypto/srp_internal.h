// The SRP-6a arithmetic shared by the server side (srp.cpp) and the test client
// (srp_client.cpp), in OpenSSL BIGNUMs: the group, padHex, the hashes and the key derivation of
// spec section 5 exactly as amazon-cognito-identity-js computes them. Internal to idp/crypto.
// Thread-safety: pure functions; the group constants are built once and only read after.
#pragma once

#include <openssl/bn.h>

#include <memory>
#include <string>
#include <string_view>

#include "auth/openssl_util.h"
#include "idp/crypto/srp.h"
#include "tether/status.h"

namespace tether::server::idp::srp::math {

using Bn = BignumPtr;
using BnCtx = std::unique_ptr<BN_CTX, OpensslFree<BN_CTX_free>>;

// N (RFC 3526, 3072 bits), g = 2 and k = H(padHex(N) || padHex(g)).
const BIGNUM* groupN();
const BIGNUM* groupG();
const BIGNUM* multiplierK();

// Allocation helpers that abort on out-of-memory (as every OpenSSL-backed allocation here does).
Bn newBn();
BnCtx newCtx();
Bn bnFromBytes(std::string_view bigEndian);
// Aborts with `what` unless an OpenSSL BN call returned 1. For our own arithmetic on validated
// values, where failure can only mean memory exhaustion.
void check(int rc, const char* what);

// The bytes of padHex(n) for n >= 0: minimal big-endian, a leading 0x00 if the top bit would
// otherwise be set, and "00" for zero (the two's-complement form Java's toByteArray gives).
std::string padHexBytes(const BIGNUM* n);
// n as big-endian bytes, left-padded with zeros to `width` (n must fit).
std::string fixedBytes(const BIGNUM* n, size_t width);
// Lowercase hex of n without leading zeros ("0" for zero), as JS BigInteger.toString(16).
std::string plainHex(const BIGNUM* n);

// A non-negative integer from client or stored hex: case-insensitive, odd lengths and leading
// zeros accepted, at most `maxChars` characters. kInvalidArgument naming `what` otherwise.
Result<Bn> parseHex(std::string_view hex, size_t maxChars, const char* what);

// int(SHA-256(bytes)).
Bn hashToBn(std::string_view bytes);

// x = H(padHex(salt) || H(poolName || userId || ":" || password)).
Bn computeX(const BIGNUM* salt, std::string_view poolName, std::string_view userId, std::string_view password);
// v = g^x mod N as kValueBytes (srp.h) bytes.
std::string verifierFromX(const BIGNUM* x);
// u = H(padHex(A) || padHex(B)).
Bn computeU(const BIGNUM* a, const BIGNUM* b);
// The 16-byte HKDF-SHA256 key: PRK = HMAC(padHex(u), padHex(S)); first 16 bytes of
// HMAC(PRK, "Caldera Derived Key" || 0x01).
std::string hkdfKey(const BIGNUM* u, const BIGNUM* s);
// Base64(HMAC-SHA256(key, poolName || userId || secretBlock || timestamp)).
std::string claimSignature(std::string_view key, std::string_view poolName, std::string_view userId,
                           std::string_view secretBlock, std::string_view timestamp);

}  // namespace tether::server::idp::srp::math
