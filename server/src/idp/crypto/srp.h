// SRP-6a for Cognito User Pools, the server side, exactly as amazon-cognito-identity-js and
// Amplify compute it (spec ../shared/spec/cognito-user-pools.md section 5; vectors in its
// Appendix A): the 3072-bit group of RFC 3526 with g = 2, SHA-256, padHex encoding of every
// integer that is hashed, and a 16-byte HKDF key.
//
// The server never keeps a password. At every password set it stores an SrpVerifier (a random
// salt and v = g^x mod N); that is enough both for the USER_SRP_AUTH handshake and for a plain
// password check (USER_PASSWORD_AUTH, checkPassword()).
//
// The handshake spans two requests. InitiateAuth calls beginHandshake() and gets an
// SrpHandshake: the client's A, the server's secret b and public B, and the user it is for. The
// caller seals SrpHandshake::serialize() into the SECRET_BLOCK it sends (sealer.h, with the
// pool and client in the associated data) and answers SRP_B = handshake.srpBHex(). At
// RespondToAuthChallenge it opens the block, parses the handshake back, and calls
// verifyPasswordClaim() with the client's TIMESTAMP and PASSWORD_CLAIM_SIGNATURE. Single use
// and expiry of the block are the caller's (the handshake carries `expiresAt` for it).
//
// Input from clients (SRP_A, TIMESTAMP, the signature) is checked here and bounded; failures are
// typed Statuses, never aborts. All comparisons of secrets run in constant time.
// Thread-safety: free functions without shared mutable state; callable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server::idp::srp {

// Bytes of every value mod N (A, B, v), big-endian, left-padded with zeros.
inline constexpr size_t kValueBytes = 384;
// Fresh salts are 16 random bytes, sent as 32 hex characters.
inline constexpr size_t kSaltBytes = 16;
// The server's secret exponent b: 32 random bytes.
inline constexpr size_t kSecretBytes = 32;
// Longest SRP_A accepted, in hex characters: N has 768; a client may add leading zeros.
inline constexpr size_t kMaxPublicHexChars = 1024;
// Longest salt accepted (stored or imported), in hex characters.
inline constexpr size_t kMaxSaltHexChars = 256;
// Longest USER_ID_FOR_SRP a handshake carries, in bytes (Username: 128 characters of UTF-8).
inline constexpr size_t kMaxUserIdBytes = 512;
// Length of the derived key (HKDF output) in bytes.
inline constexpr size_t kDerivedKeyBytes = 16;

// What the server stores for a password.
struct SrpVerifier {
  std::string saltHex;   // the SALT challenge parameter: lowercase hex (32 characters when fresh)
  std::string verifier;  // v = g^x mod N, kValueBytes bytes big-endian; a password equivalent
};

// ---- building blocks (exposed for the test vectors)

// padHex of the non-negative integer written in `hex` (tolerant parse as for SRP_A): lowercase,
// even length, "00" in front when the first digit would be 8-f. kInvalidArgument if not hex.
Result<std::string> padHex(std::string_view hex);
// k = H(padHex(N) || padHex(g)) as lowercase hex (64 characters).
std::string multiplierHex();
// x = H(padHex(salt) || H(poolName || userIdForSrp || ":" || password)) as lowercase hex without
// leading zeros. kInvalidArgument if saltHex is not hex or is longer than kMaxSaltHexChars.
Result<std::string> privateKeyHex(std::string_view saltHex, std::string_view poolName,
                                  std::string_view userIdForSrp, std::string_view password);

// ---- password set and check

// A verifier with a fresh random salt. `poolName` is the pool id after '_'; `userIdForSrp` the
// internal Username (the later USER_ID_FOR_SRP). Costs one 3072-bit modexp.
SrpVerifier createVerifier(std::string_view poolName, std::string_view userIdForSrp, std::string_view password);
// The same with a given salt (tests; recomputing for a password-history check).
// kInvalidArgument if saltHex is not acceptable hex.
Result<SrpVerifier> verifierWithSalt(std::string_view saltHex, std::string_view poolName,
                                     std::string_view userIdForSrp, std::string_view password);
