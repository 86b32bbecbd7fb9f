// SyncService: ListRecords and ListDatasets paging, NextToken validation, stability while
// writes happen between pages.
#include "sync/sync_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sync_service_fixture.h"

namespace tether::server {
namespace {

using namespace ::tether::server::testing;  // NOLINT: test fixture and helpers

// ---- paging

TEST_P(SyncServiceTest, PagesCarryTheSameDatasetFieldsAndCoverEveryRecordOnce) {
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

TEST_P(SyncServiceTest, PagingIsStableWhileWritesHappenBetweenPages) {
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

TEST_P(SyncServiceTest, ForgedOrMisappliedNextTokensAreInvalid) {
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

TEST_P(SyncServiceTest, PageSizeDefaultsAndClamps) {
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

TEST_P(SyncServiceTest, ListDatasetsPagesLiveDatasetsByName) {
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

}  // namespace
}  // namespace tether::server
