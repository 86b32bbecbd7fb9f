// Server-side SRP-6a for Cognito User Pools; see srp.h. The arithmetic is in srp_math.cpp.
#include "idp/crypto/srp.h"

#include <optional>

#include "idp/crypto/crypto_util.h"
#include "idp/crypto/srp_internal.h"
#include "idp/crypto/srp_timestamp.h"

namespace tether::server::idp::srp {

using math::Bn;
using math::check;

namespace {

constexpr uint8_t kHandshakeVersion = 1;
constexpr int kMaxDraws = 8;  // B mod N == 0 has probability ~2^-3072 per draw

// A stored verifier as a number in 1..N-1.
Result<Bn> parseVerifier(std::string_view verifier) {
  if (verifier.size() != kValueBytes) return Status::corruption("stored SRP verifier has the wrong size");
  Bn v = math::bnFromBytes(verifier);
  if (BN_is_zero(v.get()) || BN_cmp(v.get(), math::groupN()) >= 0)
    return Status::corruption("stored SRP verifier is out of range");
  return v;
}

Result<Bn> parseSalt(std::string_view saltHex) { return math::parseHex(saltHex, kMaxSaltHexChars, "salt"); }

Bn secretExponent(std::string_view bytes) {
  Bn b = math::bnFromBytes(bytes);
  BN_set_flags(b.get(), BN_FLG_CONSTTIME);
  return b;
}

// B = (k*v + g^b) mod N.
Bn publicB(const BIGNUM* v, const BIGNUM* b) {
  math::BnCtx ctx = math::newCtx();
  Bn kv = math::newBn(), gb = math::newBn(), out = math::newBn();
  check(BN_mod_mul(kv.get(), math::multiplierK(), v, math::groupN(), ctx.get()), "BN_mod_mul(k*v)");
  check(BN_mod_exp(gb.get(), math::groupG(), b, math::groupN(), ctx.get()), "BN_mod_exp(g^b)");
  check(BN_mod_add(out.get(), kv.get(), gb.get(), math::groupN(), ctx.get()), "BN_mod_add(B)");
  return out;
}

Status unauthenticated(const char* why) { return Status::unauthenticated(std::string("SRP: ") + why); }

void putU16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void putI64(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
}

}  // namespace

Result<std::string> padHex(std::string_view hex) {
  TETHER_TRY(Bn n, math::parseHex(hex, kMaxPublicHexChars, "value"));
  return detail::toHex(math::padHexBytes(n.get()));
}

std::string multiplierHex() { return math::plainHex(math::multiplierK()); }

Result<std::string> privateKeyHex(std::string_view saltHex, std::string_view poolName, std::string_view userIdForSrp,
                                  std::string_view password) {
  TETHER_TRY(Bn salt, parseSalt(saltHex));
  Bn x = math::computeX(salt.get(), poolName, userIdForSrp, password);
  return math::plainHex(x.get());
}

SrpVerifier createVerifier(std::string_view poolName, std::string_view userIdForSrp, std::string_view password) {
  Result<SrpVerifier> v = verifierWithSalt(detail::toHex(detail::randomBytes(kSaltBytes)), poolName, userIdForSrp,
                                           password);
  TETHER_ASSERT(v.isOk(), "our own salt was rejected");
  return std::move(v).value();
}

Result<SrpVerifier> verifierWithSalt(std::string_view saltHex, std::string_view poolName,
                                     std::string_view userIdForSrp, std::string_view password) {
  TETHER_TRY(Bn salt, parseSalt(saltHex));
  Bn x = math::computeX(salt.get(), poolName, userIdForSrp, password);
  return SrpVerifier{std::string(saltHex), math::verifierFromX(x.get())};
}

Result<bool> checkPassword(const SrpVerifier& stored, std::string_view poolName, std::string_view userIdForSrp,
                           std::string_view password) {
  Result<Bn> salt = parseSalt(stored.saltHex);
  if (!salt.isOk()) return Status::corruption("stored SRP salt is malformed: " + salt.status().message());
  TETHER_TRY(Bn v, parseVerifier(stored.verifier));
  (void)v;  // range-checked only; the comparison below is over the fixed-width bytes
  Bn x = math::computeX(salt->get(), poolName, userIdForSrp, password);
  return detail::constantTimeEquals(math::verifierFromX(x.get()), stored.verifier);
}

std::string SrpHandshake::srpBHex() const { return math::plainHex(math::bnFromBytes(serverB).get()); }

std::string SrpHandshake::serialize() const {
  std::string out;
  out.reserve(1 + 2 + userIdForSrp.size() + 8 + 2 * kValueBytes + kSecretBytes);
  out += static_cast<char>(kHandshakeVersion);
  putU16(out, userIdForSrp.size());
  out += userIdForSrp;
  putI64(out, expiresAt);
  out += clientA;
  out += serverB;
  out += secretB;
  return out;
}

Result<SrpHandshake> SrpHandshake::parse(std::string_view bytes) {
  auto bad = [] { return Status::unauthenticated("invalid SECRET_BLOCK: not an SRP handshake"); };
  if (bytes.size() < 3 || static_cast<uint8_t>(bytes[0]) != kHandshakeVersion) return bad();
  const size_t userLen = static_cast<size_t>(static_cast<uint8_t>(bytes[1])) << 8 | static_cast<uint8_t>(bytes[2]);
  if (userLen == 0 || userLen > kMaxUserIdBytes) return bad();
  const size_t expected = 3 + userLen + 8 + 2 * kValueBytes + kSecretBytes;
  if (bytes.size() != expected) return bad();
  SrpHandshake h;
  size_t p = 3;
  h.userIdForSrp = std::string(bytes.substr(p, userLen));
  p += userLen;
  uint64_t exp = 0;
  for (int i = 0; i < 8; ++i) exp = exp << 8 | static_cast<uint8_t>(bytes[p++]);
  h.expiresAt = static_cast<int64_t>(exp);
  h.clientA = std::string(bytes.substr(p, kValueBytes));
  p += kValueBytes;
  h.serverB = std::string(bytes.substr(p, kValueBytes));
  p += kValueBytes;
  h.secretB = std::string(bytes.substr(p, kSecretBytes));
  return h;
}

namespace {

struct CheckedInputs {
  Bn a;  // 1..N-1
  Bn v;  // 1..N-1
};

Result<CheckedInputs> checkInputs(std::string_view srpAHex, std::string_view verifier,
                                  std::string_view userIdForSrp) {
  if (userIdForSrp.empty() || userIdForSrp.size() > kMaxUserIdBytes)
    return Status::invalidArgument("SRP: USER_ID_FOR_SRP is empty or too long");
  TETHER_TRY(Bn a, math::parseHex(srpAHex, kMaxPublicHexChars, "SRP_A"));
  math::BnCtx ctx = math::newCtx();
  Bn aModN = math::newBn();
  check(BN_nnmod(aModN.get(), a.get(), math::groupN(), ctx.get()), "BN_nnmod(A)");
  // SRP-6a: the host must abort when A % N == 0, or S would be 0 whatever the password.
  if (BN_is_zero(aModN.get())) return unauthenticated("SRP_A mod N is 0");
  if (BN_cmp(a.get(), math::groupN()) >= 0) return Status::invalidArgument("SRP: SRP_A is not below N");
  TETHER_TRY(Bn v, parseVerifier(verifier));
  return CheckedInputs{std::move(a), std::move(v)};
}

// The handshake for this b, or nullopt when B mod N == 0.
std::optional<SrpHandshake> withSecret(const CheckedInputs& in, std::string userIdForSrp, int64_t expiresAt,
                                       std::string_view secretB) {
  Bn b = secretExponent(secretB);
  Bn bigB = publicB(in.v.get(), b.get());
  if (BN_is_zero(bigB.get())) return std::nullopt;
  SrpHandshake h;
  h.userIdForSrp = std::move(userIdForSrp);
  h.expiresAt = expiresAt;
  h.clientA = math::fixedBytes(in.a.get(), kValueBytes);
  h.serverB = math::fixedBytes(bigB.get(), kValueBytes);
  h.secretB = std::string(secretB);
  return h;
}

}  // namespace

Result<SrpHandshake> beginHandshakeWithSecret(std::string_view srpAHex, std::string_view verifier,
                                              std::string userIdForSrp, int64_t expiresAt, std::string_view secretB) {
  if (secretB.size() != kSecretBytes) return Status::invalidArgument("SRP: b must be 32 bytes");
  TETHER_TRY(CheckedInputs in, checkInputs(srpAHex, verifier, userIdForSrp));
  std::optional<SrpHandshake> h = withSecret(in, std::move(userIdForSrp), expiresAt, secretB);
  if (!h) return Status::invalidArgument("SRP: this b gives B mod N == 0");
  return std::move(*h);
}

Result<SrpHandshake> beginHandshake(std::string_view srpAHex, std::string_view verifier, std::string userIdForSrp,
                                    int64_t expiresAt) {
  TETHER_TRY(CheckedInputs in, checkInputs(srpAHex, verifier, userIdForSrp));
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    std::optional<SrpHandshake> h = withSecret(in, userIdForSrp, expiresAt, detail::randomBytes(kSecretBytes));
    if (h) return std::move(*h);
  }
  return Status::internal("SRP: no usable b after several draws");  // probability ~2^-24000
}

