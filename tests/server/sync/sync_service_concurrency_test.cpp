// SyncService under concurrency: batches from several threads (serialized as the server's
// per-identity strand does, and unserialized) lose no update.
#include "sync/sync_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sync_service_fixture.h"

namespace tether::server {
namespace {

using namespace ::tether::server::testing;  // NOLINT: test fixture and helpers

// ---- concurrency

// The server serializes one identity's requests on a strand; a mutex stands in for it here.
TEST_P(SyncServiceTest, SerializedBatchesFromManyThreadsLoseNoUpdate) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 25;
  std::mutex strand;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard<std::mutex> lock(strand);
        proto::ListRecordsRequest lr;
        lr.datasetName = "counter";
        auto pulled = service_->listRecords(alice_, lr);
        if (!pulled.isOk()) { ++failures; continue; }
        int64_t value = 0, count = 0;
        for (auto& r : pulled->records)
          if (r.key == "n") { value = std::stoll(*r.value); count = r.syncCount; }
        proto::UpdateRecordsRequest ur;
        ur.datasetName = "counter";
        ur.syncSessionToken = pulled->syncSessionToken;
        ur.deviceId = "thread-" + std::to_string(t);
        // Also a per-thread key, carrying the sync count this thread's last write got.
        const std::string mine = numbered("t", t);
        int64_t mineCount = 0;
        for (auto& r : pulled->records)
          if (r.key == mine) mineCount = r.syncCount;
        ur.patches = {put("n", std::to_string(value + 1), count),
                      put(mine, std::to_string(i), mineCount)};
        if (!service_->updateRecords(alice_, ur).isOk()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto final = pull("counter");
  EXPECT_EQ(final.datasetSyncCount, kThreads * kRounds);
  auto snap = snapshot("counter");
  EXPECT_EQ(*snap["n"], std::to_string(kThreads * kRounds));
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(*snap[numbered("t", t)], std::to_string(kRounds - 1));
}

// Without any outside serialization the store transaction still makes read-check-write atomic:
// racing batches conflict and retry, and none is lost.
TEST_P(SyncServiceTest, UnserializedRacingBatchesConflictAndRetryWithoutLoss) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 15;
  std::atomic<int> failures{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        for (int attempt = 0;; ++attempt) {
          if (attempt > 1000) { ++failures; break; }
          proto::ListRecordsRequest lr;
          lr.datasetName = "counter";
          auto pulled = service_->listRecords(alice_, lr);
          if (!pulled.isOk()) { ++failures; break; }
          int64_t value = 0, count = 0;
          for (auto& r : pulled->records) { value = std::stoll(*r.value); count = r.syncCount; }
          proto::UpdateRecordsRequest ur;
          ur.datasetName = "counter";
          ur.syncSessionToken = pulled->syncSessionToken;
          ur.patches = {put("n", std::to_string(value + 1), count)};
          auto r = service_->updateRecords(alice_, ur);
          if (r.isOk()) break;
          if (r.status().code() != StatusCode::kConflict) { ++failures; break; }
          ++conflicts;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*snapshot("counter")["n"], std::to_string(kThreads * kIncrements));
  EXPECT_EQ(pull("counter").datasetSyncCount, kThreads * kIncrements);  // conflicts wrote nothing
}

TEST_P(SyncServiceTest, DifferentIdentitiesWriteInParallel) {
  constexpr int kIdentities = 4;
  constexpr int kBatches = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<Caller> callers;
  for (int t = 0; t < kIdentities; ++t)
    callers.push_back(Caller{kPool, numbered("local:0000000", t), ""});
  for (int t = 0; t < kIdentities; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        auto r = push("d", {put("k", std::to_string(i), i)}, &callers[static_cast<size_t>(t)]);
        if (!r.isOk()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (auto& c : callers) {
    auto r = pull("d", 0, &c);
    EXPECT_EQ(r.datasetSyncCount, kBatches);
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(*r.records[0].value, std::to_string(kBatches - 1));
  }
}

}  // namespace
}  // namespace tether::server
