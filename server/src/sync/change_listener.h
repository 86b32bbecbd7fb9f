// ChangeListener: told after every committed change to a dataset (records written, dataset
// deleted), whichever front end made it, so that live-sync notifications reach subscribers of
// both the native protocol and the Cognito HTTP API. Implementations must not block: they are
// called on a worker thread inside the identity's strand.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tether/model.h"

namespace tether::server {

struct Caller;

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // `writer` is the caller that made the change (its `connection` is excluded from the fan-out);
  // its `deviceId` is the device the write named (UpdateRecords' DeviceId on either front end,
  // else the caller's), empty when none: mobile push does not notify that device.
  // `batch`: when the change was one batch of records that took the dataset from
  // syncCount - 1 to syncCount, those records as stored; nullptr otherwise (a deletion, a merge).
  virtual void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                              const std::vector<Record>* batch) = 0;
};

}  // namespace tether::server
