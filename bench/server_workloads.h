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
  double serverCpuSeconds = 0;     // user + system of every server PID over the run
  double clientCpuSeconds = 0;     // user + system of this process (the load client) over the run
  double databaseCpuSeconds = -1;  // PostgreSQL's (postmaster + its children), -1 = no database PID
  double roundP50Ms = 0;           // one round of one device: its sync, from first request to ack
  double roundP99Ms = 0;
  int64_t rounds = 0;              // rounds timed
};
// Where W4 connects and whose CPU it counts.
struct ThroughputTarget {
  std::vector<std::string> urls;   // devices connect round-robin, device i to urls[i % size]
  std::string poolId;
  std::vector<pid_t> serverPids;   // tetherd node(s)
  pid_t postmasterPid = 0;         // 0: SQLite (no database process)
};
// `devices` concurrent guests, each doing `rounds` of "change recordsPerRound records of ~100 B
// and sync" on its own dataset (as libtether syncs: a conditional push, a pull only if refused).
// `idleConnections` > 0: that many more guests connect (to urls[0]), subscribe and stay idle
// first, and stay open during the run (live sync's usual picture: many idle subscribers, some
// busy devices). With devices = 1 the rounds are sequential single-batch writes, so the round
// latency is the write latency of one batch.
ThroughputResult runThroughput(const ThroughputTarget& target, int devices, int rounds, int recordsPerRound,
                               int idleConnections = 0);

// CPU seconds (user + system) of a PostgreSQL server: the postmaster, its live children
// (backends, WAL writer, checkpointer...) and the children it has already reaped.
double postgresCpuSeconds(pid_t postmasterPid);

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