Result<SrpDerivedKey> deriveServerKey(const SrpHandshake& handshake, std::string_view verifier) {
  if (handshake.clientA.size() != kValueBytes || handshake.serverB.size() != kValueBytes ||
      handshake.secretB.size() != kSecretBytes)
    return unauthenticated("handshake values have the wrong sizes");
  TETHER_TRY(Bn v, parseVerifier(verifier));
  Bn a = math::bnFromBytes(handshake.clientA);
  Bn bigB = math::bnFromBytes(handshake.serverB);
  Bn b = secretExponent(handshake.secretB);
  Bn u = math::computeU(a.get(), bigB.get());
  if (BN_is_zero(u.get())) return unauthenticated("u is 0");

  math::BnCtx ctx = math::newCtx();
  Bn vu = math::newBn(), base = math::newBn(), s = math::newBn();
  check(BN_mod_exp(vu.get(), v.get(), u.get(), math::groupN(), ctx.get()), "BN_mod_exp(v^u)");
  check(BN_mod_mul(base.get(), a.get(), vu.get(), math::groupN(), ctx.get()), "BN_mod_mul(A*v^u)");
  check(BN_mod_exp(s.get(), base.get(), b.get(), math::groupN(), ctx.get()), "BN_mod_exp(S)");
  return SrpDerivedKey{math::plainHex(u.get()), detail::toHex(math::padHexBytes(s.get())),
                       math::hkdfKey(u.get(), s.get())};
}

Result<int64_t> verifyPasswordClaim(const SrpHandshake& handshake, std::string_view verifier,
                                    std::string_view poolName, std::string_view secretBlock,
                                    std::string_view timestamp, std::string_view signatureBase64) {
  Result<int64_t> when = parseTimestamp(timestamp);
  if (!when.isOk()) return Status::unauthenticated("SRP: " + when.status().message());
  TETHER_TRY(SrpDerivedKey derived, deriveServerKey(handshake, verifier));
  std::string expected =
      math::claimSignature(derived.key, poolName, handshake.userIdForSrp, secretBlock, timestamp);
  if (!detail::constantTimeEquals(expected, signatureBase64)) return unauthenticated("signature does not match");
  return *when;
}

}  // namespace tether::server::idp::srp
