// Where a pool's Cognito Sync settings live in the Store's meta table, and how to read the one
// that several parts need. cognito/sync_api.cpp writes them (SetCognitoEvents,
// SetIdentityPoolConfiguration; serve also applies `sync_trigger` from the config file); the
// sync trigger, the stream outbox, BulkPublish and mobile push read them.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server {

// {"SyncTrigger": "<arn>"} (GetCognitoEvents).
std::string cognitoEventsMetaKey(std::string_view poolId);
// {"PushSync": {...}, "CognitoStreams": {...}} (GetIdentityPoolConfiguration).
std::string poolConfigurationMetaKey(std::string_view poolId);

// The CognitoStreams.StreamName of a stored pool configuration when its StreamingStatus is
// ENABLED; "" when there is none (nullopt), it has no CognitoStreams, or streaming is off.
// kCorruption when the stored text is not a JSON object.
Result<std::string> enabledStreamOf(const std::optional<std::string>& storedConfiguration);

}  // namespace tether::server
