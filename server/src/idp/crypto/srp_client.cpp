// The SRP client computation of amazon-cognito-identity-js; see srp_client.h.
#include "idp/crypto/srp_client.h"

#include "idp/crypto/crypto_util.h"
#include "idp/crypto/srp_internal.h"

namespace tether::server::idp::srp {

using math::Bn;
using math::check;

namespace {
constexpr size_t kClientSecretBytes = 128;
}  // namespace

std::string newClientSecret() { return detail::randomBytes(kClientSecretBytes); }

Result<std::string> clientPublicHex(std::string_view a) {
  if (a.empty()) return Status::invalidArgument("SRP client: a is empty");
  Bn exponent = math::bnFromBytes(a);
  math::BnCtx ctx = math::newCtx();
  Bn bigA = math::newBn();
  check(BN_mod_exp(bigA.get(), math::groupG(), exponent.get(), math::groupN(), ctx.get()), "BN_mod_exp(g^a)");
  return math::plainHex(bigA.get());
}

Result<SrpDerivedKey> deriveClientKey(std::string_view a, std::string_view srpBHex, std::string_view saltHex,
                                      std::string_view poolName, std::string_view userIdForSrp,
                                      std::string_view password) {
  TETHER_TRY(std::string srpAHex, clientPublicHex(a));
  TETHER_TRY(Bn bigA, math::parseHex(srpAHex, kMaxPublicHexChars, "SRP_A"));
  TETHER_TRY(Bn bigB, math::parseHex(srpBHex, kMaxPublicHexChars, "SRP_B"));
  TETHER_TRY(Bn salt, math::parseHex(saltHex, kMaxSaltHexChars, "SALT"));
  math::BnCtx ctx = math::newCtx();
  Bn bModN = math::newBn();
  check(BN_nnmod(bModN.get(), bigB.get(), math::groupN(), ctx.get()), "BN_nnmod(B)");
  if (BN_is_zero(bModN.get())) return Status::invalidArgument("SRP client: B mod N is 0");
  Bn u = math::computeU(bigA.get(), bigB.get());
  if (BN_is_zero(u.get())) return Status::invalidArgument("SRP client: u is 0");
  Bn x = math::computeX(salt.get(), poolName, userIdForSrp, password);

  // The JS client does not reduce k*g^x before subtracting, so its base is usually negative;
  // BN_mod_sub gives the same residue.
  Bn gx = math::newBn(), kgx = math::newBn(), base = math::newBn();
  check(BN_mod_exp(gx.get(), math::groupG(), x.get(), math::groupN(), ctx.get()), "BN_mod_exp(g^x)");
  check(BN_mul(kgx.get(), math::multiplierK(), gx.get(), ctx.get()), "BN_mul(k*g^x)");
  check(BN_mod_sub(base.get(), bigB.get(), kgx.get(), math::groupN(), ctx.get()), "BN_mod_sub(B-kg^x)");
  Bn ux = math::newBn(), exponent = math::newBn(), s = math::newBn();
  Bn aNum = math::bnFromBytes(a);
  check(BN_mul(ux.get(), u.get(), x.get(), ctx.get()), "BN_mul(u*x)");
  check(BN_add(exponent.get(), aNum.get(), ux.get()), "BN_add(a+u*x)");
  check(BN_mod_exp(s.get(), base.get(), exponent.get(), math::groupN(), ctx.get()), "BN_mod_exp(S)");
  return SrpDerivedKey{math::plainHex(u.get()), detail::toHex(math::padHexBytes(s.get())),
                       math::hkdfKey(u.get(), s.get())};
}

std::string claimSignature(std::string_view key, std::string_view poolName, std::string_view userIdForSrp,
                           std::string_view secretBlock, std::string_view timestamp) {
  return math::claimSignature(key, poolName, userIdForSrp, secretBlock, timestamp);
}

}  // namespace tether::server::idp::srp
