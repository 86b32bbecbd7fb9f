// mergeIdentities: folds one identity (the loser) into another (the winner), as Cognito does
// when logins of two identities meet (cognito-compat.md 2.5 and section 7 items 14-15): every
// live dataset `n` of the loser becomes `n.<loserId>` in the winner (its records renumbered to
// one new sync count, one batch), the winner's `n` reports it in MergedDatasetNames until it is
// deleted, the loser's datasets are deleted, its logins move to the winner and it is disabled
// (so its tokens and credentials stop working: every request re-checks the identity).
// The dataset part is one Store transaction (all or nothing); moving logins and disabling run
// after it. A merged name longer than 128 characters cannot exist; such a dataset is left with
// the (disabled) loser and logged.
// Used by the login resolver (both front ends) and the Cognito developer operations.
// Threading: blocks on the Store; run on the worker pool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server {

// One dataset that moved: `originalName` of the loser is now `mergedName` of the winner.
struct MergedDataset {
  std::string originalName;
  std::string mergedName;
  int64_t syncCount = 0;  // the merged copy's sync count in the winner
};

struct MergeReport {
  std::vector<MergedDataset> datasets;
};

// Store errors pass through; merging an identity into itself is a no-op.
Result<MergeReport> mergeIdentities(Store& store, const std::string& poolId, const std::string& winnerId,
                                    const std::string& loserId, int64_t nowMs);

}  // namespace tether::server
