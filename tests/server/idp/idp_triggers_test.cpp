// Tests for server/src/idp/idp_triggers.h: the error mapping of spec 8.1 for every outcome kind,
// the retries (with a fake invoker), the function's message, callerContext's SDK, and the rules
// each trigger's response is read by (8.3). End to end with tetherd:
// tests/compat/boto3_user_pool_triggers_test.py.
#include "idp/idp_triggers.h"

#include <gtest/gtest.h>

#include <deque>

namespace tether::server::idp {
namespace {

using Kind = TriggerOutcome::Kind;

TriggerOutcome outcome(Kind kind, std::string body = "", std::string errorText = "", int code = 0,
                       bool webhook = false) {
  TriggerOutcome o;
  o.kind = kind;
  o.body = std::move(body);
  o.errorText = std::move(errorText);
  o.code = code;
  o.fromWebhook = webhook;
  if (kind != Kind::kReply) o.status = Status::triggerFailed("failed");
  return o;
}

// The error's (type, message), or ("", reply dump) when it succeeded.
std::pair<std::string, std::string> mapped(const TriggerOutcome& o) {
  ApiResult<Json> r = triggerReply("PreSignUp", o);
  if (r.isOk()) return {"", r.value().dump()};
  return {r.error().type, r.error().message};
}

TEST(IdpTriggersTest, FunctionErrorsAreUserLambdaValidationWithTheFunctionsMessage) {
  using P = std::pair<std::string, std::string>;
  const std::string v = "UserLambdaValidationException";
  EXPECT_EQ(mapped(outcome(Kind::kFunctionError, "", "Traceback\n  line\nValueError: no\n", 1)),
            P(v, "PreSignUp failed with error ValueError: no."));
  EXPECT_EQ(mapped(outcome(Kind::kFunctionError, "{\"errorMessage\":\"from stdout\"}", "stderr too", 1)),
            P(v, "PreSignUp failed with error from stdout."));
  EXPECT_EQ(mapped(outcome(Kind::kFunctionError, "plain text\n", "", 2)), P(v, "PreSignUp failed with error plain text."));
  EXPECT_EQ(mapped(outcome(Kind::kFunctionError, "", "", 3)), P(v, "PreSignUp failed with error exit status 3."));
  EXPECT_EQ(mapped(outcome(Kind::kFunctionError, "{\"errorMessage\":\"nope\"}", "", 400, true)),
            P(v, "PreSignUp failed with error nope."));
  // Control characters never reach the caller; the message is bounded.
  std::string message = mapped(outcome(Kind::kFunctionError, "{\"errorMessage\":\"a\\u0001b\\tc\"}", "", 1)).second;
  EXPECT_EQ(message, "PreSignUp failed with error a b c.");
  message = mapped(outcome(Kind::kFunctionError, "", std::string(5000, 'x'), 1)).second;
  EXPECT_EQ(message.size(), std::string("PreSignUp failed with error .").size() + kMaxTriggerMessageBytes);
  // ... and never cut inside a UTF-8 character ("é" is 2 bytes; one would end at the limit).
  message = mapped(outcome(Kind::kFunctionError, "", "x" + [] {
                     std::string s;
                     for (int i = 0; i < 600; ++i) s += "\xc3\xa9";
                     return s;
                   }(), 1)).second;
  EXPECT_EQ(message.size(), std::string("PreSignUp failed with error .").size() + kMaxTriggerMessageBytes - 1);
  EXPECT_NO_THROW((void)Json(message).dump()) << "valid UTF-8";
}

TEST(IdpTriggersTest, TargetFailuresAreUnexpectedLambda) {
  const std::string u = "UnexpectedLambdaException";
  EXPECT_EQ(mapped(outcome(Kind::kFunctionError, "<html>502</html>", "", 502, true)),
            std::make_pair(u, std::string("PreSignUp invocation failed due to error HTTP 502.")));
  EXPECT_EQ(mapped(outcome(Kind::kTimeout)),
            std::make_pair(u, std::string("PreSignUp invocation failed due to error Socket timeout while invoking "
                                          "Lambda function.")));
  for (Kind k : {Kind::kUnreachable, Kind::kThrottled, Kind::kNoTarget, Kind::kStopping})
    EXPECT_EQ(mapped(outcome(k)).first, u);
}

TEST(IdpTriggersTest, RepliesAreReadForTheirResponse) {
  const std::string bad = "InvalidLambdaResponseException";
  EXPECT_EQ(mapped(outcome(Kind::kReply, "{\"response\":{\"a\":1},\"request\":{}}")), std::make_pair(std::string(), std::string("{\"a\":1}")));
  EXPECT_EQ(mapped(outcome(Kind::kReply, "{\"response\":null}")).second, "{}");
  EXPECT_EQ(mapped(outcome(Kind::kReply, "{}")).second, "{}");
  EXPECT_EQ(mapped(outcome(Kind::kReply, "not json")), std::make_pair(bad, std::string("Unrecognizable lambda output")));
  EXPECT_EQ(mapped(outcome(Kind::kReply, "")).first, bad);
  EXPECT_EQ(mapped(outcome(Kind::kReply, "[1]")).first, bad);
  EXPECT_EQ(mapped(outcome(Kind::kReply, "{\"response\":[]}")).first, bad);
  EXPECT_EQ(mapped(outcome(Kind::kTooLarge)).first, bad);
}

// Answers each call with the next queued outcome.
class FakeInvoker : public SyncTriggerInvoker {
 public:
  std::deque<TriggerOutcome> outcomes;
  std::vector<std::string> events;
  bool hasTarget(const std::string& arn) const override { return arn == "arn:fn"; }
  void invoke(const std::string&, std::string, std::function<void(Result<std::string>)>) override {
    ADD_FAILURE() << "the user-pool triggers call invokeDetailed()";
  }
  void invokeDetailed(const std::string&, std::string event, std::function<void(TriggerOutcome)> done) override {
    events.push_back(std::move(event));
    TriggerOutcome o = outcomes.front();
    outcomes.pop_front();
    done(std::move(o));
  }
};

TEST(IdpTriggersTest, TimeoutsAndUnreachableTargetsAreTriedThreeTimes) {
  const Json event = {{"userPoolId", "us-east-1_x"}, {"triggerSource", "PreSignUp_SignUp"}};
  FakeInvoker fake;
  fake.outcomes = {outcome(Kind::kTimeout), outcome(Kind::kUnreachable),
                   outcome(Kind::kReply, "{\"response\":{\"autoConfirmUser\":true}}")};
  ApiResult<Json> r = callTrigger(&fake, "PreSignUp", "arn:fn", event);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value(), Json({{"autoConfirmUser", true}}));
  EXPECT_EQ(fake.events.size(), 3u);
  EXPECT_EQ(Json::parse(fake.events[0]), event);

