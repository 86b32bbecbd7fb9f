// SyncService: the 20-dataset, 1,024-record, 1 MB and 1,024-patch limits, exactly at and over
// each boundary, always rejected before anything is written.
#include "sync/sync_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sync_service_fixture.h"

namespace tether::server {
namespace {

using namespace ::tether::server::testing;  // NOLINT: test fixture and helpers

// ---- limits

TEST_P(SyncServiceTest, TwentyDatasetsAllowedTheTwentyFirstRejectedBeforeAnyWrite) {
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

TEST_P(SyncServiceTest, RecordLimitExactlyAtAndOverTheBoundary) {
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

TEST_P(SyncServiceTest, MoreThan1024PatchesInOneCallIsInvalid) {
  std::vector<RecordPatch> many;
  for (int i = 0; i <= kMaxPatchesPerBatch; ++i) many.push_back(put(numbered("k", i), "v", 0));
  EXPECT_EQ(push("d", many).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(pull("d").datasetExists);
}

TEST_P(SyncServiceTest, ByteLimitExactlyAtAndOverTheBoundary) {
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

TEST_P(SyncServiceTest, ByteLimitCountsUtf8BytesNotCharacters) {
  // 600,000 two-byte characters: a valid value (< 1,048,575 chars) but 1.2 MB.
  std::string value;
  for (int i = 0; i < 600000; ++i) value += "\xC3\xA9";
  auto r = push("d", {put("k", value, 0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_FALSE(pull("d").datasetExists);  // rejected before the dataset was created
}

}  // namespace
}  // namespace tether::server
