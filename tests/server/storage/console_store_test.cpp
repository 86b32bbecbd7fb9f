// Tests of the console part of the Store (store.h, "Console (issue 17)") on both backends:
// operators (create, duplicate, password change, delete, sign-in time), console sessions (create,
// touch, delete, pruning, ended with their operator), the audit log (ids increase, newest-first
// paging) and pool usage history (one row per bucket when two nodes sample it, pruning).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/store.h"
#include "store_backend.h"

namespace tether::server {
namespace {

const std::string kPool = "local:00000000-0000-0000-0000-0000000000aa";

class ConsoleStoreTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto s = tryOpenStore();
    ASSERT_TRUE(s.isOk()) << s.status();
    store_ = std::move(s).value();
  }
  std::unique_ptr<Store> store_;
};

TEST_P(ConsoleStoreTest, OperatorsCreateListChangeDelete) {
  ASSERT_TRUE(store_->createOperator({"bob", "$argon2id$b", 10, 0}).isOk());
  ASSERT_TRUE(store_->createOperator({"alice", "$argon2id$a", 20, 0}).isOk());
  EXPECT_EQ(store_->createOperator({"alice", "$argon2id$x", 30, 0}).code(), StatusCode::kConflict);

  auto list = store_->listOperators();
  ASSERT_TRUE(list.isOk()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], (OperatorRow{"alice", "$argon2id$a", 20, 0}));
  EXPECT_EQ((*list)[1].name, "bob");

  ASSERT_TRUE(store_->createConsoleSession({"h1", "alice", "csrf1", 1, 1, 1000}).isOk());
  ASSERT_TRUE(store_->setOperatorPassword("alice", "$argon2id$new").isOk());
  EXPECT_EQ((*store_->getOperator("alice"))->passwordHash, "$argon2id$new");
  EXPECT_FALSE((*store_->getConsoleSession("h1")).has_value()) << "a password change ends the sessions";
  EXPECT_EQ(store_->setOperatorPassword("nobody", "x").code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->recordOperatorSignIn("bob", 555).isOk());
  EXPECT_EQ((*store_->getOperator("bob"))->lastSignInMs, 555);
  EXPECT_EQ(store_->recordOperatorSignIn("nobody", 1).code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->createConsoleSession({"h2", "bob", "csrf2", 1, 1, 1000}).isOk());
  ASSERT_TRUE(store_->deleteOperator("bob").isOk());
  EXPECT_FALSE((*store_->getOperator("bob")).has_value());
  EXPECT_FALSE((*store_->getConsoleSession("h2")).has_value()) << "deleting an operator ends its sessions";
  EXPECT_EQ(store_->deleteOperator("bob").code(), StatusCode::kNotFound);
}

