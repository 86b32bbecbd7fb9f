// Abuse limits of tetherd ([limits] in the config file; docs/config.md, docs/security.md):
// connection and request-head limits enforced by the network layer, and token-bucket rate
// limits per client address and per pool enforced by the operations that create identities,
// issue tokens, check logins and write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tether::server {

// A token bucket: `perSecond` tokens added per second up to `burst`; each request takes one.
// perSecond 0 = no limit.
struct TokenBucketSpec {
  double perSecond = 0;
  double burst = 0;
  bool enabled() const { return perSecond > 0; }
  friend bool operator==(const TokenBucketSpec&, const TokenBucketSpec&) = default;
};

enum class RateKind { kIdentityCreation, kTokenIssuance, kSignIn, kWrites };
constexpr int kRateKindCount = 4;
constexpr const char* kRateKindNames[kRateKindCount] = {"identity_creation", "token_issuance", "sign_in", "writes"};

struct RateLimitSpec {
  TokenBucketSpec perAddress;
  TokenBucketSpec perPool;
  friend bool operator==(const RateLimitSpec&, const RateLimitSpec&) = default;
};

struct LimitsConfig {
  // Connections open at once from one client address (TCP, any kind); past it new ones are
  // refused (503 on plain HTTP). 0 = no cap.
  int maxConnectionsPerAddress = 1024;
  // Reverse proxies / load balancers in front of tetherd (docs/scale-out.md): connections from
  // these exact addresses are not capped per address, and the client address that the rate
  // limits and logs use is the last entry of the X-Forwarded-For header they add.
  std::vector<std::string> trustedProxies;
  // Time a client has to send a whole request head (an HTTP request or a WebSocket upgrade)
  // after connecting; then 408 and close (slow-loris clients).
  int requestHeadTimeoutSeconds = 10;
  size_t maxHeaderBytes = 16384;   // whole request head: 431 past it
  size_t maxHeaderCount = 64;      // header fields: 431 past it
  size_t maxUrlBytes = 8192;       // request target: 414 past it

  // Defaults: generous for one address behind a NAT or a test machine, tight enough that one
  // client cannot fill the database with guests (2,000 in 2 s before these limits).
  RateLimitSpec rates[kRateKindCount] = {
      /*identity_creation*/ {{5, 100}, {100, 1000}},
      /*token_issuance*/ {{50, 500}, {2000, 10000}},
      /*sign_in*/ {{20, 200}, {500, 5000}},
      /*writes*/ {{1000, 10000}, {0, 0}},
  };
  const RateLimitSpec& rate(RateKind k) const { return rates[static_cast<int>(k)]; }
  friend bool operator==(const LimitsConfig&, const LimitsConfig&) = default;
};

}  // namespace tether::server
