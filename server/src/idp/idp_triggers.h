// User-pool Lambda triggers (spec cognito-user-pools.md 8, docs/user-pool-triggers.md):
// PreSignUp, PostConfirmation, PreAuthentication, PostAuthentication, PreTokenGeneration (V1_0,
// V2_0 and V3_0) and CustomMessage, called on the operator's webhook or local command instead of
// AWS Lambda. A pool's LambdaConfig names a function ARN; [[sync_triggers]] maps that ARN to its
// target (the table the Cognito Sync trigger and the code delivery hook use), and the
// TriggerExecutor (outbound/trigger_executor.h) makes the call.
//
// This file holds what does not need the operations: the event envelope (8.2), the synchronous
// call with its retries and its error mapping (8.1), and the typed reading of each trigger's
// `response` (8.3). Where each trigger fires is in the operations (8.4), through the IdpApi
// members of idp_triggers.cpp.
//
// Error mapping (8.1):
//   the function said no (HTTP non-2xx with {"errorMessage"}; a command's non-zero exit, message
//   from {"errorMessage"} on stdout, else the last line of stderr, else of stdout)
//                                      -> UserLambdaValidationException "<Trigger> failed with error <message>."
//   timeout, unreachable, no target, throttled, an HTTP error without errorMessage
//                                      -> UnexpectedLambdaException
//   a reply that is not a JSON object, or breaks the trigger's rules
//                                      -> InvalidLambdaResponseException
// Timeouts and unreachable targets are tried kTriggerAttempts times in all.
//
// Threading: callTrigger() blocks its thread (a worker) for at most about kTriggerAttempts times
// the target's deadline; the rest are pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "idp/idp_errors.h"
#include "net/http.h"
#include "sync/sync_trigger.h"

namespace tether::server::idp {

// Calls of one trigger when the target times out or cannot be reached (spec 8.1: Cognito tries
// a Lambda up to three times). More attempts ride out a restarting hook, at up to 5 s each of
// added latency for the API call waiting on it.
constexpr int kTriggerAttempts = 3;
// What a call may wait for the executor beyond the target's own deadline (its queue): past it
// the attempt counts as a timeout, so an overloaded executor cannot hang an API call.
constexpr int kTriggerQueueSlackMs = 2000;
// The longest function error message shown to the caller (the rest is cut).
constexpr size_t kMaxTriggerMessageBytes = 1024;

inline constexpr const char* kClientIdNotApplicable = "CLIENT_ID_NOT_APPLICABLE";
inline constexpr const char* kUnknownSdk = "aws-sdk-unknown-unknown";

// Who fires a trigger (the envelope's callerContext) and the request's ClientMetadata, which
// goes to the trigger as `clientMetadata` (or `validationData` for PreAuthentication) and is
// never stored.
struct TriggerCaller {
  std::string clientId = kClientIdNotApplicable;
  std::string sdkVersion = kUnknownSdk;
  std::map<std::string, std::string> clientMetadata;
};

// callerContext.awsSdkVersion from the request's User-Agent: an AWS SDK's leading product token
// "aws-sdk-<lang>/<version>" becomes "aws-sdk-<lang>-<version>"; anything else (boto3, browsers,
// no header) is "aws-sdk-unknown-unknown".
std::string sdkVersionOf(const HttpRequest& request);

// The common envelope (spec 8.2).
struct TriggerEvent {
  std::string version = "1";  // PreTokenGeneration V2_0 -> "2", V3_0 -> "3"
  std::string triggerSource;
  std::string region;
  std::string userPoolId;
  std::string userName;       // the internal Username (the typed name when userNotFound)
  TriggerCaller caller;
  Json userAttributes = Json::object();  // strings only, with sub and cognito:user_status
  Json request = Json::object();         // the trigger's members beyond userAttributes
  Json response = Json::object();        // what the function starts from (members null)
};
Json eventJson(const TriggerEvent& event);

// One trigger call: sends `event` to `arn` (retrying timeouts and unreachable targets) and
// returns the reply's `response` member, {} when it is null or absent. `triggerName` is the
// LambdaConfig key, as the error messages name it.
ApiResult<Json> callTrigger(SyncTriggerInvoker* invoker, const std::string& triggerName, const std::string& arn,
                            const Json& event);

// One outcome -> the reply's `response`, or the exception of spec 8.1. For callTrigger and tests.
ApiResult<Json> triggerReply(const std::string& triggerName, const TriggerOutcome& outcome);

// The function's own message in an error outcome: {"errorMessage"} in the body or on stdout, else
// the last non-empty line of stderr, else of the body; "" when there is none.
std::string functionErrorMessage(const TriggerOutcome& outcome);

// ---- reading each trigger's response (spec 8.3); InvalidLambdaResponseException on a member
// of the wrong type or a broken rule.

struct PreSignUpResult {
  bool autoConfirmUser = false;
  bool autoVerifyEmail = false;
  bool autoVerifyPhone = false;
};
ApiResult<PreSignUpResult> readPreSignUp(const Json& response);

// Messages the function wrote (nullopt: keep the pool's template). Each message contains the
// code placeholder {####} (and {username} for AdminCreateUser); email <= 20,000 characters,
// SMS and subject <= 140.
struct CustomMessageResult {
  std::optional<std::string> smsMessage, emailMessage, emailSubject;
};
ApiResult<CustomMessageResult> readCustomMessage(const Json& response, bool adminCreateUser);

// What PreTokenGeneration changes in the tokens. `version` 1: claimsOverrideDetails (ID token
// claims, string values; groups in both tokens); 2 and 3: claimsAndScopeOverrideDetails (claims
// of either token, any JSON value; the access token's scopes). Protected claims are dropped by
// the token service.
struct TokenOverrides {
  Json idClaimsToAdd = Json::object();
  Json accessClaimsToAdd = Json::object();
  std::vector<std::string> idClaimsToSuppress, accessClaimsToSuppress;
  std::vector<std::string> scopesToAdd, scopesToSuppress;
  // groupOverrideDetails was given: these replace the groups, roles and preferred role (an empty
  // or null groupOverrideDetails removes them).
  bool groupsOverridden = false;
  std::vector<std::string> groups, roles;
  std::string preferredRole;
};
ApiResult<TokenOverrides> readPreTokenGeneration(const Json& response, int version);

}  // namespace tether::server::idp
