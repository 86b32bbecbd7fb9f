// SRP-6a arithmetic as amazon-cognito-identity-js does it; see srp_internal.h and spec section 5.
#include "idp/crypto/srp_internal.h"

#include <openssl/crypto.h>

#include "auth/base64url.h"
#include "idp/crypto/crypto_util.h"

namespace tether::server::idp::srp::math {

using idp::detail::hmacSha256;
using idp::detail::sha256;
using idp::detail::toHex;

namespace {

// RFC 3526 section 4 (also RFC 5054 appendix A), the 3072-bit group the JS clients use.
constexpr const char* kNHex =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";

constexpr std::string_view kHkdfInfo = "Caldera Derived Key";

struct Group {
  Bn n, g, k;
  Group() {
    BIGNUM* raw = nullptr;
    int parsed = BN_hex2bn(&raw, kNHex);
    TETHER_ASSERT(raw != nullptr && parsed == static_cast<int>(std::string_view(kNHex).size()), "BN_hex2bn(N)");
    n.reset(raw);
    g = newBn();
    check(BN_set_word(g.get(), 2), "BN_set_word(g)");
    k = hashToBn(padHexBytes(n.get()) + padHexBytes(g.get()));
  }
};

// Built on first use; C++ guarantees one thread builds it and the others wait. Read-only after.
const Group& group() {
  static const Group kGroup;
  return kGroup;
}

}  // namespace

const BIGNUM* groupN() { return group().n.get(); }
const BIGNUM* groupG() { return group().g.get(); }
const BIGNUM* multiplierK() { return group().k.get(); }

void check(int rc, const char* what) { TETHER_ASSERT(rc == 1, what); }

Bn newBn() {
  Bn bn(BN_new());
  TETHER_ASSERT(bn != nullptr, "BN_new failed");
  return bn;
}

BnCtx newCtx() {
  BnCtx ctx(BN_CTX_new());
  TETHER_ASSERT(ctx != nullptr, "BN_CTX_new failed");
  return ctx;
}

Bn bnFromBytes(std::string_view bigEndian) {
  Bn bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bigEndian.data()), static_cast<int>(bigEndian.size()),
                  nullptr));
  TETHER_ASSERT(bn != nullptr, "BN_bin2bn failed");
  return bn;
}

std::string padHexBytes(const BIGNUM* n) {
  std::string out(static_cast<size_t>(BN_num_bytes(n)), '\0');
  if (!out.empty()) BN_bn2bin(n, reinterpret_cast<unsigned char*>(out.data()));
  if (out.empty() || (static_cast<unsigned char>(out[0]) & 0x80) != 0) out.insert(out.begin(), '\0');
  return out;
}

std::string fixedBytes(const BIGNUM* n, size_t width) {
  std::string out(width, '\0');
  int rc = BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(width));
  TETHER_ASSERT(rc == static_cast<int>(width), "SRP value does not fit its width");
  return out;
}

std::string plainHex(const BIGNUM* n) {
  if (BN_is_zero(n)) return "0";
  std::string hex = toHex(fixedBytes(n, static_cast<size_t>(BN_num_bytes(n))));
  return hex[0] == '0' ? hex.substr(1) : hex;  // a single leading zero nibble at most
}

Result<Bn> parseHex(std::string_view hex, size_t maxChars, const char* what) {
  if (hex.empty()) return Status::invalidArgument(std::string(what) + " is empty");
  if (hex.size() > maxChars) return Status::invalidArgument(std::string(what) + " is too long");
  // Our own check: BN_hex2bn would also take a leading '-' and stop at the first non-hex
  // character instead of failing.
  for (char c : hex) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) return Status::invalidArgument(std::string(what) + " is not hexadecimal");
  }
  std::string text(hex);  // BN_hex2bn reads a NUL-terminated string
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, text.c_str()) != static_cast<int>(text.size()) || raw == nullptr) {
    BN_free(raw);
    return Status::invalidArgument(std::string(what) + " is not hexadecimal");
  }
  return Bn(raw);
}

Bn hashToBn(std::string_view bytes) { return bnFromBytes(sha256(bytes)); }

Bn computeX(const BIGNUM* salt, std::string_view poolName, std::string_view userId, std::string_view password) {
  std::string identity;
  identity.reserve(poolName.size() + userId.size() + 1 + password.size());
  identity.append(poolName).append(userId).append(":").append(password);
  std::string inner = sha256(identity);
  OPENSSL_cleanse(identity.data(), identity.size());
  Bn x = hashToBn(padHexBytes(salt) + inner);
  BN_set_flags(x.get(), BN_FLG_CONSTTIME);  // x is a password equivalent: constant-time modexp
  return x;
}

std::string verifierFromX(const BIGNUM* x) {
  BnCtx ctx = newCtx();
  Bn v = newBn();
  check(BN_mod_exp(v.get(), groupG(), x, groupN(), ctx.get()), "BN_mod_exp(g^x)");
  return fixedBytes(v.get(), kValueBytes);
}

Bn computeU(const BIGNUM* a, const BIGNUM* b) { return hashToBn(padHexBytes(a) + padHexBytes(b)); }

std::string hkdfKey(const BIGNUM* u, const BIGNUM* s) {
  std::string prk = hmacSha256(padHexBytes(u), padHexBytes(s));
  std::string info(kHkdfInfo);
  info += '\x01';
  return hmacSha256(prk, info).substr(0, kDerivedKeyBytes);
}

std::string claimSignature(std::string_view key, std::string_view poolName, std::string_view userId,
                           std::string_view secretBlock, std::string_view timestamp) {
  std::string message;
  message.reserve(poolName.size() + userId.size() + secretBlock.size() + timestamp.size());
  message.append(poolName).append(userId).append(secretBlock).append(timestamp);
  return auth::base64Encode(hmacSha256(key, message));
}

}  // namespace tether::server::idp::srp::math
