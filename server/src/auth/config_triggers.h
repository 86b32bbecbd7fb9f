// The sync-trigger part of tetherd's configuration (docs/config.md, docs/events.md "Sync
// trigger"): [[sync_triggers]] entries map a function ARN, the name a pool's SyncTrigger gives
// (SetCognitoEvents, or `sync_trigger` in [[pools]]), to what tetherd calls instead of AWS Lambda:
//
//   [[sync_triggers]]
//   function = "arn:aws:lambda:us-east-1:123456789012:function:upper"
//   url = "https://hooks.example.com/tether"   # POST the event, JSON reply
//   hmac_secret = "..."                        # optional: X-Tether-Signature on each call
//   ca_file = "ca.pem"                         # optional: trust this CA instead of the system's
//   timeout_ms = 5000                          # optional; at most 5000 (Cognito's limit)
//
//   [[sync_triggers]]
//   function = "arn:aws:lambda:us-east-1:123456789012:function:check"
//   command = ["/usr/local/bin/check-batch", "--strict"]  # event on stdin, reply on stdout
//
// Parsing lives in config_triggers.cpp (config.cpp calls it for the [[sync_triggers]] array).
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tether/status.h"

namespace tether::server {

// Cognito's limit for a sync trigger (cognito-compat.md 5.1); also the default.
inline constexpr int kMaxSyncTriggerTimeoutMs = 5000;

struct SyncTriggerConfig {
  std::string function;              // the ARN pools name (arn:...)
  // Exactly one of url and command.
  std::string url;                   // http:// or https://
  std::string hmacSecret;            // url only; empty = no signature header
  std::string caFile;                // url only; resolved against the config file's directory
  std::vector<std::string> command;  // argv; argv[0] an absolute path (no shell, no PATH lookup)
  int timeoutMs = kMaxSyncTriggerTimeoutMs;
  friend bool operator==(const SyncTriggerConfig&, const SyncTriggerConfig&) = default;
};

// A function ARN as a pool or an entry names it: "arn:" then 1..2044 printable ASCII characters
// without spaces (Lambda ARNs, with a version or alias suffix, fit). kInvalidArgument otherwise.
Status validateFunctionArn(std::string_view arn);

// One entry's own rules (exactly one target, URL scheme, absolute command path, timeout range).
Status validateSyncTrigger(const SyncTriggerConfig& trigger);

}  // namespace tether::server
