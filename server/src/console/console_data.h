// DataSection: the console's data browser (docs/console.md, "Identities and data"):
//   GET    identities/{id}/datasets/{dataset}/records?after=KEY&limit=N&tombstones=1
//   PUT    identities/{id}/datasets/{dataset}/records/{key}   {"value","syncCount"}
//   DELETE identities/{id}/datasets/{dataset}/records/{key}?syncCount=N
//   DELETE identities/{id}/datasets/{dataset}[?syncCount=N]
// Records are paged in key order. Every change goes through the SyncService exactly as a
// device's UpdateRecords / DeleteDataset does, as the identity with the device ID
// "console:<operator>" (so that name is what "last modified by" shows): the record's sync count
// is checked (a stale one is 409 Conflict with the record as it is now, nothing written), the
// 1 MB / 1,024-record / 20-dataset limits hold, the commit hook (Cognito Streams) runs, and the
// change listeners (live-sync notices to connected devices, mobile push, the changes bus) are
// told. Console writes count as developer writes (Caller::developer): the pool's sync trigger
// does not run for them, as for any write signed with developer credentials.
//
// Ownership: references to the Store, SyncService, SessionTokens and Clock, which must outlive it.
// Thread-safety: stateless; call() may run on any worker thread concurrently, and blocks on
// the Store.
#pragma once

#include <string>

#include "common/clock.h"
#include "console/console_api.h"
#include "storage/store.h"
#include "sync/session_tokens.h"
#include "sync/sync_service.h"

namespace tether::server::console {

inline constexpr int kRecordsPageDefault = 100;
inline constexpr int kRecordsPageMax = 200;

class DataSection final : public ApiSection {
 public:
  DataSection(Store& store, SyncService& sync, const SessionTokens& tokens, const Clock& clock);

  bool handles(const ApiCall& call) const override;
  ApiResult call(const ApiCall& call) override;

  // The device ID console writes carry for `operatorName` ("console:<operator>").
  static std::string consoleDeviceId(const std::string& operatorName);

 private:
  ApiResult listRecords(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset);
  ApiResult putRecord(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset,
                      const std::string& key);
  ApiResult deleteRecord(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset,
                         const std::string& key);
  ApiResult deleteDataset(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset);
  // One patch through SyncService::updateRecords; a conflict answers 409 with "current".
  ApiResult writePatch(const ApiCall& call, const IdentityInfo& identity, const std::string& dataset,
                       RecordPatch patch);
  // The stored record (live or tombstone), or nullopt; in its own read transaction.
  Result<std::optional<Record>> currentRecord(const IdentityInfo& identity, const std::string& dataset,
                                              const std::string& key);

  Store& store_;
  SyncService& sync_;
  const SessionTokens& tokens_;
  const Clock& clock_;
};

}  // namespace tether::server::console
