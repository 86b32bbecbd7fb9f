// The client half of Cognito's SRP-6a, computed exactly as amazon-cognito-identity-js's
// AuthenticationHelper does (spec 5.4): for tests of the server flow and for tools that sign in
// without Node. tetherd itself never runs it. Not hardened like the server side: `a` is given by
// the caller and the inputs are trusted to be well-formed beyond the checks listed.
// Thread-safety: free functions; callable from any thread.
#pragma once

#include <string>
#include <string_view>

#include "idp/crypto/srp.h"
#include "tether/status.h"

namespace tether::server::idp::srp {

// A fresh client secret `a`: 128 random bytes, as the JS client draws it.
std::string newClientSecret();

// SRP_A = hex(g^a mod N), lowercase and unpadded as the JS client sends it.
// kInvalidArgument if `a` is empty.
Result<std::string> clientPublicHex(std::string_view a);

// The client's u, S = (B - k*g^x)^(a + u*x) mod N and HKDF key for the challenge parameters
// SRP_B and SALT. kInvalidArgument if srpBHex or saltHex is not hex, or B mod N == 0 or u == 0
// (the JS client refuses those too).
Result<SrpDerivedKey> deriveClientKey(std::string_view a, std::string_view srpBHex, std::string_view saltHex,
                                      std::string_view poolName, std::string_view userIdForSrp,
                                      std::string_view password);

// PASSWORD_CLAIM_SIGNATURE = Base64(HMAC-SHA256(key, poolName || userIdForSrp || secretBlock ||
// timestamp)), `secretBlock` being the base64-decoded SECRET_BLOCK.
std::string claimSignature(std::string_view key, std::string_view poolName, std::string_view userIdForSrp,
                           std::string_view secretBlock, std::string_view timestamp);

}  // namespace tether::server::idp::srp
