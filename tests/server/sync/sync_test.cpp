// Tests of SyncService (Cognito Sync semantics) over a real SQLite store in a temp dir, with a
// manual clock and fake session tokens.
#include "sync/sync_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../storage/temp_dir.h"
#include "storage/sqlite_store.h"
#include "sync_fakes.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

using testing::FakeSessionTokens;
using testing::ManualClock;
using testing::TempDir;

constexpr const char* kPool = "local:00000000-0000-0000-0000-00000000aaaa";
constexpr const char* kAliceId = "local:11111111-1111-1111-1111-111111111111";
constexpr const char* kBobId = "local:22222222-2222-2222-2222-222222222222";

// prefix + decimal n. (Not `"lit" + std::to_string(n)`: GCC 12 raises a false -Wrestrict.)
std::string numbered(std::string_view prefix, int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

RecordPatch put(std::string key, std::string value, int64_t syncCount, int64_t deviceMs = 5) {
  RecordPatch p;
  p.op = PatchOp::kReplace;
  p.key = std::move(key);
  p.value = std::move(value);
  p.syncCount = syncCount;
  p.deviceLastModifiedMs = deviceMs;
  return p;
}

RecordPatch del(std::string key, int64_t syncCount) {
  RecordPatch p;
  p.op = PatchOp::kRemove;
  p.key = std::move(key);
  p.syncCount = syncCount;
  p.deviceLastModifiedMs = 6;
  return p;
}

class SyncServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = openSqliteStore(dir_.file("tether.db"));
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

  TempDir dir_;
  ManualClock clock_;
  FakeSessionTokens tokens_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SyncService> service_;
  Caller alice_{kPool, kAliceId, ""};
  Caller bob_{kPool, kBobId, ""};
};

// ---- ListRecords basics

TEST_F(SyncServiceTest, MissingDatasetListsEmptyWithATokenAndNoError) {
  auto r = pull("prefs", 0);
  EXPECT_TRUE(r.records.empty());
  EXPECT_FALSE(r.datasetExists);
  EXPECT_FALSE(r.datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(r.datasetSyncCount, 0);
  EXPECT_TRUE(r.mergedDatasetNames.empty());
  EXPECT_TRUE(r.nextToken.empty());
  EXPECT_TRUE(tokens_.verify(r.syncSessionToken, kPool, kAliceId, "prefs", clock_.nowMs()).isOk());
  EXPECT_FALSE(describe("prefs").isOk());
}

TEST_F(SyncServiceTest, FirstPushCreatesDatasetAndStampsRecords) {
  const int64_t t0 = clock_.nowMs();
  auto r = push("prefs", {put("theme", "dark", 0, 111), put("lang", "en", 0, 222)});
  ASSERT_TRUE(r.isOk()) << r.status();
  ASSERT_EQ(r->records.size(), 2u);
  EXPECT_EQ(r->records[0], (Record{"theme", "dark", 1, t0, "device-1", 111}));
  EXPECT_EQ(r->records[1], (Record{"lang", "en", 1, t0, "device-1", 222}));

  auto d = describe("prefs");
  ASSERT_TRUE(d.isOk()) << d.status();
  EXPECT_EQ(d->dataset, (DatasetMetadata{"prefs", t0, t0, "device-1", (5 + 4) + (4 + 2), 2, 1}));

  auto pulled = pull("prefs", 0);
  EXPECT_TRUE(pulled.datasetExists);
  EXPECT_EQ(pulled.datasetSyncCount, 1);
  EXPECT_EQ(pulled.lastModifiedBy, "device-1");
  ASSERT_EQ(pulled.records.size(), 2u);
  EXPECT_EQ(pulled.records[0].key, "lang");  // (syncCount, key) order
  EXPECT_EQ(pulled.records[1], r->records[0]);
}

TEST_F(SyncServiceTest, LastModifiedByFallsBackToCallerDeviceThenIdentity) {
  auto r = push("a", {put("k", "v", 0)}, nullptr, "");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->records[0].lastModifiedBy, kAliceId);
  Caller withDevice{kPool, kAliceId, "phone-7"};
  auto r2 = push("a", {put("k", "w", 1)}, &withDevice, "");
  ASSERT_TRUE(r2.isOk());
  EXPECT_EQ(r2->records[0].lastModifiedBy, "phone-7");
  EXPECT_EQ(describe("a")->dataset.lastModifiedBy, "phone-7");
}

