// See pool_settings.h.
#include "sync/pool_settings.h"

#include <nlohmann/json.hpp>

namespace tether::server {

std::string cognitoEventsMetaKey(std::string_view poolId) { return "cognito.events:" + std::string(poolId); }

std::string poolConfigurationMetaKey(std::string_view poolId) {
  return "cognito.pool-configuration:" + std::string(poolId);
}

Result<std::string> enabledStreamOf(const std::optional<std::string>& storedConfiguration) {
  if (!storedConfiguration) return std::string();
  nlohmann::json config = nlohmann::json::parse(*storedConfiguration, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    return Status::corruption("stored pool configuration is not a JSON object");
  auto streams = config.find("CognitoStreams");
  if (streams == config.end() || !streams->is_object()) return std::string();
  if (streams->value("StreamingStatus", "") != "ENABLED") return std::string();
  return streams->value("StreamName", "");
}

}  // namespace tether::server
