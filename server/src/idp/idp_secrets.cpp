// Sign-in secret helpers; see idp_secrets.h.
#include "idp/idp_secrets.h"

#include <algorithm>

#include "auth/base64url.h"
#include "auth/jwt_parts.h"
#include "idp/crypto/crypto_util.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/srp.h"

namespace tether::server::idp {

std::string newSessionHandle() { return auth::base64UrlEncode(detail::randomBytes(48)); }

SimulatedUser simulatedUser(const CodeHasher& keys, std::string_view poolId, std::string_view typedName) {
  std::string name(typedName);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string seed = keys.hash("simulated-user|" + std::string(poolId), name);
  const std::string digest = detail::toHex(detail::sha256(seed));  // 64 hex characters
  SimulatedUser u;
  u.userId = digest.substr(0, 8) + "-" + digest.substr(8, 4) + "-4" + digest.substr(13, 3) + "-a" +
             digest.substr(17, 3) + "-" + digest.substr(20, 12);
  u.saltHex = digest.substr(32, 32);
  std::string_view pool = poolId.substr(poolId.find('_') + 1);
  Result<srp::SrpVerifier> v = srp::verifierWithSalt(u.saltHex, pool, u.userId, seed);
  u.verifier = v.isOk() ? v->verifier : std::string(srp::kValueBytes, '\x01');
  return u;
}

void burnPasswordCheck(std::string_view poolName, std::string_view userId, std::string_view password) {
  (void)srp::verifierWithSalt("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", poolName, userId, password);
}

Result<nlohmann::json> unverifiedJwtPayload(std::string_view token) {
  std::optional<jwt::Compact> parts = jwt::split(token);
  if (!parts) return Status::unauthenticated("invalid token: not a compact JWS");
  return jwt::decodeObject(parts->payload, "payload");
}

}  // namespace tether::server::idp
