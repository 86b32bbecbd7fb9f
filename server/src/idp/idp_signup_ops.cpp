// Sign-up, confirmation codes, forgotten passwords and the administrator's user creation
// (spec cognito-user-pools.md 4.2, 4.3, 4.6, 4.10, 9.2); see idp_api.h.
#include "idp/idp_api.h"

#include <algorithm>

#include "auth/base64url.h"
#include "auth/ids.h"
#include "idp/code_delivery.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/idp_random.h"
#include "idp/crypto/sealer.h"
#include "idp/crypto/srp.h"
#include "idp/idp_secrets.h"
#include "idp/user_validation.h"

namespace tether::server::idp {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kSignUpCodeTtlMs = 24 * kHourMs;
constexpr int64_t kForgotCodeTtlMs = kHourMs;
constexpr int kCodeDigits = 6;
// Per-user attempt limits per hour (spec 1.4).
constexpr int kConfirmSignUpPerHour = 15;
constexpr int kResendPerHour = 5;
constexpr int kForgotPerHour = 5;
constexpr int kConfirmForgotPerHour = 10;
constexpr int kCodeFailuresBeforeReissue = 5;

std::string poolName(const std::string& poolId) { return poolId.substr(poolId.find('_') + 1); }

std::string substitute(std::string text, const std::string& code, const std::string& username) {
  for (auto [from, to] : {std::pair<std::string, std::string>{"{####}", code}, {"{username}", username}}) {
    size_t pos = 0;
    while ((pos = text.find(from, pos)) != std::string::npos) {
      text.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  return text;
}

// The attribute a sign-up code goes to: an auto-verified attribute the user has, email first.
std::string autoVerifiedTarget(const UserPoolConfig& pool, const IdpApi::User& user) {
  for (const char* attr : {"email", "phone_number"}) {
    const auto& av = pool.autoVerifiedAttributes();
    if (std::find(av.begin(), av.end(), attr) == av.end()) continue;
    if (const std::string* v = user.attribute(attr); v && !v->empty()) return attr;
  }
  return "";
}

// The verified channel for a password reset (AccountRecoverySetting), or "".
std::string recoveryTarget(const UserPoolConfig& pool, const IdpApi::User& user) {
  for (const std::string& m : pool.recoveryMechanisms()) {
    if (m == "admin_only") return "";
    std::string attr = m == "verified_email" ? "email" : "phone_number";
    const std::string* v = user.attribute(attr);
    if (v && !v->empty() && user.attributeTrue(attr + "_verified")) return attr;
  }
  return "";
}

}  // namespace

// ---- shared steps

std::optional<ApiError> IdpApi::setPassword(const Pool& pool, User& user, const std::string& password) {
  const int history = pool.config.passwordPolicy().passwordHistorySize;
  if (history > 0) {
    std::vector<std::string> earlier = user.state.passwordHistory;
    if (!user.state.srpSalt.empty()) earlier.insert(earlier.begin(), user.state.srpSalt + ":" + user.state.srpVerifier);
    for (size_t i = 0; i < earlier.size() && i < static_cast<size_t>(history); ++i) {
      size_t colon = earlier[i].find(':');
      if (colon == std::string::npos) continue;
      std::optional<std::string> verifier = auth::base64UrlDecode(earlier[i].substr(colon + 1));
      if (!verifier) continue;
      Result<bool> same = srp::checkPassword(srp::SrpVerifier{earlier[i].substr(0, colon), *verifier},
                                             poolName(pool.row.id), user.row.username, password);
      if (same.isOk() && *same)
        return idpError("PasswordHistoryPolicyViolationException",
                        "The password has been used recently; choose a different one.");
    }
    if (earlier.size() > static_cast<size_t>(history)) earlier.resize(history);
    user.state.passwordHistory = std::move(earlier);
  }
  srp::SrpVerifier v = srp::createVerifier(poolName(pool.row.id), user.row.username, password);
  user.state.srpSalt = v.saltHex;
  user.state.srpVerifier = auth::base64UrlEncode(v.verifier);
  user.state.passwordSetMs = nowMs();
  user.state.failedSignIns = 0;
  user.state.lockedUntilMs = 0;
  return std::nullopt;
}

bool IdpApi::passwordMatches(const Pool& pool, const User& user, const std::string& password) const {
  if (user.state.srpSalt.empty()) return false;
  std::optional<std::string> verifier = auth::base64UrlDecode(user.state.srpVerifier);
  if (!verifier) return false;
  Result<bool> ok = srp::checkPassword(srp::SrpVerifier{user.state.srpSalt, *verifier}, poolName(pool.row.id),
                                       user.row.username, password);
  return ok.isOk() && *ok;
}

std::string IdpApi::issueCode(User& user, const std::string& purpose, const std::string& attribute, int64_t ttlMs,
                              const std::string& pendingValue) {
  std::string code = randomDigits(kCodeDigits);
  user.state.codes[purpose] =
      PendingCode{ctx_.codeHasher->hash(user.row.sub + "/" + purpose, code), nowMs() + ttlMs, attribute, pendingValue, 0};
  return code;
}

std::optional<ApiError> IdpApi::consumeCode(User& user, const std::string& purpose, const std::string& code) {
  auto it = user.state.codes.find(purpose);
  if (it == user.state.codes.end()) return expiredCode();
  PendingCode& pending = it->second;
  if (pending.expiresMs <= nowMs()) {
    user.state.codes.erase(it);
    return expiredCode();
  }
  if (!ctx_.codeHasher->matches(user.row.sub + "/" + purpose, code, pending.hash)) {
    // After a few wrong guesses the code is void: a new one must be requested.
    if (++pending.failures >= kCodeFailuresBeforeReissue) user.state.codes.erase(it);
    return codeMismatch();
  }
  user.state.codes.erase(it);
  return std::nullopt;
}

ApiResult<Json> IdpApi::sendCode(const Pool& pool, const User& user, const std::string& purpose,
                                 const std::string& attribute, const std::string& code,
                                 const std::string& destinationOverride, const TriggerCaller& caller) {
  const bool email = attribute == "email";
  const std::string* value = user.attribute(attribute);
  std::string destination = !destinationOverride.empty() ? destinationOverride : value ? *value : "";
  CodeMessage m;
  m.poolId = pool.row.id;
  m.userName = user.row.username;
  m.sub = user.row.sub;
  m.purpose = purpose;
  m.medium = email ? "EMAIL" : "SMS";
  m.destination = destination;
  m.code = code;
  if (purpose == "AdminCreateUser") {
    m.subject = pool.config.inviteEmailSubject();
    m.message = substitute(email ? pool.config.inviteEmailMessage() : pool.config.inviteSmsMessage(), code,
                           user.row.username);
  } else {
    m.subject = pool.config.verificationEmailSubject();
    m.message = substitute(email ? pool.config.verificationEmailMessage() : pool.config.verificationSmsMessage(), code,
                           user.row.username);
  }
  // CustomMessage_<purpose> (spec 8.3): the function's text replaces the template's.
  API_TRY(std::optional<CustomMessageResult> custom, customMessage(pool, user, purpose, caller));
  if (custom) {
    if (const std::optional<std::string>& text = email ? custom->emailMessage : custom->smsMessage; text)
      m.message = substitute(*text, code, user.row.username);
    if (email && custom->emailSubject) m.subject = *custom->emailSubject;
  }
  Status s = ctx_.delivery.deliver(m);
  if (!s.isOk()) return idpError("CodeDeliveryFailureException", s.message());
  return Json{{"Destination", maskDestination(m.medium, destination)}, {"DeliveryMedium", m.medium},
              {"AttributeName", attribute}};
}

Json IdpApi::simulatedDelivery(const Pool& pool, const std::string& typedName) const {
  // Looks like a real delivery to the address the name suggests (spec 3.5 ENABLED mode).
  bool phone = !typedName.empty() && typedName[0] == '+';
  std::string dest = typedName.find('@') != std::string::npos || phone ? typedName : typedName + "@" + "example.com";
  (void)pool;
  return Json{{"Destination", maskDestination(phone ? "SMS" : "EMAIL", dest)},
              {"DeliveryMedium", phone ? "SMS" : "EMAIL"},
              {"AttributeName", phone ? "phone_number" : "email"}};
}

Json IdpApi::userType(const User& user, const std::vector<std::string>& attributesToGet) const {
  Json attrs = attributeListJson(user.row.sub, user.row.attributes, {});
  if (!attributesToGet.empty()) {
    Json filtered = Json::array();
    for (const Json& a : attrs)
      if (std::find(attributesToGet.begin(), attributesToGet.end(), a["Name"].get<std::string>()) != attributesToGet.end())
        filtered.push_back(a);
    attrs = std::move(filtered);
  }
  return Json{{"Username", user.row.username},
              {"Attributes", attrs},
              {"UserCreateDate", cognito::epochSeconds(user.row.createdMs)},
              {"UserLastModifiedDate", cognito::epochSeconds(user.row.modifiedMs)},
              {"Enabled", user.row.enabled},
              {"UserStatus", user.row.status}};
}

// ---- SignUp

ApiResult<Json> IdpApi::signUp(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  const Pool& pool = client.pool;
  API_TRY(auto typed, cognito::getString(in, "Username", true));
  API_TRY(auto password, cognito::getString(in, "Password", true));
  API_TRY(auto secretHash, cognito::getString(in, "SecretHash"));
  if (auto e = checkUsername(*typed)) return *e;
  if (auto e = checkPasswordFormat(*password)) return *e;
  if (auto e = checkSecretHash(client, secretHash, {*typed})) return *e;
  if (pool.config.allowAdminCreateUserOnly()) return notAuthorized("SignUp is not permitted for this user pool");
  API_TRY(AttributeList attrs, parseAttributeList(in, "UserAttributes"));
  if (auto e = checkAttributes(pool.config, attrs, AttributeWriter::kClient, client.config.writeAttributes(), true))
    return *e;

  User user;
  user.row.poolId = pool.row.id;
  user.row.sub = newUuidV4();
  user.row.status = "UNCONFIRMED";
  user.row.enabled = true;
  user.row.createdMs = user.row.modifiedMs = nowMs();
  for (auto& [n, v] : attrs)
    if (!v.empty()) user.setAttribute(n, v);
  // Email- or phone-as-username pools: the typed name is that attribute, the Username the sub.
  const auto& usernameAttrs = pool.config.usernameAttributes();
  std::string existsMessage = "User already exists";
  if (!usernameAttrs.empty()) {
    bool isEmail = typed->find('@') != std::string::npos;
    bool isPhone = !typed->empty() && (*typed)[0] == '+';
    std::string attr = isEmail ? "email" : isPhone ? "phone_number" : "";
    if (attr.empty() || std::find(usernameAttrs.begin(), usernameAttrs.end(), attr) == usernameAttrs.end())
      return invalidParameter("Username should be either an email or a phone number.");
    if (const std::string* given = user.attribute(attr); given && *given != *typed)
      return invalidParameter("The " + attr + " attribute must equal the username.");
    if (auto e = checkAttributes(pool.config, {{attr, *typed}}, AttributeWriter::kAdmin, {}, true)) return *e;
    user.setAttribute(attr, *typed);
    user.row.username = user.row.sub;
    existsMessage = std::string("An account with the given ") + (isEmail ? "email" : "phone_number") + " already exists.";
  } else {
    user.row.username = *typed;
  }
  user.row.usernameKey = usernameKey(pool, user.row.username);
  if (auto e = checkRequiredAttributes(pool.config, user.row.attributes)) return *e;
  if (auto e = checkPasswordPolicy(pool.config.passwordPolicy(), *password)) return *e;
  if (auto e = setPassword(pool, user, *password)) return *e;

  // PreSignUp (spec 4.2 step 5), once the name is known to be free.
  const TriggerCaller caller = triggerCaller(call, client.row.clientId);
  bool autoConfirmed = false;
  if (triggerArn(pool, "PreSignUp")) {
    API_TRY(Json validationData, validationDataOf(in));
    API_TRY(bool taken, signUpNameTaken(pool, user));
    if (taken) return idpError("UsernameExistsException", existsMessage);
    API_TRY(PreSignUpResult pre, preSignUp(pool, user, "PreSignUp_SignUp", caller, validationData));
    if (pre.autoVerifyEmail) user.setAttribute("email_verified", "true");
    if (pre.autoVerifyPhone) user.setAttribute("phone_number_verified", "true");
    if (pre.autoConfirmUser) user.row.status = "CONFIRMED";
    autoConfirmed = pre.autoConfirmUser;
  }
  std::string target = autoConfirmed ? "" : autoVerifiedTarget(pool.config, user);
  std::string code = target.empty() ? "" : issueCode(user, "SignUp", target, kSignUpCodeTtlMs);
  user.row.aliases = aliasesOf(pool, user);
  user.row.stateJson = user.state.serialize();
  IDP_TRY_RESULT(UserWriteOutcome outcome, ctx_.store.insertUser(user.row));
  switch (outcome) {
    case UserWriteOutcome::kOk: break;
    case UserWriteOutcome::kUsernameTaken:
    case UserWriteOutcome::kAliasTaken: return idpError("UsernameExistsException", existsMessage);
    default: return fromStatus(Status::internal("sign-up: sub collision"));
  }
  Json out = {{"UserConfirmed", autoConfirmed}, {"UserSub", user.row.sub}};
  if (autoConfirmed) {
    user.row.version = 1;
    if (auto e = postConfirmation(pool, user, "PostConfirmation_ConfirmSignUp", caller)) return *e;
    return out;
  }
  if (!code.empty()) {
    // The user stays created when delivery fails (as AWS documents); ResendConfirmationCode retries.
    API_TRY(Json details, sendCode(pool, user, "SignUp", target, code, "", caller));
    out["CodeDeliveryDetails"] = details;
  }
  return out;
}

ApiResult<Json> IdpApi::confirmSignUp(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  const Pool& pool = client.pool;
  API_TRY(auto typed, cognito::getString(in, "Username", true));
  API_TRY(auto code, cognito::getString(in, "ConfirmationCode", true));
  API_TRY(auto secretHash, cognito::getString(in, "SecretHash"));
  API_TRY(auto force, cognito::getBool(in, "ForceAliasCreation"));
  if (auto e = checkUsername(*typed)) return *e;
  if (code->empty() || code->size() > 2048) return validationError("confirmationCode", "Member must have length between 1 and 2048");
  API_TRY(std::optional<User> found, findUser(pool, *typed));
  if (auto e = checkSecretHash(client, secretHash, {*typed, found ? found->row.username : *typed})) return *e;
  if (!found) return client.config.preventUserExistenceErrors() ? codeMismatch() : userNotFound();
  std::optional<ApiError> refused;
  API_TRY(User user, updateUser(pool, std::move(*found), [&](User& u) -> std::optional<ApiError> {
    refused.reset();
    if (u.row.status != "UNCONFIRMED")
      return notAuthorized("User cannot be confirmed. Current status is " + u.row.status);
    if (!u.state.allowAttempt("ConfirmSignUp", kConfirmSignUpPerHour, nowMs())) return limitExceeded();
    std::string attribute = u.state.codes.count("SignUp") ? u.state.codes["SignUp"].attribute : "";
    if ((refused = consumeCode(u, "SignUp", *code))) return std::nullopt;  // write the counted failure
    u.row.status = "CONFIRMED";
    if (!attribute.empty()) u.setAttribute(attribute + "_verified", "true");
    return std::nullopt;
  }, force.value_or(false)));
  if (refused) return *refused;
  if (auto e = postConfirmation(pool, user, "PostConfirmation_ConfirmSignUp", triggerCaller(call, client.row.clientId)))
    return *e;  // the user stays confirmed (spec 11.10)
  return Json::object();
}

ApiResult<Json> IdpApi::resendConfirmationCode(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  const Pool& pool = client.pool;
  API_TRY(auto typed, cognito::getString(in, "Username", true));
  API_TRY(auto secretHash, cognito::getString(in, "SecretHash"));
  if (auto e = checkUsername(*typed)) return *e;
  API_TRY(std::optional<User> found, findUser(pool, *typed));
  if (auto e = checkSecretHash(client, secretHash, {*typed, found ? found->row.username : *typed})) return *e;
  const bool hide = client.config.preventUserExistenceErrors();
  if (!found) {
    if (hide) return Json{{"CodeDeliveryDetails", simulatedDelivery(pool, *typed)}};
    return userNotFound(msg::kUsernameClientNotFound);
  }
  if (!found->row.enabled && hide) return Json{{"CodeDeliveryDetails", simulatedDelivery(pool, *typed)}};
  std::string code, target;
  API_TRY(User user, updateUser(pool, std::move(*found), [&](User& u) -> std::optional<ApiError> {
    if (u.row.status != "UNCONFIRMED") return invalidParameter("User is already confirmed.");
    target = autoVerifiedTarget(pool.config, u);
    if (target.empty())
      return invalidParameter("Auto verification not turned on.");
    if (!u.state.allowAttempt("ResendConfirmationCode", kResendPerHour, nowMs())) return limitExceeded();
    code = issueCode(u, "SignUp", target, kSignUpCodeTtlMs);
    return std::nullopt;
  }));
  API_TRY(Json details, sendCode(pool, user, "ResendCode", target, code, "", triggerCaller(call, client.row.clientId)));
  return Json{{"CodeDeliveryDetails", details}};
}

// ---- forgotten passwords

ApiResult<Json> IdpApi::forgotPassword(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  const Pool& pool = client.pool;
  API_TRY(auto typed, cognito::getString(in, "Username", true));
  API_TRY(auto secretHash, cognito::getString(in, "SecretHash"));
  if (auto e = checkUsername(*typed)) return *e;
  API_TRY(std::optional<User> found, findUser(pool, *typed));
  if (auto e = checkSecretHash(client, secretHash, {*typed, found ? found->row.username : *typed})) return *e;
  const bool hide = client.config.preventUserExistenceErrors();
  if (!found) {
    if (hide) return Json{{"CodeDeliveryDetails", simulatedDelivery(pool, *typed)}};
    return userNotFound(msg::kUsernameClientNotFound);
  }
  if (!found->row.enabled) {
    if (hide) return Json{{"CodeDeliveryDetails", simulatedDelivery(pool, *typed)}};
    return notAuthorized(msg::kUserDisabled);
  }
  std::string code, target;
  API_TRY(User user, updateUser(pool, std::move(*found), [&](User& u) -> std::optional<ApiError> {
    target = recoveryTarget(pool.config, u);
    if (target.empty()) {
      if (std::find(pool.config.recoveryMechanisms().begin(), pool.config.recoveryMechanisms().end(), "admin_only") !=
          pool.config.recoveryMechanisms().end())
        return notAuthorized("User password cannot be reset in the current state.");
      return invalidParameter("Cannot reset password for the user as there is no registered/verified email or phone_number");
    }
    if (!u.state.allowAttempt("ForgotPassword", kForgotPerHour, nowMs())) return limitExceeded();
    code = issueCode(u, "ForgotPassword", target, kForgotCodeTtlMs);
    return std::nullopt;
  }));
  API_TRY(Json details,
          sendCode(pool, user, "ForgotPassword", target, code, "", triggerCaller(call, client.row.clientId)));
  return Json{{"CodeDeliveryDetails", details}};
}

ApiResult<Json> IdpApi::confirmForgotPassword(const Json& in, const Call& call) {
  API_TRY(Client client, loadClientFromRequest(in));
  const Pool& pool = client.pool;
  API_TRY(auto typed, cognito::getString(in, "Username", true));
  API_TRY(auto code, cognito::getString(in, "ConfirmationCode", true));
  API_TRY(auto password, cognito::getString(in, "Password", true));
  API_TRY(auto secretHash, cognito::getString(in, "SecretHash"));
  if (auto e = checkUsername(*typed)) return *e;
  if (auto e = checkPasswordFormat(*password)) return *e;
  API_TRY(std::optional<User> found, findUser(pool, *typed));
  if (auto e = checkSecretHash(client, secretHash, {*typed, found ? found->row.username : *typed})) return *e;
  const bool hide = client.config.preventUserExistenceErrors();
  if (!found) return hide ? codeMismatch() : userNotFound();
  if (!found->row.enabled) return hide ? codeMismatch() : notAuthorized(msg::kUserDisabled);
  if (auto e = checkPasswordPolicy(pool.config.passwordPolicy(), *password)) return *e;
  std::optional<ApiError> refused;
  API_TRY(User user, updateUser(pool, std::move(*found), [&](User& u) -> std::optional<ApiError> {
    refused.reset();
    if (!u.state.allowAttempt("ConfirmForgotPassword", kConfirmForgotPerHour, nowMs())) return limitExceeded();
    if ((refused = consumeCode(u, "ForgotPassword", *code))) return std::nullopt;  // keep the count
    if (auto e = setPassword(pool, u, *password)) return e;
    u.row.status = "CONFIRMED";
    u.state.temporaryPasswordExpiresMs = 0;
    return std::nullopt;
  }));
  if (refused) return *refused;
  if (auto e = postConfirmation(pool, user, "PostConfirmation_ConfirmForgotPassword",
                                triggerCaller(call, client.row.clientId)))
    return *e;
  return Json::object();
}

// ---- administrator

ApiResult<Json> IdpApi::adminCreateUser(const Json& in, const Call& call) {
  API_TRY(Pool pool, loadPoolFromRequest(in));
  API_TRY(auto typed, cognito::getString(in, "Username", true));
  API_TRY(auto tempPassword, cognito::getString(in, "TemporaryPassword"));
  API_TRY(auto action, cognito::getString(in, "MessageAction"));
  API_TRY(auto mediums, cognito::getStringList(in, "DesiredDeliveryMediums"));
  API_TRY(auto force, cognito::getBool(in, "ForceAliasCreation"));
  if (auto e = checkUsername(*typed)) return *e;
  if (action && *action != "RESEND" && *action != "SUPPRESS")
    return validationError("messageAction", "Member must satisfy enum value set: [RESEND, SUPPRESS]");
  std::vector<std::string> wanted = mediums.value_or(std::vector<std::string>{"SMS"});
  for (const std::string& m : wanted)
    if (m != "SMS" && m != "EMAIL")
      return validationError("desiredDeliveryMediums.member", "Member must satisfy enum value set: [SMS, EMAIL]");
  API_TRY(AttributeList attrs, parseAttributeList(in, "UserAttributes"));
  if (auto e = checkAttributes(pool.config, attrs, AttributeWriter::kAdmin, {}, true)) return *e;
  std::string password;
  if (tempPassword) {
    if (auto e = checkPasswordFormat(*tempPassword, "temporaryPassword")) return *e;
    if (auto e = checkPasswordPolicy(pool.config.passwordPolicy(), *tempPassword, true)) return *e;
    password = *tempPassword;
  } else {
    const PasswordPolicy& p = pool.config.passwordPolicy();
    password = newTemporaryPassword(PasswordRequirements{p.minimumLength, p.requireUppercase, p.requireLowercase,
                                                         p.requireNumbers, p.requireSymbols});
  }
  const int64_t tempExpires = nowMs() + int64_t{pool.config.passwordPolicy().temporaryPasswordValidityDays} * 24 * kHourMs;
  const TriggerCaller caller = triggerCaller(call, "");
  auto chooseMedium = [&](const User& u) -> std::string {
    for (const std::string& m : wanted) {
      std::string attr = m == "EMAIL" ? "email" : "phone_number";
      if (const std::string* v = u.attribute(attr); v && !v->empty()) return attr;
    }
    return "";
  };

  if (action && *action == "RESEND") {
    API_TRY(std::optional<User> found, findUser(pool, *typed));
    if (!found) return userNotFound();
    std::string target;
    API_TRY(User user, updateUser(pool, std::move(*found), [&](User& u) -> std::optional<ApiError> {
      if (u.row.status != "FORCE_CHANGE_PASSWORD")
        return idpError("UnsupportedUserStateException", "Resend not possible. " + u.row.username +
                                                             " status is not FORCE_CHANGE_PASSWORD.");
      if (auto e = setPassword(pool, u, password)) return e;
      u.state.temporaryPasswordExpiresMs = tempExpires;
      target = chooseMedium(u);
      return std::nullopt;
    }));
    if (!target.empty()) {
      API_TRY(Json details, sendCode(pool, user, "AdminCreateUser", target, password, "", caller));
      (void)details;
    }
    return Json{{"User", userType(user)}};
  }

  User user;
  user.row.poolId = pool.row.id;
  user.row.sub = newUuidV4();
  user.row.status = "FORCE_CHANGE_PASSWORD";
  user.row.enabled = true;
  user.row.createdMs = user.row.modifiedMs = nowMs();
  for (auto& [n, v] : attrs)
    if (!v.empty()) user.setAttribute(n, v);
  if (!pool.config.usernameAttributes().empty()) {
    bool isEmail = typed->find('@') != std::string::npos;
    bool isPhone = !typed->empty() && (*typed)[0] == '+';
    std::string attr = isEmail ? "email" : isPhone ? "phone_number" : "";
    const auto& ua = pool.config.usernameAttributes();
    if (attr.empty() || std::find(ua.begin(), ua.end(), attr) == ua.end())
      return invalidParameter("Username should be either an email or a phone number.");
    user.setAttribute(attr, *typed);
    user.row.username = user.row.sub;
  } else {
    user.row.username = *typed;
  }
  user.row.usernameKey = usernameKey(pool, user.row.username);
  if (auto e = setPassword(pool, user, password)) return *e;
  user.state.temporaryPasswordExpiresMs = tempExpires;
  if (triggerArn(pool, "PreSignUp")) {
    API_TRY(Json validationData, validationDataOf(in));
    API_TRY(bool taken, signUpNameTaken(pool, user));
    if (taken) return idpError("UsernameExistsException", "User account already exists");
    // Its flags are ignored for AdminCreateUser (spec 8.3); an error refuses the user.
    API_TRY(PreSignUpResult ignored, preSignUp(pool, user, "PreSignUp_AdminCreateUser", caller, validationData));
    (void)ignored;
  }
  user.row.aliases = aliasesOf(pool, user);
  user.row.stateJson = user.state.serialize();
  IDP_TRY_RESULT(UserWriteOutcome outcome, ctx_.store.insertUser(user.row));
  if (outcome == UserWriteOutcome::kUsernameTaken) return idpError("UsernameExistsException", "User account already exists");
  if (outcome == UserWriteOutcome::kAliasTaken) {
    if (!force.value_or(false)) return idpError("AliasExistsException", "An account with the email already exists.");
    // ForceAliasCreation: take the alias from its owner.
    user.row.aliases.clear();
    user.row.stateJson = user.state.serialize();
    IDP_TRY_RESULT(UserWriteOutcome again, ctx_.store.insertUser(user.row));
    if (again != UserWriteOutcome::kOk) return idpError("UsernameExistsException", "User account already exists");
    user.row.version = 1;
    API_TRY(User moved, updateUser(pool, user, [](User&) -> std::optional<ApiError> { return std::nullopt; }, true));
    user = std::move(moved);
  } else if (outcome != UserWriteOutcome::kOk) {
    return fromStatus(Status::internal("admin create: sub collision"));
  } else {
    user.row.version = 1;
  }
  if (!(action && *action == "SUPPRESS")) {
    std::string target = chooseMedium(user);
    if (!target.empty()) {
      API_TRY(Json details, sendCode(pool, user, "AdminCreateUser", target, password, "", caller));
      (void)details;
    }
  }
  return Json{{"User", userType(user)}};
}

ApiResult<Json> IdpApi::adminConfirmSignUp(const Json& in, const Call& call) {
  API_TRY(auto pu, adminUser(in));
  Pool& pool = pu.first;  // named, not bound: clang 14 (TSan build) can't capture a binding
  User& found = pu.second;
  API_TRY(User user, updateUser(pool, std::move(found), [&](User& u) -> std::optional<ApiError> {
    if (u.row.status != "UNCONFIRMED")
      return notAuthorized("User cannot be confirmed. Current status is " + u.row.status);
    u.row.status = "CONFIRMED";
    u.state.codes.erase("SignUp");
    return std::nullopt;
  }));
  if (auto e = postConfirmation(pool, user, "PostConfirmation_ConfirmSignUp", triggerCaller(call, ""))) return *e;
  return Json::object();
}

ApiResult<Json> IdpApi::adminSetUserPassword(const Json& in, const Call&) {
  API_TRY(auto password, cognito::getString(in, "Password", true));
  API_TRY(auto permanent, cognito::getBool(in, "Permanent"));
  if (auto e = checkPasswordFormat(*password)) return *e;
  API_TRY(auto pu, adminUser(in));
  Pool& pool = pu.first;  // named, not bound: clang 14 (TSan build) can't capture a binding
  User& found = pu.second;
  if (auto e = checkPasswordPolicy(pool.config.passwordPolicy(), *password, true)) return *e;
  API_TRY(User user, updateUser(pool, std::move(found), [&](User& u) -> std::optional<ApiError> {
    if (auto e = setPassword(pool, u, *password)) return e;
    if (permanent.value_or(false)) {
      u.row.status = "CONFIRMED";
      u.state.temporaryPasswordExpiresMs = 0;
    } else {
      u.row.status = "FORCE_CHANGE_PASSWORD";
      u.state.temporaryPasswordExpiresMs =
          nowMs() + int64_t{pool.config.passwordPolicy().temporaryPasswordValidityDays} * 24 * kHourMs;
    }
    return std::nullopt;
  }));
  (void)user;
  return Json::object();
}

ApiResult<Json> IdpApi::adminResetUserPassword(const Json& in, const Call& call) {
  API_TRY(auto pu, adminUser(in));
  Pool& pool = pu.first;  // named, not bound: clang 14 (TSan build) can't capture a binding
  User& found = pu.second;
  std::string code, target;
  API_TRY(User user, updateUser(pool, std::move(found), [&](User& u) -> std::optional<ApiError> {
    if (!u.row.enabled) return notAuthorized(msg::kUserDisabled);
    u.row.status = "RESET_REQUIRED";
    // The current password stops working: only the code (or an administrator) sets a new one.
    u.state.srpSalt.clear();
    u.state.srpVerifier.clear();
    target = recoveryTarget(pool.config, u);
    code = target.empty() ? "" : issueCode(u, "ForgotPassword", target, kForgotCodeTtlMs);
    return std::nullopt;
  }));
  if (!target.empty()) {
    API_TRY(Json details, sendCode(pool, user, "ForgotPassword", target, code, "", triggerCaller(call, "")));
    (void)details;
  }
  return Json::object();
}

}  // namespace tether::server::idp
