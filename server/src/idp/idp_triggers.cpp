// User-pool triggers: the envelope, the call and its error mapping (see idp_triggers.h), and the
// IdpApi hook members the operations call (spec cognito-user-pools.md 8.4; see idp_api.h). The
// responses are read in idp_trigger_responses.cpp.
#include "idp/idp_triggers.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>
#include <memory>

#include <spdlog/spdlog.h>

#include "auth/config_triggers.h"
#include "idp/idp_api.h"
#include "idp/token_service.h"

namespace tether::server::idp {
namespace {

using Kind = TriggerOutcome::Kind;

ApiError invalidResponse(std::string message) {
  return idpError("InvalidLambdaResponseException", std::move(message));
}

ApiError unexpected(const std::string& triggerName, const std::string& reason) {
  return idpError("UnexpectedLambdaException", triggerName + " invocation failed due to error " + reason + ".");
}

// Printable, one line, bounded: the message goes back to the API caller.
std::string cleanMessage(std::string s) {
  if (s.size() > kMaxTriggerMessageBytes) {
    size_t cut = kMaxTriggerMessageBytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    s.resize(cut);
  }
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

std::string lastLine(const std::string& text) {
  size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  size_t start = text.find_last_of('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  size_t first = text.find_first_not_of(" \t\r", start);
  return text.substr(first, end + 1 - first);
}

std::optional<std::string> errorMessageMember(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("errorMessage");
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool retried(Kind kind) { return kind == Kind::kTimeout || kind == Kind::kUnreachable; }

// One attempt, waited for: the executor calls back within the target's deadline, or refuses
// at once; the slack covers its queue.
TriggerOutcome callOnce(SyncTriggerInvoker& invoker, const std::string& arn, const std::string& event) {
  // Shared with the callback, which may run after a wait that gave up.
  auto done = std::make_shared<std::promise<TriggerOutcome>>();
  std::future<TriggerOutcome> reply = done->get_future();
  invoker.invokeDetailed(arn, event, [done](TriggerOutcome o) { done->set_value(std::move(o)); });
  const auto limit = std::chrono::milliseconds(kMaxSyncTriggerTimeoutMs + kTriggerQueueSlackMs);
  if (reply.wait_for(limit) != std::future_status::ready) {
    TriggerOutcome o;
    o.kind = Kind::kTimeout;
    o.status = Status::triggerFailed("no answer from the trigger executor in time");
    return o;
  }
  return reply.get();
}

}  // namespace

std::string sdkVersionOf(const HttpRequest& request) {
  const std::string* agent = request.header("user-agent");
  if (!agent || !agent->starts_with("aws-sdk-")) return kUnknownSdk;
  std::string token = agent->substr(0, agent->find(' '));
  size_t slash = token.find('/');
  if (slash == std::string::npos || slash + 1 == token.size() || token.size() > 64) return kUnknownSdk;
  for (char c : token)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '/' && c != '_') return kUnknownSdk;
  token[slash] = '-';
  return token;
}

Json eventJson(const TriggerEvent& e) {
  Json request = e.request;
  request["userAttributes"] = e.userAttributes;
  return Json{{"version", e.version},
              {"triggerSource", e.triggerSource},
              {"region", e.region},
              {"userPoolId", e.userPoolId},
              {"userName", e.userName},
              {"callerContext", {{"awsSdkVersion", e.caller.sdkVersion}, {"clientId", e.caller.clientId}}},
              {"request", request},
              {"response", e.response}};
}

std::string functionErrorMessage(const TriggerOutcome& o) {
  if (auto m = errorMessageMember(o.body)) return cleanMessage(*m);
  if (std::string line = lastLine(o.errorText); !line.empty()) return cleanMessage(line);
  return cleanMessage(lastLine(o.body));
}

ApiResult<Json> triggerReply(const std::string& name, const TriggerOutcome& o) {
  switch (o.kind) {
    case Kind::kReply: break;
    case Kind::kFunctionError: {
      std::string message = functionErrorMessage(o);
      // A webhook error without {"errorMessage"} (a proxy's 502 page, a crash) is the target
      // failing, not the function saying no.
      if (o.fromWebhook && !errorMessageMember(o.body)) return unexpected(name, "HTTP " + std::to_string(o.code));
      if (message.empty()) message = "exit status " + std::to_string(o.code);
      return idpError("UserLambdaValidationException", name + " failed with error " + message + ".");
    }
    case Kind::kTimeout: return unexpected(name, "Socket timeout while invoking Lambda function");
    case Kind::kUnreachable: return unexpected(name, "the function could not be reached");
    case Kind::kTooLarge: return invalidResponse("The " + name + " reply is too large.");
    case Kind::kThrottled: return unexpected(name, "TooManyRequestsException");
    case Kind::kNoTarget: return unexpected(name, "the function is not configured on this server");
    case Kind::kStopping: return unexpected(name, "the server is shutting down");
  }
  Json reply = Json::parse(o.body, nullptr, false);
  if (!reply.is_object()) return invalidResponse("Unrecognizable lambda output");
  auto it = reply.find("response");
  if (it == reply.end() || it->is_null()) return Json::object();
  if (!it->is_object()) return invalidResponse("Unrecognizable lambda output");
  return *it;
}

ApiResult<Json> callTrigger(SyncTriggerInvoker* invoker, const std::string& name, const std::string& arn,
                            const Json& event) {
  if (invoker == nullptr || !invoker->hasTarget(arn)) {
    spdlog::error("[cognito-idp] the {} trigger of user pool {} names {}, which has no [[sync_triggers]] entry: "
                  "the call fails with UnexpectedLambdaException",
                  name, event.value("userPoolId", ""), arn);
    TriggerOutcome none;
    none.kind = Kind::kNoTarget;
    return triggerReply(name, none);
  }
  const std::string text = event.dump(-1, ' ', false, Json::error_handler_t::replace);
  TriggerOutcome out;
  for (int attempt = 1;; ++attempt) {
    out = callOnce(*invoker, arn, text);
    if (!retried(out.kind) || attempt == kTriggerAttempts) break;
    spdlog::warn("[cognito-idp] {} trigger {} (attempt {} of {}): {}", name, arn, attempt, kTriggerAttempts,
                 out.status.message());
  }
  ApiResult<Json> reply = triggerReply(name, out);
  if (!reply.isOk())
    spdlog::info("[cognito-idp] {} trigger of {} ({}): {}: {}", name, event.value("userPoolId", ""),
                 event.value("triggerSource", ""), reply.error().type, reply.error().message);
  return reply;
}

// ---- the IdpApi hooks

const std::string* IdpApi::triggerArn(const Pool& pool, const char* name) {
  const auto& lambdas = pool.config.lambdaConfig();
  auto it = lambdas.find(name);
  if (it == lambdas.end() || it->second.empty()) return nullptr;
  return &it->second;
}

TriggerCaller IdpApi::triggerCaller(const Call& call, const std::string& clientId, bool withMetadata) const {
  TriggerCaller c;
  if (!clientId.empty()) c.clientId = clientId;
  c.sdkVersion = sdkVersionOf(call.request);
  if (withMetadata) c.clientMetadata = call.clientMetadata;
  return c;
}

TriggerCaller IdpApi::signInCaller(const Call& call, const Client& client) const {
  const bool respond = call.operation == "RespondToAuthChallenge" || call.operation == "AdminRespondToAuthChallenge";
  return triggerCaller(call, client.row.clientId, respond);
}

Json IdpApi::triggerAttributes(const Pool& pool, const User& user) const {
  Json a = Json::object();
  a["sub"] = user.row.sub;
  for (const auto& [name, value] : user.row.attributes) a[name] = value;
  a["cognito:user_status"] = user.row.status;
  // An alias attribute the user owns (spec 1.1): cognito:email_alias, cognito:phone_number_alias.
  const auto& aliasKinds = pool.config.aliasAttributes();
  for (const UserAlias& alias : aliasesOf(pool, user))
    if ((alias.kind == "email" || alias.kind == "phone_number") &&
        std::find(aliasKinds.begin(), aliasKinds.end(), alias.kind) != aliasKinds.end())
      if (const std::string* v = user.attribute(alias.kind)) a["cognito:" + alias.kind + "_alias"] = *v;
  return a;
}

ApiResult<Json> IdpApi::runTrigger(const Pool& pool, const char* name, const std::string& source,
                                   const std::string& userName, Json userAttributes, const TriggerCaller& caller,
                                   Json request, Json response, const std::string& version) {
  const std::string* arn = triggerArn(pool, name);
  if (arn == nullptr) return Json::object();
  TriggerEvent e;
  e.version = version;
  e.triggerSource = source;
  e.region = ctx_.settings.region;
  e.userPoolId = pool.row.id;
  e.userName = userName;
  e.caller = caller;
  e.userAttributes = std::move(userAttributes);
  e.request = std::move(request);
  e.response = std::move(response);
  return callTrigger(ctx_.triggers, name, *arn, eventJson(e));
}

ApiResult<bool> IdpApi::signUpNameTaken(const Pool& pool, const User& user) {
  IDP_TRY_RESULT(std::optional<UserRow> same, ctx_.store.getUserByUsernameKey(pool.row.id, user.row.usernameKey));
  if (same) return true;
  // Email- or phone-as-username pools: the attribute is the sign-in name.
  for (const UserAlias& alias : aliasesOf(pool, user)) {
    const auto& kinds = pool.config.usernameAttributes();
    if (std::find(kinds.begin(), kinds.end(), alias.kind) == kinds.end()) continue;
    IDP_TRY_RESULT(std::optional<UserRow> owner, ctx_.store.getUserByAlias(pool.row.id, alias.kind, alias.valueKey));
    if (owner) return true;
  }
  return false;
}

ApiResult<Json> IdpApi::validationDataOf(const Json& in) {
  auto it = in.find("ValidationData");
  if (it == in.end() || it->is_null()) return Json(nullptr);
  if (!it->is_array()) return validationError("validationData", "Member must be a list of AttributeType");
  Json out = Json::object();
  for (const Json& a : *it) {
    if (!a.is_object() || !a.contains("Name") || !a["Name"].is_string() ||
        (a.contains("Value") && !a["Value"].is_string() && !a["Value"].is_null()))
      return validationError("validationData.member", "Member must be an AttributeType {Name, Value}");
    auto value = a.find("Value");
    out[a["Name"].get<std::string>()] = value != a.end() && value->is_string() ? *value : Json("");
  }
  return out;
}

ApiResult<PreSignUpResult> IdpApi::preSignUp(const Pool& pool, const User& user, const std::string& source,
                                             const TriggerCaller& caller, const Json& validationData) {
  if (!triggerArn(pool, "PreSignUp")) return PreSignUpResult{};
  Json request = {{"validationData", validationData}, {"clientMetadata", caller.clientMetadata}};
  Json response = {{"autoConfirmUser", false}, {"autoVerifyEmail", false}, {"autoVerifyPhone", false}};
  API_TRY(Json reply, runTrigger(pool, "PreSignUp", source, user.row.username, triggerAttributes(pool, user), caller,
                                 std::move(request), std::move(response)));
  API_TRY(PreSignUpResult r, readPreSignUp(reply));
  // Verifying an attribute the user does not have breaks the trigger's rules (spec 8.3); the
  // flags mean nothing to AdminCreateUser.
  if (source != "PreSignUp_SignUp") return r;
  for (auto [flag, attr] : {std::pair{r.autoVerifyEmail, "email"}, std::pair{r.autoVerifyPhone, "phone_number"}}) {
    const std::string* v = user.attribute(attr);
    if (flag && (!v || v->empty()))
      return idpError("InvalidLambdaResponseException",
                      std::string("PreSignUp: auto-verifying ") + attr + " needs the user to have one.");
  }
  return r;
}

std::optional<ApiError> IdpApi::postConfirmation(const Pool& pool, const User& user, const std::string& source,
                                                 const TriggerCaller& caller) {
  if (!triggerArn(pool, "PostConfirmation")) return std::nullopt;
  ApiResult<Json> reply = runTrigger(pool, "PostConfirmation", source, user.row.username, triggerAttributes(pool, user),
                                     caller, Json{{"clientMetadata", caller.clientMetadata}}, Json::object());
  if (!reply.isOk()) return reply.error();
  return std::nullopt;
}

ApiResult<bool> IdpApi::preAuthentication(const Pool& pool, const User* user, const std::string& typedName,
                                          const TriggerCaller& caller, bool hidesUsers) {
  if (!triggerArn(pool, "PreAuthentication")) return false;
  // validationData is the sign-in request's ClientMetadata (spec 8.3).
  Json request = {{"validationData", caller.clientMetadata}};
  if (hidesUsers) request["userNotFound"] = user == nullptr;
  TriggerCaller withoutMetadata = caller;
  withoutMetadata.clientMetadata.clear();
  API_TRY(Json reply, runTrigger(pool, "PreAuthentication", "PreAuthentication_Authentication",
                                 user ? user->row.username : typedName,
                                 user ? triggerAttributes(pool, *user) : Json::object(), withoutMetadata,
                                 std::move(request), Json::object()));
  (void)reply;
  return true;
}

ApiResult<IdpApi::User> IdpApi::preAuthenticated(const Client& client, const std::string& typedName,
                                                 std::optional<User> found, const Call& call) {
  const bool hide = client.config.preventUserExistenceErrors();
  const TriggerCaller caller = triggerCaller(call, client.row.clientId);
  if (!found) {
    if (hide) {
      API_TRY(bool ran, preAuthentication(client.pool, nullptr, typedName, caller, true));
      (void)ran;
    }
    return signInCandidate(client, typedName, std::nullopt);
  }
  API_TRY(User user, signInCandidate(client, typedName, std::move(found)));
  API_TRY(bool ran, preAuthentication(client.pool, &user, typedName, caller, hide));
  if (!ran) return user;
  // The call may have taken seconds: go on with the current copy (and its checks).
  API_TRY(std::optional<User> fresh, findUserBySub(client.pool, user.row.sub));
  return signInCandidate(client, typedName, std::move(fresh));
}

std::optional<ApiError> IdpApi::postAuthentication(const Pool& pool, const User& user, const TriggerCaller& caller) {
  if (!triggerArn(pool, "PostAuthentication")) return std::nullopt;
  Json request = {{"newDeviceUsed", false}, {"clientMetadata", caller.clientMetadata}};
  ApiResult<Json> reply = runTrigger(pool, "PostAuthentication", "PostAuthentication_Authentication", user.row.username,
                                     triggerAttributes(pool, user), caller, std::move(request), Json::object());
  if (!reply.isOk()) return reply.error();
  return std::nullopt;
}

std::optional<ApiError> IdpApi::preTokenGeneration(const Client& client, const User& user, const IssueContext& ic,
                                                   MintRequest& r) {
  const Pool& pool = client.pool;
  if (ic.triggerSource.empty() || !triggerArn(pool, "PreTokenGeneration")) return std::nullopt;
  const std::string& lambdaVersion = pool.config.preTokenGenerationVersion();
  const int version = lambdaVersion == "V3_0" ? 3 : lambdaVersion == "V2_0" ? 2 : 1;
  std::vector<std::string> scopes = r.scopes.empty() ? std::vector<std::string>{kAdminScope} : r.scopes;
  Json groupConfiguration = {{"groupsToOverride", r.groups},
                             {"iamRolesToOverride", r.roles},
                             {"preferredRole", r.preferredRole.empty() ? Json(nullptr) : Json(r.preferredRole)}};
  Json request = {{"groupConfiguration", groupConfiguration}, {"clientMetadata", ic.trigger.clientMetadata}};
  if (version >= 2) request["scopes"] = scopes;
  Json response = Json::object();
  response[version == 1 ? "claimsOverrideDetails" : "claimsAndScopeOverrideDetails"] = nullptr;
  TriggerCaller caller = ic.trigger;
  caller.clientId = client.row.clientId;
  ApiResult<Json> reply = runTrigger(pool, "PreTokenGeneration", ic.triggerSource, user.row.username,
                                     triggerAttributes(pool, user), caller, std::move(request), std::move(response),
                                     std::to_string(version));
  if (!reply.isOk()) return reply.error();
  ApiResult<TokenOverrides> o = readPreTokenGeneration(*reply, version);
  if (!o.isOk()) return o.error();
  r.idClaimsToAdd = std::move(o->idClaimsToAdd);
  r.idClaimsToSuppress = std::move(o->idClaimsToSuppress);
  r.accessClaimsToAdd = std::move(o->accessClaimsToAdd);
  r.accessClaimsToSuppress = std::move(o->accessClaimsToSuppress);
  if (!o->scopesToAdd.empty() || !o->scopesToSuppress.empty()) {
    for (const std::string& s : o->scopesToAdd)
      if (std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.push_back(s);
    std::erase_if(scopes, [&](const std::string& s) {
      return std::find(o->scopesToSuppress.begin(), o->scopesToSuppress.end(), s) != o->scopesToSuppress.end();
    });
    r.scopes = std::move(scopes);
  }
  if (o->groupsOverridden) {
    r.groups = std::move(o->groups);
    r.roles = std::move(o->roles);
    r.preferredRole = std::move(o->preferredRole);
  }
  return std::nullopt;
}

ApiResult<std::optional<CustomMessageResult>> IdpApi::customMessage(const Pool& pool, const User& user,
                                                                    const std::string& purpose,
                                                                    const TriggerCaller& caller) {
  if (!triggerArn(pool, "CustomMessage")) return std::optional<CustomMessageResult>();
  const bool invitation = purpose == "AdminCreateUser";
  Json request = {{"codeParameter", "{####}"},
                  {"linkParameter", "{##Click Here##}"},
                  {"usernameParameter", invitation ? Json("{username}") : Json(nullptr)},
                  {"clientMetadata", caller.clientMetadata}};
  Json response = {{"smsMessage", nullptr}, {"emailMessage", nullptr}, {"emailSubject", nullptr}};
  API_TRY(Json reply, runTrigger(pool, "CustomMessage", "CustomMessage_" + purpose, user.row.username,
                                 triggerAttributes(pool, user), caller, std::move(request), std::move(response)));
  API_TRY(CustomMessageResult r, readCustomMessage(reply, invitation));
  return std::optional<CustomMessageResult>(std::move(r));
}

}  // namespace tether::server::idp
