// Server-side workloads of DESIGN.md section 7 driven by LoadClient: W4 throughput, W5 idle
// connections, and the server's share of W1/W2 (the same pull and push without libtether).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

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
// `devices` concurrent guests, each doing `rounds` of "change recordsPerRound records of ~100 B
// and sync" on its own dataset (as libtether syncs: a conditional push, a pull only if refused).
// `idleConnections` > 0: that many more guests connect, subscribe and stay idle first, and stay
// open during the run (live sync's usual picture: many idle subscribers, some busy devices).
ThroughputResult runThroughput(const std::string& url, const std::string& poolId, pid_t serverPid,
                               int devices, int rounds, int recordsPerRound, int idleConnections = 0);

struct IdleResult {
  int connections = 0;
  int established = 0;
  bool complete = false;
  long rssBeforeKb = 0;
  long rssAfterKb = 0;
  double bytesPerConnection = 0;
};
// `connections` guests that sign in, subscribe to one dataset and stay idle.
// caFile: the CA to trust when url is wss://.
IdleResult runIdle(const std::string& url, const std::string& poolId, pid_t serverPid, int connections,
                   const std::string& caFile = "");

// The server's share of W1 and W2: one native-protocol device pushes `records` records of
// `valueBytes` to a fresh dataset in one UpdateRecords (pushMs: request sent -> response
// decoded) and then pulls them back with one ListRecords from sync count 0 (pullMs), `trials`
// times. No client library and no local store: what remains is the server, the wire and the
// loopback socket.
struct RawSyncResult {
  std::vector<double> pushMs;
  std::vector<double> pullMs;
  int errors = 0;
};
RawSyncResult runRawPushPull(const std::string& url, const std::string& poolId, int trials,
                             int records, int valueBytes);

}  // namespace tether::bench
