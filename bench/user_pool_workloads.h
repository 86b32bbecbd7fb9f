// WU: Cognito User Pools sign-in against a real tetherd (issue 15): the SRP round trip the JS
// clients make (InitiateAuth USER_SRP_AUTH + RespondToAuthChallenge PASSWORD_VERIFIER, the
// client's half computed with idp/crypto/srp_client.h), USER_PASSWORD_AUTH, and
// REFRESH_TOKEN_AUTH, sequential (latency) and from several threads at once (throughput).
#pragma once

#include <string>
#include <vector>

namespace tether::bench {

struct SignInResult {
  std::vector<double> srpMs;       // one SRP sign-in each (both requests), sequential
  std::vector<double> passwordMs;  // USER_PASSWORD_AUTH, sequential
  std::vector<double> refreshMs;   // REFRESH_TOKEN_AUTH, sequential
  double srpPerSecond = 0;         // SRP sign-ins per second with `threads` at once
  int threads = 0;
  int failures = 0;
  std::string error;               // the first failure
};

// Creates a pool, client and user on the server at 127.0.0.1:`port` (the developer credential
// signs the admin calls), then measures `trials` of each and `parallel` SRP sign-ins on
// `threads` threads.
SignInResult runUserPoolSignIn(int port, const std::string& devKey, const std::string& devSecret, int trials,
                               int threads, int parallel);

double percentile(std::vector<double> v, double p);

}  // namespace tether::bench
