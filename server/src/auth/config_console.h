// The [console] table of tetherd's configuration (docs/config.md, docs/console.md): the web
// console served at /console (issue 17).
//
//   [console]
//   enabled = true                  # false: no console at all (/console answers 404)
//   admin_listen = "127.0.0.1:8081" # serve it only on this second listener (also --admin-listen)
//   usage_sample_minutes = 15       # how often each pool's usage is recorded for the chart
//   idle_timeout_minutes = 30       # a session unused this long ends
//   session_hours = 12              # a session ends this long after sign-in, used or not
//   lockout_base_seconds = 2        # after 5 failed sign-ins: 2 s, 4 s, 8 s ... (at most 15 min)
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>

namespace tether::server {

struct ConsoleConfig {
  bool enabled = true;
  std::string adminListen;  // "" = the console is on the main listener
  int usageSampleMinutes = 15;
  int idleTimeoutMinutes = 30;
  int sessionHours = 12;
  int lockoutBaseSeconds = 2;
  friend bool operator==(const ConsoleConfig&, const ConsoleConfig&) = default;
};

}  // namespace tether::server
