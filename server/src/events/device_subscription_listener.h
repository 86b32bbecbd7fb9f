// DeviceSubscriptionListener: told when a Cognito SubscribeToDataset / UnsubscribeFromDataset
// has been stored, so that native connections presenting that device ID follow the change at
// once instead of at their next subscribe. The Cognito HTTP front end calls it; ChangeHub
// implements it. Header-only so that front ends need no link dependency on events/.
// Threading: called on a worker, inside the identity's strand, after the Store commit;
// implementations must not block.
#pragma once

#include <string>

namespace tether::server {

class DeviceSubscriptionListener {
 public:
  virtual ~DeviceSubscriptionListener() = default;
  virtual void deviceSubscribed(const std::string& poolId, const std::string& identityId,
                                const std::string& deviceId, const std::string& dataset) = 0;
  virtual void deviceUnsubscribed(const std::string& poolId, const std::string& identityId,
                                  const std::string& deviceId, const std::string& dataset) = 0;
};

}  // namespace tether::server
