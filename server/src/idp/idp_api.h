// IdpApi: the Cognito User Pools JSON 1.1 API (`POST /`, `X-Amz-Target:
// AWSCognitoIdentityProviderService.<Op>`, spec cognito-user-pools.md) on tetherd's port.
// Three authorization classes (spec 2.1): SigV4 operations need a developer credential (as the
// Cognito Identity developer operations do); public operations name a ClientId (plus
// SECRET_HASH when the client has a secret); token-authorized operations carry an access token
// or a challenge session. The dispatch table below is the one list of operations (the security
// matrix test enumerates it).
//
// The operations are members of this class, split by concern over several files:
//   idp_api.cpp          dispatch, pools/clients/users loading, the user write loop
//   idp_pool_ops.cpp     user pools, app clients, MFA configuration
//   idp_domain_ops.cpp   domains and resource servers (custom OAuth scopes)
//   idp_signup_ops.cpp   sign-up, confirmation, codes, forgot password, admin create/confirm
//   idp_auth_ops.cpp     InitiateAuth / RespondToAuthChallenge and their admin forms
//   idp_self_ops.cpp     the token-authorized self-service operations and TOTP
//   idp_admin_ops.cpp    admin user operations, ListUsers, groups
// Threading: call() blocks on the Store (and on trigger hooks); run it on the worker pool.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cognito/target_api.h"
#include "idp/app_client_config.h"
#include "idp/idp_context.h"
#include "idp/idp_errors.h"
#include "idp/idp_triggers.h"
#include "idp/user_pool_config.h"
#include "idp/user_state.h"
#include "net/http.h"
#include "idp/token_service.h"
#include "storage/user_pool_store.h"

namespace tether::server::idp {

class IdpApi final : public cognito::JsonTargetApi {
 public:
  explicit IdpApi(IdpContext& ctx);
  ~IdpApi() override;

  // `operation` = the part of X-Amz-Target after "AWSCognitoIdentityProviderService.".
  ApiResult<Json> call(std::string_view operation, const HttpRequest& request) override;

  // An administrator operation (AuthClass kSigned) without a request: `tetherd user-pool`
  // calls these on the store directly, as the operator.
  ApiResult<Json> callAsAdministrator(std::string_view operation, const Json& in);

  enum class AuthClass { kSigned, kPublic, kToken };
  struct OperationInfo {
    std::string_view name;
    AuthClass auth = AuthClass::kSigned;
  };
  static std::vector<OperationInfo> operations();

  TokenService& tokens() { return *tokens_; }

  // Loaded pool / client / user, shared by the operation files.
  struct Pool {
    UserPoolRow row;
    UserPoolConfig config;
  };
  struct Client {
    UserPoolClientRow row;
    AppClientConfig config;
    Pool pool;
  };
  struct User {
    UserRow row;
    UserState state;
    const std::string* attribute(std::string_view name) const;
    void setAttribute(const std::string& name, std::string value);
    void eraseAttribute(std::string_view name);
    bool attributeTrue(std::string_view name) const;
  };
  // Per call: who asked (for throttling and the triggers' callerContext). `hosted`: on behalf of
  // a hosted-UI page (sign-ins then end in a HostedSignIn, not in tokens).
  struct Call {
    const HttpRequest& request;
    std::string operation;
    // The request's ClientMetadata, for the triggers it fires (spec 8.4); checked at dispatch,
    // never stored.
    std::map<std::string, std::string> clientMetadata;
    bool hosted = false;  // made by the hosted UI (idp_hosted_ops.cpp)
  };