TEST_F(SyncServiceTest, DatasetSyncCountRisesByOnePerBatchAndPullsReturnOnlyNewer) {
  mustPush("d", {put("a", "1", 0), put("b", "1", 0), put("c", "1", 0)});
  clock_.advanceMs(10);
  mustPush("d", {put("a", "2", 1), put("b", "2", 1)});
  clock_.advanceMs(10);
  mustPush("d", {put("a", "3", 2)});
  auto all = pull("d", 0);
  EXPECT_EQ(all.datasetSyncCount, 3);
  std::map<std::string, int64_t> counts;
  for (auto& r : all.records) counts[r.key] = r.syncCount;
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"a", 3}, {"b", 2}, {"c", 1}}));
  auto newer = pull("d", 1);
  ASSERT_EQ(newer.records.size(), 2u);
  EXPECT_EQ(newer.records[0].key, "b");
  EXPECT_EQ(newer.records[1].key, "a");
  EXPECT_TRUE(pull("d", 3).records.empty());
  EXPECT_EQ(pull("d", 3).datasetSyncCount, 3);
  EXPECT_TRUE(pull("d", 99).records.empty());
}

TEST_F(SyncServiceTest, ZeroPatchesWriteNothingButStillNeedAValidToken) {
  auto r = push("d", {});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_TRUE(r->records.empty());
  EXPECT_EQ(describe("d").status().code(), StatusCode::kNotFound);  // not created
  mustPush("d", {put("a", "1", 0)});
  ASSERT_TRUE(push("d", {}).isOk());
  EXPECT_EQ(pull("d").datasetSyncCount, 1);  // D unchanged

  proto::UpdateRecordsRequest rq;
  rq.datasetName = "d";
  rq.syncSessionToken = "garbage";
  EXPECT_EQ(service_->updateRecords(alice_, rq).status().code(), StatusCode::kInvalidArgument);
}

// ---- conflicts

