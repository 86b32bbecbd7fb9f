// SigV4 request authentication; see request_auth.h.
#include "cognito/request_auth.h"

#include <cstdlib>
#include <ctime>

#include "cognito/sigv4.h"
#include "cognito/sigv4_signer.h"

namespace tether::server::cognito {
namespace {

ApiError gateway(int status, std::string type, std::string message) {
  return ApiError{status, std::move(type), std::move(message)};
}
ApiError incomplete(std::string m) { return gateway(400, "IncompleteSignatureException", std::move(m)); }
ApiError invalidSignature(std::string m) { return gateway(403, "InvalidSignatureException", std::move(m)); }
ApiError unrecognized() {
  return gateway(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
}

}  // namespace

RequestAuthenticator::RequestAuthenticator(const TemporaryCredentials& credentials,
                                           std::map<std::string, std::string> developerKeys, const Clock& clock,
                                           Store* store)
    : credentials_(credentials), developerKeys_(std::move(developerKeys)), clock_(clock), store_(store) {}

Result<std::optional<std::string>> RequestAuthenticator::developerSecret(const std::string& accessKeyId) const {
  if (auto it = developerKeys_.find(accessKeyId); it != developerKeys_.end())
    return std::optional<std::string>(it->second);
  // Temporary keys (ASIA...) never live in the table; skip the query for them.
  if (store_ == nullptr || accessKeyId.starts_with("ASIA")) return std::optional<std::string>();
  TETHER_TRY(std::optional<DeveloperCredentialRow> row, store_->findDeveloperCredential(accessKeyId));
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(row->secret);
}

ApiResult<Principal> RequestAuthenticator::authenticate(const HttpRequest& request, std::string_view canonicalUriText,
                                                        std::string_view service) const {
  const std::string* authz = request.header("authorization");
  if (authz == nullptr || authz->empty())
    return gateway(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  Result<SigV4Authorization> parsed = parseAuthorization(*authz);
  if (!parsed.isOk()) return incomplete(parsed.status().message());
  const SigV4Authorization& auth = *parsed;

  const std::string* amzDate = request.header("x-amz-date");
  if (amzDate == nullptr) amzDate = request.header("date");
  if (amzDate == nullptr)
    return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  Result<int64_t> when = parseAmzDate(*amzDate);
  if (!when.isOk()) return incomplete("X-Amz-Date must have the form yyyyMMddTHHmmssZ.");
  if (amzDate->substr(0, 8) != auth.date)
    return invalidSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                            auth.date + "' != '" + amzDate->substr(0, 8) + "', from '" + *amzDate + "'.");
  int64_t now = clock_.nowMs();
  if (std::llabs(now - *when) > kMaxClockSkewMs) {
    bool past = *when < now;
    return invalidSignature("Signature " + std::string(past ? "expired" : "not yet current") + ": " + *amzDate +
                            " is now " + (past ? "earlier" : "later") + " than " +
                            cognito::amzDate(past ? now - kMaxClockSkewMs : now + kMaxClockSkewMs) + " (" + cognito::amzDate(now) +
                            (past ? " - " : " + ") + "5 min.)");
  }
  if (auth.service != service)
    return invalidSignature("Credential should be scoped to correct service: '" + std::string(service) + "'.");
  bool hostSigned = false;
  for (const std::string& h : auth.signedHeaders) hostSigned = hostSigned || h == "host";
  if (!hostSigned) return incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.");

  Principal principal;
  std::string secret;
  Result<std::optional<std::string>> developer = developerSecret(auth.accessKeyId);
  if (!developer.isOk()) return ApiError::internal("An internal error occurred.");
  if (*developer) {
    principal.kind = Principal::Kind::kDeveloper;
    principal.accessKeyId = auth.accessKeyId;
    principal.authenticated = true;
    secret = **developer;
  } else {
    const std::string* token = request.header("x-amz-security-token");
    if (token == nullptr || token->empty()) return unrecognized();
    CredentialScope scope;
    switch (credentials_.check(auth.accessKeyId, *token, now, scope)) {
      case CredentialCheck::kInvalid: return unrecognized();
      case CredentialCheck::kExpired:
        return gateway(403, "ExpiredTokenException", "The security token included in the request is expired");
      case CredentialCheck::kValid: break;
    }
    principal.kind = Principal::Kind::kIdentity;
    principal.accessKeyId = auth.accessKeyId;
    principal.poolId = scope.poolId;
    principal.identityId = scope.identityId;
    principal.authenticated = scope.authenticated;
    secret = std::move(scope.secretKey);
  }

  std::string payloadHash;
  if (const std::string* declared = request.header("x-amz-content-sha256")) {
    // UNSIGNED-PAYLOAD would leave the body out of the signature, so a body could be swapped
    // after signing; no AWS SDK sends it for the Cognito APIs (issue 13): refused, like a hash
    // that does not match.
    if (*declared == "UNSIGNED-PAYLOAD")
      return gateway(400, "XAmzContentSHA256Mismatch",
                     "x-amz-content-sha256: UNSIGNED-PAYLOAD is not accepted; sign the SHA-256 of the body.");
    if (*declared != sha256Hex(request.body))
      return gateway(400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was computed.");
    payloadHash = *declared;
  } else {
    payloadHash = sha256Hex(request.body);
  }
  std::string query = canonicalQuery(request.query);
  CanonicalInput in{request.method, canonicalUriText, query, &request.headers, payloadHash};
  Result<std::string> creq = canonicalRequest(in, auth);
  if (!creq.isOk()) return incomplete(creq.status().message());
  std::string sts = stringToSign(*amzDate, auth.scope(), *creq);
  std::string expected = computeSignature(secret, auth, sts);
  if (!constantTimeEquals(expected, auth.signature))
    return invalidSignature(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.");
  return principal;
}

}  // namespace tether::server::cognito
