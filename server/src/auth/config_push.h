// [[push_apps]] in tetherd's config file (docs/config.md, docs/events.md "Mobile push"): the
// credentials tetherd uses to send mobile push for a pool's SNS platform applications. A pool's
// PushSync.ApplicationArns (SetIdentityPoolConfiguration) names applications by their SNS ARN,
// `arn:aws:sns:<region>:<account>:app/<APNS|APNS_SANDBOX|GCM>/<name>`; each entry here gives
// that ARN the provider credentials AWS would have held. Parsed as strictly as the rest of the
// file; the key files are read when tetherd starts (push/push_service.h), not here.
// Thread-safety: plain values and a pure parser.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tether/status.h"

namespace tether::server {

struct PushAppConfig {
  std::string arn;       // arn:aws:sns:<region>:<account>:app/<platform>/<name>
  std::string platform;  // from the ARN: "APNS", "APNS_SANDBOX" or "GCM"
  // APNs (token authentication): the .p8 key's team and key IDs, the app's bundle ID.
  std::string teamId;
  std::string keyId;
  std::filesystem::path keyFile;
  std::string topic;
  // FCM HTTP v1: Google's service-account JSON key.
  std::filesystem::path serviceAccountFile;
  // Base URL of the provider; empty = the provider's own (defaultPushEndpoint).
  std::string endpoint;
  // PEM CA bundle to trust for `endpoint` instead of the system's (private or test endpoints).
  std::filesystem::path caFile;
  friend bool operator==(const PushAppConfig&, const PushAppConfig&) = default;
};

// https://api.push.apple.com, https://api.sandbox.push.apple.com or https://fcm.googleapis.com.
std::string defaultPushEndpoint(std::string_view platform);

// The platform of an SNS platform-application ARN ("APNS", "APNS_SANDBOX", "GCM", "ADM", ...),
// or kInvalidArgument if `arn` is not `arn:aws:sns:<region>:<account>:app/<platform>/<name>`.
Result<std::string> pushAppPlatform(std::string_view arn);

}  // namespace tether::server
