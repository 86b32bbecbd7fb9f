// Server-side workloads of DESIGN.md section 7 driven by LoadClient: W4 throughput and
// W5 idle connections.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace tether::bench {

struct ProcStats {
  long rssKb = 0;
  double cpuSeconds = 0;   // user + system
};
ProcStats readProcStats(pid_t pid);

struct ThroughputResult {
  int64_t recordsAccepted = 0;
  int64_t errors = 0;
  double seconds = 0;
  double recordsPerSecond = 0;
  double serverCpuSeconds = 0;
};
// `devices` concurrent guests, each doing `rounds` of "pull, then push recordsPerRound
// records of ~100 B" on its own dataset.
ThroughputResult runThroughput(const std::string& url, const std::string& poolId, pid_t serverPid,
                               int devices, int rounds, int recordsPerRound);

struct IdleResult {
  int connections = 0;
  int established = 0;
  bool complete = false;
  long rssBeforeKb = 0;
  long rssAfterKb = 0;
  double bytesPerConnection = 0;
};
// `connections` guests that sign in, subscribe to one dataset and stay idle.
IdleResult runIdle(const std::string& url, const std::string& poolId, pid_t serverPid, int connections);

}  // namespace tether::bench