  // ---- the hosted UI's way in (idp_hosted_ops.cpp), for idp/hosted_ui.cpp and idp/oauth2.cpp:
  // the same operations and sign-in steps the JSON API runs, on requests the hosted UI parsed.
  static constexpr const char* kHostedAuthSource = "TokenGeneration_HostedAuth";
  // A public or token-authorized operation by name (the per-address limit applies). For a client
  // with a secret, the SecretHash over `Username` is added: the hosted UI is the server itself.
  ApiResult<Json> callForHostedUi(std::string_view operation, Json in, const HttpRequest& request);
  // Password sign-in with ADMIN_USER_PASSWORD_AUTH's checks (unknown, disabled, unconfirmed,
  // lockout, password), whatever the client's ExplicitAuthFlows. Returns a challenge
  // (ChallengeName, Session) or {"HostedSignIn": {"sub", "username", "authTime"}}.
  ApiResult<Json> hostedSignIn(const std::string& clientId, const std::string& username,
                               const std::string& password, const HttpRequest& request);
  // RespondToAuthChallenge for a challenge of a hosted sign-in; the same two outcomes.
  ApiResult<Json> hostedRespond(const std::string& clientId, const std::string& challenge, const std::string& session,
                                std::map<std::string, std::string> responses, const HttpRequest& request);
  struct HostedGrant {
    std::string clientId, sub;
    int64_t authTimeSec = 0;
    std::vector<std::string> scopes;  // granted (already checked against the client)
    std::string nonce;
    bool withRefreshToken = true;
  };
  // Tokens of a hosted sign-in (spec 7.2, 7.4): a `version: 2` access token with the scopes, an
  // ID token only with openid, PreTokenGeneration source TokenGeneration_HostedAuth.
  // NotAuthorized if the user is gone, disabled or not confirmed.
  ApiResult<Json> hostedTokens(const HostedGrant& grant);
  // The refresh_token grant: REFRESH_TOKEN_AUTH's checks for a client the caller authenticated.
  ApiResult<Json> hostedRefresh(const std::string& clientId, const std::string& refreshToken);
  // The client_credentials grant: an access token for the client with the granted scopes.
  ApiResult<Json> clientCredentialsToken(const std::string& clientId, const std::vector<std::string>& scopes);
  // /oauth2/userInfo: the attributes the token's scopes allow (spec 7.5). NotAuthorized for a
  // token that is invalid, expired, revoked, without openid, or whose user is gone or disabled.
  ApiResult<Json> userInfo(const std::string& accessToken);
  ApiResult<Client> findClient(const std::string& clientId) { return loadClient(clientId); }

 private:
  using Handler = ApiResult<Json> (IdpApi::*)(const Json&, const Call&);
  struct Operation {
    OperationInfo info;
    Handler handler;
  };
  static const std::vector<Operation>& dispatchTable();

  // ---- loading (idp_api.cpp)
  ApiResult<Pool> loadPool(const std::string& poolId);
  ApiResult<Pool> loadPoolFromRequest(const Json& in);  // UserPoolId member
  ApiResult<Client> loadClient(const std::string& clientId);
  ApiResult<Client> loadClientFromRequest(const Json& in);  // ClientId member
  // The user a typed name designates: the username (case per the pool), or an alias / the
  // email or phone of an email-as-username pool. nullopt = no such user.
  ApiResult<std::optional<User>> findUser(const Pool& pool, const std::string& typedName);
  ApiResult<std::optional<User>> findUserBySub(const Pool& pool, const std::string& sub);
  std::string usernameKey(const Pool& pool, std::string_view username) const;
  // The aliases the user owns from its attributes (spec 1.1).
  std::vector<UserAlias> aliasesOf(const Pool& pool, const User& user) const;
  // Writes `user` (version-checked). `mutate` is applied to a freshly read copy and the write
  // retried when another writer got in first (kStale), a few times; so `mutate` must only
  // depend on the user it is given. Returns the written user.
  using Mutation = std::function<std::optional<ApiError>(User&)>;
  ApiResult<User> updateUser(const Pool& pool, User user, const Mutation& mutate, bool moveAliases = false);
  // SECRET_HASH check (spec 4.1) for a client with a secret; ok for clients without one.
  std::optional<ApiError> checkSecretHash(const Client& client, const std::optional<std::string>& hash,
                                          const std::vector<std::string>& usernames);
  int64_t nowMs() const { return ctx_.clock.nowMs(); }
  // UserType (ListUsers, AdminCreateUser): attributes limited to `attributesToGet` (empty = all).
  Json userType(const User& user, const std::vector<std::string>& attributesToGet = {}) const;