// USER_PASSWORD_AUTH (spec 5.7): whether `password` produces the stored verifier, compared in
// constant time. kCorruption if the stored salt or verifier is malformed.
Result<bool> checkPassword(const SrpVerifier& stored, std::string_view poolName, std::string_view userIdForSrp,
                           std::string_view password);

// ---- the handshake

// The state kept between InitiateAuth and RespondToAuthChallenge (sealed into SECRET_BLOCK).
struct SrpHandshake {
  std::string userIdForSrp;  // the internal Username the challenge was issued for
  int64_t expiresAt = 0;     // epoch seconds; set by the caller, checked by the caller
  std::string clientA;       // A, kValueBytes bytes
  std::string serverB;       // B, kValueBytes bytes
  std::string secretB;       // b, kSecretBytes bytes: secret, never leaves a sealed block

  // SRP_B as the server sends it: lowercase hex without leading zeros.
  std::string srpBHex() const;
  // A versioned binary form (about 830 bytes); parse(serialize()) gives the same handshake.
  std::string serialize() const;
  // kUnauthenticated "invalid SECRET_BLOCK ..." unless `bytes` is exactly what serialize()
  // writes (known version, field sizes as above, nothing trailing).
  static Result<SrpHandshake> parse(std::string_view bytes);
};

// InitiateAuth: validates SRP_A, picks b (32 random bytes) and computes B = (k*v + g^b) mod N,
// drawing b again in the (negligible) case B mod N == 0.
// kInvalidArgument if srpAHex is not hex, longer than kMaxPublicHexChars, or A >= N;
// kUnauthenticated if A mod N == 0 (a known attack: it forces S = 0); kCorruption if the stored
// verifier is not kValueBytes bytes in 1..N-1; kInvalidArgument if userIdForSrp is empty or
// longer than kMaxUserIdBytes.
Result<SrpHandshake> beginHandshake(std::string_view srpAHex, std::string_view verifier, std::string userIdForSrp,
                                    int64_t expiresAt);
// The same with a given b (kSecretBytes bytes), for the test vectors. kInvalidArgument if b has
// another size or gives B mod N == 0.
Result<SrpHandshake> beginHandshakeWithSecret(std::string_view srpAHex, std::string_view verifier,
                                              std::string userIdForSrp, int64_t expiresAt,
                                              std::string_view secretB);

// What both sides derive (spec 5.4 step 3-4), for tests: u and S, and the key.
struct SrpDerivedKey {
  std::string uHex;     // u, lowercase hex without leading zeros
  std::string sPadHex;  // padHex(S), lowercase
  std::string key;      // kDerivedKeyBytes raw bytes
};
// The server's side: u = H(padHex(A) || padHex(B)), S = (A * v^u)^b mod N, key = HKDF.
// kUnauthenticated if u == 0; kCorruption if the verifier is malformed; kUnauthenticated if
// the handshake's A, B or b have the wrong sizes.
Result<SrpDerivedKey> deriveServerKey(const SrpHandshake& handshake, std::string_view verifier);

// RespondToAuthChallenge PASSWORD_VERIFIER (spec 5.5): parses `timestamp` strictly
// (srp_timestamp.h), derives the key and compares, in constant time, `signatureBase64` with
// Base64(HMAC(key, poolName || handshake.userIdForSrp || secretBlock || timestamp)), computed
// over the exact received TIMESTAMP. `secretBlock` is the base64-decoded SECRET_BLOCK.
// Returns the TIMESTAMP as epoch seconds (for an optional clock-skew check by the caller).
// kUnauthenticated for anything the client sent wrong (a malformed timestamp, u == 0, a wrong
// signature; the message says which, for logs; the caller answers "Incorrect username or
// password."); kCorruption if the stored verifier is malformed.
Result<int64_t> verifyPasswordClaim(const SrpHandshake& handshake, std::string_view verifier,
                                    std::string_view poolName, std::string_view secretBlock,
                                    std::string_view timestamp, std::string_view signatureBase64);

}  // namespace tether::server::idp::srp
