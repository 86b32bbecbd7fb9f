// The storage contract of the Cognito Streams outbox and the changes feed on both backends
// (store_transaction.h, "meta and the Cognito Streams outbox"): meta read and written inside a
// transaction, append with the depth bound, order, delivery, rollback, stats, and feed positions
// with pruning. streams-integration drives the same methods through a real tetherd.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/store.h"
#include "store_backend.h"

namespace tether::server {
namespace {

const std::string kPool = "local:00000000-0000-0000-0000-0000000000aa";
const std::string kAlice = "local:00000000-0000-0000-0000-00000000a11c";

class OutboxStoreTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
  }

  OutboxEntry entry(const std::string& stream, const std::string& dataset, int64_t createdMs,
                    const std::string& json) {
    return OutboxEntry{0, stream, kPool, kAlice, dataset, createdMs, json};
  }

  // Appends in its own committed transaction.
  Status append(const OutboxEntry& e, int64_t maxDepth = 1000) {
    auto txn = store_->begin();
    if (!txn.isOk()) return txn.status();
    if (Status s = (*txn)->appendOutbox(e, maxDepth); !s.isOk()) return s;
    return (*txn)->commit();
  }

  std::vector<OutboxEntry> list(const std::string& stream, int limit = 100) {
    auto txn = store_->beginRead();
    EXPECT_TRUE(txn.isOk());
    Result<std::vector<OutboxEntry>> rows = (*txn)->listOutbox(stream, limit);
    EXPECT_TRUE(rows.isOk()) << rows.status();
    return rows.isOk() ? *rows : std::vector<OutboxEntry>{};
  }

  std::unique_ptr<Store> store_;
};
TETHER_INSTANTIATE_BACKENDS(OutboxStoreTest);