  // ---- passwords and codes (idp_signup_ops.cpp)
  // Derives and stores the salt + SRP verifier of `password` (spec 5.3), keeping the earlier
  // one in the history when the pool has a history policy. PasswordHistoryPolicyViolation if
  // the password was used recently.
  std::optional<ApiError> setPassword(const Pool& pool, User& user, const std::string& password);
  // True if `password` is the user's (constant time; spec 5.7).
  bool passwordMatches(const Pool& pool, const User& user, const std::string& password) const;
  // A new 6-digit code for `purpose`, valid `ttlMs`, stored (hashed) in the user's state for the
  // attribute it goes to. Returns the code.
  std::string issueCode(User& user, const std::string& purpose, const std::string& attribute, int64_t ttlMs,
                        const std::string& pendingValue = "");
  // Checks `code` against the pending code of `purpose` and consumes it. Failures are counted in
  // the state (the caller writes it either way): CodeMismatch, ExpiredCode, LimitExceeded.
  std::optional<ApiError> consumeCode(User& user, const std::string& purpose, const std::string& code);
  // Sends a code by the medium of `attribute` (email -> EMAIL, phone_number -> SMS) with the
  // pool's templates and returns CodeDeliveryDetails; CodeDeliveryFailureException if the hook
  // failed.
  // The pool's CustomMessage trigger, if any, writes the message (`caller`: its callerContext).
  ApiResult<Json> sendCode(const Pool& pool, const User& user, const std::string& purpose,
                           const std::string& attribute, const std::string& code,
                           const std::string& destinationOverride = "", const TriggerCaller& caller = TriggerCaller());
  // The CodeDeliveryDetails of a delivery that does not happen (hidden user existence).
  Json simulatedDelivery(const Pool& pool, const std::string& typedName) const;

  // ---- pools and clients (idp_pool_ops.cpp)
  ApiResult<Json> createUserPool(const Json& in, const Call& call);
  ApiResult<Json> describeUserPool(const Json& in, const Call& call);
  ApiResult<Json> listUserPools(const Json& in, const Call& call);
  ApiResult<Json> updateUserPool(const Json& in, const Call& call);
  ApiResult<Json> deleteUserPool(const Json& in, const Call& call);
  ApiResult<Json> createUserPoolClient(const Json& in, const Call& call);
  ApiResult<Json> describeUserPoolClient(const Json& in, const Call& call);
  ApiResult<Json> updateUserPoolClient(const Json& in, const Call& call);
  ApiResult<Json> deleteUserPoolClient(const Json& in, const Call& call);
  ApiResult<Json> listUserPoolClients(const Json& in, const Call& call);
  ApiResult<Json> setUserPoolMfaConfig(const Json& in, const Call& call);
  ApiResult<Json> getUserPoolMfaConfig(const Json& in, const Call& call);
  ApiResult<Json> createUserPoolDomain(const Json& in, const Call& call);
  ApiResult<Json> describeUserPoolDomain(const Json& in, const Call& call);
  ApiResult<Json> deleteUserPoolDomain(const Json& in, const Call& call);
  // ---- resource servers (idp_domain_ops.cpp, with the domains)
  ApiResult<Json> createResourceServer(const Json& in, const Call& call);
  ApiResult<Json> describeResourceServer(const Json& in, const Call& call);
  ApiResult<Json> listResourceServers(const Json& in, const Call& call);
  ApiResult<Json> updateResourceServer(const Json& in, const Call& call);
  ApiResult<Json> deleteResourceServer(const Json& in, const Call& call);
  // A client's AllowedOAuthScopes are reserved scopes or custom scopes of the pool's resource
  // servers: ScopeDoesNotExistException otherwise.
  std::optional<ApiError> checkOAuthScopes(const Pool& pool, const AppClientConfig& config) const;
  Json describePool(const Pool& pool, int64_t users) const;
  Json describeClient(const Client& client) const;