TEST_P(ConsoleStoreTest, SessionsTouchDeletePrune) {
  ASSERT_TRUE(store_->createOperator({"op", "$argon2id$", 1, 0}).isOk());
  ConsoleSessionRow a{"hash-a", "op", "tok-a", 100, 100, 10'000};
  ConsoleSessionRow b{"hash-b", "op", "tok-b", 100, 100, 500};
  ASSERT_TRUE(store_->createConsoleSession(a).isOk());
  ASSERT_TRUE(store_->createConsoleSession(b).isOk());
  EXPECT_EQ(store_->createConsoleSession(a).code(), StatusCode::kConflict);
  auto got = store_->getConsoleSession("hash-a");
  ASSERT_TRUE(got.isOk() && got->has_value());
  EXPECT_EQ(**got, a);

  ASSERT_TRUE(store_->touchConsoleSession("hash-a", 400).isOk());
  ASSERT_TRUE(store_->touchConsoleSession("hash-a", 300).isOk());  // never goes back
  EXPECT_EQ((*store_->getConsoleSession("hash-a"))->lastSeenMs, 400);
  EXPECT_EQ(store_->touchConsoleSession("nope", 1).code(), StatusCode::kNotFound);

  // Idle before 200: none but b (last seen 100); expired at 600: b. a stays.
  auto pruned = store_->pruneConsoleSessions(200, 600);
  ASSERT_TRUE(pruned.isOk()) << pruned.status();
  EXPECT_EQ(*pruned, 1);
  EXPECT_TRUE((*store_->getConsoleSession("hash-a")).has_value());
  EXPECT_FALSE((*store_->getConsoleSession("hash-b")).has_value());

  ASSERT_TRUE(store_->deleteConsoleSession("hash-a").isOk());
  EXPECT_FALSE((*store_->getConsoleSession("hash-a")).has_value());
  EXPECT_TRUE(store_->deleteConsoleSession("hash-a").isOk());
}

TEST_P(ConsoleStoreTest, AuditNewestFirstPaging) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = store_->appendAudit({0, 1000 + i, "op", "POST pools", "pool " + std::to_string(i), "d", "ok"});
    ASSERT_TRUE(id.isOk()) << id.status();
    if (!ids.empty()) EXPECT_GT(*id, ids.back());
    ids.push_back(*id);
  }
  auto page = store_->listAudit(0, 2);
  ASSERT_TRUE(page.isOk()) << page.status();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[4]);
  EXPECT_EQ((*page)[0].target, "pool 4");
  EXPECT_EQ((*page)[0].atMs, 1004);
  EXPECT_EQ((*page)[1].id, ids[3]);
  auto next = store_->listAudit((*page)[1].id, 10);
  ASSERT_TRUE(next.isOk());
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ((*next)[0].id, ids[2]);
  EXPECT_EQ((*next)[2], (AuditEntry{ids[0], 1000, "op", "POST pools", "pool 0", "d", "ok"}));
}

TEST_P(ConsoleStoreTest, UsageOneRowPerBucketAcrossNodesAndPrune) {
  ASSERT_TRUE(store_->putPool({kPool, "p", true, 1}).isOk());
  ASSERT_TRUE(store_->createIdentity({"local:00000000-0000-0000-0000-000000000001", kPool, 1, false}).isOk());
  ASSERT_TRUE(store_->createIdentity({"local:00000000-0000-0000-0000-000000000002", kPool, 1, true}).isOk());
  auto count = store_->countPoolIdentities(kPool);
  ASSERT_TRUE(count.isOk()) << count.status();
  EXPECT_EQ(*count, 2);
  EXPECT_EQ(*store_->countPoolIdentities("local:00000000-0000-0000-0000-0000000000bb"), 0);

  auto second = tryOpenStore();  // a second node on the same database
  ASSERT_TRUE(second.isOk()) << second.status();
  ASSERT_TRUE(store_->putUsageSample({kPool, 1000, 1, 2, 3}).isOk());
  ASSERT_TRUE((*second)->putUsageSample({kPool, 1000, 4, 5, 6}).isOk());
  ASSERT_TRUE(store_->putUsageSample({kPool, 2000, 7, 8, 9}).isOk());
  ASSERT_TRUE(store_->putUsageSample({"other", 2000, 1, 1, 1}).isOk());
  auto pts = store_->listUsageSamples(kPool, 0);
  ASSERT_TRUE(pts.isOk()) << pts.status();
  ASSERT_EQ(pts->size(), 2u);
  EXPECT_EQ((*pts)[0], (UsageSample{kPool, 1000, 4, 5, 6}));
  EXPECT_EQ((*pts)[1], (UsageSample{kPool, 2000, 7, 8, 9}));
  EXPECT_EQ(store_->listUsageSamples(kPool, 1500)->size(), 1u);

  auto pruned = store_->pruneUsageSamples(1500);
  ASSERT_TRUE(pruned.isOk());
  EXPECT_EQ(*pruned, 1);
  EXPECT_EQ(store_->listUsageSamples(kPool, 0)->size(), 1u);
}

TETHER_INSTANTIATE_BACKENDS(ConsoleStoreTest);

}  // namespace
}  // namespace tether::server