  fake.events.clear();
  fake.outcomes = {outcome(Kind::kTimeout), outcome(Kind::kTimeout), outcome(Kind::kTimeout), outcome(Kind::kReply, "{}")};
  r = callTrigger(&fake, "PreSignUp", "arn:fn", event);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.error().type, "UnexpectedLambdaException");
  EXPECT_EQ(fake.events.size(), 3u);

  fake.events.clear();
  fake.outcomes = {outcome(Kind::kFunctionError, "", "no", 1), outcome(Kind::kReply, "{}")};
  r = callTrigger(&fake, "PreSignUp", "arn:fn", event);
  EXPECT_EQ(r.error().type, "UserLambdaValidationException");
  EXPECT_EQ(fake.events.size(), 1u) << "a function's own error is not retried";

  fake.events.clear();
  r = callTrigger(&fake, "PreSignUp", "arn:unmapped", event);
  EXPECT_EQ(r.error().type, "UnexpectedLambdaException");
  EXPECT_EQ(callTrigger(nullptr, "PreSignUp", "arn:fn", event).error().type, "UnexpectedLambdaException");
  EXPECT_TRUE(fake.events.empty());
}

TEST(IdpTriggersTest, SdkVersionFromTheUserAgent) {
  HttpRequest req;
  EXPECT_EQ(sdkVersionOf(req), "aws-sdk-unknown-unknown");
  req.headers["user-agent"] = "aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js";
  EXPECT_EQ(sdkVersionOf(req), "aws-sdk-js-3.1169.0");
  req.headers["user-agent"] = "Boto3/1.43.11 md/Botocore#1.43.11";
  EXPECT_EQ(sdkVersionOf(req), "aws-sdk-unknown-unknown");
  req.headers["user-agent"] = "aws-sdk-js/3.1\"x";
  EXPECT_EQ(sdkVersionOf(req), "aws-sdk-unknown-unknown");
}

TEST(IdpTriggersTest, EnvelopeFieldNames) {
  TriggerEvent e;
  e.triggerSource = "PostConfirmation_ConfirmSignUp";
  e.region = "us-east-1";
  e.userPoolId = "us-east-1_abc";
  e.userName = "alice";
  e.userAttributes = {{"sub", "s"}};
  e.request = {{"clientMetadata", Json::object()}};
  Json j = eventJson(e);
  EXPECT_EQ(j, Json::parse(R"({"version":"1","triggerSource":"PostConfirmation_ConfirmSignUp","region":"us-east-1",
    "userPoolId":"us-east-1_abc","userName":"alice",
    "callerContext":{"awsSdkVersion":"aws-sdk-unknown-unknown","clientId":"CLIENT_ID_NOT_APPLICABLE"},
    "request":{"userAttributes":{"sub":"s"},"clientMetadata":{}},"response":{}})"));
}

TEST(IdpTriggersTest, PreSignUpFlagsAreBooleans) {
  ApiResult<PreSignUpResult> r = readPreSignUp(Json::parse(R"({"autoConfirmUser":true,"autoVerifyEmail":null})"));
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(r->autoConfirmUser);
  EXPECT_FALSE(r->autoVerifyEmail);
  EXPECT_FALSE(readPreSignUp(Json::parse(R"({"autoVerifyPhone":"true"})")).isOk());
}

