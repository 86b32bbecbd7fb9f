// LoginSource: where the client's logins come from (ClientOptions::loginsProvider, or the fixed
// map of Client::setLogins), and a generation counter that tells the SyncEngine when the
// logins changed so it must get a new server token instead of reusing the held one.
//
// Threading: setFixed/clear/refresh/generation from any thread (one mutex). current() calls
// the app's provider and is meant for the sync thread; the provider runs outside the lock, so
// it may call setLogins() etc. without deadlocking.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "tether/client.h"
#include "tether/model.h"
#include "tether/status.h"
#include "tether_internal/thread_annotations.h"

namespace tether::client {

class LoginSource {
 public:
  explicit LoginSource(LoginsProvider provider) : provider_(std::move(provider)) {}

  // kInvalidArgument for an empty provider name or token, a token over kMaxLoginTokenChars, or
  // more than kMaxLoginsPerRequest logins (what the server would refuse anyway).
  static Status validate(const Logins& logins);

  // Fixed logins replace the provider until clear(). Empty = kInvalidArgument.
  Status setFixed(Logins logins);
  // No logins at all from now on (neither fixed nor the provider).
  void clear();
  // The provider's answer may have changed.
  void refresh();
  // Bumped by every setFixed/clear/refresh.
  uint64_t generation() const;

  // The logins to present now, sorted by provider name; empty = none (guest). The provider's
  // error passes through; its malformed answers become kInvalidArgument.
  Result<std::vector<Login>> current(bool forceRefresh);

 private:
  mutable Mutex mu_;
  LoginsProvider provider_ TETHER_GUARDED_BY(mu_);
  std::optional<Logins> fixed_ TETHER_GUARDED_BY(mu_);
  uint64_t generation_ TETHER_GUARDED_BY(mu_) = 0;
};

}  // namespace tether::client
