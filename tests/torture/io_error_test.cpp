// Injected I/O errors (issue 13, point 2): FaultyVfs (faulty_vfs.h) is the default SQLite VFS
// of this process and fails writes, syncs and truncations of the store's files on demand —
// always, or at random — while the server's store (SyncService over SqliteStore, as tetherd
// runs it) or libtether's cache keeps being written.
//   - every failure is a typed error (kIOError from the store; the network layer turns it into
//     `internal` / InternalErrorException, checked end to end by disk_full_test.cpp);
//   - nothing acknowledged is lost, no batch is half-applied, and what a reader saw after a
//     failure is still there after the store is closed and reopened (integrity_check ok);
//   - once the faults stop, writes succeed again on the same open store (recovery without a
//     restart), and a client's cache syncs with a real tetherd.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>

#include "faulty_vfs.h"
#include "storage/sqlite_store.h"
#include "sync/sync_service.h"
#include "sync_fakes.h"
#include "tetherd_process.h"
#include "tether/client.h"
#include "torture_util.h"

namespace tether::testing::torture {
namespace {

using server::Caller;
using server::SyncService;
using server::testing::FakeSessionTokens;
using server::testing::ManualClock;

constexpr const char* kPool = "local:00000000-0000-0000-0000-0000000000ee";
constexpr int kSharedKeys = 3;

std::string tag(int64_t b) { return "b" + std::to_string(b); }

// Reads the dataset and checks it is whole: s* = tag(n), u1..un present. Returns n (-1 on error).
int64_t wholeCount(SyncService& service, const Caller& caller, const std::string& dataset) {
  proto::ListRecordsRequest lr;
  lr.datasetName = dataset;
  auto r = service.listRecords(caller, lr);
  if (!r.isOk()) return -1;
  const int64_t n = r->datasetSyncCount;
  std::map<std::string, Record> byKey;
  for (auto& rec : r->records) byKey[rec.key] = rec;
  EXPECT_EQ(byKey.size(), static_cast<size_t>(n == 0 ? 0 : kSharedKeys + n)) << "a partial batch";
  for (int k = 0; k < kSharedKeys && n > 0; ++k) EXPECT_EQ(byKey["s" + std::to_string(k)].value, tag(n));
  for (int64_t b = 1; b <= n; ++b) EXPECT_EQ(byKey["u" + std::to_string(b)].value, tag(b)) << "batch " << b;
  return n;
}

TEST(IoErrors, ServerStoreTypedErrorsNoAcknowledgedLossAndRecovery) {
  FaultyVfs::install();
  const auto dir = makeTempDir("torture-ioerr-server");
  const auto file = dir / "tether.db";
  FaultyVfs::setTarget(dir.string());
  const uint32_t seed = seedFromEnv();
  std::mt19937 rng(seed);
  std::printf("io errors (server): seed %u\n", seed);
  const int rounds = static_cast<int>(envInt("TETHER_TORTURE_IO_ROUNDS", 60));

  int64_t acked = 0, seen = 0, failures = 0;
  const int64_t injectedBefore = FaultyVfs::injected();
  {
    auto opened = server::openSqliteStore(file);
    ASSERT_TRUE(opened.isOk()) << opened.status();
    ManualClock clock;
    FakeSessionTokens tokens;
    SyncService service(**opened, tokens, clock);
    Caller caller{kPool, "local:00000000-0000-0000-0000-00000000e001", "io"};
    for (int round = 0; round < rounds; ++round) {
      // Each round: a few batches with faults (always or random), then one without.
      const bool faulty = round % 3 != 2;
      FaultyVfs::set(faulty ? (rng() % 2 ? FaultyVfs::Mode::kAlways : FaultyVfs::Mode::kRandom) : FaultyVfs::Mode::kOff,
                     2 + static_cast<int>(rng() % 6));
      for (int i = 0; i < 4; ++i) {
        proto::ListRecordsRequest lr;
        lr.datasetName = "log";
        auto pulled = service.listRecords(caller, lr);
        if (!pulled.isOk()) {  // reads may fail too (a checkpoint, a WAL write): typed
          EXPECT_EQ(pulled.status().code(), StatusCode::kIOError) << pulled.status();
          ++failures;
          continue;
        }
        const int64_t s = pulled->datasetSyncCount;
        ASSERT_GE(s, acked) << "an acknowledged batch disappeared";
        ASSERT_GE(s, seen) << "a batch a reader saw disappeared";
        seen = s;
        proto::UpdateRecordsRequest ur;
        ur.datasetName = "log";
        ur.ifDatasetSyncCount = s;
        for (int k = 0; k < kSharedKeys; ++k)
          ur.patches.push_back(RecordPatch{PatchOp::kReplace, "s" + std::to_string(k), tag(s + 1), s, 0});
        ur.patches.push_back(RecordPatch{PatchOp::kReplace, "u" + std::to_string(s + 1), tag(s + 1), 0, 0});
        auto r = service.updateRecords(caller, ur);
        if (r.isOk()) {
          acked = s + 1;
        } else {
          ++failures;
          EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status();
          ASSERT_TRUE(faulty) << "a write failed with the faults off: " << r.status();
        }
      }
      if (!faulty) {
        // Faults off: the store recovered on its own (this round's writes all succeeded).
        FaultyVfs::set(FaultyVfs::Mode::kOff);
        int64_t n = wholeCount(service, caller, "log");
        ASSERT_GE(n, acked);
        seen = n;
      }
      if (::testing::Test::HasFailure()) break;
    }
    FaultyVfs::set(FaultyVfs::Mode::kOff);
  }
  std::printf("io errors (server): %lld injected faults, %lld failed calls, %lld batches acknowledged\n",
              static_cast<long long>(FaultyVfs::injected() - injectedBefore), static_cast<long long>(failures),
              static_cast<long long>(acked));
  ASSERT_EQ(integrityCheck(file.string()), "ok");
  auto reopened = server::openSqliteStore(file);
  ASSERT_TRUE(reopened.isOk()) << reopened.status();
  ManualClock clock;
  FakeSessionTokens tokens;
  SyncService service(**reopened, tokens, clock);
  Caller caller{kPool, "local:00000000-0000-0000-0000-00000000e001", "io"};
  const int64_t n = wholeCount(service, caller, "log");
  EXPECT_GE(n, acked) << "acknowledged batches lost across a reopen";
  EXPECT_GE(n, seen) << "a batch readers saw was not durable";
  EXPECT_GT(failures, 0);
  EXPECT_GT(acked, 0);
}

TEST(IoErrors, ClientCacheTypedErrorsKeepsPutsAndSyncsAfterwards) {
  FaultyVfs::install();
  const auto dir = makeTempDir("torture-ioerr-client");
  auto server = TetherdProcess::start();  // its own process: the shim is only in this one
  ASSERT_NE(server, nullptr);
  FaultyVfs::setTarget(dir.string());
  const uint32_t seed = seedFromEnv();
  std::mt19937 rng(seed);
  ClientOptions o;
  o.serverUrl = server->url();
  o.identityPoolId = server->poolId();
  o.cachePath = (dir / "app.db").string();
  auto opened = Client::open(o);
  ASSERT_TRUE(opened.isOk()) << opened.status();
  std::unique_ptr<Client> client = std::move(*opened);
  ASSERT_TRUE(client->getIdentityId().isOk());
  auto ds = client->openOrCreateDataset("d");
  ASSERT_TRUE(ds.isOk());
  const int64_t injectedBefore = FaultyVfs::injected();

  std::map<std::string, std::string> acked;  // key -> value of the last put that returned ok
  // A put that failed may still have reached the disk (the error came after the write, e.g. at
  // the sync): then its value may show up, and once a reader saw it, it must stay.
  std::map<std::string, std::string> uncertain;
  auto check = [&](const std::map<std::string, std::string>& all, const std::string& when) {
    for (const auto& [k, v] : all) {
      auto a = acked.find(k);
      if (a != acked.end() && a->second == v) continue;
      auto u = uncertain.find(k);
      EXPECT_TRUE(u != uncertain.end() && u->second == v) << when << ": " << k << " = " << v << " was never written";
    }
    for (const auto& [k, v] : acked)
      if (!all.count(k)) ADD_FAILURE() << when << ": acknowledged put of " << k << " lost";
    acked = all;
    uncertain.clear();
  };
  int failures = 0, syncFailures = 0, syncs = 0;
  for (int i = 0; i < 300; ++i) {
    const bool faulty = (i / 10) % 2 == 0;
    FaultyVfs::set(faulty ? FaultyVfs::Mode::kRandom : FaultyVfs::Mode::kOff, 3);
    const std::string key = "k" + std::to_string(rng() % 50), value = "v" + std::to_string(i);
    Status s = (*ds)->put(key, value);
    if (s.isOk()) {
      acked[key] = value;
    } else {
      ++failures;
      uncertain[key] = value;
      EXPECT_EQ(s.code(), StatusCode::kIOError) << s;
      ASSERT_TRUE(faulty) << s;
    }
    if (i % 7 == 6) {
      auto r = (*ds)->synchronizeAndWait({}, std::chrono::seconds(30));
      ++syncs;
      if (!r.isOk()) {
        ++syncFailures;
        EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status();
        ASSERT_TRUE(faulty) << r.status();
      }
    }
    // Everything acknowledged is readable (reads go through the same connection).
    if (i % 25 == 24) {
      FaultyVfs::set(FaultyVfs::Mode::kOff);
      auto all = (*ds)->getAll();
      ASSERT_TRUE(all.isOk()) << all.status();
      check(*all, "after put " + std::to_string(i));
    }
  }
  FaultyVfs::set(FaultyVfs::Mode::kOff);
  {
    auto all = (*ds)->getAll();
    ASSERT_TRUE(all.isOk()) << all.status();
    check(*all, "at the end");
  }
  auto r = (*ds)->synchronizeAndWait({}, std::chrono::seconds(30));
  ASSERT_TRUE(r.isOk()) << "sync after the faults stopped: " << r.status();
  client.reset();
  ASSERT_EQ(integrityCheck(o.cachePath), "ok");
  std::printf("io errors (client): %lld injected faults, %d failed puts, %d of %d syncs failed, %zu keys\n",
              static_cast<long long>(FaultyVfs::injected() - injectedBefore), failures, syncFailures, syncs,
              acked.size());
  // A second device sees exactly the acknowledged values.
  ClientOptions second = o;
  second.cachePath = (dir / "second.db").string();
  auto reopened = Client::open(o);
  ASSERT_TRUE(reopened.isOk());
  second.identityId = (*reopened)->identityId();
  auto again = (*(*reopened)->openOrCreateDataset("d"))->getAll();
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, acked) << "the reopened cache lost acknowledged puts";
  auto other = Client::open(second);
  ASSERT_TRUE(other.isOk());
  auto od = (*other)->openOrCreateDataset("d");
  ASSERT_TRUE(od.isOk());
  ASSERT_TRUE((*od)->synchronizeAndWait({}, std::chrono::seconds(30)).isOk());
  EXPECT_EQ(*(*od)->getAll(), acked) << "the server does not have what the device acknowledged";
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace tether::testing::torture
