// Client-side workloads of DESIGN.md section 7, driven through the public client library
// (libtether) against a real tetherd: W1 cold pull, W2 push, W3 propagation.
// Threading: each function runs on the calling thread and blocks until done; the clients it
// opens do their network work on their own sync threads.
#pragma once

#include <string>
#include <vector>

namespace tether::bench {

// Where the devices connect and keep their cache files.
struct ClientBenchTarget {
  std::string url;
  std::string poolId;
  std::string cacheDir;  // fresh directory; every device gets its own file in it
  std::string urlB;      // W3's device B connects here ("" = url): another node of a deployment
};

// Per-trial timings in milliseconds plus summary figures.
struct Timings {
  std::vector<double> ms;
  int failures = 0;
  std::string error;   // first failure, for the log
  double median() const;
  double percentile(double p) const;  // p in [0, 100], nearest rank
};

// W1: a writer device fills one dataset with `records` records of `valueBytes`; then `trials`
// fresh devices of the same identity each time their first synchronize() of it (the connection
// is warmed first by a sync of an empty dataset, so the figure is the pull, not the TCP/WS
// handshake). Every trial checks that all records arrived.
Timings runColdPull(const ClientBenchTarget& target, int trials, int records, int valueBytes);

// W2: `trials` fresh guest devices each write `records` records of `valueBytes` locally
// (offline edits, not timed), then time synchronize() until the server acknowledged the push.
Timings runPush(const ClientBenchTarget& target, int trials, int records, int valueBytes);

// W3: device A (auto-sync, no debounce) and device B (same identity, subscribed) share a
// dataset; each trial times from A's put() until B's change listener reports the new value
// (it is then in B's local store). `putMs` gets A's put() durations (local durable write).
// A connects to target.url, B to target.urlB when set (cross-node propagation).
Timings runPropagation(const ClientBenchTarget& target, int trials, Timings* putMs);

}  // namespace tether::bench
