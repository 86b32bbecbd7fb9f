// tether_bench: runs the benchmark workloads of DESIGN.md section 7 against a real tetherd
// (started here on loopback with default settings: SQLite on disk, synchronous=FULL) and writes
// the figures to <out>/latest.json and <out>/latest.md.
//   tether_bench [--out DIR] [--smoke] [--w5 N[,N...]] [--only w1,w2,w3,w4,w5,wl]
//                [--backend sqlite,pg] [--pg-nodes 1,2,3]
// --backend pg runs W3, W4 and the write latency (wl) on tetherd nodes sharing one PostgreSQL
// started here with its default durability (fsync=on, synchronous_commit=on).
// --smoke runs every workload at a tiny scale (used by `make test` to keep the harness working).
// W1-W3 drive full libtether clients (client_workloads.*); W4-W5 drive many lightweight
// native-protocol connections (server_workloads.*). docs/benchmarks.md explains the figures.
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "client_workloads.h"
#include "load_client.h"
#include "server_workloads.h"
#include "user_pool_workloads.h"
#include "pg_test_cluster.h"
#include "tetherd_cluster.h"
#include "tetherd_process.h"

using nlohmann::json;
using namespace tether;

namespace {

// The workloads are hundreds of devices and thousands of idle connections on one loopback
// address: tetherd's per-address and per-pool abuse limits (docs/security.md) are lifted for
// them, as an operator does for clients behind one trusted address.
std::string benchLimitsToml() {
  std::string out = "[limits]\nmax_connections_per_address = 0\n";
  for (const char* kind : {"identity_creation", "token_issuance", "sign_in", "writes"})
    out += std::string("[limits.") + kind + "]\nper_address_per_second = 0\nper_pool_per_second = 0\n";
  return out;
}

testing::TetherdOptions benchServer(testing::TetherdOptions options = {}) {
  static const std::string config = [] {
    std::string path = (testing::makeTempDir("bench-config") / "tetherd.toml").string();
    std::ofstream(path) << benchLimitsToml();
    return path;
  }();
  options.extraArgs.push_back("--config");
  options.extraArgs.push_back(config);
  return options;
}

json machineInfo() {
  json m;
  utsname u{};
  if (uname(&u) == 0) m["kernel"] = std::string(u.sysname) + " " + u.release;
  m["cpus"] = std::thread::hardware_concurrency();
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line))
    if (line.rfind("model name", 0) == 0) {
      m["cpu_model"] = line.substr(line.find(':') + 2);
      break;
    }
  // Other processes' load skews every figure on a small machine: record it with the results.
  std::ifstream loadavg("/proc/loadavg");
  double load1 = 0;
  if (loadavg >> load1) m["loadavg_1min_at_start"] = load1;
  std::ifstream mem("/proc/meminfo");
  while (std::getline(mem, line))
    if (line.rfind("MemTotal:", 0) == 0) m["mem_total_kb"] = std::atol(line.c_str() + 9);
  return m;
}

std::string fmt(double v, int prec = 1) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(prec);
  s << v;
  return s.str();
}

