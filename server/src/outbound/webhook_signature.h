// The signature tetherd puts on every webhook it calls (sync-trigger webhooks, the webhook stream
// sink), so that the receiver can check that the call comes from its tetherd and is recent:
//
//   X-Tether-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
//
// The timestamp is inside the MAC: a receiver rejects a signature older than a few minutes and a
// captured request cannot be replayed later. docs/events.md shows how to verify it.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tether::server::outbound {

inline constexpr std::string_view kSignatureHeader = "X-Tether-Signature";

// The header value for `body` sent at `unixSeconds`.
std::string webhookSignature(std::string_view secret, int64_t unixSeconds, std::string_view body);

}  // namespace tether::server::outbound
