// SyncTriggerInvoker: how SyncService calls a pool's Cognito sync trigger (cognito-compat.md 5.1,
// docs/events.md "Sync trigger") without knowing what is behind the function ARN (a webhook or
// a local command: outbound/trigger_executor.h) or which threads make the call.
//
// Threading: invoke() returns at once and never blocks on the call; `done` runs exactly once, on
// a thread of the invoker (or inside invoke() when the call is refused at once), so it must not
// block and must not write: it posts the rest of the write back to the identity's strand
// (IdentityPoster).
#pragma once

#include <functional>
#include <string>

#include "sync/pool_settings.h"
#include "tether/status.h"

namespace tether::server {


class SyncTriggerInvoker {
 public:
  virtual ~SyncTriggerInvoker() = default;
  // Whether the operator mapped this function ARN to a target ([[sync_triggers]]).
  virtual bool hasTarget(const std::string& functionArn) const = 0;
  // Calls the target with `event` (the JSON of spec 5.1). `done` gets the reply text, or
  // kTriggerFailed (timeout, unreachable, error status or exit code, reply too large) or
  // kTriggerThrottled (the target said so, or too many calls are queued already).
  virtual void invoke(const std::string& functionArn, std::string event,
                      std::function<void(Result<std::string>)> done) = 0;
  // Told when a reply invoke() delivered was not a valid trigger reply (for the metrics).
  virtual void badReply() {}
};

// Runs `fn` on the strand of `identityId` (WorkPool::postForIdentity in tetherd).
using IdentityPoster = std::function<void(const std::string& identityId, std::function<void()> fn)>;

}  // namespace tether::server
