// unlinkIdentityLogin: removes one login from an identity the way Cognito's UnlinkIdentity and
// UnlinkDeveloperIdentity do (cognito-compat.md section 7 item 16): when it was the identity's
// last login, the identity is disabled, so that it cannot be reached as a guest by its ID alone
// (its data is kept, unreachable). Shared by the Cognito front end (cognito/identity_api.cpp)
// and the console (console/console_identities.cpp), so both unlink the same way.
// Threading: blocks on the Store; call on the worker pool.
#pragma once

#include <string_view>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

struct UnlinkOutcome {
  bool disabled = false;  // it was the last login: the identity is now disabled
};

// kNotFound: the login is not linked to `identityId`. Store errors pass through.
Result<UnlinkOutcome> unlinkIdentityLogin(Store& store, std::string_view identityId, std::string_view provider,
                                          std::string_view subject);

}  // namespace tether::server