// The PostgreSQL runs: tetherd nodes (TetherdCluster: fresh schema, HAProxy in front, unused
// here) on one PostgreSQL of this process, durable like SQLite at synchronous=FULL. Each W4 node
// count gets a fresh deployment; the load client connects to the nodes directly, round-robin.
// Returns false when a run had errors or the deployment could not start.
template <typename Wanted>
bool runPostgres(json& results, std::ostringstream& md, bool smoke, const std::vector<int>& pgNodes,
                 int w4Devices, int w4Rounds, int w3Trials, int writeBatches, const Wanted& wanted) {
  json pj;
  // The machine is shared: the load when this section starts, beside the one of the whole run.
  std::ifstream loadavg("/proc/loadavg");
  double load1 = 0;
  if (loadavg >> load1) pj["loadavg_1min_at_start"] = load1;
  md << "\n## PostgreSQL (tetherd nodes on one PostgreSQL 15, fsync=on, synchronous_commit=on)\n\n"
     << "Load average " << fmt(load1, 2) << " when this section started. W4's load client connects to the "
     << "nodes directly, device i to node i mod N (HAProxy is not in the path); CPU from /proc: every "
     << "tetherd node, and the postmaster with all its children.\n\n";
  auto pg = testing::PgTestCluster::startDedicated(/*durable=*/true);
  if (!pg.isOk()) {
    std::cerr << "tether_bench: PostgreSQL did not start: " << pg.status().toString() << "\n";
    results["postgresql"] = {{"error", pg.status().toString()}};
    md << "Not run: " << pg.status().toString() << "\n";
    const char* ci = std::getenv("CI");
    return !(ci != nullptr && std::string(ci) == "true");
  }
  testing::PgTestCluster& cluster = **pg;
  const pid_t postmaster = static_cast<pid_t>(cluster.postmasterPid());
  bool ok = true;
  auto deploy = [&](int nodes, const std::string& name) -> std::unique_ptr<testing::TetherdCluster> {
    testing::TetherdClusterOptions o;
    o.nodes = nodes;
    o.name = name;
    // Every load client shares 127.0.0.1: lift the per-address and per-pool limits, as for the
    // SQLite server (benchServer).
    o.configToml = benchLimitsToml();
    auto c = testing::TetherdCluster::start(cluster, o);
    if (!c.isOk()) {
      std::cerr << "tether_bench: " << nodes << "-node deployment did not start: " << c.status().toString() << "\n";
      ok = false;
      return nullptr;
    }
    return std::move(*c);
  };
  // W3 and the write latency share one 2-node deployment (one after the other); the smoke run
  // uses it for W4 as well, to stay a few seconds.
  std::unique_ptr<testing::TetherdCluster> twoNodes;
  auto getTwoNodes = [&]() -> testing::TetherdCluster* {
    if (!twoNodes) twoNodes = deploy(2, "bench_pg");
    return twoNodes.get();
  };
  md << "| workload | figure | value | target |\n|---|---|---|---|\n";
  if (wanted("w4")) {
    json runs = json::array();
    for (int nodes : pgNodes) {
      std::unique_ptr<testing::TetherdCluster> fresh;
      testing::TetherdCluster* d = nullptr;
      if (smoke && nodes == 2) {
        d = getTwoNodes();
      } else {
        fresh = deploy(nodes, "bench_w4");
        d = fresh.get();
      }
      if (d == nullptr) continue;
      bench::ThroughputTarget t;
      t.poolId = d->poolId();
      t.postmasterPid = postmaster;
      for (int i = 0; i < d->size(); ++i) {
        t.urls.push_back(d->node(i).url());
        t.serverPids.push_back(d->node(i).pid());
      }
      auto r = bench::runThroughput(t, w4Devices, w4Rounds, 10);
      runs.push_back({{"nodes", nodes}, {"records_per_second", r.recordsPerSecond}, {"errors", r.errors},
                      {"records_accepted", r.recordsAccepted}, {"seconds", r.seconds},
                      {"round_p50_ms", r.roundP50Ms}, {"round_p99_ms", r.roundP99Ms},
                      {"tetherd_cpu_seconds", r.serverCpuSeconds}, {"postgres_cpu_seconds", r.databaseCpuSeconds}});
      md << "| W4 on " << nodes << " node" << (nodes > 1 ? "s" : "") << " (" << w4Devices << " devices x "
         << w4Rounds << " rounds x 10 records, round-robin) | records/s | "
         << fmt(r.recordsPerSecond, 0) << " | " << (nodes == 1 ? ">= 1/2 of SQLite's" : "") << " |\n"
         << "| | errors | " << r.errors << " | 0 |\n"
         << "| | round latency p50 / p99 | " << fmt(r.roundP50Ms, 2) << " / " << fmt(r.roundP99Ms, 2) << " ms | |\n"
         << "| | CPU tetherd / postgres | " << fmt(r.serverCpuSeconds, 2) << " s / " << fmt(r.databaseCpuSeconds, 2)
         << " s for " << fmt(r.seconds, 2) << " s wall | |\n";
      std::cout << "PG W4 " << nodes << " node(s): " << fmt(r.recordsPerSecond, 0) << " records/s, " << r.errors
                << " errors, round p99 " << fmt(r.roundP99Ms, 2) << " ms, CPU tetherd " << fmt(r.serverCpuSeconds, 2)
                << " s / postgres " << fmt(r.databaseCpuSeconds, 2) << " s over " << fmt(r.seconds, 2) << " s\n";
      if (r.errors != 0 || r.recordsAccepted != int64_t{w4Devices} * w4Rounds * 10) ok = false;
    }
    pj["w4"] = runs;
  }
  if (wanted("w3")) {
    // Device A on node 1; B on node 1 (same node) or node 2 (cross node: the change reaches B's
    // node through PostgreSQL's LISTEN/NOTIFY).
    if (auto* d = getTwoNodes()) {
      for (bool cross : {false, true}) {
        bench::ClientBenchTarget target{d->node(0).url(), d->poolId(),
                                        testing::makeTempDir(cross ? "bench-w3-cross" : "bench-w3-same").string(),
                                        cross ? d->node(1).url() : ""};
        bench::Timings put;
        auto t = bench::runPropagation(target, w3Trials, &put);
        const std::string key = cross ? "w3_cross_node" : "w3_same_node";
        pj[key + "_p50_ms"] = t.percentile(50);
        pj[key + "_p99_ms"] = t.percentile(99);
        pj[key + "_trials"] = t.ms.size();
        pj[key + "_failures"] = t.failures;
        pj[key + "_local_put_p50_ms"] = put.percentile(50);
        md << "| W3 propagation, " << (cross ? "cross-node (A on node 1, B on node 2)" : "same node (A and B on node 1)")
           << " (" << t.ms.size() << " trials) | p50 / p99 | " << fmt(t.percentile(50), 2) << " / "
           << fmt(t.percentile(99), 2) << " ms | " << (cross ? "p99 <= same-node p99 + 2 ms" : "") << " |\n";
        std::cout << "PG W3 " << (cross ? "cross-node" : "same-node") << ": p50 " << fmt(t.percentile(50), 2)
                  << " ms, p99 " << fmt(t.percentile(99), 2) << " ms over " << t.ms.size() << " trials, "
                  << t.failures << " failures" << (t.error.empty() ? "" : " (" + t.error + ")") << "\n";
        if (t.failures != 0 || t.ms.empty()) ok = false;
      }
    }
  }
  if (wanted("wl")) {
    if (auto* d = getTwoNodes()) {
      bench::ThroughputTarget t{{d->node(0).url()}, d->poolId(), {d->node(0).pid()}, postmaster};
      auto r = bench::runThroughput(t, 1, writeBatches, 10);
      pj["write10_p50_ms"] = r.roundP50Ms;
      pj["write10_p99_ms"] = r.roundP99Ms;
      pj["write10_batches"] = r.rounds;
      pj["write10_errors"] = r.errors;
      md << "| Write latency (" << r.rounds << " sequential batches of 10 records, one device) | p50 / p99 | "
         << fmt(r.roundP50Ms, 2) << " / " << fmt(r.roundP99Ms, 2) << " ms | |\n"
         << "| | errors | " << r.errors << " | 0 |\n";
      std::cout << "PG write latency (10 records): p50 " << fmt(r.roundP50Ms, 2) << " ms, p99 "
                << fmt(r.roundP99Ms, 2) << " ms over " << r.rounds << " batches, " << r.errors << " errors\n";
      if (r.errors != 0) ok = false;
    }
  }
  results["postgresql"] = pj;
  return ok;
}

