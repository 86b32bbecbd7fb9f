// tether_bench: runs the benchmark workloads of DESIGN.md section 7 against a real tetherd
// (started here on loopback with default settings: SQLite on disk, synchronous=FULL) and writes
// the figures to <out>/latest.json and <out>/latest.md.
//   tether_bench [--out DIR] [--smoke] [--w5 N[,N...]]
// --smoke runs every workload at a tiny scale (used by `make test` to keep the harness working).
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "load_client.h"
#include "server_workloads.h"
#include "tetherd_process.h"

using nlohmann::json;
using namespace tether;

namespace {

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
  app.add_option("--out", outDir, "Directory for latest.json and latest.md");
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
     << results["machine"]["cpus"].get<unsigned>() << " CPUs. Server: tetherd, SQLite on disk, "
     << "synchronous=FULL, loopback.\n\n| workload | figure | value | target |\n|---|---|---|---|\n";

  // W4: throughput.
  {
    auto server = testing::TetherdProcess::start();
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
  }

  // W5: idle connections, one fresh server per count.
  json w5json = json::array();
  for (int n : (smoke ? std::vector<int>{50} : w5)) {
    auto server = testing::TetherdProcess::start();
    if (!server) return 1;
    auto r = bench::runIdle(server->url(), server->poolId(), server->pid(), n);
    w5json.push_back({{"connections", n}, {"established", r.established},
                      {"bytes_per_connection", r.bytesPerConnection},
                      {"rss_before_kb", r.rssBeforeKb}, {"rss_after_kb", r.rssAfterKb}});
    md << "| W5 idle (" << n << " ws connections) | server RSS per connection | "
       << (r.complete ? fmt(r.bytesPerConnection / 1024.0, 2) + " KB" : "only " + std::to_string(r.established) + " connected")
       << " | <= 8 KB |\n";
    std::cout << "W5: " << r.established << "/" << n << " idle connections, "
              << fmt(r.bytesPerConnection / 1024.0, 2) << " KB per connection (RSS " << r.rssBeforeKb
              << " -> " << r.rssAfterKb << " KB)\n";
    if (smoke && !r.complete) return 1;
  }
  results["w5"] = w5json;

  md << "\nW1-W3 (cold pull, push, propagation) need the client library's benchmark driver; "
        "they are not measured by this build.\n";
  std::ofstream(outDir + "/latest.json") << results.dump(2) << "\n";
  std::ofstream(outDir + "/latest.md") << md.str();
  std::cout << "wrote " << outDir << "/latest.json and latest.md\n";
  return 0;
}
