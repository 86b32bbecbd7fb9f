// The standard Prometheus process metrics of tetherd, read from /proc/self on each scrape:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (names and meaning as the
// official client libraries export them). Linux only; a value that cannot be read is left out.
// Thread-safe (reads files, keeps no state).
#pragma once

#include <string>

namespace tether::server {

std::string processMetricsText();

}  // namespace tether::server