TEST_F(SyncServiceTest, OneStalePatchRejectsTheWholeBatchAndWritesNothing) {
  mustPush("d", {put("a", "1", 0), put("b", "1", 0)});
  mustPush("d", {put("b", "2", 1)});
  auto before = pull("d");
  auto metaBefore = describe("d");
  ASSERT_TRUE(metaBefore.isOk());
  clock_.advanceMs(50);
  auto r = push("d", {put("a", "new", 1), put("b", "stale", 1), put("c", "new", 0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(), "Current SyncCount for: b is: 2 not: 1");
  auto after = pull("d");
  EXPECT_EQ(after.records, before.records);
  EXPECT_EQ(after.datasetSyncCount, 2);
  EXPECT_EQ(describe("d")->dataset, metaBefore->dataset);
}

TEST_F(SyncServiceTest, SyncCountAheadOfServerOrOnUnknownKeyIsAConflict) {
  mustPush("d", {put("a", "1", 0)});
  auto ahead = push("d", {put("a", "x", 5)});
  EXPECT_EQ(ahead.status().code(), StatusCode::kConflict);
  EXPECT_EQ(ahead.status().message(), "Current SyncCount for: a is: 1 not: 5");
  auto unknown = push("d", {put("zz", "x", 3)});
  EXPECT_EQ(unknown.status().code(), StatusCode::kConflict);
  EXPECT_EQ(unknown.status().message(), "Current SyncCount for: zz is: 0 not: 3");
  EXPECT_EQ(pull("d").datasetSyncCount, 1);
}

// ---- tombstones

TEST_F(SyncServiceTest, RemoveWritesATombstoneThatPullsReturnAndLimitsIgnore) {
  mustPush("d", {put("a", "12345", 0), put("b", "x", 0)});
  auto r = push("d", {del("a", 1)});
  ASSERT_TRUE(r.isOk()) << r.status();
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_FALSE(r->records[0].value.has_value());
  EXPECT_EQ(r->records[0].syncCount, 2);
  auto newer = pull("d", 1);
  ASSERT_EQ(newer.records.size(), 1u);
  EXPECT_EQ(newer.records[0].key, "a");
  EXPECT_TRUE(newer.records[0].isDeleted());
  auto all = pull("d", 0);
  EXPECT_EQ(all.records.size(), 2u);  // tombstones also for lastSyncCount 0
  auto meta = describe("d")->dataset;
  EXPECT_EQ(meta.numRecords, 1);
  EXPECT_EQ(meta.dataStorage, 2);
  // Re-adding the key uses the tombstone's sync count.
  EXPECT_EQ(push("d", {put("a", "back", 0)}).status().code(), StatusCode::kConflict);
  ASSERT_TRUE(push("d", {put("a", "back", 2)}).isOk());
  EXPECT_EQ(describe("d")->dataset.numRecords, 2);
}

TEST_F(SyncServiceTest, RemoveOfANeverSeenKeyIsAcceptedAsATombstone) {
  auto r = push("fresh", {del("ghost", 0)});
  ASSERT_TRUE(r.isOk()) << r.status();
  auto pulled = pull("fresh");
  EXPECT_TRUE(pulled.datasetExists);
  ASSERT_EQ(pulled.records.size(), 1u);
  EXPECT_TRUE(pulled.records[0].isDeleted());
  EXPECT_EQ(describe("fresh")->dataset.numRecords, 0);
  EXPECT_EQ(describe("fresh")->dataset.dataStorage, 0);
}

TEST_F(SyncServiceTest, ReplaceWithEmptyValueIsALiveRecord) {
  mustPush("d", {put("k", "", 0)});
  auto pulled = pull("d");
  ASSERT_EQ(pulled.records.size(), 1u);
  ASSERT_TRUE(pulled.records[0].value.has_value());
  EXPECT_EQ(describe("d")->dataset.numRecords, 1);
  EXPECT_EQ(describe("d")->dataset.dataStorage, 1);
}

// ---- limits

TEST_F(SyncServiceTest, TwentyDatasetsAllowedTheTwentyFirstRejectedBeforeAnyWrite) {
  for (int i = 0; i < kMaxDatasetsPerIdentity; ++i) mustPush(numbered("ds", i), {put("k", "v", 0)});
  auto r = push("one-too-many", {put("k", "v", 0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(describe("one-too-many").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(pull("one-too-many").datasetExists);
  EXPECT_EQ(service_->describeIdentityUsage(alice_)->datasetCount, 20);
  // Writes to existing datasets are still fine; a deleted dataset frees its slot.
  ASSERT_TRUE(push("ds0", {put("k", "v2", 1)}).isOk());
  ASSERT_TRUE(remove("ds3").isOk());
  ASSERT_TRUE(push("one-too-many", {put("k", "v", 0)}).isOk());
  EXPECT_EQ(push("ds3", {put("k", "v", 0)}).status().code(), StatusCode::kLimitExceeded);
  // Another identity has its own quota.
  EXPECT_TRUE(push("ds0", {put("k", "v", 0)}, &bob_).isOk());
}

TEST_F(SyncServiceTest, RecordLimitExactlyAtAndOverTheBoundary) {
  std::vector<RecordPatch> full;
  for (int i = 0; i < kMaxRecordsPerDataset; ++i) full.push_back(put(numbered("k", i), "v", 0));
  auto r = push("d", full);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(describe("d")->dataset.numRecords, 1024);
  auto over = push("d", {put("one-more", "v", 0)});
  ASSERT_FALSE(over.isOk());
  EXPECT_EQ(over.status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(pull("d").datasetSyncCount, 1);
  EXPECT_EQ(pull("d").records.size(), 1024u);
  // Replacing existing keys keeps the count; a tombstone frees a slot.
  ASSERT_TRUE(push("d", {put("k0", "w", 1)}).isOk());
  ASSERT_TRUE(push("d", {del("k1", 1), put("one-more", "v", 0)}).isOk());
  EXPECT_EQ(describe("d")->dataset.numRecords, 1024);
  // 1024 live + 1 tombstone: one more than a page holds.
  auto page1 = pull("d");
  EXPECT_EQ(page1.records.size(), 1024u);
  ASSERT_FALSE(page1.nextToken.empty());
  proto::ListRecordsRequest rq;
  rq.datasetName = "d";
  rq.nextToken = page1.nextToken;
  auto page2 = service_->listRecords(alice_, rq);
  ASSERT_TRUE(page2.isOk()) << page2.status();
  EXPECT_EQ(page2->records.size(), 1u);
  EXPECT_TRUE(page2->nextToken.empty());
}

TEST_F(SyncServiceTest, MoreThan1024PatchesInOneCallIsInvalid) {
  std::vector<RecordPatch> many;
  for (int i = 0; i <= kMaxPatchesPerBatch; ++i) many.push_back(put(numbered("k", i), "v", 0));
  EXPECT_EQ(push("d", many).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(pull("d").datasetExists);
}

TEST_F(SyncServiceTest, ByteLimitExactlyAtAndOverTheBoundary) {
  // "k" (1 byte) + 1,048,575 bytes of value = exactly 1,048,576.
  const std::string big(static_cast<size_t>(kMaxDatasetBytes - 1), 'x');
  ASSERT_TRUE(push("d", {put("k", big, 0)}).isOk());
  EXPECT_EQ(describe("d")->dataset.dataStorage, kMaxDatasetBytes);
  auto over = push("d", {put("j", "", 0)});  // one more byte
  ASSERT_FALSE(over.isOk());
  EXPECT_EQ(over.status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(pull("d").datasetSyncCount, 1);
  // Shrinking and adding in one batch is judged on the result.
  ASSERT_TRUE(push("d", {put("k", big.substr(1), 1), put("j", "", 0)}).isOk());
  EXPECT_EQ(describe("d")->dataset.dataStorage, kMaxDatasetBytes);
}

TEST_F(SyncServiceTest, ByteLimitCountsUtf8BytesNotCharacters) {
  // 600,000 two-byte characters: a valid value (< 1,048,575 chars) but 1.2 MB.
  std::string value;
  for (int i = 0; i < 600000; ++i) value += "\xC3\xA9";
  auto r = push("d", {put("k", value, 0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_FALSE(pull("d").datasetExists);  // rejected before the dataset was created
}

// ---- delete + re-create

TEST_F(SyncServiceTest, DeleteReturnsMetadataBeforeDeletionAndDescribeThenFails) {
  const int64_t t0 = clock_.nowMs();
  mustPush("d", {put("a", "1", 0), put("b", "22", 0)});
  clock_.advanceMs(1000);
  auto del = remove("d");
  ASSERT_TRUE(del.isOk()) << del.status();
  EXPECT_EQ(del->dataset, (DatasetMetadata{"d", t0, t0, "device-1", 5, 2, 1}));
  EXPECT_EQ(describe("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(remove("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(remove("never").status().code(), StatusCode::kNotFound);
  proto::ListDatasetsRequest lrq;
  EXPECT_TRUE(service_->listDatasets(alice_, lrq)->datasets.empty());
}

TEST_F(SyncServiceTest, SyncCountStaysMonotonicAcrossDeleteAndRecreate) {
  mustPush("d", {put("a", "1", 0)});
  mustPush("d", {put("a", "2", 1)});  // D = 2
  ASSERT_TRUE(remove("d").isOk());   // deletion consumes 3

  auto gone = pull("d", 0);
  EXPECT_FALSE(gone.datasetExists);
  EXPECT_FALSE(gone.datasetDeletedAfterRequestedSyncCount);  // N = 0: nothing to invalidate
  EXPECT_EQ(gone.datasetSyncCount, 3);
  EXPECT_TRUE(gone.records.empty());
  EXPECT_TRUE(pull("d", 2).datasetDeletedAfterRequestedSyncCount);   // deletedAt 3 > 2
  EXPECT_FALSE(pull("d", 3).datasetDeletedAfterRequestedSyncCount);  // boundary: 3 > 3 false

  // Re-creation continues from D; old keys start over at 0.
  auto r = push("d", {put("a", "fresh", 0)});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->records[0].syncCount, 4);
  auto back = pull("d", 2);
  EXPECT_TRUE(back.datasetExists);
  EXPECT_TRUE(back.datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(back.datasetSyncCount, 4);
  ASSERT_EQ(back.records.size(), 1u);
  EXPECT_EQ(*back.records[0].value, "fresh");
  EXPECT_FALSE(pull("d", 3).datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(describe("d")->dataset.numRecords, 1);
  EXPECT_EQ(describe("d")->dataset.creationMs, clock_.nowMs());

  ASSERT_TRUE(remove("d").isOk());  // deletedAt = 5
  EXPECT_TRUE(pull("d", 4).datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(pull("d", 0).datasetSyncCount, 5);
}

// ---- session tokens

TEST_F(SyncServiceTest, SessionTokenIsBoundToPoolIdentityDatasetAndExpiry) {
  mustPush("d", {put("a", "1", 0)});
  const std::string good = token("d");
  auto tryWith = [this](const Caller& who, const std::string& dataset, const std::string& tok) {
    proto::UpdateRecordsRequest rq;
    rq.datasetName = dataset;
    rq.syncSessionToken = tok;
    rq.patches = {put("z", "1", 0)};
    return service_->updateRecords(who, rq).status();
  };
  const std::string kMsg = "SyncSessionToken not valid for these inputs";
  Status s = tryWith(alice_, "d", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), kMsg);
  EXPECT_EQ(tryWith(alice_, "other", good).message(), kMsg);
  EXPECT_EQ(tryWith(bob_, "d", good).message(), kMsg);
  Caller otherPool{"local:00000000-0000-0000-0000-00000000bbbb", kAliceId, ""};
  EXPECT_EQ(tryWith(otherPool, "d", good).message(), kMsg);
  EXPECT_EQ(pull("d").datasetSyncCount, 1);  // none of those wrote

  clock_.advanceMs(FakeSessionTokens::kLifetimeMs - 1);
  EXPECT_TRUE(tryWith(alice_, "d", good).isOk());  // reusable within its lifetime
  clock_.advanceMs(1);
  EXPECT_EQ(tryWith(alice_, "d", good).message(), kMsg);
}

// ---- paging

TEST_F(SyncServiceTest, PagesCarryTheSameDatasetFieldsAndCoverEveryRecordOnce) {
  std::vector<RecordPatch> first;
  for (int i = 0; i < 6; ++i) first.push_back(put(numbered("a", i), "v", 0));
  mustPush("d", first);
  std::vector<RecordPatch> second;
  for (int i = 0; i < 4; ++i) second.push_back(put(numbered("b", i), "v", 0));
  mustPush("d", second);
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(OwnerRef{kPool, kAliceId}, "d", "d.local:99").isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  proto::ListRecordsRequest rq;
  rq.datasetName = "d";
  rq.maxResults = 3;
  std::vector<std::string> keys;
  std::vector<size_t> sizes;
  int pages = 0;
  while (true) {
    auto r = service_->listRecords(alice_, rq);
    ASSERT_TRUE(r.isOk()) << r.status();
    ++pages;
    EXPECT_EQ(r->datasetSyncCount, 2);
    EXPECT_TRUE(r->datasetExists);
    EXPECT_EQ(r->lastModifiedBy, "device-1");
    EXPECT_EQ(r->mergedDatasetNames, (std::vector<std::string>{"d.local:99"}));
    EXPECT_FALSE(r->syncSessionToken.empty());
    sizes.push_back(r->records.size());
    for (auto& rec : r->records) keys.push_back(rec.key);
    if (r->nextToken.empty()) break;
    rq.nextToken = r->nextToken;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 1}));
  EXPECT_EQ(keys, (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4", "a5", "b0", "b1", "b2",
                                            "b3"}));
}

TEST_F(SyncServiceTest, PagingIsStableWhileWritesHappenBetweenPages) {
  std::vector<RecordPatch> seed;
  for (int i = 0; i < 8; ++i) seed.push_back(put(numbered("k", i), "v1", 0));
  mustPush("d", seed);                                   // D = 1
  mustPush("d", {put("k0", "v2", 1), put("k7", "v2", 1)});  // D = 2

  proto::ListRecordsRequest rq;
  rq.datasetName = "d";
  rq.maxResults = 3;
  auto p1 = service_->listRecords(alice_, rq);
  ASSERT_TRUE(p1.isOk());
  const int64_t pinned = p1->datasetSyncCount;
  ASSERT_EQ(pinned, 2);
  std::map<std::string, Record> client;  // what a client applying the pages would hold
  for (auto& r : p1->records) client[r.key] = r;

  // Between pages: change a record not yet returned, delete one, add a new one.
  mustPush("d", {put("k5", "v3", 1), del("k6", 1), put("new", "v3", 0)});  // D = 3

  rq.nextToken = p1->nextToken;
  std::set<std::string> seen;
  for (auto& r : p1->records) seen.insert(r.key);
  while (!rq.nextToken.empty()) {
    auto p = service_->listRecords(alice_, rq);
    ASSERT_TRUE(p.isOk()) << p.status();
    EXPECT_EQ(p->datasetSyncCount, pinned);  // pinned, not the new 3
    for (auto& r : p->records) {
      EXPECT_LE(r.syncCount, pinned);
      EXPECT_TRUE(seen.insert(r.key).second) << "duplicate " << r.key;
      client[r.key] = r;
    }
    rq.nextToken = p->nextToken;
  }
  // The next sync from the pinned count brings the rest; together they equal the server state.
  auto rest = pull("d", pinned);
  EXPECT_EQ(rest.datasetSyncCount, 3);
  for (auto& r : rest.records) client[r.key] = r;
  std::map<std::string, Record> server;
  for (auto& r : pull("d", 0).records) server[r.key] = r;
  EXPECT_EQ(client, server);
}

TEST_F(SyncServiceTest, ForgedOrMisappliedNextTokensAreInvalid) {
  std::vector<RecordPatch> seed;
  for (int i = 0; i < 5; ++i) seed.push_back(put(numbered("k", i), "v", 0));
  mustPush("d", seed);
  mustPush("e", seed);
  proto::ListRecordsRequest rq;
  rq.datasetName = "d";
  rq.maxResults = 2;
  auto p1 = service_->listRecords(alice_, rq);
  ASSERT_TRUE(p1.isOk());
  ASSERT_FALSE(p1->nextToken.empty());
  const std::string good = p1->nextToken;

  auto tryToken = [this](const Caller& who, std::string dataset, int64_t last, std::string t) {
    proto::ListRecordsRequest q;
    q.datasetName = std::move(dataset);
    q.lastSyncCount = last;
    q.maxResults = 2;
    q.nextToken = std::move(t);
    return service_->listRecords(who, q).status();
  };
  EXPECT_TRUE(tryToken(alice_, "d", 0, good).isOk());
  EXPECT_EQ(tryToken(alice_, "d", 0, "garbage").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tryToken(alice_, "e", 0, good).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tryToken(bob_, "d", 0, good).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tryToken(alice_, "d", 1, good).code(), StatusCode::kInvalidArgument);
  std::string flipped = good;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(tryToken(alice_, "d", 0, flipped).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tryToken(alice_, "d", 0, good + "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tryToken(alice_, "d", 0, std::string(100000, 'A')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tryToken(alice_, "d", 0, std::string("t1.\0\0.", 6)).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SyncServiceTest, PageSizeDefaultsAndClamps) {
  std::vector<RecordPatch> seed;
  for (int i = 0; i < 10; ++i) seed.push_back(put(numbered("k", i), "v", 0));
  mustPush("d", seed);
  proto::ListRecordsRequest rq;
  rq.datasetName = "d";
  rq.maxResults = 5000;  // above the maximum: clamped, not an error
  auto r = service_->listRecords(alice_, rq);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->records.size(), 10u);
  EXPECT_TRUE(r->nextToken.empty());
  EXPECT_EQ(kDefaultRecordsPageSize, 1024u);
  EXPECT_EQ(kMaxRecordsPageSize, 1024u);
}

TEST_F(SyncServiceTest, ListDatasetsPagesLiveDatasetsByName) {
  for (int i = 0; i < 20; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "ds%02d", i);
    mustPush(name, {put("k", "v", 0)});
  }
  ASSERT_TRUE(remove("ds05").isOk());
  proto::ListDatasetsRequest rq;
  auto all = service_->listDatasets(alice_, rq);
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(all->datasets.size(), 19u);
  EXPECT_TRUE(all->nextToken.empty());
  rq.maxResults = 7;
  std::vector<std::string> names;
  std::vector<size_t> sizes;
  while (true) {
    auto page = service_->listDatasets(alice_, rq);
    ASSERT_TRUE(page.isOk()) << page.status();
    sizes.push_back(page->datasets.size());
    for (auto& d : page->datasets) names.push_back(d.name);
    if (page->nextToken.empty()) break;
    rq.nextToken = page->nextToken;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{7, 7, 5}));
  EXPECT_EQ(names.size(), 19u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::count(names.begin(), names.end(), "ds05"), 0);
  EXPECT_EQ(all->datasets.front(),
            (DatasetMetadata{"ds00", clock_.nowMs(), clock_.nowMs(), "device-1", 2, 1, 1}));

  rq.nextToken = "not-a-token";
  EXPECT_EQ(service_->listDatasets(alice_, rq).status().code(), StatusCode::kInvalidArgument);
  rq.nextToken = service_->listDatasets(alice_, proto::ListDatasetsRequest{7, ""})->nextToken;
  EXPECT_EQ(service_->listDatasets(bob_, rq).status().code(), StatusCode::kInvalidArgument);
}

// ---- identity isolation

TEST_F(SyncServiceTest, IdentitiesNeverSeeEachOthersData) {
  mustPush("shared-name", {put("secret", "alice", 0)});
  auto bobView = pull("shared-name", 0, &bob_);
  EXPECT_FALSE(bobView.datasetExists);
  EXPECT_TRUE(bobView.records.empty());
  EXPECT_EQ(bobView.datasetSyncCount, 0);
  EXPECT_EQ(describe("shared-name", &bob_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(remove("shared-name", &bob_).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->listDatasets(bob_, {})->datasets.empty());
  EXPECT_EQ(service_->describeIdentityUsage(bob_)->datasetCount, 0);
  // Bob writing the same name creates his own dataset at count 1, with no conflict.
  auto r = push("shared-name", {put("secret", "bob", 0)}, &bob_);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->records[0].syncCount, 1);
  EXPECT_EQ(*snapshot("shared-name")["secret"], "alice");
  // Same identity id in another pool: separate data.
  Caller elsewhere{"local:00000000-0000-0000-0000-00000000cccc", kAliceId, ""};
  EXPECT_FALSE(pull("shared-name", 0, &elsewhere).datasetExists);
}

// ---- validation

TEST_F(SyncServiceTest, InvalidInputsAreRejectedAndWriteNothing) {
  mustPush("d", {put("a", "1", 0)});
  auto expectInvalid = [this](std::vector<RecordPatch> patches, std::string dataset = "d",
                              std::string device = "device-1") {
    auto r = push(dataset, std::move(patches), nullptr, std::move(device));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  };
  expectInvalid({put("", "v", 0)});                                // empty key
  expectInvalid({put(std::string(1025, 'k'), "v", 0)});           // key too long
  expectInvalid({put("bad\xFF", "v", 0)});                         // key not UTF-8
  expectInvalid({put("ok", "bad\xC0\x80", 0)});                    // overlong encoding
  expectInvalid({put("ok", "\xED\xA0\x80", 0)});                   // surrogate
  expectInvalid({put("ok", std::string(kMaxRecordValueChars + 1, 'v'), 0)});
  expectInvalid({put("ok", "v", -1)});                             // negative count
  expectInvalid({put("dup", "1", 0), put("dup", "2", 0)});         // duplicate key
  expectInvalid({put("dup", "1", 0), del("dup", 0)});
  RecordPatch weird = put("ok", "v", 0);
  weird.op = static_cast<PatchOp>(7);
  expectInvalid({weird});
  expectInvalid({put("ok", "v", 0)}, "d", std::string(257, 'x'));  // device id too long
  expectInvalid({put("ok", "v", 0)}, "d", "bad\xFF");
  EXPECT_EQ(pull("d").datasetSyncCount, 1);
  EXPECT_EQ(pull("d").records.size(), 1u);

  // Dataset names: every operation checks them.
  for (std::string bad : {std::string(), std::string(129, 'n'), std::string("has space"),
                          std::string("slash/"), std::string("\xC3\xA9")}) {
    proto::ListRecordsRequest lr;
    lr.datasetName = bad;
    EXPECT_EQ(service_->listRecords(alice_, lr).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(describe(bad).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(remove(bad).status().code(), StatusCode::kInvalidArgument);
    proto::UpdateRecordsRequest ur;
    ur.datasetName = bad;
    ur.syncSessionToken = tokens_.issue(kPool, kAliceId, bad, clock_.nowMs());
    ur.patches = {put("k", "v", 0)};
    EXPECT_EQ(service_->updateRecords(alice_, ur).status().code(), StatusCode::kInvalidArgument);
  }
  proto::ListRecordsRequest negative;
  negative.datasetName = "d";
  negative.lastSyncCount = -1;
  EXPECT_EQ(service_->listRecords(alice_, negative).status().code(), StatusCode::kInvalidArgument);

  // Caller IDs are checked too.
  Caller badPool{"nocolon", kAliceId, ""};
  Caller badIdentity{kPool, "local:UPPERCASE", ""};
  Caller badDevice{kPool, kAliceId, std::string(300, 'd')};
  for (const Caller* c : {&badPool, &badIdentity, &badDevice}) {
    EXPECT_EQ(service_->listDatasets(*c, {}).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(service_->describeIdentityUsage(*c).status().code(), StatusCode::kInvalidArgument);
    proto::ListRecordsRequest lr;
    lr.datasetName = "d";
    EXPECT_EQ(service_->listRecords(*c, lr).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(SyncServiceTest, LongMultibyteKeysAndMergedStyleNamesAreValid) {
  std::string key;
  for (int i = 0; i < 1024; ++i) key += "\xF0\x9F\x98\x80";  // 1024 chars, 4096 bytes
  ASSERT_TRUE(push("prefs.local:abc-123", {put(key, "v", 0)}).isOk());
  EXPECT_EQ(describe("prefs.local:abc-123")->dataset.dataStorage, 4097);
}

// ---- merged datasets

TEST_F(SyncServiceTest, MergedNamesAreReportedUntilTheMergedDatasetIsDeleted) {
  const OwnerRef alice{kPool, kAliceId};
  const std::string merged = std::string("prefs.") + kBobId;
  mustPush(merged, {put("k", "from-bob", 0)});
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(alice, "prefs", merged).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  // Reported even before "prefs" itself exists, and on later pulls.
  EXPECT_EQ(pull("prefs").mergedDatasetNames, (std::vector<std::string>{merged}));
  mustPush("prefs", {put("k", "mine", 0)});
  EXPECT_EQ(pull("prefs", 1).mergedDatasetNames, (std::vector<std::string>{merged}));
  EXPECT_TRUE(pull(merged).mergedDatasetNames.empty());
  EXPECT_TRUE(pull("prefs", 0, &bob_).mergedDatasetNames.empty());
  ASSERT_TRUE(remove(merged).isOk());
  EXPECT_TRUE(pull("prefs").mergedDatasetNames.empty());
}

// ---- usage

TEST_F(SyncServiceTest, IdentityUsageSumsLiveDatasetsAndTracksLastChange) {
  auto empty = service_->describeIdentityUsage(alice_);
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(empty->identityId, kAliceId);
  EXPECT_EQ(empty->identityPoolId, kPool);
  EXPECT_EQ(empty->datasetCount, 0);
  EXPECT_EQ(empty->lastModifiedMs, 0);
  mustPush("a", {put("k", "123", 0)});          // 4 bytes
  clock_.advanceMs(100);
  mustPush("b", {put("kk", "12345678", 0)});    // 10 bytes
  mustPush("c", {put("x", "y", 0)});
  auto u = service_->describeIdentityUsage(alice_);
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->datasetCount, 3);
  EXPECT_EQ(u->dataStorage, 16);
  EXPECT_EQ(u->lastModifiedMs, clock_.nowMs());
  clock_.advanceMs(100);
  ASSERT_TRUE(remove("b").isOk());
  u = service_->describeIdentityUsage(alice_);
  EXPECT_EQ(u->datasetCount, 2);
  EXPECT_EQ(u->dataStorage, 6);
  EXPECT_EQ(u->lastModifiedMs, clock_.nowMs());  // the deletion is the latest change
}

// ---- concurrency

// The server serializes one identity's requests on a strand; a mutex stands in for it here.
TEST_F(SyncServiceTest, SerializedBatchesFromManyThreadsLoseNoUpdate) {
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
TEST_F(SyncServiceTest, UnserializedRacingBatchesConflictAndRetryWithoutLoss) {
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

TEST_F(SyncServiceTest, DifferentIdentitiesWriteInParallel) {
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
