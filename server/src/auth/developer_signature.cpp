// HMAC proof of a native developer-token request; see developer_signature.h.
#include "auth/developer_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace tether::server {
namespace {

void field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out.append(value);
  out += '\n';
}

}  // namespace

std::string developerCanonicalString(const proto::GetDeveloperTokenRequest& r) {
  std::string out = "TETHER-DEV-HMAC-SHA256\n";
  field(out, r.accessKeyId);
  field(out, std::to_string(r.timestampMs));
  field(out, r.identityPoolId);
  field(out, r.identityId);
  field(out, r.developerUserId);
  field(out, std::to_string(r.tokenDurationSeconds));
  return out;
}

std::string signDeveloperRequest(std::string_view secret, const proto::GetDeveloperTokenRequest& request) {
  std::string canonical = developerCanonicalString(request);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 0xf];
  }
  return hex;
}

Status verifyDeveloperSignature(std::string_view secret, const proto::GetDeveloperTokenRequest& request,
                                int64_t nowMs) {
  if (request.timestampMs < nowMs - kMaxDeveloperSkewMs || request.timestampMs > nowMs + kMaxDeveloperSkewMs)
    return Status::unauthenticated("Signature expired: the request timestamp is more than 5 minutes from the "
                                   "server clock.");
  std::string expected = signDeveloperRequest(secret, request);
  if (request.signature.size() != expected.size() ||
      CRYPTO_memcmp(expected.data(), request.signature.data(), expected.size()) != 0)
    return Status::unauthenticated("The request signature does not match (check the secret and the canonical "
                                   "string).");
  return Status::ok();
}

}  // namespace tether::server
