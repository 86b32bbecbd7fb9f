// Sync session tokens, as the sync logic sees them: ListRecords issues one, UpdateRecords must
// present it. The implementation (HMAC-signed, bound to pool, identity and dataset, 15-minute
// lifetime) lives in auth/session_token_signer.h; sync/ depends only on this interface.
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server {

class SessionTokens {
 public:
  virtual ~SessionTokens() = default;
  // A token valid for (pool, identity, dataset) from nowMs for its lifetime.
  virtual std::string issue(std::string_view poolId, std::string_view identityId,
                            std::string_view dataset, int64_t nowMs) const = 0;
  // kInvalidArgument "SyncSessionToken not valid for these inputs" when the token is empty,
  // malformed, forged, expired, or bound to another pool, identity or dataset.
  virtual Status verify(std::string_view token, std::string_view poolId,
                        std::string_view identityId, std::string_view dataset,
                        int64_t nowMs) const = 0;
};

}  // namespace tether::server