  // ---- sign-up and codes (idp_signup_ops.cpp)
  ApiResult<Json> signUp(const Json& in, const Call& call);
  ApiResult<Json> confirmSignUp(const Json& in, const Call& call);
  ApiResult<Json> resendConfirmationCode(const Json& in, const Call& call);
  ApiResult<Json> forgotPassword(const Json& in, const Call& call);
  ApiResult<Json> confirmForgotPassword(const Json& in, const Call& call);
  ApiResult<Json> adminCreateUser(const Json& in, const Call& call);
  ApiResult<Json> adminConfirmSignUp(const Json& in, const Call& call);
  ApiResult<Json> adminResetUserPassword(const Json& in, const Call& call);
  ApiResult<Json> adminSetUserPassword(const Json& in, const Call& call);

  // ---- sign-in (idp_auth_ops.cpp)
  struct IssueContext {
    std::string originJti;            // "" = a new sign-in session
    int64_t authTimeSec = 0;
    bool withRefreshToken = true;
    bool withIdToken = true;
    bool oauth = false;
    std::vector<std::string> scopes;  // empty = the native API's admin scope
    std::string nonce;
    std::string triggerSource;        // PreTokenGeneration's triggerSource
    TriggerCaller trigger;            // PreTokenGeneration's awsSdkVersion and clientMetadata
  };
  bool lockedOut(const User& user) const;
  void recordFailure(User& user);
  ApiResult<User> recordSignIn(const Pool& pool, User user, bool success);
  void equalizeWrite(const Pool& pool);
  ApiResult<std::string> newSession(const Client& client, const User& user, const std::string& challenge, Json extra);
  ApiResult<Json> takeSession(const Client& client, const std::string& session, const std::string& challenge);
  // A Session string "<poolId>.<handle>" -> (poolId, handle); nullopt if malformed.
  static std::optional<std::pair<std::string, std::string>> parseSession(const std::string& session);
  ApiResult<Json> startAuth(const Client& client, const Json& in, bool admin, const Call& call);
  ApiResult<User> signInCandidate(const Client& client, const std::string& typed, std::optional<User> found);
  ApiResult<Json> passwordAuth(const Client& client, const std::map<std::string, std::string>& params, const Call& call);
  ApiResult<Json> startSrp(const Client& client, const std::map<std::string, std::string>& params, const Call& call);
  ApiResult<Json> refreshAuth(const Client& client, const std::map<std::string, std::string>& params);
  ApiResult<Json> afterPassword(const Client& client, User user, const std::string& tokenSource, const Call& call);
  ApiResult<Json> mfaOrTokens(const Client& client, User user, const std::string& tokenSource, const Call& call);
  // The end of a successful sign-in: PostAuthentication, then tokens, or a HostedSignIn for
  // source TokenGeneration_HostedAuth (the hosted UI mints them at its token endpoint).
  ApiResult<Json> finishSignIn(const Client& client, const User& user, const std::string& source, const Call& call);
  ApiResult<Json> issueTokens(const Client& client, const User& user, const IssueContext& ic);
  ApiResult<Json> respond(const Client& client, const Json& in, const Call& call);
  ApiResult<Json> respondPasswordVerifier(const Client& client, const std::map<std::string, std::string>& responses,
                                          const Call& call);
  ApiResult<Json> respondNewPassword(const Client& client, User user,
                                     const std::map<std::string, std::string>& responses, const Call& call);
  // A TOTP code against the sealed secret: CodeMismatch if wrong or already used.
  std::optional<ApiError> checkTotp(const Pool& pool, const User& user, const std::string& sealedSecret,
                                    const std::string& code);
  ApiResult<Json> initiateAuth(const Json& in, const Call& call);
  ApiResult<Json> adminInitiateAuth(const Json& in, const Call& call);
  ApiResult<Json> respondToAuthChallenge(const Json& in, const Call& call);
  ApiResult<Json> adminRespondToAuthChallenge(const Json& in, const Call& call);

