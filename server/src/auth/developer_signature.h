// The proof an app backend sends with a native GetDeveloperTokenRequest instead of its secret
// (docs/protocol.md, "Developer tokens"):
//   canonical = "TETHER-DEV-HMAC-SHA256\n" then, for each field in this order
//               accessKeyId, timestampMs (decimal), identityPoolId, identityId,
//               developerUserId, tokenDurationSeconds (decimal),
//               "<byte length>:<bytes>\n"
//   signature = lower-case hex HMAC-SHA256(secret, canonical)
// Length prefixes make the string unambiguous whatever bytes the user ID holds. A request is
// accepted for kMaxDeveloperSkewMs either side of the server clock (the same window as SigV4);
// within it a captured request can be replayed, which only re-issues a token for the same user
// to whoever already saw one (tokens travel inside TLS in production).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/protocol.h"
#include "tether/status.h"

namespace tether::server {

constexpr int64_t kMaxDeveloperSkewMs = 5 * 60 * 1000;

std::string developerCanonicalString(const proto::GetDeveloperTokenRequest& request);
// Hex HMAC-SHA256 of the canonical string with `secret` (what a backend puts in `signature`).
std::string signDeveloperRequest(std::string_view secret, const proto::GetDeveloperTokenRequest& request);
// kUnauthenticated if the timestamp is more than kMaxDeveloperSkewMs from nowMs or the
// signature does not match (compared in constant time).
Status verifyDeveloperSignature(std::string_view secret, const proto::GetDeveloperTokenRequest& request,
                                int64_t nowMs);

}  // namespace tether::server
