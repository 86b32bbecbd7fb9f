// tether_sync_micro: Google Benchmark micro-benchmarks of the server's share of W1/W2 without
// the network: SyncService::updateRecords / listRecords of 1,000 x 1 KB records on a real
// SQLite store on disk (synchronous=FULL), and the wire codec for the same payloads. They split
// the W1/W2 figures of tether_bench into storage, sync logic and encoding.
//   tether_sync_micro [--benchmark_filter=...]   (TETHER_TEST_TMP: where the database goes)
// Threading: single-threaded.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "storage/sqlite_store.h"
#include "sync/session_tokens.h"
#include "sync/sync_service.h"
#include "tetherd_process.h"
#include "tether/codec.h"

namespace tether::bench {
namespace {

using server::Caller;
using server::SyncService;

constexpr int kRecords = 1000;
constexpr int kValueBytes = 1024;
const char* kPool = "local:6f1c0000-0000-0000-0000-000000000001";

// Tokens are not what is measured here: always valid.
class OpenTokens final : public server::SessionTokens {
 public:
  std::string issue(std::string_view, std::string_view, std::string_view, int64_t) const override {
    return "t";
  }
  Status verify(std::string_view, std::string_view, std::string_view, std::string_view,
                int64_t) const override {
    return Status::ok();
  }
};

std::string identity(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "local:00000000-0000-0000-0000-%012x", n);
  return buf;
}

std::vector<RecordPatch> patches(int round) {
  std::vector<RecordPatch> out;
  out.reserve(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%04d", i);
    out.push_back(RecordPatch{PatchOp::kReplace, key,
                              std::string(kValueBytes, static_cast<char>('a' + (i + round) % 26)),
                              0, 1});
  }
  return out;
}

struct Fixture {
  Fixture() {
    auto dir = testing::makeTempDir("sync-micro");
    auto opened = server::openSqliteStore(dir / "db.sqlite");
    if (!opened.isOk()) std::abort();
    store = std::move(*opened);
    sync = std::make_unique<SyncService>(*store, tokens, clock);
  }
  OpenTokens tokens;
  server::SystemClock clock;
  std::unique_ptr<server::Store> store;
  std::unique_ptr<SyncService> sync;
  int nextIdentity = 1;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// W2's server work: one batch of 1,000 new records into a fresh identity's dataset (commit +
// fsync included).
void BM_UpdateRecords1000x1KB(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    state.PauseTiming();
    Caller caller{kPool, identity(f.nextIdentity++), "bench", 0};
    proto::UpdateRecordsRequest req{"w2", "t", "bench", patches(0)};
    state.ResumeTiming();
    auto r = f.sync->updateRecords(caller, req);
    if (!r.isOk() || r->records.size() != kRecords) state.SkipWithError("updateRecords failed");
  }
}
BENCHMARK(BM_UpdateRecords1000x1KB)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// W1's server work: one page of the whole 1,000-record dataset from sync count 0.
void BM_ListRecords1000x1KB(benchmark::State& state) {
  Fixture& f = fixture();
  Caller caller{kPool, identity(f.nextIdentity++), "bench", 0};
  if (!f.sync->updateRecords(caller, {"w1", "t", "bench", patches(0)}).isOk()) {
    state.SkipWithError("setup failed");
    return;
  }
  for (auto _ : state) {
    auto r = f.sync->listRecords(caller, proto::ListRecordsRequest{"w1", 0, 0, ""});
    if (!r.isOk() || r->records.size() != kRecords) state.SkipWithError("listRecords failed");
  }
}
BENCHMARK(BM_ListRecords1000x1KB)->Unit(benchmark::kMillisecond)->MinTime(1.0);

proto::ListRecordsResponse pulledPage() {
  proto::ListRecordsResponse page;
  for (int i = 0; i < kRecords; ++i) {
    Record r;
    char key[16];
    std::snprintf(key, sizeof key, "k%04d", i);
    r.key = key;
    r.value = std::string(kValueBytes, 'x');
    r.syncCount = 1;
    r.lastModifiedBy = "bench";
    page.records.push_back(std::move(r));
  }
  page.datasetSyncCount = 1;
  page.syncSessionToken = "t";
  page.datasetExists = true;
  return page;
}

void BM_EncodeListRecordsResponse(benchmark::State& state) {
  proto::ServerMessage msg{proto::Response{1, pulledPage()}};
  for (auto _ : state) benchmark::DoNotOptimize(codec::encode(msg));
}
BENCHMARK(BM_EncodeListRecordsResponse)->Unit(benchmark::kMillisecond);

void BM_DecodeUpdateRecordsRequest(benchmark::State& state) {
  std::string frame = codec::encode(proto::ClientMessage{
      proto::Request{1, proto::UpdateRecordsRequest{"w2", "t", "bench", patches(0)}}});
  for (auto _ : state) {
    auto m = codec::decodeClientMessage(frame);
    if (!m.isOk()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_DecodeUpdateRecordsRequest)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tether::bench

BENCHMARK_MAIN();
