// tether_transport_micro: the client transport's share of W1/W2 without the local store or the
// sync engine. One WsTransport (libtether's) against a real tetherd (SQLite, loopback) signs in
// as a guest, then per round pushes 1,000 x 1 KB records in one UpdateRecords (W2's request; the
// reply echoes every value unless --omit-values) and pulls them back in one ListRecords (W1's
// 1 MB reply). For each call it reports the wall time and the CPU time of the transport's own
// thread, read with CLOCK_THREAD_CPUTIME_ID on that thread just before the request and again in
// its callback: what the client spends to encode, send, receive and decode one message (the
// server's work and the loopback copy run on other threads and are not in it).
// Not run by make test. Usage:
//   TETHERD_BIN=build/server/tetherd TETHER_TEST_TMP=build/bench-tmp
//   build/bench/tether_transport_micro [--rounds N] [--tls] [--omit-values]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "../tests/support/tetherd_process.h"
#include "transport/ws_transport.h"

namespace {

using namespace tether;
using Clock = std::chrono::steady_clock;

double threadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Sample {
  double wallMs = 0;
  double cpuMs = 0;
};

// Runs `call(done)` on the transport's thread; `done` must be invoked with ok/not ok.
template <class Resp, class Call>
Result<Sample> timed(client::WsTransport& t, Call call, Resp* out = nullptr) {
  auto p = std::make_shared<std::promise<Result<Sample>>>();
  auto f = p->get_future();
  t.post([call, p, out]() mutable {
    auto start = Clock::now();
    double cpu0 = threadCpuMs();
    call([p, out, start, cpu0](Result<Resp> r) {
      Sample s{std::chrono::duration<double, std::milli>(Clock::now() - start).count(), threadCpuMs() - cpu0};
      if (!r.isOk()) return p->set_value(r.status());
      if (out) *out = std::move(*r);
      p->set_value(s);
    });
  });
  if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) return Status::internal("timed out");
  return f.get();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  bool tls = false, omitValues = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--tls")) tls = true;
    else if (!std::strcmp(argv[i], "--omit-values")) omitValues = true;
    else {
      std::fprintf(stderr, "usage: %s [--rounds N] [--tls] [--omit-values]\n", argv[0]);
      return 2;
    }
  }
  testing::TetherdOptions so;
  so.tls = tls;
  so.logLevel = "warn";
  auto server = testing::TetherdProcess::start(so);
  if (!server) return 1;
  client::WsTransportOptions o;
  o.url = server->url();
  if (tls) o.caFile = server->caFile();
  o.identityPoolId = server->poolId();
  o.requestTimeout = std::chrono::seconds(30);
  auto started = client::WsTransport::start(o);
  if (!started.isOk()) {
    std::fprintf(stderr, "start: %s\n", started.status().toString().c_str());
    return 1;
  }
  client::WsTransport& t = **started;
  std::string identity;
  auto signedIn = timed<std::string>(t, [&t](auto done) { t.authenticate("", nullptr, false, done); }, &identity);
  if (!signedIn.isOk()) {
    std::fprintf(stderr, "sign-in: %s\n", signedIn.status().toString().c_str());
    return 1;
  }

  std::vector<double> pushWall, pushCpu, pullWall, pullCpu;
  for (int round = 0; round <= rounds; ++round) {  // round 0 warms up and is not counted
    const std::string dataset = "micro" + std::to_string(round);
    proto::UpdateRecordsRequest up;
    up.datasetName = dataset;
    up.deviceId = "micro";
    up.ifDatasetSyncCount = 0;
    up.omitValues = omitValues;
    for (int i = 0; i < 1000; ++i) {
      RecordPatch p;
      p.key = "key-" + std::to_string(i);
      p.value.assign(1024, static_cast<char>('a' + i % 26));
      up.patches.push_back(std::move(p));
    }
    auto push = timed<proto::UpdateRecordsResponse>(
        t, [&t, up](auto done) mutable { t.updateRecords(std::move(up), done); });
    proto::ListRecordsResponse list;
    auto pull = timed<proto::ListRecordsResponse>(t, [&t, dataset](auto done) {
      proto::ListRecordsRequest req;
      req.datasetName = dataset;
      req.maxResults = 1000;
      t.listRecords(req, done);
    }, &list);
    if (!push.isOk() || !pull.isOk() || list.records.size() != 1000) {
      std::fprintf(stderr, "round %d failed: push %s, pull %s, %zu records\n", round,
                   push.status().toString().c_str(), pull.status().toString().c_str(), list.records.size());
      return 1;
    }
    if (round == 0) continue;
    pushWall.push_back(push->wallMs);
    pushCpu.push_back(push->cpuMs);
    pullWall.push_back(pull->wallMs);
    pullCpu.push_back(pull->cpuMs);
  }
  std::printf("transport micro (%s, %d rounds%s): push 1000 x 1 KB wall %.2f ms, client thread CPU %.2f ms;"
              " pull 1000 x 1 KB wall %.2f ms, client thread CPU %.2f ms (medians)\n",
              tls ? "wss" : "ws", rounds, omitValues ? ", omitValues" : "", median(pushWall),
              median(pushCpu), median(pullWall), median(pullCpu));
  t.shutdown();
  return 0;
}
