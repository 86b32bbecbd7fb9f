// Fuzz target: every Cognito User Pools operation (IdpApi, spec cognito-user-pools.md) against a
// real SQLite store, keyring and token service. The world holds a pool with a public client and
// one with a secret, a confirmed user, and that user's tokens, a challenge session and an SRP
// SECRET_BLOCK: the vocabulary structured inputs draw from.
//
// Input: first byte = mode. 0: raw - operation name and body are free bytes. 1: structured -
// an operation (every one of IdpApi::operations() and an unknown one), a JSON body whose members
// are ones the operations read, with values mostly of the right type and from the vocabulary;
// the administrator operations run as the operator (no SigV4: the signature checks have their
// own target). Several requests per input, so sequences (sign-up then confirm, sign-in then
// respond) happen.
// Properties: never a 5xx or an exception, every error typed (an exception name and a message).
#include <memory>
#include <string>
#include <vector>

#include "auth/secret_store.h"
#include "fuzz_http_checks.h"
#include "fuzz_input.h"
#include "fuzz_server_world.h"
#include "fuzz_support.h"
#include "idp/code_delivery.h"
#include "idp/crypto/code_hash.h"
#include "idp/crypto/idp_keyring.h"
#include "idp/crypto/sealer.h"
#include "idp/crypto/srp_client.h"
#include "idp/idp_api.h"

using namespace tether;
using nlohmann::json;

namespace {

struct IdpWorld {
  static constexpr int kRenewEvery = 2000;
  std::filesystem::path dir = fuzz::makeTempDir("idp");
  fuzz::FixedClock clock;
  std::unique_ptr<server::Store> store;
  std::unique_ptr<server::auth::DatabaseSecretStore> secrets;
  std::unique_ptr<server::cognito::TemporaryCredentials> creds;
  std::unique_ptr<server::cognito::RequestAuthenticator> auth;
  std::unique_ptr<server::idp::IdpKeyring> keys;
  std::unique_ptr<server::idp::CodeDelivery> delivery;
  std::unique_ptr<server::idp::IdpContext> ctx;
  std::unique_ptr<server::idp::IdpApi> api;
  std::vector<std::string> pools, clients, users, tokens, sessions, names;
  int uses = 0;

  IdpWorld() {
    auto s = server::openSqliteStore(dir / "tether.db");
    fuzz::ServerWorld::must(s.isOk(), "store");
    store = std::move(*s);
    secrets = std::make_unique<server::auth::DatabaseSecretStore>(*store);
    creds = std::make_unique<server::cognito::TemporaryCredentials>(std::string(32, 'c'));
    auth = std::make_unique<server::cognito::RequestAuthenticator>(*creds, std::map<std::string, std::string>{}, clock,
                                                                   store.get());
    keys = std::make_unique<server::idp::IdpKeyring>(*secrets, *secrets);
    auto tokenSealer = keys->tokenSealer();
    auto atRest = keys->atRestSealer();
    auto hasher = keys->codeHasher();
    fuzz::ServerWorld::must(tokenSealer.isOk() && atRest.isOk() && hasher.isOk(), "keys");
    delivery = std::make_unique<server::idp::CodeDelivery>(nullptr, "", true);
    server::idp::IdpSettings settings;
    settings.issuerBase = "http://tetherd.test";
    ctx = std::make_unique<server::idp::IdpContext>(server::idp::IdpContext{
        *store, *keys, *tokenSealer, *atRest, *hasher, *auth, clock, *delivery, settings});
    api = std::make_unique<server::idp::IdpApi>(*ctx);

    auto pool = admin("CreateUserPool", {{"PoolName", "fuzz"}, {"AutoVerifiedAttributes", {"email"}},
                                         {"AliasAttributes", {"email", "preferred_username"}}});
    std::string poolId = pool["UserPool"]["Id"];
    admin("SetUserPoolMfaConfig", {{"UserPoolId", poolId}, {"MfaConfiguration", "OPTIONAL"},
                                   {"SoftwareTokenMfaConfiguration", {{"Enabled", true}}}});
    json flows = {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
                  "ALLOW_ADMIN_USER_PASSWORD_AUTH"};
    std::string open = admin("CreateUserPoolClient", {{"UserPoolId", poolId}, {"ClientName", "open"},
                                                      {"ExplicitAuthFlows", flows}})["UserPoolClient"]["ClientId"];
    std::string secret = admin("CreateUserPoolClient", {{"UserPoolId", poolId}, {"ClientName", "secret"},
                                                        {"GenerateSecret", true}, {"ExplicitAuthFlows", flows},
                                                        {"PreventUserExistenceErrors", "ENABLED"}})["UserPoolClient"]["ClientId"];
    admin("AdminCreateUser", {{"UserPoolId", poolId}, {"Username", "alice"}, {"MessageAction", "SUPPRESS"},
                              {"UserAttributes", {{{"Name", "email"}, {"Value", "alice@example.com"}},
                                                  {{"Name", "email_verified"}, {"Value", "true"}}}}});
    admin("AdminSetUserPassword", {{"UserPoolId", poolId}, {"Username", "alice"}, {"Password", "Passw0rd!"},
                                   {"Permanent", true}});
    admin("AdminCreateUser", {{"UserPoolId", poolId}, {"Username", "bob"}, {"TemporaryPassword", "Temp0rary!"},
                              {"MessageAction", "SUPPRESS"}});
    admin("CreateGroup", {{"UserPoolId", poolId}, {"GroupName", "admins"}, {"Precedence", 1}});
    json signedIn = admin("AdminInitiateAuth", {{"UserPoolId", poolId}, {"ClientId", open},
                                                {"AuthFlow", "ADMIN_USER_PASSWORD_AUTH"},
                                                {"AuthParameters", {{"USERNAME", "alice"}, {"PASSWORD", "Passw0rd!"}}}});
    json bobChallenge = admin("AdminInitiateAuth", {{"UserPoolId", poolId}, {"ClientId", open},
                                                    {"AuthFlow", "ADMIN_USER_PASSWORD_AUTH"},
                                                    {"AuthParameters", {{"USERNAME", "bob"}, {"PASSWORD", "Temp0rary!"}}}});
    std::string a = server::idp::srp::newClientSecret();
    auto srpA = server::idp::srp::clientPublicHex(a);
    json srp = admin("AdminInitiateAuth", {{"UserPoolId", poolId}, {"ClientId", open}, {"AuthFlow", "USER_SRP_AUTH"},
                                           {"AuthParameters", {{"USERNAME", "alice"}, {"SRP_A", *srpA}}}});
    pools = {poolId, "us-east-1_Nope12345", "bad", ""};
    clients = {open, secret, "nosuchclient0000000000000a", ""};
    users = {"alice", "bob", "alice@example.com", "nobody", ""};
    const json& r = signedIn["AuthenticationResult"];
    tokens = {r.value("AccessToken", ""), r.value("IdToken", ""), r.value("RefreshToken", ""), "x.y.z", ""};
    sessions = {bobChallenge.value("Session", ""), poolId + "." + std::string(40, 'A'), "short"};
    sessions.push_back(srp["ChallengeParameters"].value("SECRET_BLOCK", ""));
    names = {"email", "name", "custom:x", "sub", "email_verified", "preferred_username", "phone_number"};
  }
  ~IdpWorld() {
    api.reset();
    ctx.reset();
    store.reset();
    fuzz::removeTempDir(dir);
  }

