// unlinkIdentityLogin; see login_unlink.h.
#include "auth/login_unlink.h"

#include <vector>

namespace tether::server {

Result<UnlinkOutcome> unlinkIdentityLogin(Store& store, std::string_view identityId, std::string_view provider,
                                          std::string_view subject) {
  TETHER_RETURN_IF_ERROR(store.unlinkLogin(identityId, provider, subject));
  TETHER_TRY(std::vector<LoginLink> left, store.listLogins(identityId));
  UnlinkOutcome out;
  if (left.empty()) {
    // The last login gone: the identity becomes inaccessible (spec 7.16).
    TETHER_RETURN_IF_ERROR(store.setIdentityDisabled(identityId, true));
    out.disabled = true;
  }
  return out;
}

}  // namespace tether::server
