// Process metrics from /proc/self; see process_metrics.h.
#include "net/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/metrics.h"

namespace tether::server {
namespace {

void gauge(std::string& out, const char* name, const char* type, const char* help, double v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         metrics::formatValue(v) + "\n";
}

// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses):
// fields[0] is field 3 (state) of proc(5).
std::vector<std::string> statFields() {
  std::ifstream in("/proc/self/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(all.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// The boot time (seconds since the epoch) from /proc/stat's btime line; 0 if unknown.
double bootTime() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("btime ")) return std::stod(line.substr(6));
  return 0;
}

}  // namespace

std::string processMetricsText() {
  std::string out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::vector<std::string> f = statFields();
  // proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24 -> indexes 11, 12, 19, 20, 21.
  if (f.size() > 21 && ticks > 0) {
    try {
      gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
            (std::stod(f[11]) + std::stod(f[12])) / ticks);
      gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(f[20]));
      gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(f[21]) * page);
      if (double boot = bootTime(); boot > 0)
        gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
              boot + std::stod(f[19]) / ticks);
    } catch (const std::exception&) {
      // A malformed /proc line: leave these out rather than export nonsense.
    }
  }
  std::error_code ec;
  size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec && fds > 0) gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(fds));
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0)
    gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
          rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(rl.rlim_cur));
  return out;
}

}  // namespace tether::server