TEST(IdpTriggersTest, CustomMessageRules) {
  ApiResult<CustomMessageResult> r =
      readCustomMessage(Json::parse(R"({"emailMessage":"code {####}","emailSubject":"s","smsMessage":null})"), false);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->emailMessage, "code {####}");
  EXPECT_EQ(r->emailSubject, "s");
  EXPECT_FALSE(r->smsMessage);
  EXPECT_FALSE(readCustomMessage(Json::parse(R"({"smsMessage":"no code"})"), false).isOk());
  EXPECT_FALSE(readCustomMessage(Json::parse(R"({"emailMessage":"code {####}"})"), true).isOk()) << "no {username}";
  EXPECT_TRUE(readCustomMessage(Json::parse(R"({"emailMessage":"{username} {####}"})"), true).isOk());
  EXPECT_FALSE(readCustomMessage(Json{{"smsMessage", "{####}" + std::string(140, 'x')}}, false).isOk());
  EXPECT_TRUE(readCustomMessage(Json{{"smsMessage", "{####}" + std::string(134, 'x')}}, false).isOk());
  EXPECT_FALSE(readCustomMessage(Json{{"emailSubject", std::string(141, 's')}}, false).isOk());
  EXPECT_FALSE(readCustomMessage(Json{{"emailMessage", 5}}, false).isOk());
}

TEST(IdpTriggersTest, PreTokenGenerationV1AndV2) {
  ApiResult<TokenOverrides> v1 = readPreTokenGeneration(Json::parse(R"({"claimsOverrideDetails":{
      "claimsToAddOrOverride":{"a":"1"},"claimsToSuppress":["b"],
      "groupOverrideDetails":{"groupsToOverride":["g"],"iamRolesToOverride":["r"],"preferredRole":"r"}}})"), 1);
  ASSERT_TRUE(v1.isOk());
  EXPECT_EQ(v1->idClaimsToAdd, Json({{"a", "1"}}));
  EXPECT_EQ(v1->idClaimsToSuppress, std::vector<std::string>{"b"});
  EXPECT_TRUE(v1->accessClaimsToAdd.empty());
  EXPECT_TRUE(v1->groupsOverridden);
  EXPECT_EQ(v1->groups, std::vector<std::string>{"g"});
  EXPECT_EQ(v1->preferredRole, "r");
  EXPECT_FALSE(readPreTokenGeneration(Json::parse(R"({"claimsOverrideDetails":{"claimsToAddOrOverride":{"a":1}}})"), 1).isOk());
  ApiResult<TokenOverrides> none = readPreTokenGeneration(Json::parse(R"({"claimsOverrideDetails":{}})"), 1);
  EXPECT_FALSE(none->groupsOverridden) << "absent groupOverrideDetails keeps the groups";
  ApiResult<TokenOverrides> nulled = readPreTokenGeneration(Json::parse(R"({"claimsOverrideDetails":{"groupOverrideDetails":null}})"), 1);
  EXPECT_TRUE(nulled->groupsOverridden);
  EXPECT_TRUE(nulled->groups.empty());
  // A V1 shape means nothing to V2.
  EXPECT_TRUE(readPreTokenGeneration(Json::parse(R"({"claimsOverrideDetails":{"claimsToAddOrOverride":{"a":"1"}}})"), 2)
                  ->idClaimsToAdd.empty());

  ApiResult<TokenOverrides> v2 = readPreTokenGeneration(Json::parse(R"({"claimsAndScopeOverrideDetails":{
      "idTokenGeneration":{"claimsToAddOrOverride":{"n":5}},
      "accessTokenGeneration":{"claimsToAddOrOverride":{"o":{"x":[1]}},"claimsToSuppress":["c"],
                               "scopesToAdd":["s/1"],"scopesToSuppress":["s/2"]}}})"), 2);
  ASSERT_TRUE(v2.isOk());
  EXPECT_EQ(v2->idClaimsToAdd, Json({{"n", 5}}));
  EXPECT_EQ(v2->accessClaimsToAdd, Json::parse(R"({"o":{"x":[1]}})"));
  EXPECT_EQ(v2->accessClaimsToSuppress, std::vector<std::string>{"c"});
  EXPECT_EQ(v2->scopesToAdd, std::vector<std::string>{"s/1"});
  EXPECT_EQ(v2->scopesToSuppress, std::vector<std::string>{"s/2"});
  EXPECT_FALSE(v2->groupsOverridden);
  EXPECT_FALSE(readPreTokenGeneration(Json::parse(R"({"claimsAndScopeOverrideDetails":{"accessTokenGeneration":{"scopesToAdd":"s"}}})"), 2).isOk());
  EXPECT_FALSE(readPreTokenGeneration(Json::parse(R"({"claimsAndScopeOverrideDetails":[]})"), 3).isOk());
}

}  // namespace
}  // namespace tether::server::idp
