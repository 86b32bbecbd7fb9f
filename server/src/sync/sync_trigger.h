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

// What one call came to, in full. SyncService only needs invoke()'s Result; a user-pool trigger
// (idp/idp_triggers.h) maps each kind to its own Cognito exception, retries timeouts and
// unreachable targets, and shows the function's own error message.
struct TriggerOutcome {
  enum class Kind {
    kReply,          // 2xx, or exit status 0: `body` is the reply
    kFunctionError,  // the function ran and said no: a non-2xx status (not 429), an exit status
                     // other than 0 and 75, or killed by a signal; `body` is the error body (HTTP)
                     // or stdout (command), `errorText` the command's stderr
    kTimeout,        // no answer within the target's deadline
    kUnreachable,    // connection or TLS failure, or the command could not be started
    kTooLarge,       // the reply passed the size cap
    kThrottled,      // HTTP 429, exit status 75, or too many calls queued already
    kNoTarget,       // no [[sync_triggers]] entry for the function
    kStopping,       // the server is shutting down
  };
  Kind kind = Kind::kNoTarget;
  std::string body;
  std::string errorText;
  int code = 0;   // the HTTP status or the exit status (the signal for a killed command)
  bool fromWebhook = false;  // a url target (else a command)
  Status status;  // what invoke() reports for it: ok for kReply

  Result<std::string> toResult() && {
    if (kind == Kind::kReply) return std::move(body);
    return status;
  }
};

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
  // The same call, with the whole outcome. The default maps invoke()'s Result (an invoker that
  // knows more, the TriggerExecutor, overrides it).
  virtual void invokeDetailed(const std::string& functionArn, std::string event,
                              std::function<void(TriggerOutcome)> done) {
    invoke(functionArn, std::move(event), [done = std::move(done)](Result<std::string> r) {
      TriggerOutcome o;
      if (r.isOk()) {
        o.kind = TriggerOutcome::Kind::kReply;
        o.body = std::move(r).value();
      } else {
        o.kind = r.status().code() == StatusCode::kTriggerThrottled ? TriggerOutcome::Kind::kThrottled
                                                                     : TriggerOutcome::Kind::kUnreachable;
        o.status = r.status();
      }
      done(std::move(o));
    });
  }
  // Told when a reply invoke() delivered was not a valid trigger reply (for the metrics).
  virtual void badReply() {}
};

// Runs `fn` on the strand of `identityId` (WorkPool::postForIdentity in tetherd).
using IdentityPoster = std::function<void(const std::string& identityId, std::function<void()> fn)>;

}  // namespace tether::server