TEST_P(OutboxStoreTest, MetaIsReadAndWrittenInsideTheTransaction) {
  ASSERT_TRUE(store_->putMeta("streams/x", "old").isOk());
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    Result<std::optional<std::string>> v = (*txn)->getMetaForUpdate("streams/x");
    ASSERT_TRUE(v.isOk()) << v.status();
    EXPECT_EQ(*v, std::optional<std::string>("old"));
    ASSERT_TRUE((*txn)->putMeta("streams/x", "new").isOk());
    Result<std::optional<std::string>> seen = (*txn)->getMeta("streams/x");
    ASSERT_TRUE(seen.isOk());
    EXPECT_EQ(*seen, std::optional<std::string>("new"));
    Result<std::optional<std::string>> absent = (*txn)->getMeta("streams/none");
    ASSERT_TRUE(absent.isOk());
    EXPECT_FALSE(absent->has_value());
    // Rolled back: not committed.
  }
  EXPECT_EQ(*store_->getMeta("streams/x"), std::optional<std::string>("old"));
  {
    auto txn = store_->begin();
    ASSERT_TRUE((*txn)->putMeta("streams/x", "committed").isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  EXPECT_EQ(*store_->getMeta("streams/x"), std::optional<std::string>("committed"));
}

TEST_P(OutboxStoreTest, AppendsInOrderPerStreamAndDeliveryRemovesRows) {
  ASSERT_TRUE(append(entry("s1", "d", 100, "{\"n\":1}")).isOk());
  ASSERT_TRUE(append(entry("s2", "d", 110, "{\"n\":2}")).isOk());
  ASSERT_TRUE(append(entry("s1", "e", 120, "{\"n\":3}")).isOk());
  std::vector<OutboxEntry> s1 = list("s1");
  ASSERT_EQ(s1.size(), 2u);
  EXPECT_LT(s1[0].seq, s1[1].seq);
  EXPECT_EQ(s1[0].json, "{\"n\":1}");
  EXPECT_EQ(s1[0].poolId, kPool);
  EXPECT_EQ(s1[0].identityId, kAlice);
  EXPECT_EQ(s1[0].dataset, "d");
  EXPECT_EQ(s1[0].createdMs, 100);
  EXPECT_EQ(s1[1].json, "{\"n\":3}");
  EXPECT_EQ(list("s1", 1).size(), 1u);

  {
    auto txn = store_->beginRead();
    Result<std::vector<std::string>> streams = (*txn)->outboxStreams();
    ASSERT_TRUE(streams.isOk());
    EXPECT_EQ(*streams, (std::vector<std::string>{"s1", "s2"}));
    Result<OutboxStats> stats = (*txn)->outboxStats();
    ASSERT_TRUE(stats.isOk());
    EXPECT_EQ(stats->depth, 3);
    EXPECT_EQ(stats->oldestCreatedMs, 100);
  }
  {
    auto txn = store_->begin();
    std::vector<int64_t> delivered = {s1[0].seq, 987654321};  // an unknown seq is ignored
    ASSERT_TRUE((*txn)->deleteOutbox(delivered).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  ASSERT_EQ(list("s1").size(), 1u);
  EXPECT_EQ(list("s1")[0].json, "{\"n\":3}");
  auto txn = store_->beginRead();
  EXPECT_EQ((*txn)->outboxStats()->depth, 2);
  EXPECT_EQ((*txn)->outboxStats()->oldestCreatedMs, 110);
}

TEST_P(OutboxStoreTest, AnAppendRolledBackLeavesNothing) {
  {
    auto txn = store_->begin();
    ASSERT_TRUE((*txn)->appendOutbox(entry("s", "d", 1, "{}"), 10).isOk());
  }
  EXPECT_TRUE(list("s").empty());
  auto txn = store_->beginRead();
  EXPECT_EQ((*txn)->outboxStats()->depth, 0);
  EXPECT_TRUE((*txn)->outboxStreams()->empty());
}

TEST_P(OutboxStoreTest, AFullOutboxRefusesTheAppendAndAcceptsAgainAfterDelivery) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(append(entry("s", "d", i, "{}"), 3).isOk()) << i;
  Status full = append(entry("s", "d", 9, "{\"refused\":true}"), 3);
  EXPECT_EQ(full.code(), StatusCode::kTooManyRequests) << full;
  ASSERT_EQ(list("s").size(), 3u);
  {
    std::vector<int64_t> first = {list("s")[0].seq};
    auto txn = store_->begin();
    ASSERT_TRUE((*txn)->deleteOutbox(first).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  EXPECT_TRUE(append(entry("s", "d", 10, "{}"), 3).isOk());
}

TEST_P(OutboxStoreTest, FeedPositionsFollowAppendOrderAndPruneByAge) {
  {
    auto txn = store_->begin();
    std::vector<OutboxEntry> batch = {entry("f", "d", 100, "{\"a\":1}"), entry("f", "d", 200, "{\"a\":2}")};
    ASSERT_TRUE((*txn)->appendFeed(batch).isOk());
    std::vector<OutboxEntry> other = {entry("g", "d", 100, "{\"g\":1}")};
    ASSERT_TRUE((*txn)->appendFeed(other).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  {
    auto txn = store_->begin();
    std::vector<OutboxEntry> batch = {entry("f", "d", 300, "{\"a\":3}")};
    ASSERT_TRUE((*txn)->appendFeed(batch).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  auto read = store_->beginRead();
  EXPECT_EQ(*(*read)->lastFeedPosition("f"), 3);
  EXPECT_EQ(*(*read)->lastFeedPosition("g"), 1);
  EXPECT_EQ(*(*read)->lastFeedPosition("none"), 0);
  Result<std::vector<OutboxEntry>> all = (*read)->listFeed("f", 0, 100);
  ASSERT_TRUE(all.isOk());
  ASSERT_EQ(all->size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*all)[i].seq, i + 1);
  EXPECT_EQ((*all)[2].json, "{\"a\":3}");
  Result<std::vector<OutboxEntry>> after1 = (*read)->listFeed("f", 1, 1);
  ASSERT_EQ(after1->size(), 1u);
  EXPECT_EQ((*after1)[0].seq, 2);
  read->reset();

  auto txn = store_->begin();
  Result<int64_t> pruned = (*txn)->pruneFeed("f", 250);
  ASSERT_TRUE(pruned.isOk()) << pruned.status();
  EXPECT_EQ(*pruned, 2);
  ASSERT_TRUE((*txn)->commit().isOk());
  auto after = store_->beginRead();
  Result<std::vector<OutboxEntry>> left = (*after)->listFeed("f", 0, 100);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].seq, 3);
  EXPECT_EQ(*(*after)->lastFeedPosition("f"), 3);  // positions never restart
  EXPECT_EQ((*after)->listFeed("g", 0, 100)->size(), 1u);
}

}  // namespace
}  // namespace tether::server
