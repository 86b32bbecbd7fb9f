// SyncServiceTest: the fixture shared by the sync service tests: a real store (each test runs on
// SQLite and on PostgreSQL: TEST_P over tests/support/store_backend.h, instantiated in
// sync_service_test.cpp), a manual clock, fake session tokens, two callers, and helpers to pull
// and push.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store_backend.h"
#include "sync/sync_service.h"
#include "sync_fakes.h"
#include "tether/limits.h"

namespace tether::server::testing {

inline constexpr const char* kPool = "local:00000000-0000-0000-0000-00000000aaaa";
inline constexpr const char* kAliceId = "local:11111111-1111-1111-1111-111111111111";
inline constexpr const char* kBobId = "local:22222222-2222-2222-2222-222222222222";

// prefix + decimal n. (Not `"lit" + std::to_string(n)`: GCC 12 raises a false -Wrestrict.)
inline std::string numbered(std::string_view prefix, int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

inline RecordPatch put(std::string key, std::string value, int64_t syncCount, int64_t deviceMs = 5) {
  RecordPatch p;
  p.op = PatchOp::kReplace;
  p.key = std::move(key);
  p.value = std::move(value);
  p.syncCount = syncCount;
  p.deviceLastModifiedMs = deviceMs;
  return p;
}

inline RecordPatch del(std::string key, int64_t syncCount) {
  RecordPatch p;
  p.op = PatchOp::kRemove;
  p.key = std::move(key);
  p.syncCount = syncCount;
  p.deviceLastModifiedMs = 6;
  return p;
}

class SyncServiceTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto opened = tryOpenStore();
    ASSERT_TRUE(opened.isOk()) << opened.status();
    store_ = std::move(opened).value();
    service_ = std::make_unique<SyncService>(*store_, tokens_, clock_);
  }

  proto::ListRecordsResponse pull(const std::string& dataset, int64_t lastSyncCount = 0,
                                  const Caller* who = nullptr) {
    proto::ListRecordsRequest rq;
    rq.datasetName = dataset;
    rq.lastSyncCount = lastSyncCount;
    auto r = service_->listRecords(who ? *who : alice_, rq);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? std::move(r).value() : proto::ListRecordsResponse{};
  }

  std::string token(const std::string& dataset, const Caller* who = nullptr) {
    return pull(dataset, 0, who).syncSessionToken;
  }

  Result<proto::UpdateRecordsResponse> push(const std::string& dataset,
                                            std::vector<RecordPatch> patches,
                                            const Caller* who = nullptr,
                                            std::string deviceId = "device-1") {
    proto::UpdateRecordsRequest rq;
    rq.datasetName = dataset;
    rq.syncSessionToken = token(dataset, who);
    rq.deviceId = std::move(deviceId);
    rq.patches = std::move(patches);
    return service_->updateRecords(who ? *who : alice_, rq);
  }

  void mustPush(const std::string& dataset, std::vector<RecordPatch> patches) {
    auto r = push(dataset, std::move(patches));
    ASSERT_TRUE(r.isOk()) << r.status();
  }

  Result<proto::DescribeDatasetResponse> describe(const std::string& dataset,
                                                  const Caller* who = nullptr) {
    return service_->describeDataset(who ? *who : alice_, proto::DescribeDatasetRequest{dataset});
  }

  Result<proto::DeleteDatasetResponse> remove(const std::string& dataset,
                                              const Caller* who = nullptr) {
    return service_->deleteDataset(who ? *who : alice_, proto::DeleteDatasetRequest{dataset});
  }

  // Key -> value (nullopt = tombstone) as a full pull from 0 sees it.
  std::map<std::string, std::optional<std::string>> snapshot(const std::string& dataset) {
    std::map<std::string, std::optional<std::string>> out;
    for (const Record& r : pull(dataset).records) out[r.key] = r.value;
    return out;
  }

  ManualClock clock_;
  FakeSessionTokens tokens_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SyncService> service_;
  Caller alice_{kPool, kAliceId, ""};
  Caller bob_{kPool, kBobId, ""};
};


}  // namespace tether::server::testing