  json admin(const std::string& op, const json& in) {
    auto r = api->callAsAdministrator(op, in);
    fuzz::ServerWorld::must(r.isOk(), op.c_str());
    return *r;
  }
};

std::unique_ptr<IdpWorld>& world() {
  static std::unique_ptr<IdpWorld>* w = new std::unique_ptr<IdpWorld>();
  return *w;
}

json attributes(fuzz::FuzzInput& in, IdpWorld& w) {
  json list = json::array();
  int n = in.range<int>(0, 3);
  for (int i = 0; i < n; ++i)
    list.push_back({{"Name", fuzz::fuzzJsonValue(in, in.pick(w.names, 40))},
                    {"Value", fuzz::fuzzJsonValue(in, in.pick({"a@example.com", "true", "+12065551234", "x", ""}, 3000))}});
  return list;
}

json body(fuzz::FuzzInput& in, IdpWorld& w) {
  json b = json::object();
  int n = in.range<int>(0, 9);
  for (int i = 0; i < n; ++i) {
    switch (in.range<int>(0, 21)) {
      case 0: b["UserPoolId"] = fuzz::fuzzJsonValue(in, in.pick(w.pools, 80)); break;
      case 1: b["ClientId"] = fuzz::fuzzJsonValue(in, in.pick(w.clients, 80)); break;
      case 2: b["Username"] = fuzz::fuzzJsonValue(in, in.pick(w.users, 200)); break;
      case 3: b["Password"] = fuzz::fuzzJsonValue(in, in.pick({"Passw0rd!", "short", " Passw0rd!", "N3w-Passw0rd"}, 300)); break;
      case 4: b["UserAttributes"] = fuzz::fuzzJsonValue(in, attributes(in, w)); break;
      case 5: b["ConfirmationCode"] = fuzz::fuzzJsonValue(in, in.pick({"123456", "000000", ""}, 50)); break;
      case 6: b["AuthFlow"] = fuzz::fuzzJsonValue(in, in.pick({"USER_SRP_AUTH", "USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH",
                                                               "ADMIN_USER_PASSWORD_AUTH", "CUSTOM_AUTH"}, 40)); break;
      case 7: {
        json p = json::object();
        p["USERNAME"] = in.pick(w.users, 100);
        if (in.boolean()) p["PASSWORD"] = in.pick({"Passw0rd!", "Wrong0ne!"}, 100);
        if (in.boolean()) p["SRP_A"] = in.pick({"02", "0", "ff", std::string(768, 'a')}, 2000);
        if (in.boolean()) p["REFRESH_TOKEN"] = in.pick(w.tokens, 3000);
        if (in.boolean()) p["SECRET_HASH"] = in.bytes(50);
        b["AuthParameters"] = fuzz::fuzzJsonValue(in, p);
        break;
      }
      case 8: b["ChallengeName"] = fuzz::fuzzJsonValue(in, in.pick({"PASSWORD_VERIFIER", "NEW_PASSWORD_REQUIRED",
                                                                     "SOFTWARE_TOKEN_MFA", "MFA_SETUP", "SELECT_MFA_TYPE",
                                                                     "SMS_MFA"}, 40)); break;
      case 9: {
        json c = json::object();
        c["USERNAME"] = in.pick(w.users, 100);
        if (in.boolean()) c["NEW_PASSWORD"] = in.pick({"N3w-Passw0rd", "x"}, 100);
        if (in.boolean()) c["PASSWORD_CLAIM_SECRET_BLOCK"] = in.pick(w.sessions, 3000);
        if (in.boolean()) c["TIMESTAMP"] = in.pick({"Tue Jan 2 03:04:05 UTC 2024", "Tue Jan 02 03:04:05 UTC 2024"}, 60);
        if (in.boolean()) c["PASSWORD_CLAIM_SIGNATURE"] = in.bytes(60);
        if (in.boolean()) c["SOFTWARE_TOKEN_MFA_CODE"] = in.pick({"123456", "12345"}, 10);
        if (in.boolean()) c["userAttributes.name"] = in.bytes(40);
        b["ChallengeResponses"] = fuzz::fuzzJsonValue(in, c);
        break;
      }
      case 10: b["Session"] = fuzz::fuzzJsonValue(in, in.pick(w.sessions, 3000)); break;
      case 11: b["AccessToken"] = fuzz::fuzzJsonValue(in, in.pick(w.tokens, 3000)); break;
      case 12: b["Token"] = fuzz::fuzzJsonValue(in, in.pick(w.tokens, 3000)); break;
      case 13: b["Filter"] = fuzz::fuzzJsonValue(in, in.pick({"email = \"alice@example.com\"", "username ^= \"a\"",
                                                              "cognito:user_status = \"CONFIRMED\"", "status = \"Enabled\"",
                                                              "email = \"a\\\"b\"", "bad"}, 300)); break;
      case 14: b["Limit"] = fuzz::fuzzJsonValue(in, in.range<int>(0, 70)); break;
      case 15: b["PaginationToken"] = fuzz::fuzzJsonValue(in, in.bytes(80)); break;
      case 16: b["GroupName"] = fuzz::fuzzJsonValue(in, in.pick({"admins", "editors", ""}, 200)); break;
      case 17: b["UserCode"] = fuzz::fuzzJsonValue(in, in.pick({"123456", "abcdef"}, 10)); break;
      case 18: b["AttributeName"] = fuzz::fuzzJsonValue(in, in.pick(w.names, 40)); break;
      case 19: b["PoolName"] = fuzz::fuzzJsonValue(in, in.pick({"p", "bad/name", ""}, 200)); break;
      case 20: b["Policies"] = fuzz::fuzzJsonValue(in, json{{"PasswordPolicy", {{"MinimumLength", in.range<int>(0, 120)}}}}); break;
      default: b[in.bytes(20)] = in.bytes(20); break;
    }
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<IdpWorld>& w = world();
  if (!w || ++w->uses > IdpWorld::kRenewEvery) w = std::make_unique<IdpWorld>();
  fuzz::FuzzInput in(data, size);
  bool rawMode = in.range<int>(0, 1) == 0;
  static const std::vector<server::idp::IdpApi::OperationInfo> ops = server::idp::IdpApi::operations();
  for (int i = 0; i < 5 && !in.empty(); ++i) {
    std::string op;
    std::string bodyText;
    bool asAdmin = false;
    if (rawMode) {
      op = in.bytes(40);
      bodyText = in.bytes(2000);
    } else {
      size_t k = in.range<size_t>(0, ops.size());
      op = k == ops.size() ? "NoSuchOperation" : std::string(ops[k].name);
      asAdmin = k < ops.size() && ops[k].auth == server::idp::IdpApi::AuthClass::kSigned;
      bodyText = fuzz::dumpLenient(body(in, *w));
    }
    server::cognito::ApiResult<json> r = [&]() -> server::cognito::ApiResult<json> {
      if (asAdmin) {
        json parsed = json::parse(bodyText, nullptr, false);
        if (!parsed.is_object()) parsed = json::object();
        return w->api->callAsAdministrator(op, parsed);
      }
      server::HttpRequest req;
      req.method = "POST";
      req.path = "/";
      req.peer = "127.0.0.1";
      req.body = bodyText;
      return w->api->call(op, req);
    }();
    if (!r.isOk()) {
      TETHER_FUZZ_CHECK(r.error().status >= 400 && r.error().status < 500,
                        std::to_string(r.error().status) + " " + r.error().type + " " + r.error().message + " for " + op);
      TETHER_FUZZ_CHECK(!r.error().type.empty() && !r.error().message.empty(), "untyped error for " + op);
    } else {
      TETHER_FUZZ_CHECK(r->is_object(), "a non-object answer for " + op);
    }
  }
  return 0;
}
