// sdNotify(): tells the service manager how tetherd is doing (systemd's sd_notify protocol), so
// that a `Type=notify` unit (server/dist/tetherd.service) counts tetherd as started only once
// it serves: `systemctl start tetherd` returns after READY=1, and STOPPING=1 marks the shutdown.
//
// The protocol is one datagram of "KEY=VALUE\n..." lines to the AF_UNIX socket named by
// $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace); systemd documents it as a
// stable interface for programs that do not link libsystemd (sd_notify(3), "Notes"). Doing it
// here (about 40 lines) keeps libsystemd out of the build and the runtime dependencies.
// Without $NOTIFY_SOCKET (not started by systemd) it does nothing and returns ok.
// Thread-safety: safe from any thread (one socket per call; reads the environment only).
#pragma once

#include <string_view>

#include "tether/status.h"

namespace tether::server {

// Sends `state` (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET. kInvalidArgument for a
// malformed socket name, kIOError when the datagram cannot be sent; callers log and go on (a
// missing notification is the service manager's timeout to report, not a reason to stop).
Status sdNotify(std::string_view state);

}  // namespace tether::server
