// The identity merge moved to auth/identity_merge.h (the login resolver of both front ends
// needs it, and auth/ sits below cognito/). This header keeps the Cognito name working.
#pragma once

#include "auth/identity_merge.h"

namespace tether::server::cognito {

using ::tether::server::mergeIdentities;

}  // namespace tether::server::cognito