  // ---- token-authorized self-service (idp_self_ops.cpp)
  struct TokenUser {
    Pool pool;
    User user;
    AccessClaims claims;
  };
  // The AccessToken member -> its (unrevoked, enabled) user (spec 6.5).
  ApiResult<TokenUser> tokenUser(const Json& in);
  // AccessToken, or the Session of an MFA_SETUP challenge (its ticket key and state, taken).
  ApiResult<TokenUser> tokenOrSessionUser(const Json& in, std::optional<std::pair<std::string, Json>>* session);
  Json mfaSettings(const User& user) const;
  ApiResult<Json> writeAttributes(const Pool& pool, User user, const std::vector<std::pair<std::string, std::string>>& attrs,
                                  bool admin, const std::vector<std::string>& writable,
                                  const TriggerCaller& caller = TriggerCaller());
  ApiResult<Json> deleteAttributes(const Pool& pool, User user, const std::vector<std::string>& names, bool admin,
                                   const std::vector<std::string>& writable);
  ApiResult<Json> applyMfaPreference(const Pool& pool, User user, const Json& in);
  ApiResult<Json> getUser(const Json& in, const Call& call);
  ApiResult<Json> updateUserAttributes(const Json& in, const Call& call);
  ApiResult<Json> deleteUserAttributes(const Json& in, const Call& call);
  ApiResult<Json> getUserAttributeVerificationCode(const Json& in, const Call& call);
  ApiResult<Json> verifyUserAttribute(const Json& in, const Call& call);
  ApiResult<Json> changePassword(const Json& in, const Call& call);
  ApiResult<Json> deleteUser(const Json& in, const Call& call);
  ApiResult<Json> globalSignOut(const Json& in, const Call& call);
  ApiResult<Json> revokeToken(const Json& in, const Call& call);
  ApiResult<Json> associateSoftwareToken(const Json& in, const Call& call);
  ApiResult<Json> verifySoftwareToken(const Json& in, const Call& call);
  ApiResult<Json> setUserMfaPreference(const Json& in, const Call& call);

  // ---- admin users and groups (idp_admin_ops.cpp)
  ApiResult<Json> adminGetUser(const Json& in, const Call& call);
  ApiResult<Json> adminDeleteUser(const Json& in, const Call& call);
  ApiResult<Json> adminDisableUser(const Json& in, const Call& call);
  ApiResult<Json> adminEnableUser(const Json& in, const Call& call);
  ApiResult<Json> adminUpdateUserAttributes(const Json& in, const Call& call);
  ApiResult<Json> adminDeleteUserAttributes(const Json& in, const Call& call);
  ApiResult<Json> adminUserGlobalSignOut(const Json& in, const Call& call);
  ApiResult<Json> adminSetUserMfaPreference(const Json& in, const Call& call);
  ApiResult<Json> listUsers(const Json& in, const Call& call);
  ApiResult<Json> createGroup(const Json& in, const Call& call);
  ApiResult<Json> getGroup(const Json& in, const Call& call);
  ApiResult<Json> updateGroup(const Json& in, const Call& call);
  ApiResult<Json> deleteGroup(const Json& in, const Call& call);
  ApiResult<Json> listGroups(const Json& in, const Call& call);
  ApiResult<Json> adminAddUserToGroup(const Json& in, const Call& call);
  ApiResult<Json> adminRemoveUserFromGroup(const Json& in, const Call& call);
  ApiResult<Json> adminListGroupsForUser(const Json& in, const Call& call);
  ApiResult<Json> listUsersInGroup(const Json& in, const Call& call);
  ApiResult<UserFilter> parseUserFilter(const Pool& pool, const std::string& text);
  // The admin operations' (UserPoolId, Username) -> the user, or UserNotFoundException.
  ApiResult<std::pair<Pool, User>> adminUser(const Json& in);

