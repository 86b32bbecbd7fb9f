// RequestAuthenticator: who signed a Cognito request (SigV4, cognito-compat.md 6.2). Two kinds
// of signer exist:
//   - temporary credentials from GetCredentialsForIdentity (ASIA..., X-Amz-Security-Token
//     required), scoped to one identity of one pool;
//   - long-term developer credentials from the server config ([[developer_credentials]]) or
//     the database (`tetherd credentials create`, looked up per request, so a created or
//     deleted credential takes effect at once), which may call developer and admin operations
//     and reach every identity.
// Every failure is the gateway error an AWS SDK expects (MissingAuthenticationToken,
// IncompleteSignature, InvalidSignature incl. the 5-minute clock skew, UnrecognizedClient,
// ExpiredToken). Authorization (which identity a principal may touch) is the caller's job.
// Thread-safety: immutable after construction; authenticate() may run concurrently. It does
// HMAC work only (no disk), but still belongs on the worker pool with the rest of a request.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cognito/api_error.h"
#include "cognito/temporary_credentials.h"
#include "common/clock.h"
#include "net/http.h"
#include "storage/store.h"

namespace tether::server::cognito {

// Allowed distance between a request's X-Amz-Date and the server clock (AWS uses 5 minutes).
constexpr int64_t kMaxClockSkewMs = 5 * 60 * 1000;

struct Principal {
  enum class Kind { kIdentity, kDeveloper };
  Kind kind = Kind::kIdentity;
  std::string accessKeyId;
  std::string poolId;       // kIdentity only
  std::string identityId;   // kIdentity only
  bool authenticated = false;
  bool isDeveloper() const { return kind == Kind::kDeveloper; }
};

class RequestAuthenticator {
 public:
  // developerKeys: access key ID -> secret (config file). `store` (may be null) is asked for
  // keys not in that map. The references and the store must outlive this object.
  RequestAuthenticator(const TemporaryCredentials& credentials, std::map<std::string, std::string> developerKeys,
                       const Clock& clock, Store* store = nullptr);

  // Verifies the request's signature for `service` ("cognito-sync" / "cognito-identity"),
  // with `canonicalUri` rebuilt by the router from the decoded path.
  ApiResult<Principal> authenticate(const HttpRequest& request, std::string_view canonicalUri,
                                    std::string_view service) const;

 private:
  const TemporaryCredentials& credentials_;
  // The secret of a developer key (config first, then the store); nullopt if unknown.
  Result<std::optional<std::string>> developerSecret(const std::string& accessKeyId) const;

  std::map<std::string, std::string> developerKeys_;
  const Clock& clock_;
  Store* store_;
};

}  // namespace tether::server::cognito