// Both backends' figures of the same run in one table.
void sideBySide(const json& results, std::ostringstream& md) {
  if (!results.contains("postgresql")) return;
  const json& pj = results["postgresql"];
  auto num = [](const json& j, const std::string& key, int prec) -> std::string {
    return j.contains(key) && j[key].is_number() ? fmt(j[key].get<double>(), prec) : "-";
  };
  md << "\n## Side by side (same run)\n\n| figure | SQLite | PostgreSQL |\n|---|---|---|\n";
  if (pj.contains("w4")) {
    for (const json& r : pj["w4"]) {
      int nodes = r["nodes"].get<int>();
      md << "| W4 records/s, " << nodes << " node" << (nodes > 1 ? "s" : "") << " | "
         << (nodes == 1 ? num(results, "w4_records_per_second", 0) : "") << " | "
         << num(r, "records_per_second", 0) << " |\n"
         << "| W4 round p99 (ms), " << nodes << " node" << (nodes > 1 ? "s" : "") << " | "
         << (nodes == 1 ? num(results, "w4_round_p99_ms", 2) : "") << " | " << num(r, "round_p99_ms", 2) << " |\n";
    }
    if (!pj["w4"].empty() && pj["w4"][0]["nodes"] == 1 && results.contains("w4_records_per_second") &&
        results["w4_records_per_second"].get<double>() > 0) {
      double ratio = pj["w4"][0]["records_per_second"].get<double>() / results["w4_records_per_second"].get<double>();
      md << "| W4 one PostgreSQL node / SQLite | | " << fmt(ratio, 2) << " (target >= 0.5) |\n";
    }
  }
  md << "| W3 p50 / p99 (ms), same node | " << num(results, "w3_p50_ms", 2) << " / " << num(results, "w3_p99_ms", 2)
     << " | " << num(pj, "w3_same_node_p50_ms", 2) << " / " << num(pj, "w3_same_node_p99_ms", 2) << " |\n"
     << "| W3 p50 / p99 (ms), cross-node | | " << num(pj, "w3_cross_node_p50_ms", 2) << " / "
     << num(pj, "w3_cross_node_p99_ms", 2) << " |\n"
     << "| Write latency of 10 records p50 / p99 (ms) | " << num(results, "write10_p50_ms", 2) << " / "
     << num(results, "write10_p99_ms", 2) << " | " << num(pj, "write10_p50_ms", 2) << " / "
     << num(pj, "write10_p99_ms", 2) << " |\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tether_bench: Tether benchmark workloads against a real tetherd"};
  std::string outDir = "bench/results";
  bool smoke = false;
  std::vector<int> w5 = {2000, 10000};
  std::vector<std::string> only;
  std::vector<std::string> backends = {"sqlite", "pg"};
  std::vector<int> pgNodes;  // default: 1, 2, 3 (smoke: 2)
  app.add_option("--out", outDir, "Directory for latest.json and latest.md");
  app.add_option("--only", only,
                 "Run only these workloads (w1,w2,w3,w4,w5,wl,wu; raw = the W1/W2 server share; wu = user-pool sign-in)")->delimiter(',');
  app.add_option("--backend", backends, "Store backends to run (sqlite, pg)")->delimiter(',');
  app.add_option("--pg-nodes", pgNodes, "tetherd node counts for W4 on PostgreSQL")->delimiter(',');
  app.add_flag("--smoke", smoke, "Tiny scale: checks the harness, not the speed");
  app.add_option("--w5", w5, "Idle connection counts for W5")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  if (pgNodes.empty()) pgNodes = smoke ? std::vector<int>{2} : std::vector<int>{1, 2, 3};

  bench::raiseFileLimit();
  std::filesystem::create_directories(outDir);
  json results;
  results["machine"] = machineInfo();
  results["smoke"] = smoke;
  std::time_t now = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  results["timestamp"] = ts;
  std::ostringstream md;
  md << "# Tether benchmarks (" << ts << (smoke ? ", smoke scale" : "") << ")\n\n"
     << "Machine: " << results["machine"].value("cpu_model", std::string("?")) << ", "
     << results["machine"]["cpus"].get<unsigned>() << " CPUs, load average "
     << fmt(results["machine"].value("loadavg_1min_at_start", 0.0), 2)
     << " at start. Loopback.\n\n";

  auto wantBackend = [&backends](const std::string& b) {
    return std::find(backends.begin(), backends.end(), b) != backends.end();
  };
  if (wantBackend("sqlite"))
    md << "## SQLite (one tetherd, SQLite on disk, synchronous=FULL)\n\n"
       << "| workload | figure | value | target |\n|---|---|---|---|\n";

  auto wanted = [&only](const std::string& w) {
    return only.empty() || std::find(only.begin(), only.end(), w) != only.end();
  };
  bool failed = false;
  const int w4Devices = smoke ? 5 : 100, w4Rounds = smoke ? 3 : 50;
  const int w3Trials = smoke ? 5 : 200;
  const int writeBatches = smoke ? 10 : 500;  // sequential 10-record batches of one device

  // W1-W3: libtether devices against one server.
  if (wantBackend("sqlite") && (wanted("w1") || wanted("w2") || wanted("w3") || wanted("raw"))) {
    auto server = testing::TetherdProcess::start(benchServer());
    if (!server) {
      std::cerr << "tether_bench: tetherd did not start\n";
      return 1;
    }
    bench::ClientBenchTarget target{server->url(), server->poolId(),
                                    testing::makeTempDir("bench-clients").string(), ""};
    const int records = smoke ? 20 : 1000, valueBytes = 1024, trials = smoke ? 2 : 9;
    auto report = [&](const char* key, const char* label, const bench::Timings& t, const std::string& target) {
      results[std::string(key) + "_median_ms"] = t.median();
      results[std::string(key) + "_trials_ms"] = t.ms;
      results[std::string(key) + "_failures"] = t.failures;
      md << "| " << label << " | median of " << t.ms.size() << " | " << fmt(t.median(), 2) << " ms | "
         << target << " |\n";
      std::cout << key << ": median " << fmt(t.median(), 2) << " ms over " << t.ms.size() << " trials, "
                << t.failures << " failures" << (t.error.empty() ? "" : " (" + t.error + ")") << "\n";
      if (t.failures != 0 || t.ms.empty()) failed = true;
    };
    if (wanted("w1")) {
      auto t = bench::runColdPull(target, trials, records, valueBytes);
      report("w1", ("W1 cold pull (" + std::to_string(records) + " x 1 KB)").c_str(), t, "<= 10 ms");
    }
    if (wanted("w2")) {
      auto t = bench::runPush(target, trials, records, valueBytes);
      report("w2", ("W2 push (" + std::to_string(records) + " x 1 KB)").c_str(), t, "<= 10 ms");
    }
    if (wanted("w1") || wanted("w2") || wanted("raw")) {
      // The same push and pull on the native protocol without the client library: how much of
      // W1/W2 is the server's.
      auto raw = bench::runRawPushPull(server->url(), server->poolId(), trials, records, valueBytes);
      bench::Timings push, pull;
      push.ms = raw.pushMs;
      pull.ms = raw.pullMs;
      results["w1_server_share_median_ms"] = pull.median();
      results["w2_server_share_median_ms"] = push.median();
      results["w12_server_share_errors"] = raw.errors;
      md << "| W1 server share (same pull, native protocol, no client library) | median of "
         << pull.ms.size() << " | " << fmt(pull.median(), 2) << " ms | |\n"
         << "| W2 server share (same push, native protocol, no client library) | median of "
         << push.ms.size() << " | " << fmt(push.median(), 2) << " ms | |\n";
      std::cout << "w1/w2 server share: pull " << fmt(pull.median(), 2) << " ms, push "
                << fmt(push.median(), 2) << " ms, " << raw.errors << " errors\n";
      if (raw.errors != 0) failed = true;
    }
    if (wanted("w3")) {
      bench::Timings put;
      auto t = bench::runPropagation(target, w3Trials, &put);
      results["w3_p50_ms"] = t.percentile(50);
      results["w3_p99_ms"] = t.percentile(99);
      results["w3_trials"] = t.ms.size();
      results["w3_failures"] = t.failures;
      results["w3_local_put_p50_ms"] = put.percentile(50);
      md << "| W3 propagation (" << t.ms.size() << " trials) | p50 | " << fmt(t.percentile(50), 2)
         << " ms | <= 1 ms |\n"
         << "| | p99 | " << fmt(t.percentile(99), 2) << " ms | <= 3 ms |\n"
         << "| | of which A's local put() (p50) | " << fmt(put.percentile(50), 2) << " ms | |\n";
      std::cout << "w3: p50 " << fmt(t.percentile(50), 2) << " ms, p99 " << fmt(t.percentile(99), 2)
                << " ms over " << t.ms.size() << " trials (A's put p50 " << fmt(put.percentile(50), 2)
                << " ms), " << t.failures << " failures" << (t.error.empty() ? "" : " (" + t.error + ")")
                << "\n";
      if (t.failures != 0 || t.ms.empty()) failed = true;
    }
  }

  // W4: throughput.
  if (wantBackend("sqlite") && wanted("w4")) {
    auto server = testing::TetherdProcess::start(benchServer());
    if (!server) {
      std::cerr << "tether_bench: tetherd did not start\n";
      return 1;
    }
    const int devices = w4Devices, rounds = w4Rounds;
    auto r = bench::runThroughput({{server->url()}, server->poolId(), {server->pid()}, 0}, devices, rounds, 10);
    results["w4_records_per_second"] = r.recordsPerSecond;
    results["w4_round_p50_ms"] = r.roundP50Ms;
    results["w4_round_p99_ms"] = r.roundP99Ms;
    results["w4_records_accepted"] = r.recordsAccepted;
    results["w4_errors"] = r.errors;
    results["w4_seconds"] = r.seconds;
    results["w4_server_cpu_seconds"] = r.serverCpuSeconds;
    results["w4_client_cpu_seconds"] = r.clientCpuSeconds;
    md << "| W4 throughput (" << devices << " devices x " << rounds << " rounds x 10 records) | records/s | "
       << fmt(r.recordsPerSecond, 0) << " | >= 50,000 |\n"
       << "| | errors | " << r.errors << " | 0 |\n"
       << "| | round latency p50 / p99 | " << fmt(r.roundP50Ms, 2) << " / " << fmt(r.roundP99Ms, 2) << " ms | |\n"
       << "| | server CPU | " << fmt(r.serverCpuSeconds, 2) << " s for " << fmt(r.seconds, 2) << " s wall | |\n"
       << "| | load client CPU (this process) | " << fmt(r.clientCpuSeconds, 2) << " s | |\n";
    std::cout << "W4: " << fmt(r.recordsPerSecond, 0) << " records/s, round p99 " << fmt(r.roundP99Ms, 2)
              << " ms, " << r.errors << " errors, "
              << r.recordsAccepted << " records in " << fmt(r.seconds, 2) << " s, server CPU "
              << fmt(r.serverCpuSeconds, 2) << " s, load client CPU " << fmt(r.clientCpuSeconds, 2) << " s\n";
    if (r.errors != 0 || r.recordsAccepted != int64_t{devices} * rounds * 10) {
      std::cerr << "tether_bench: W4 had errors\n";
      if (smoke) return 1;
    }
    // The same with 2,000 idle subscribed connections open beside the busy ones (not a target:
    // it shows what the event loop costs per open connection).
    if (!smoke) {
      server.reset();
      server = testing::TetherdProcess::start(benchServer());
      if (!server) {
        std::cerr << "tether_bench: tetherd did not start\n";
        return 1;
      }
      const int idle = 2000;
      auto ri = bench::runThroughput({{server->url()}, server->poolId(), {server->pid()}, 0}, devices, rounds, 10, idle);
      results["w4_with_idle_connections"] = idle;
      results["w4_with_idle_records_per_second"] = ri.recordsPerSecond;
      results["w4_with_idle_errors"] = ri.errors;
      results["w4_with_idle_server_cpu_seconds"] = ri.serverCpuSeconds;
      md << "| W4 with " << idle << " idle subscribed connections open | records/s | "
         << fmt(ri.recordsPerSecond, 0) << " | |\n"
         << "| | errors | " << ri.errors << " | 0 |\n"
         << "| | server CPU | " << fmt(ri.serverCpuSeconds, 2) << " s for " << fmt(ri.seconds, 2)
         << " s wall | |\n";
      std::cout << "W4 + " << idle << " idle: " << fmt(ri.recordsPerSecond, 0) << " records/s, "
                << ri.errors << " errors, server CPU " << fmt(ri.serverCpuSeconds, 2) << " s\n";
    }
  }

  // W5: idle connections, one fresh server per count; wss once, at the first count (not in
  // the smoke run: TLS client contexts need the LSan suppressions of the TLS tests).
  json w5json = json::array();
  std::vector<std::pair<bool, int>> w5runs;
  if (wantBackend("sqlite") && wanted("w5")) {
    for (int n : (smoke ? std::vector<int>{50} : w5)) w5runs.push_back({false, n});
    if (!smoke && !w5.empty()) w5runs.push_back({true, w5.front()});
  }
  for (auto [tls, n] : w5runs) {
    testing::TetherdOptions options;
    options.tls = tls;
    auto server = testing::TetherdProcess::start(benchServer(options));
    if (!server) return 1;
    auto r = bench::runIdle(server->url(), server->poolId(), server->pid(), n, tls ? server->caFile() : "");
    const char* scheme = tls ? "wss" : "ws";
    w5json.push_back({{"scheme", scheme}, {"connections", n}, {"established", r.established},
                      {"bytes_per_connection", r.bytesPerConnection},
                      {"rss_before_kb", r.rssBeforeKb}, {"rss_after_kb", r.rssAfterKb}});
    md << "| W5 idle (" << n << " " << scheme << " connections) | server RSS per connection | "
       << (r.complete ? fmt(r.bytesPerConnection / 1024.0, 2) + " KB" : "only " + std::to_string(r.established) + " connected")
       << " | " << (tls ? "(reported separately)" : "<= 8 KB") << " |\n";
    std::cout << "W5 " << scheme << ": " << r.established << "/" << n << " idle connections, "
              << fmt(r.bytesPerConnection / 1024.0, 2) << " KB per connection (RSS " << r.rssBeforeKb
              << " -> " << r.rssAfterKb << " KB)\n";
    if (smoke && !r.complete) return 1;
  }
  if (wantBackend("sqlite")) results["w5"] = w5json;

  // Write latency: one device, sequential batches of 10 records (one UpdateRecords each, bare
  // protocol): what a single commit costs on the store, end to end.
  if (wantBackend("sqlite") && wanted("wl")) {
    auto server = testing::TetherdProcess::start(benchServer());
    if (!server) {
      std::cerr << "tether_bench: tetherd did not start\n";
      return 1;
    }
    auto r = bench::runThroughput({{server->url()}, server->poolId(), {server->pid()}, 0}, 1, writeBatches, 10);
    results["write10_p50_ms"] = r.roundP50Ms;
    results["write10_p99_ms"] = r.roundP99Ms;
    results["write10_batches"] = r.rounds;
    results["write10_errors"] = r.errors;
    md << "| Write latency (" << r.rounds << " sequential batches of 10 records, one device) | p50 / p99 | "
       << fmt(r.roundP50Ms, 2) << " / " << fmt(r.roundP99Ms, 2) << " ms | |\n"
       << "| | errors | " << r.errors << " | 0 |\n";
    std::cout << "write latency (10 records): p50 " << fmt(r.roundP50Ms, 2) << " ms, p99 " << fmt(r.roundP99Ms, 2)
              << " ms over " << r.rounds << " batches, " << r.errors << " errors\n";
    if (r.errors != 0) failed = true;
  }

  // WU: user-pool sign-in (SRP round trip, password, refresh), sequential and from 4 threads.
  if (wantBackend("sqlite") && wanted("wu")) {
    testing::TetherdOptions o;  // its own config: the bench limits plus a developer credential
    const std::string cfg = (testing::makeTempDir("bench-wu") / "wu.toml").string();
    std::ofstream(cfg) << benchLimitsToml() << "[[developer_credentials]]\naccess_key_id = \"AKIABENCHWU000000001\"\n"
                       << "secret_access_key = \"bench-wu-secret-0123456789abcdef\"\n";
    o.extraArgs.insert(o.extraArgs.end(), {"--config", cfg});
    auto server = testing::TetherdProcess::start(o);
    if (!server) {
      std::cerr << "tether_bench: tetherd did not start\n";
      return 1;
    }
    const int trials = smoke ? 5 : 200, parallel = smoke ? 8 : 400;
    auto r = bench::runUserPoolSignIn(server->port(), "AKIABENCHWU000000001", "bench-wu-secret-0123456789abcdef",
                                      trials, 4, parallel);
    results["wu_srp_p50_ms"] = bench::percentile(r.srpMs, 0.5);
    results["wu_srp_p99_ms"] = bench::percentile(r.srpMs, 0.99);
    results["wu_password_p50_ms"] = bench::percentile(r.passwordMs, 0.5);
    results["wu_refresh_p50_ms"] = bench::percentile(r.refreshMs, 0.5);
    results["wu_srp_per_second_4_threads"] = r.srpPerSecond;
    results["wu_failures"] = r.failures;
    md << "| WU user-pool SRP sign-in (InitiateAuth + RespondToAuthChallenge, " << r.srpMs.size()
       << " sequential) | p50 / p99 | " << fmt(bench::percentile(r.srpMs, 0.5), 2) << " / "
       << fmt(bench::percentile(r.srpMs, 0.99), 2) << " ms | |\n"
       << "| WU USER_PASSWORD_AUTH / REFRESH_TOKEN_AUTH | p50 | " << fmt(bench::percentile(r.passwordMs, 0.5), 2) << " / "
       << fmt(bench::percentile(r.refreshMs, 0.5), 2) << " ms | |\n"
       << "| WU SRP sign-ins, 4 threads | per second | " << fmt(r.srpPerSecond, 1) << " | |\n";
    std::cout << "WU: SRP sign-in p50 " << fmt(bench::percentile(r.srpMs, 0.5), 2) << " ms, p99 "
              << fmt(bench::percentile(r.srpMs, 0.99), 2) << " ms; password " << fmt(bench::percentile(r.passwordMs, 0.5), 2)
              << " ms; refresh " << fmt(bench::percentile(r.refreshMs, 0.5), 2) << " ms; " << fmt(r.srpPerSecond, 1)
              << " SRP sign-ins/s on 4 threads; " << r.failures << " failures"
              << (r.error.empty() ? "" : " (" + r.error + ")") << "\n";
    if (r.failures != 0) failed = true;
  }

  if (wantBackend("pg") && (wanted("w3") || wanted("w4") || wanted("wl"))) {
    if (!runPostgres(results, md, smoke, pgNodes, w4Devices, w4Rounds, w3Trials, writeBatches, wanted)) failed = true;
  }
  if (wantBackend("sqlite") && wantBackend("pg")) sideBySide(results, md);

  std::ofstream(outDir + "/latest.json") << results.dump(2) << "\n";
  std::ofstream(outDir + "/latest.md") << md.str();
  std::cout << "wrote " << outDir << "/latest.json and latest.md\n";
  return smoke && failed ? 1 : 0;
}
