// SyncService: the Cognito Sync semantics of tetherd (spec cognito-compat.md 3.3 and the section
// 7 defaults; DESIGN.md 2), independent of any wire format: listing and describing datasets,
// pulling records by sync count, pushing atomic batches of patches with per-record conflict
// checks and limits, deleting datasets. docs/storage.md records the choices the spec left open.
//
// The caller is already authenticated (the network layer verified its credentials); every other
// input is validated here and rejected with a Status before anything is written.
//
// Threading: holds no mutable state of its own; callable from any thread concurrently. Each
// batch reads, checks and writes inside one Store transaction, so concurrent batches on one
// dataset never lose an update, on one node or across nodes of one database (docs/storage.md,
// section 0): the loser sees kConflict. A transaction the database aborted (a PostgreSQL
// deadlock) is run again, bounded (runWriteTransaction). The server still serializes one
// identity's requests on a node (a strand) so they apply in arrival order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "storage/store.h"
#include "sync/change_listener.h"
#include "sync/commit_hook.h"
#include "sync/session_tokens.h"
#include "sync/sync_trigger.h"
#include "tether/protocol.h"
#include "tether/status.h"

namespace tether::server {

// Who is asking: the authenticated identity, and the device it says it is (may be empty).
struct Caller {
  std::string poolId;
  std::string identityId;
  std::string deviceId;
  uint64_t connection = 0;  // the native connection the request came on (0 = none); change
                            // notifications are not sent back to it
  // Signed with developer credentials (Cognito HTTP API) rather than the identity's own: the
  // pool's sync trigger does not run for such writes (cognito-compat.md 3.1, 5.1).
  bool developer = false;
};

// ListRecords page size when the request gives none (0), and the most one page returns. 1024 =
// the record limit, so one page holds a whole dataset (what the Android/JS clients ask for).
constexpr uint32_t kDefaultRecordsPageSize = 1024;
constexpr uint32_t kMaxRecordsPageSize = 1024;
// ListDatasets: the mobile clients ask for 64; an identity rarely has more than 20.
constexpr uint32_t kDefaultDatasetsPageSize = 64;
constexpr uint32_t kMaxDatasetsPageSize = 64;

class SyncService {
 public:
  // All three must outlive the service.
  SyncService(Store& store, const SessionTokens& tokens, const Clock& clock);

  // Live datasets of the caller, by name, paged. A larger maxResults than the maximum is
  // clamped. kInvalidArgument: bad caller IDs or nextToken.
  Result<proto::ListDatasetsResponse> listDatasets(const Caller& caller,
                                                   const proto::ListDatasetsRequest& request);
  // kNotFound when the dataset does not exist or was deleted.
  Result<proto::DescribeDatasetResponse> describeDataset(
      const Caller& caller, const proto::DescribeDatasetRequest& request);
  // Records (live and tombstones) with syncCount > lastSyncCount, ordered by (syncCount, key),
  // with the dataset-level fields and a fresh sync session token on every page. A missing
  // dataset is not an error (datasetExists = false). kInvalidArgument: bad name, negative
  // lastSyncCount, a nextToken not issued for these inputs.
  Result<proto::ListRecordsResponse> listRecords(const Caller& caller,
                                                 const proto::ListRecordsRequest& request);
  // Applies every patch or none. kInvalidArgument: bad token, name, device ID, patch (key,
  // value, UTF-8, negative sync count, duplicate key, more than 1024 patches); kConflict: a
  // patch's sync count differs from the stored record's; kLimitExceeded: 21st dataset, more than
  // 1024 live records or 1 MB in the dataset. Returns the records as stored.
  // Never runs the sync trigger (developer writes, tools, tests).
  Result<proto::UpdateRecordsResponse> updateRecords(const Caller& caller,
                                                     const proto::UpdateRecordsRequest& request);
  // UpdateRecords as the front ends run it: the same, except that a write made with the
  // identity's own credentials (caller.developer false) to a pool with a SyncTrigger goes through
  // the trigger first (docs/events.md "Sync trigger"): checked in a read transaction here, the
  // call made by the invoker's threads, then checked again and committed on the identity's
  // strand, as one batch of what the trigger returned. Extra codes: kTriggerFailed,
  // kTriggerThrottled, and kConflict when the dataset changed during the call. The response
  // then always carries the records (omitValues is ignored): the trigger may have changed them.
  // REQUIRES: on the identity's strand. `done` runs exactly once: before this returns when no
  // trigger runs, else later on the identity's strand.
  using UpdateDone = std::function<void(Result<proto::UpdateRecordsResponse>)>;
  void updateRecordsAsync(const Caller& caller, proto::UpdateRecordsRequest request, UpdateDone done);
  // Removes the records, keeps the dataset's sync count (the deletion consumes one more count).
  // kNotFound when absent or already deleted. Returns the metadata from before the deletion.
  Result<proto::DeleteDatasetResponse> deleteDataset(const Caller& caller,
                                                     const proto::DeleteDatasetRequest& request);
  // Live dataset count, their total dataStorage, and when the identity's data last changed
  // (deletions included).
  Result<proto::DescribeIdentityUsageResponse> describeIdentityUsage(const Caller& caller);

  // Optional; each is told after each committed update or deletion, in the order added. Add
  // before serving; each must outlive the service.
  void addChangeListener(ChangeListener* listener) { listeners_.push_back(listener); }
  // Optional; told inside the write transaction of each update or deletion (commit_hook.h).
  // Set before serving; must outlive the service.
  void setCommitHook(CommitHook* hook) { commitHook_ = hook; }
  // Optional (null = the sync trigger never runs). `post` runs the second half of a triggered
  // write on the identity's strand. Set before serving; the invoker must outlive the service.
  void setSyncTrigger(SyncTriggerInvoker* invoker, IdentityPoster post) {
    trigger_ = invoker;
    postToIdentity_ = std::move(post);
  }

 private:
  Store& store_;
  const SessionTokens& tokens_;
  const Clock& clock_;
  void notifyChanged(const Caller& caller, std::string_view dataset, int64_t syncCount,
                     const std::vector<Record>* batch);

  // One record a batch writes (a patch, or a change the sync trigger made).
  struct BatchWrite {
    std::string key;
    std::optional<std::string> value;  // nullopt = tombstone
    int64_t deviceLastModifiedMs = 0;
  };
  struct TriggeredBatch;  // sync_service_update.cpp
  Status checkUpdateRequest(const Caller& caller, const proto::UpdateRecordsRequest& request, int64_t now) const;
  // The write transaction of a batch: conflicts, limits, one new sync count, the commit hook.
  // `expectSyncCount`: the dataset's sync count must still be this (a triggered batch).
  Result<proto::UpdateRecordsResponse> writeBatch(const Caller& caller, const proto::UpdateRecordsRequest& request,
                                                  const std::vector<BatchWrite>& writes,
                                                  std::optional<int64_t> expectSyncCount, int64_t now);
  Result<std::optional<std::string>> syncTriggerOf(const std::string& poolId);
  Result<std::shared_ptr<TriggeredBatch>> prepareTriggered(const Caller& caller,
                                                           const proto::UpdateRecordsRequest& request, int64_t now);
  void finishTriggered(const std::shared_ptr<TriggeredBatch>& batch, Result<std::string> reply);

  std::vector<ChangeListener*> listeners_;
  CommitHook* commitHook_ = nullptr;
  SyncTriggerInvoker* trigger_ = nullptr;
  IdentityPoster postToIdentity_;
};

}  // namespace tether::server
