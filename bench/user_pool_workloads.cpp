// WU; see user_pool_workloads.h.
#include "user_pool_workloads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "http_test_client.h"
#include "idp/crypto/srp_client.h"
#include "idp/crypto/srp_timestamp.h"
#include "cognito/sigv4_signer.h"

namespace tether::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

json idp(int port, const std::string& op, const json& in, std::string* error) {
  auto r = testing::httpRequest(port, "POST", "/",
                                {{"Content-Type", "application/x-amz-json-1.1"},
                                 {"X-Amz-Target", "AWSCognitoIdentityProviderService." + op}},
                                in.dump());
  if (r.status != 200 && error->empty()) *error = op + ": " + std::to_string(r.status) + " " + r.body.dump();
  return r.status == 200 ? r.body : json();
}

}  // namespace

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

SignInResult runUserPoolSignIn(int port, const std::string& devKey, const std::string& devSecret, int trials,
                               int threads, int parallel) {
  SignInResult out;
  out.threads = threads;
  // The administrator's calls, SigV4-signed with the developer credential.
  auto adminCall = [&](const std::string& op, const json& in) -> json {
    const std::string body = in.dump();
    server::cognito::SignInput s;
    s.method = "POST";
    s.host = "127.0.0.1:" + std::to_string(port);
    s.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "AWSCognitoIdentityProviderService." + op}};
    s.body = body;
    s.region = "us-east-1";
    s.service = "cognito-idp";
    s.nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
    std::map<std::string, std::string> headers;
    for (auto& [k, v] : server::cognito::signRequest(s, {devKey, devSecret, ""})) headers[k] = v;
    auto r = testing::httpRequest(port, "POST", "/", headers, body);
    if (r.status != 200 && out.error.empty()) out.error = op + ": " + std::to_string(r.status) + " " + r.raw;
    return r.body.is_object() ? r.body : json::object();
  };
  std::string poolId = adminCall("CreateUserPool", {{"PoolName", "bench"}})["UserPool"].value("Id", "");
  std::string clientId = adminCall("CreateUserPoolClient",
                                   {{"UserPoolId", poolId}, {"ClientName", "bench"},
                                    {"ExplicitAuthFlows", {"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                                           "ALLOW_REFRESH_TOKEN_AUTH"}}})["UserPoolClient"]
                             .value("ClientId", "");
  const std::string password = "Bench-Passw0rd";
  for (int u = 0; u < std::max(1, threads); ++u) {
    std::string name = "user" + std::to_string(u);
    adminCall("AdminCreateUser", {{"UserPoolId", poolId}, {"Username", name}, {"MessageAction", "SUPPRESS"}});
    adminCall("AdminSetUserPassword", {{"UserPoolId", poolId}, {"Username", name}, {"Password", password},
                                       {"Permanent", true}});
  }
  if (!out.error.empty()) {
    out.failures = 1;
    return out;
  }
  const std::string poolName = poolId.substr(poolId.find('_') + 1);
  // One SRP sign-in: both requests and the client's work, as an app does it.
  auto srpSignIn = [&](const std::string& name, std::string* error) -> bool {
    std::string a = server::idp::srp::newClientSecret();
    auto A = server::idp::srp::clientPublicHex(a);
    json ch = idp(port, "InitiateAuth", {{"ClientId", clientId}, {"AuthFlow", "USER_SRP_AUTH"},
                                         {"AuthParameters", {{"USERNAME", name}, {"SRP_A", *A}}}}, error);
    if (!ch.is_object() || !ch.contains("ChallengeParameters")) return false;
    const json& p = ch["ChallengeParameters"];
    auto key = server::idp::srp::deriveClientKey(a, p.value("SRP_B", ""), p.value("SALT", ""), poolName, name, password);
    auto block = server::auth::base64Decode(p.value("SECRET_BLOCK", ""));
    if (!key.isOk() || !block) return false;
    std::string ts = server::idp::srp::formatTimestamp(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    json res = idp(port, "RespondToAuthChallenge",
                   {{"ClientId", clientId}, {"ChallengeName", "PASSWORD_VERIFIER"},
                    {"ChallengeResponses", {{"USERNAME", name}, {"PASSWORD_CLAIM_SECRET_BLOCK", p["SECRET_BLOCK"]},
                                            {"TIMESTAMP", ts},
                                            {"PASSWORD_CLAIM_SIGNATURE",
                                             server::idp::srp::claimSignature(key->key, poolName, name, *block, ts)}}}},
                   error);
    return res.is_object() && res.contains("AuthenticationResult");
  };

  std::string refreshToken;
  for (int i = 0; i < trials; ++i) {
    auto t0 = Clock::now();
    if (srpSignIn("user0", &out.error)) out.srpMs.push_back(msSince(t0));
    else ++out.failures;
    t0 = Clock::now();
    json r = idp(port, "InitiateAuth", {{"ClientId", clientId}, {"AuthFlow", "USER_PASSWORD_AUTH"},
                                        {"AuthParameters", {{"USERNAME", "user0"}, {"PASSWORD", password}}}}, &out.error);
    if (r.contains("AuthenticationResult")) {
      out.passwordMs.push_back(msSince(t0));
      refreshToken = r["AuthenticationResult"].value("RefreshToken", "");
    } else {
      ++out.failures;
    }
    t0 = Clock::now();
    json f = idp(port, "InitiateAuth", {{"ClientId", clientId}, {"AuthFlow", "REFRESH_TOKEN_AUTH"},
                                        {"AuthParameters", {{"REFRESH_TOKEN", refreshToken}}}}, &out.error);
    if (f.contains("AuthenticationResult")) out.refreshMs.push_back(msSince(t0));
    else ++out.failures;
  }

  // Throughput: `threads` users signing in at once (each its own user: no lockout interplay).
  std::atomic<int> next{0}, done{0}, failed{0};
  std::mutex mu;
  auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::string error;
      while (next.fetch_add(1) < parallel) {
        if (srpSignIn("user" + std::to_string(t), &error)) done++;
        else failed++;
      }
      if (!error.empty()) {
        std::lock_guard lock(mu);
        if (out.error.empty()) out.error = error;
      }
    });
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.srpPerSecond = seconds > 0 ? done / seconds : 0;
  out.failures += failed;
  return out;
}

}  // namespace tether::bench
