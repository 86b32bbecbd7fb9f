// Cognito User Pools dispatch and the shared loading/writing steps; see idp_api.h.
#include "idp/idp_api.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "idp/crypto/secret_hash.h"
#include "idp/token_service.h"

namespace tether::server::idp {
namespace {

constexpr int kUserWriteAttempts = 5;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

IdpApi::IdpApi(IdpContext& ctx) : ctx_(ctx), tokens_(std::make_unique<TokenService>(ctx)) {}
IdpApi::~IdpApi() = default;

const std::vector<IdpApi::Operation>& IdpApi::dispatchTable() {
  using A = AuthClass;
  static const std::vector<Operation> kTable = {
      // Public (ClientId) and token-authorized: unsigned; a signature, if any, is ignored.
      {{"SignUp", A::kPublic}, &IdpApi::signUp},
      {{"ConfirmSignUp", A::kPublic}, &IdpApi::confirmSignUp},
      {{"ResendConfirmationCode", A::kPublic}, &IdpApi::resendConfirmationCode},
      {{"ForgotPassword", A::kPublic}, &IdpApi::forgotPassword},
      {{"ConfirmForgotPassword", A::kPublic}, &IdpApi::confirmForgotPassword},
      {{"InitiateAuth", A::kPublic}, &IdpApi::initiateAuth},
      {{"RespondToAuthChallenge", A::kPublic}, &IdpApi::respondToAuthChallenge},
      {{"RevokeToken", A::kPublic}, &IdpApi::revokeToken},
      {{"GetUser", A::kToken}, &IdpApi::getUser},
      {{"GlobalSignOut", A::kToken}, &IdpApi::globalSignOut},
      {{"ChangePassword", A::kToken}, &IdpApi::changePassword},
      {{"UpdateUserAttributes", A::kToken}, &IdpApi::updateUserAttributes},
      {{"DeleteUserAttributes", A::kToken}, &IdpApi::deleteUserAttributes},
      {{"GetUserAttributeVerificationCode", A::kToken}, &IdpApi::getUserAttributeVerificationCode},
      {{"VerifyUserAttribute", A::kToken}, &IdpApi::verifyUserAttribute},
      {{"DeleteUser", A::kToken}, &IdpApi::deleteUser},
      {{"AssociateSoftwareToken", A::kToken}, &IdpApi::associateSoftwareToken},
      {{"VerifySoftwareToken", A::kToken}, &IdpApi::verifySoftwareToken},
      {{"SetUserMFAPreference", A::kToken}, &IdpApi::setUserMfaPreference},
      // SigV4 with a developer credential.
      {{"CreateUserPool", A::kSigned}, &IdpApi::createUserPool},
      {{"DescribeUserPool", A::kSigned}, &IdpApi::describeUserPool},
      {{"ListUserPools", A::kSigned}, &IdpApi::listUserPools},
      {{"UpdateUserPool", A::kSigned}, &IdpApi::updateUserPool},
      {{"DeleteUserPool", A::kSigned}, &IdpApi::deleteUserPool},
      {{"CreateUserPoolClient", A::kSigned}, &IdpApi::createUserPoolClient},
      {{"DescribeUserPoolClient", A::kSigned}, &IdpApi::describeUserPoolClient},
      {{"UpdateUserPoolClient", A::kSigned}, &IdpApi::updateUserPoolClient},
      {{"DeleteUserPoolClient", A::kSigned}, &IdpApi::deleteUserPoolClient},
      {{"ListUserPoolClients", A::kSigned}, &IdpApi::listUserPoolClients},
      {{"SetUserPoolMfaConfig", A::kSigned}, &IdpApi::setUserPoolMfaConfig},
      {{"GetUserPoolMfaConfig", A::kSigned}, &IdpApi::getUserPoolMfaConfig},
      {{"CreateUserPoolDomain", A::kSigned}, &IdpApi::createUserPoolDomain},
      {{"DescribeUserPoolDomain", A::kSigned}, &IdpApi::describeUserPoolDomain},
      {{"DeleteUserPoolDomain", A::kSigned}, &IdpApi::deleteUserPoolDomain},
      {{"CreateResourceServer", A::kSigned}, &IdpApi::createResourceServer},
      {{"DescribeResourceServer", A::kSigned}, &IdpApi::describeResourceServer},
      {{"ListResourceServers", A::kSigned}, &IdpApi::listResourceServers},
      {{"UpdateResourceServer", A::kSigned}, &IdpApi::updateResourceServer},
      {{"DeleteResourceServer", A::kSigned}, &IdpApi::deleteResourceServer},
      {{"AdminCreateUser", A::kSigned}, &IdpApi::adminCreateUser},
      {{"AdminConfirmSignUp", A::kSigned}, &IdpApi::adminConfirmSignUp},
      {{"AdminSetUserPassword", A::kSigned}, &IdpApi::adminSetUserPassword},
      {{"AdminResetUserPassword", A::kSigned}, &IdpApi::adminResetUserPassword},
      {{"AdminInitiateAuth", A::kSigned}, &IdpApi::adminInitiateAuth},
      {{"AdminRespondToAuthChallenge", A::kSigned}, &IdpApi::adminRespondToAuthChallenge},
      {{"AdminGetUser", A::kSigned}, &IdpApi::adminGetUser},
      {{"AdminDeleteUser", A::kSigned}, &IdpApi::adminDeleteUser},
      {{"AdminDisableUser", A::kSigned}, &IdpApi::adminDisableUser},
      {{"AdminEnableUser", A::kSigned}, &IdpApi::adminEnableUser},
      {{"AdminUserGlobalSignOut", A::kSigned}, &IdpApi::adminUserGlobalSignOut},
      {{"AdminUpdateUserAttributes", A::kSigned}, &IdpApi::adminUpdateUserAttributes},
      {{"AdminDeleteUserAttributes", A::kSigned}, &IdpApi::adminDeleteUserAttributes},
      {{"AdminSetUserMFAPreference", A::kSigned}, &IdpApi::adminSetUserMfaPreference},
      {{"ListUsers", A::kSigned}, &IdpApi::listUsers},
      {{"CreateGroup", A::kSigned}, &IdpApi::createGroup},
      {{"GetGroup", A::kSigned}, &IdpApi::getGroup},
      {{"UpdateGroup", A::kSigned}, &IdpApi::updateGroup},
      {{"DeleteGroup", A::kSigned}, &IdpApi::deleteGroup},
      {{"ListGroups", A::kSigned}, &IdpApi::listGroups},
      {{"AdminAddUserToGroup", A::kSigned}, &IdpApi::adminAddUserToGroup},
      {{"AdminRemoveUserFromGroup", A::kSigned}, &IdpApi::adminRemoveUserFromGroup},
      {{"AdminListGroupsForUser", A::kSigned}, &IdpApi::adminListGroupsForUser},
      {{"ListUsersInGroup", A::kSigned}, &IdpApi::listUsersInGroup},
  };
  return kTable;
}

std::vector<IdpApi::OperationInfo> IdpApi::operations() {
  std::vector<OperationInfo> out;
  for (const Operation& o : dispatchTable()) out.push_back(o.info);
  return out;
}

ApiResult<Json> IdpApi::call(std::string_view op, const HttpRequest& request) {
  API_TRY(Json in, cognito::parseObject(request.body));
  const std::vector<Operation>& table = dispatchTable();
  auto it = std::find_if(table.begin(), table.end(), [&](const Operation& o) { return o.info.name == op; });
  if (it == table.end())
    return ApiError{400, "UnknownOperationException", "Unknown operation: " + std::string(op)};
  if (it->info.auth == AuthClass::kSigned) {
    API_TRY(cognito::Principal who, ctx_.authenticator.authenticate(request, "/", "cognito-idp"));
    if (!who.isDeveloper())
      return notAuthorized("User is not authorized to perform: cognito-idp:" + std::string(op) +
                           " (developer credentials required)");
  } else if (ctx_.limiter && !ctx_.limiter->allowAddress(RateKind::kSignIn, request.peer)) {
    // Public and token operations are where passwords and codes are guessed: the per-address
    // sign-in bucket bounds them (spec 9.3).
    return tooManyRequests();
  }
  Call call{request, std::string(op), {}};
  API_TRY(auto metadata, cognito::getStringMap(in, "ClientMetadata"));  // for the triggers
  if (metadata) call.clientMetadata = std::move(*metadata);
  return (this->*(it->handler))(in, call);
}

ApiResult<Json> IdpApi::callAsAdministrator(std::string_view op, const Json& in) {
  const std::vector<Operation>& table = dispatchTable();
  auto it = std::find_if(table.begin(), table.end(), [&](const Operation& o) { return o.info.name == op; });
  if (it == table.end() || it->info.auth != AuthClass::kSigned)
    return ApiError{400, "UnknownOperationException", "Unknown administrator operation: " + std::string(op)};
  HttpRequest none;
  none.peer = "local";
  Call call{none, std::string(op), {}};
  API_TRY(auto metadata, cognito::getStringMap(in, "ClientMetadata"));
  if (metadata) call.clientMetadata = std::move(*metadata);
  return (this->*(it->handler))(in, call);
}

// ---- loading

ApiResult<IdpApi::Pool> IdpApi::loadPool(const std::string& poolId) {
  IDP_TRY_RESULT(std::optional<UserPoolRow> row, ctx_.store.getUserPool(poolId));
  if (!row) return resourceNotFound("User pool " + poolId + " does not exist.");
  IDP_TRY_RESULT(UserPoolConfig config, UserPoolConfig::fromStored(row->configJson));
  return Pool{std::move(*row), std::move(config)};
}

ApiResult<IdpApi::Pool> IdpApi::loadPoolFromRequest(const Json& in) {
  API_TRY(auto poolId, cognito::getString(in, "UserPoolId", true));
  if (poolId->empty() || poolId->size() > 55 || poolId->find('_') == std::string::npos)
    return validationError("userPoolId", "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+");
  return loadPool(*poolId);
}

ApiResult<IdpApi::Client> IdpApi::loadClient(const std::string& clientId) {
  IDP_TRY_RESULT(std::optional<UserPoolClientRow> row, ctx_.store.getUserPoolClient(clientId));
  if (!row) return resourceNotFound("User pool client " + clientId + " does not exist.");
  IDP_TRY_RESULT(AppClientConfig config, AppClientConfig::fromStored(row->configJson));
  API_TRY(Pool pool, loadPool(row->poolId));
  return Client{std::move(*row), std::move(config), std::move(pool)};
}

ApiResult<IdpApi::Client> IdpApi::loadClientFromRequest(const Json& in) {
  API_TRY(auto clientId, cognito::getString(in, "ClientId", true));
  if (clientId->empty() || clientId->size() > 128)
    return validationError("clientId", "Member must have length between 1 and 128");
  return loadClient(*clientId);
}

std::string IdpApi::usernameKey(const Pool& pool, std::string_view username) const {
  return pool.config.caseSensitive() ? std::string(username) : lower(username);
}

ApiResult<std::optional<IdpApi::User>> IdpApi::findUser(const Pool& pool, const std::string& typedName) {
  auto load = [](std::optional<UserRow> row) -> ApiResult<std::optional<User>> {
    if (!row) return std::optional<User>();
    IDP_TRY_RESULT(UserState state, UserState::parse(row->stateJson));
    return std::optional<User>(User{std::move(*row), std::move(state)});
  };
  IDP_TRY_RESULT(std::optional<UserRow> row, ctx_.store.getUserByUsernameKey(pool.row.id, usernameKey(pool, typedName)));
  if (row) return load(std::move(row));
  // Sign-in names other than the username: the email/phone of an email-as-username pool, or a
  // (verified) alias.
  std::vector<std::string> kinds = pool.config.usernameAttributes();
  for (const std::string& a : pool.config.aliasAttributes()) kinds.push_back(a);
  for (const std::string& kind : kinds) {
    IDP_TRY_RESULT(std::optional<UserRow> byAlias,
                   ctx_.store.getUserByAlias(pool.row.id, kind, kind == "email" ? lower(typedName) : typedName));
    if (byAlias) return load(std::move(byAlias));
  }
  return std::optional<User>();
}

ApiResult<std::optional<IdpApi::User>> IdpApi::findUserBySub(const Pool& pool, const std::string& sub) {
  IDP_TRY_RESULT(std::optional<UserRow> row, ctx_.store.getUserBySub(pool.row.id, sub));
  if (!row) return std::optional<User>();
  IDP_TRY_RESULT(UserState state, UserState::parse(row->stateJson));
  return std::optional<User>(User{std::move(*row), std::move(state)});
}

std::vector<UserAlias> IdpApi::aliasesOf(const Pool& pool, const User& user) const {
  std::vector<UserAlias> out;
  for (const std::string& kind : pool.config.usernameAttributes())
    if (const std::string* v = user.attribute(kind); v && !v->empty())
      out.push_back({kind, kind == "email" ? lower(*v) : *v});
  for (const std::string& kind : pool.config.aliasAttributes()) {
    const std::string* v = user.attribute(kind);
    if (!v || v->empty()) continue;
    // An email or phone is an alias once verified; preferred_username always (spec 1.1).
    if (kind != "preferred_username" && !user.attributeTrue(kind + "_verified")) continue;
    out.push_back({kind, kind == "email" ? lower(*v) : *v});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ApiResult<IdpApi::User> IdpApi::updateUser(const Pool& pool, User user, const Mutation& mutate, bool moveAliases) {
  for (int attempt = 0; attempt < kUserWriteAttempts; ++attempt) {
    if (std::optional<ApiError> e = mutate(user)) return *e;
    user.row.modifiedMs = nowMs();
    user.row.aliases = aliasesOf(pool, user);
    user.row.stateJson = user.state.serialize();
    IDP_TRY_RESULT(UserWriteOutcome outcome, ctx_.store.updateUser(user.row, moveAliases));
    switch (outcome) {
      case UserWriteOutcome::kOk:
        user.row.version++;
        return user;
      case UserWriteOutcome::kAliasTaken:
        return idpError("AliasExistsException", "An account with the email already exists.");
      case UserWriteOutcome::kGone:
        return userNotFound();
      case UserWriteOutcome::kStale: {
        API_TRY(std::optional<User> fresh, findUserBySub(pool, user.row.sub));
        if (!fresh) return userNotFound();
        user = std::move(*fresh);
        continue;
      }
      default:
        return fromStatus(Status::internal("unexpected user write outcome"));
    }
  }
  return idpError("ConcurrentModificationException", "The user was changed concurrently; retry the request.");
}

std::optional<ApiError> IdpApi::checkSecretHash(const Client& client, const std::optional<std::string>& hash,
                                                const std::vector<std::string>& usernames) {
  if (!client.config.hasSecret()) return std::nullopt;  // a hash sent anyway is ignored (spec 4.1)
  if (!hash || hash->empty())
    return notAuthorized("Client " + client.row.clientId + " is configured for secret but secret was not received");
  for (const std::string& name : usernames)
    if (idp::checkSecretHash(client.config.secret(), name, client.row.clientId, *hash)) return std::nullopt;
  return notAuthorized("Unable to verify secret hash for client " + client.row.clientId);
}

// ---- User attribute helpers

const std::string* IdpApi::User::attribute(std::string_view name) const {
  if (name == "sub") return &row.sub;
  for (const auto& [n, v] : row.attributes)
    if (n == name) return &v;
  return nullptr;
}

void IdpApi::User::setAttribute(const std::string& name, std::string value) {
  for (auto& [n, v] : row.attributes)
    if (n == name) {
      v = std::move(value);
      return;
    }
  row.attributes.emplace_back(name, std::move(value));
  std::sort(row.attributes.begin(), row.attributes.end());
}

void IdpApi::User::eraseAttribute(std::string_view name) {
  std::erase_if(row.attributes, [&](const auto& a) { return a.first == name; });
}

bool IdpApi::User::attributeTrue(std::string_view name) const {
  const std::string* v = attribute(name);
  return v && *v == "true";
}

}  // namespace tether::server::idp
