// Fuzz target 3: every Cognito Identity request (POST / with X-Amz-Target) through the real
// router (cognito/cognito_http -> identity_api) against the real store, identity service and
// OpenID Connect provider (fuzz_server_world.h).
//
// Input: first byte = mode. 0: raw - target header, content type and body are free bytes.
// 1: structured - an operation (all 15 and an unknown one), a JSON body whose members are the
// ones the operations read with values mostly of the right type and from the world's
// vocabulary (real pools, identities, valid OIDC and developer logins), signed with SigV4 by
// the developer key or an identity's temporary credentials, or not signed (the input says).
// Several requests per input, so sequences (GetId then GetCredentialsForIdentity, merges,
// deletions) happen.
// Properties (fuzz_http_checks.h): never a 5xx, always a JSON body, errors typed.
#include <string>
#include <vector>

#include "fuzz_http_checks.h"
#include "fuzz_server_world.h"

using namespace tether;
using nlohmann::json;

namespace {

const std::vector<std::string> kOps = {
    "GetId", "GetOpenIdToken", "GetCredentialsForIdentity", "UnlinkIdentity",
    "GetOpenIdTokenForDeveloperIdentity", "LookupDeveloperIdentity", "MergeDeveloperIdentities",
    "UnlinkDeveloperIdentity", "DescribeIdentity", "ListIdentities", "DeleteIdentities",
    "DescribeIdentityPool", "ListIdentityPools", "CreateIdentityPool", "NoSuchOperation"};

json logins(fuzz::FuzzInput& in, const fuzz::ServerWorld& w) {
  json m = json::object();
  int n = in.range<int>(0, 2);
  for (int i = 0; i < n; ++i) m[in.pick(w.vocab.providers, 140)] = in.pick(w.vocab.tokens, 3000);
  return m;
}

json body(fuzz::FuzzInput& in, fuzz::ServerWorld& w) {
  json b = json::object();
  int n = in.range<int>(0, 7);
  for (int i = 0; i < n; ++i) {
    switch (in.range<int>(0, 17)) {
      case 0: b["IdentityPoolId"] = fuzz::fuzzJsonValue(in, in.pick(w.vocab.pools)); break;
      case 1: b["IdentityId"] = fuzz::fuzzJsonValue(in, in.pick(w.vocab.identities)); break;
      case 2: b["Logins"] = fuzz::fuzzJsonValue(in, logins(in, w)); break;
      case 3: b["MaxResults"] = fuzz::fuzzJsonValue(in, in.range<int>(0, 70)); break;
      case 4: b["NextToken"] = fuzz::fuzzJsonValue(in, in.bytes(60)); break;
      case 5: b["DeveloperProviderName"] = fuzz::fuzzJsonValue(in, fuzz::kDevProvider); break;
      case 6: b["DeveloperUserIdentifier"] = fuzz::fuzzJsonValue(in, in.pick({"user-1", "user-2", ""}, 200)); break;
      case 7: b["TokenDuration"] = fuzz::fuzzJsonValue(in, in.int64()); break;
      case 8: b["IdentityIdsToDelete"] = fuzz::fuzzJsonValue(in, json::array({in.pick(w.vocab.identities)})); break;
      case 9: b["LoginsToRemove"] = fuzz::fuzzJsonValue(in, json::array({in.pick(w.vocab.providers)})); break;
      case 10: b["SourceUserIdentifier"] = fuzz::fuzzJsonValue(in, in.pick({"user-1", "user-2"}, 200)); break;
      case 11: b["DestinationUserIdentifier"] = fuzz::fuzzJsonValue(in, in.pick({"user-1", "user-2"}, 200)); break;
      case 12: b["HideDisabled"] = fuzz::fuzzJsonValue(in, in.boolean()); break;
      case 13: b["CustomRoleArn"] = fuzz::fuzzJsonValue(in, "arn:aws:iam::1:role/x"); break;
      case 14: b["AccountId"] = fuzz::fuzzJsonValue(in, "123456789012"); break;
      case 15: b["Logins"] = json::object({{fuzz::kDevProvider, in.pick({"user-1", "user-2"}, 200)}}); break;
      case 16: b["DeveloperUserIdentifierList"] = json::array({"user-1"}); break;
      default: b[in.bytes(12)] = in.bytes(12); break;
    }
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ServerWorld& w = fuzz::ServerWorld::get();
  fuzz::FuzzInput in(data, size);
  bool rawMode = in.range<int>(0, 1) == 0;
  for (int i = 0; i < 6 && !in.empty(); ++i) {
    server::HttpRequest req;
    req.method = "POST";
    req.path = "/";
    req.peer = "127.0.0.1";
    if (rawMode) {
      req.headers["x-amz-target"] = in.bytes(80);
      req.headers["content-type"] = in.pick({"application/x-amz-json-1.1", "application/json"}, 40);
      req.body = in.bytes(2000);
      req.bodyTooLarge = in.range<int>(0, 31) == 0;
    } else {
      std::string op = in.pick(kOps, 40);
      req.headers["x-amz-target"] = in.range<int>(0, 15) == 0 ? "Other." + op : "AWSCognitoIdentityService." + op;
      req.headers["content-type"] = "application/x-amz-json-1.1";
      req.body = fuzz::dumpLenient(body(in, w));
      switch (in.range<int>(0, 3)) {
        case 0: fuzz::signRequest(req, {}, fuzz::kDevKey, fuzz::kDevSecret, "", "cognito-identity"); break;
        case 1: fuzz::signRequest(req, {}, w.credsA.accessKeyId, w.credsA.secretKey, w.credsA.sessionToken, "cognito-identity"); break;
        default: break;  // unsigned: the public operations
      }
    }
    server::HttpResponse r = w.call(req);
    fuzz::checkCognitoResponse(r, req.headers["x-amz-target"] + " " + req.body);
  }
  return 0;
}
