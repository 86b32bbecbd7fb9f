// tether_bench: runs the benchmark workloads of DESIGN.md section 7 against a real tetherd
// (started here on loopback with default settings: SQLite on disk, synchronous=FULL) and writes
// the figures to <out>/latest.json and <out>/latest.md.
//   tether_bench [--out DIR] [--smoke] [--w5 N[,N...]] [--only w1,w2,w3,w4,w5]
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
#include "tetherd_process.h"

using nlohmann::json;
using namespace tether;

namespace {

// The workloads are hundreds of devices and thousands of idle connections on one loopback
// address: tetherd's per-address and per-pool abuse limits (docs/security.md) are lifted for
// them, as an operator does for clients behind one trusted address.
testing::TetherdOptions benchServer(testing::TetherdOptions options = {}) {
  static const std::string config = [] {
    std::string path = (testing::makeTempDir("bench-config") / "tetherd.toml").string();
    std::ofstream out(path);
    out << "[limits]\nmax_connections_per_address = 0\n";
    for (const char* kind : {"identity_creation", "token_issuance", "sign_in", "writes"})
      out << "[limits." << kind << "]\nper_address_per_second = 0\nper_pool_per_second = 0\n";
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tether_bench: Tether benchmark workloads against a real tetherd"};
  std::string outDir = "bench/results";
  bool smoke = false;
  std::vector<int> w5 = {2000, 10000};
  std::vector<std::string> only;
  app.add_option("--out", outDir, "Directory for latest.json and latest.md");
  app.add_option("--only", only, "Run only these workloads (w1,w2,w3,w4,w5; raw = the W1/W2 server share)")->delimiter(',');
  app.add_flag("--smoke", smoke, "Tiny scale: checks the harness, not the speed");
  app.add_option("--w5", w5, "Idle connection counts for W5")->delimiter(',');
  CLI11_PARSE(app, argc, argv);

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
     << " at start. Server: tetherd, SQLite on disk, "
     << "synchronous=FULL, loopback.\n\n| workload | figure | value | target |\n|---|---|---|---|\n";

  auto wanted = [&only](const std::string& w) {
    return only.empty() || std::find(only.begin(), only.end(), w) != only.end();
  };
  bool failed = false;

  // W1-W3: libtether devices against one server.
  if (wanted("w1") || wanted("w2") || wanted("w3") || wanted("raw")) {
    auto server = testing::TetherdProcess::start(benchServer());
    if (!server) {
      std::cerr << "tether_bench: tetherd did not start\n";
      return 1;
    }
    bench::ClientBenchTarget target{server->url(), server->poolId(),
                                    testing::makeTempDir("bench-clients").string()};
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
      auto t = bench::runPropagation(target, smoke ? 5 : 200, &put);
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
  if (wanted("w4")) {
    auto server = testing::TetherdProcess::start(benchServer());
    if (!server) {
      std::cerr << "tether_bench: tetherd did not start\n";
      return 1;
    }
    int devices = smoke ? 5 : 100, rounds = smoke ? 3 : 50;
    auto r = bench::runThroughput(server->url(), server->poolId(), server->pid(), devices, rounds, 10);
    results["w4_records_per_second"] = r.recordsPerSecond;
    results["w4_records_accepted"] = r.recordsAccepted;
    results["w4_errors"] = r.errors;
    results["w4_seconds"] = r.seconds;
    results["w4_server_cpu_seconds"] = r.serverCpuSeconds;
    md << "| W4 throughput (" << devices << " devices x " << rounds << " rounds x 10 records) | records/s | "
       << fmt(r.recordsPerSecond, 0) << " | >= 50,000 |\n"
       << "| | errors | " << r.errors << " | 0 |\n"
       << "| | server CPU | " << fmt(r.serverCpuSeconds, 2) << " s for " << fmt(r.seconds, 2) << " s wall | |\n";
    std::cout << "W4: " << fmt(r.recordsPerSecond, 0) << " records/s, " << r.errors << " errors, "
              << r.recordsAccepted << " records in " << fmt(r.seconds, 2) << " s, server CPU "
              << fmt(r.serverCpuSeconds, 2) << " s\n";
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
      auto ri = bench::runThroughput(server->url(), server->poolId(), server->pid(), devices, rounds, 10, idle);
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
  if (wanted("w5")) {
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
  results["w5"] = w5json;

  std::ofstream(outDir + "/latest.json") << results.dump(2) << "\n";
  std::ofstream(outDir + "/latest.md") << md.str();
  std::cout << "wrote " << outDir << "/latest.json and latest.md\n";
  return smoke && failed ? 1 : 0;
}
