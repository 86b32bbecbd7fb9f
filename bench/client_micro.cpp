// tether_client_micro: Google Benchmark micro-benchmarks of libtether's local-store share of
// W1/W2 without the network or the server: applying a pulled page of 1,000 x 1 KB records
// (LocalStore::getRecords + applyPulled, as SyncEngine does), reading the dirty records to push
// and writing the push reply back (conditionallyPutRecords), and one durable put() into a
// dataset of 1,000 records (W3's local write). Real SQLite files on disk, synchronous=FULL, so
// every figure includes its commit and fsync.
//   tether_client_micro [--benchmark_filter=...]   (TETHER_TEST_TMP: where the files go)
// Threading: single-threaded.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/local_store.h"

namespace tether::bench {
namespace {

using tether::LocalRecord;
using client::LocalStore;

constexpr int kRecords = 1000;
constexpr int kValueBytes = 1024;
constexpr const char* kId = "local:00000000-0000-0000-0000-000000000001";
constexpr const char* kDataset = "w1";

std::string tempRoot() {
  const char* env = std::getenv("TETHER_TEST_TMP");
  std::string base = env && *env ? env : "/tmp";
  std::string tmpl = base + "/client_micro.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  return buf.data();
}

std::string key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%04d", i);
  return buf;
}

std::vector<Record> serverPage(int round) {
  std::vector<Record> out;
  out.reserve(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    Record r;
    r.key = key(i);
    r.value = std::string(kValueBytes, static_cast<char>('a' + (i + round) % 26));
    r.syncCount = round + 1;
    r.lastModifiedMs = 1700000000000 + i;
    r.lastModifiedBy = "writer";
    r.deviceLastModifiedMs = 1700000000000 + i;
    out.push_back(std::move(r));
  }
  return out;
}

std::unique_ptr<LocalStore> openStore(const std::string& dir, int n) {
  auto store = LocalStore::open(dir + "/cache" + std::to_string(n) + ".db", [] {
    return int64_t{1700000000000};
  });
  if (!store.isOk()) {
    std::fprintf(stderr, "open: %s\n", store.status().toString().c_str());
    std::abort();
  }
  return std::move(*store);
}

void check(const Status& s, const char* what) {
  if (!s.isOk()) {
    std::fprintf(stderr, "%s: %s\n", what, s.toString().c_str());
    std::abort();
  }
}

// W1's client-side work after the reply arrived: the conflict check read and the apply of one
// 1,000-record page into a fresh cache file (one transaction, one fsync).
void BM_ApplyPulledFresh(benchmark::State& state) {
  std::string dir = tempRoot();
  std::vector<Record> page = serverPage(0);
  std::vector<std::string> keys;
  for (const Record& r : page) keys.push_back(r.key);
  int n = 0;
  // Closed after the loop: closing checkpoints the WAL, which is not part of the figure.
  std::vector<std::unique_ptr<LocalStore>> keep;
  for (auto _ : state) {
    state.PauseTiming();
    auto store = openStore(dir, n++);
    state.ResumeTiming();
    auto rows = store->getRecords(kId, kDataset, keys);
    check(rows.status(), "getRecords");
    check(store->applyPulled(kId, kDataset, page, {}, {}, 1), "applyPulled");
    keep.push_back(std::move(store));
  }
  keep.clear();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ApplyPulledFresh)->Unit(benchmark::kMillisecond)->Iterations(20);

// W2's client-side work around the push: read the dirty records, then write the server's copy
// back with the new dataset sync count (one transaction, one fsync).
void BM_PushRoundLocal(benchmark::State& state) {
  std::string dir = tempRoot();
  std::vector<Record> page = serverPage(0);
  int n = 0;
  std::vector<std::unique_ptr<LocalStore>> keep;  // closed after the loop, as above
  for (auto _ : state) {
    state.PauseTiming();
    auto store = openStore(dir, n++);
    std::vector<client::ResolvedWrite> writes;
    for (const Record& r : page) {
      client::ResolvedWrite w;
      w.record = r;
      w.record.syncCount = 0;
      w.dirty = true;
      writes.push_back(std::move(w));
    }
    check(store->writeResolved(kId, kDataset, writes), "fill");
    state.ResumeTiming();
    auto dirty = store->dirtyRecords(kId, kDataset);
    check(dirty.status(), "dirtyRecords");
    std::map<std::string, LocalRecord> snapshot;
    for (const LocalRecord& lr : *dirty) snapshot[lr.record.key] = lr;
    check(store->conditionallyPutRecords(kId, kDataset, page, snapshot, int64_t{1}),
          "conditionallyPutRecords");
    keep.push_back(std::move(store));
  }
  keep.clear();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PushRoundLocal)->Unit(benchmark::kMillisecond)->Iterations(20);

// One durable put() into a dataset that holds 1,000 x 1 KB records (W3's local write, and the
// per-record cost of W2's untimed offline edits).
void BM_PutIntoFullDataset(benchmark::State& state) {
  std::string dir = tempRoot();
  auto store = openStore(dir, 0);
  check(store->applyPulled(kId, kDataset, serverPage(0), {}, {}, 1), "fill");
  int i = 0;
  for (auto _ : state) {
    std::string value(100, static_cast<char>('a' + i % 26));
    check(store->put(kId, kDataset, key(i % kRecords), value, "bench"), "put");
    ++i;
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PutIntoFullDataset)->Unit(benchmark::kMillisecond)->Iterations(200);

}  // namespace
}  // namespace tether::bench

BENCHMARK_MAIN();
