// IdentityApi: the Cognito Identity JSON 1.1 API (`POST /`, `X-Amz-Target:
// AWSCognitoIdentityService.<Op>`, cognito-compat.md section 2): the unsigned device operations
// (GetId, GetOpenIdToken, GetCredentialsForIdentity, UnlinkIdentity) and the SigV4-signed
// developer operations (GetOpenIdTokenForDeveloperIdentity, LookupDeveloperIdentity,
// MergeDeveloperIdentities, UnlinkDeveloperIdentity, DescribeIdentity, ListIdentities,
// DeleteIdentities, DescribeIdentityPool, ListIdentityPools).
//
// Logins (GetId, GetOpenIdToken, GetCredentialsForIdentity, UnlinkIdentity) go through the
// LoginResolver shared with the native protocol (auth/login_resolver.h): the pool's OpenID
// Connect providers and `cognito-identity.amazonaws.com` (a token this server issued); first
// login creates, guests upgrade in place, logins of several identities merge them.
// Merges: also MergeDeveloperIdentities, and GetOpenIdTokenForDeveloperIdentity given a guest
// IdentityId for a developer user who already has another identity (the guest is folded into
// it, spec 7.14); see auth/identity_merge.h.
// Threading: call() blocks on the Store; run it on the worker pool.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "cognito/api_error.h"
#include "cognito/cognito_context.h"
#include "cognito/json_fields.h"
#include "net/http.h"

namespace tether::server::cognito {

// GetOpenIdToken lifetime (Cognito's: 10 minutes).
constexpr int64_t kOpenIdTokenTtlSeconds = 600;
// GetOpenIdTokenForDeveloperIdentity default lifetime (Cognito's: 15 minutes).
constexpr int64_t kDeveloperTokenDefaultTtlSeconds = 900;

class IdentityApi {
 public:
  explicit IdentityApi(CognitoContext& ctx) : ctx_(ctx) {}

  // `operation` = the part of X-Amz-Target after "AWSCognitoIdentityService.".
  // Returns the JSON response body or the error to send.
  ApiResult<Json> call(std::string_view operation, const HttpRequest& request);

  // Every operation call() dispatches, from its dispatch table (so this list cannot miss one):
  // the name and whether it needs a SigV4 developer credential (false: the unsigned device
  // operations, authorized by their Logins / IdentityId). Used by the security matrix test.
  struct OperationInfo {
    std::string_view name;
    bool developerSigned = false;
  };
  static std::vector<OperationInfo> operations();

 private:
  using Handler = ApiResult<Json> (IdentityApi::*)(const Json&);
  struct Operation {
    OperationInfo info;
    Handler handler;
  };
  static const std::vector<Operation>& dispatchTable();

  std::optional<ApiError> throttleAddress(std::string_view op, const Json& in, const HttpRequest& request);
  bool poolAllows(RateKind kind, const std::string& poolId);
  ApiResult<Json> getId(const Json& in);
  ApiResult<Json> getOpenIdToken(const Json& in);
  ApiResult<Json> getCredentialsForIdentity(const Json& in);
  ApiResult<Json> unlinkIdentity(const Json& in);
  ApiResult<Json> getOpenIdTokenForDeveloperIdentity(const Json& in);
  ApiResult<Json> lookupDeveloperIdentity(const Json& in);
  ApiResult<Json> mergeDeveloperIdentities(const Json& in);
  ApiResult<Json> unlinkDeveloperIdentity(const Json& in);
  ApiResult<Json> describeIdentity(const Json& in);
  ApiResult<Json> listIdentities(const Json& in);
  ApiResult<Json> deleteIdentities(const Json& in);
  ApiResult<Json> describeIdentityPool(const Json& in);
  ApiResult<Json> listIdentityPools(const Json& in);

  struct Access {
    IdentityInfo identity;
    bool authenticated = false;
    std::vector<std::string> amr;
  };
  // The identity the logins resolve to (the resolver links and merges; see the class comment).
  ApiResult<Access> checkAccess(const std::string& identityId,
                                const std::optional<std::map<std::string, std::string>>& logins);
  ApiResult<PoolInfo> loadPool(const std::string& poolId);
  ApiResult<std::string> developerProvider(const std::string& poolId);

  CognitoContext& ctx_;
};

}  // namespace tether::server::cognito
