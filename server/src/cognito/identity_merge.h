// mergeIdentities: folds one identity (the loser) into another (the winner), as Cognito does
// when logins of two identities meet (cognito-compat.md 2.5 and section 7 item 15): every live
// dataset `n` of the loser becomes `n.<loserId>` in the winner (its records renumbered to sync
// count 1, one batch), the winner's `n` reports it in MergedDatasetNames until it is deleted,
// the loser's datasets are deleted, its logins move to the winner and it is disabled.
// The dataset part is one Store transaction (all or nothing); moving logins and disabling run
// after it. A merged name longer than 128 characters cannot exist; such a dataset is left with
// the (disabled) loser and logged.
// Threading: blocks on the Store; run on the worker pool.
#pragma once

#include <string>

#include "storage/store.h"
#include "tether/status.h"

namespace tether::server::cognito {

Status mergeIdentities(Store& store, const std::string& poolId, const std::string& winnerId,
                       const std::string& loserId, int64_t nowMs);

}  // namespace tether::server::cognito
