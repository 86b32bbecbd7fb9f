// tetherd's log line formats (docs/operations.md "Logs"), as spdlog formatters:
//   text: ts=2026-12-03T09:21:30.123+0000 level=info msg="..." [request_id=<uuid>]
//   json: {"ts":"2026-12-03T09:21:30.123Z","level":"info","logger":"tetherd","msg":"...",
//          "thread":1234[,"request_id":"<uuid>"]}   (one object per line)
// request_id is the current thread's request (common/request_context.h), present only while a
// request is handled. The formatters are called by spdlog on the logging thread; they keep no
// shared state.
#pragma once

#include <memory>

#include <spdlog/formatter.h>

#include "auth/config.h"

namespace tether::server {

std::unique_ptr<spdlog::formatter> makeLogFormatter(LogFormat format);

}  // namespace tether::server
