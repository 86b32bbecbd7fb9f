// CodeDelivery: how confirmation, verification and reset codes and temporary passwords reach
// users (spec cognito-user-pools.md 9.5). AWS sends them itself by SES/SNS; tetherd hands each
// message to the operator's delivery hook, a function named in [user_pools] code_delivery and
// mapped like any trigger function ([[sync_triggers]]/[[functions]]: a webhook or a local
// command), with the JSON envelope of 9.5. Development mode ([user_pools] dev_codes = true) logs
// every code instead (with a start-up warning) and keeps the last code per user for the
// dev-only endpoint GET /_tether/cognito-idp/codes/<poolId>/<username>. With neither, a code
// can't be delivered: CodeDeliveryFailureException (codes are never logged outside dev mode).
// Thread-safety: deliver() and lastCode() may run concurrently; deliver() blocks for at most
// the hook's deadline.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "sync/sync_trigger.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server::idp {

struct CodeMessage {
  std::string poolId;
  std::string userName;     // the internal Username
  std::string sub;
  std::string purpose;      // SignUp | ResendCode | ForgotPassword | AdminCreateUser | UpdateUserAttribute | VerifyUserAttribute
  std::string medium;       // EMAIL | SMS
  std::string destination;  // the full address or number
  std::string code;         // the code (or the temporary password)
  std::string subject;      // email only
  std::string message;      // templates already substituted
};

class CodeDelivery {
 public:
  // `invoker` may be null when `hookFunction` is empty.
  CodeDelivery(SyncTriggerInvoker* invoker, std::string hookFunction, bool devCodes);

  // kTriggerFailed when the hook failed or none is configured (the caller answers
  // CodeDeliveryFailureException).
  Status deliver(const CodeMessage& message);
  bool devCodes() const { return devCodes_; }
  // Dev mode only: the last code sent to (pool, username or sub), with its purpose.
  std::optional<std::pair<std::string, std::string>> lastCode(const std::string& poolId, const std::string& user);

 private:
  SyncTriggerInvoker* invoker_;
  std::string hookFunction_;
  bool devCodes_;
  Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> last_ TETHER_GUARDED_BY(mu_);
};

}  // namespace tether::server::idp