  // ---- triggers (idp_triggers.cpp)
  // The pool's function for a LambdaConfig key ("PreSignUp", ...); nullptr when it has none.
  static const std::string* triggerArn(const Pool& pool, const char* name);
  // The callerContext of a trigger this request fires: `clientId` ("" = CLIENT_ID_NOT_APPLICABLE,
  // the admin operations), the caller's SDK, and the request's ClientMetadata if `withMetadata`.
  TriggerCaller triggerCaller(const Call& call, const std::string& clientId, bool withMetadata = true) const;
  // PostAuthentication's and PreTokenGeneration's: ClientMetadata only from
  // (Admin)RespondToAuthChallenge, not from (Admin)InitiateAuth (spec 8.4).
  TriggerCaller signInCaller(const Call& call, const Client& client) const;
  // The envelope's request.userAttributes: every attribute as a string, sub, cognito:user_status
  // and the cognito:<kind>_alias entries (spec 8.2).
  Json triggerAttributes(const Pool& pool, const User& user) const;
  // One trigger call with the common envelope; the reply's `response`.
  ApiResult<Json> runTrigger(const Pool& pool, const char* name, const std::string& source, const std::string& userName,
                             Json userAttributes, const TriggerCaller& caller, Json request, Json response,
                             const std::string& version = "1");
  // Before PreSignUp: is the new user's name (or username attribute) taken (spec 4.2 step 4)?
  ApiResult<bool> signUpNameTaken(const Pool& pool, const User& user);
  // ValidationData [{Name, Value}] -> {Name: Value}; null when absent.
  static ApiResult<Json> validationDataOf(const Json& in);
  // The hooks. Each is a no-op when the pool has no function for it.
  ApiResult<PreSignUpResult> preSignUp(const Pool& pool, const User& user, const std::string& source,
                                       const TriggerCaller& caller, const Json& validationData);
  std::optional<ApiError> postConfirmation(const Pool& pool, const User& user, const std::string& source,
                                           const TriggerCaller& caller);
  // Before the password check. `user` null: an unknown user the client hides (userNotFound).
  // Returns whether the function was called (then re-read the user: the call may take seconds).
  ApiResult<bool> preAuthentication(const Pool& pool, const User* user, const std::string& typedName,
                                    const TriggerCaller& caller, bool hidesUsers);
  // Sign-in's checks (signInCandidate), then PreAuthentication, then the checks again on a fresh
  // copy of the user when the function ran. An unknown user the client hides runs the trigger
  // with userNotFound, then fails as signInCandidate says.
  ApiResult<User> preAuthenticated(const Client& client, const std::string& typedName, std::optional<User> found,
                                   const Call& call);
  std::optional<ApiError> postAuthentication(const Pool& pool, const User& user, const TriggerCaller& caller);
  // Runs the PreTokenGeneration of ic.triggerSource and applies its overrides to `r`.
  std::optional<ApiError> preTokenGeneration(const Client& client, const User& user, const IssueContext& ic,
                                             MintRequest& r);
  // CustomMessage_<purpose>; nullopt when the pool has no CustomMessage function.
  ApiResult<std::optional<CustomMessageResult>> customMessage(const Pool& pool, const User& user,
                                                              const std::string& purpose, const TriggerCaller& caller);

  IdpContext& ctx_;
  std::unique_ptr<TokenService> tokens_;
};

}  // namespace tether::server::idp
