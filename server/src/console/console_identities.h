// IdentitiesSection: the console's identity calls (docs/console.md, "Identities and data"):
//   GET    identities?pool=&q=&provider=&subject=&after=&limit=   search, or list a pool
//   GET    identities/{id}                      the identity page: logins, devices and their
//                                               subscriptions, datasets with their size against
//                                               the limits, last modified
//   POST   identities/{id}/disable | enable     (enable refused with 409 for an identity with no
//                                               login: merged away, last login unlinked, guest)
//   DELETE identities/{id}/logins?provider=&subject=   unlink, as Cognito's UnlinkIdentity does
//   DELETE identities/{id}  {"confirm": id}     delete, as Cognito's DeleteIdentities does
// The data browser under identities/{id}/datasets/ is DataSection (console_data.h).
//
// Ownership: holds references to the Store and the SyncService (which must outlive it).
// Thread-safety: stateless; call() may run on any worker thread concurrently, and blocks on
// the Store.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "console/console_api.h"
#include "storage/store.h"
#include "sync/sync_service.h"

namespace tether::server::console {

// Search results and the list of a pool: at most this many per call.
inline constexpr int kIdentitySearchLimit = 60;

class IdentitiesSection final : public ApiSection {
 public:
  IdentitiesSection(Store& store, SyncService& sync);

  bool handles(const ApiCall& call) const override;
  ApiResult call(const ApiCall& call) override;

 private:
  ApiResult search(const ApiCall& call);
  ApiResult identityCall(const ApiCall& call);  // identities/{id}[/...]
  ApiResult describe(const IdentityInfo& identity);
  ApiResult setDisabled(const IdentityInfo& identity, bool disabled);
  ApiResult unlink(const ApiCall& call, const IdentityInfo& identity);
  ApiResult remove(const ApiCall& call, const IdentityInfo& identity);
  // {"identityId","poolId","disabled","canEnable","logins","lastModified"}, or the error.
  Result<nlohmann::json> summary(const IdentityInfo& identity);

  Store& store_;
  SyncService& sync_;
};

}  // namespace tether::server::console
