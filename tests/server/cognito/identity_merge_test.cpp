// Logins in the SQLite store and identity merging (auth/identity_merge.h), on a real file.
#include "auth/identity_merge.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "auth/session_token_signer.h"
#include "cognito/pool_page.h"
#include "storage/sqlite_store.h"
#include "store_backend.h"
#include "sync/sync_service.h"

namespace tether::server::cognito {
namespace {

constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kWinner = "local:aaaaaaaa-0000-0000-0000-000000000001";
constexpr const char* kLoser = "local:aaaaaaaa-0000-0000-0000-000000000002";

class ManualClock final : public Clock {
 public:
  int64_t nowMs() const override { return 1700000000000; }
};

// Runs on both store backends (tests/support/store_backend.h).
class IdentityMergeTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto s = tryOpenStore();
    ASSERT_TRUE(s.isOk()) << s.status();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->putPool(PoolInfo{kPool, "p", true, 1}).isOk());
    ASSERT_TRUE(store_->createIdentity(IdentityInfo{kWinner, kPool, 1, false}).isOk());
    ASSERT_TRUE(store_->createIdentity(IdentityInfo{kLoser, kPool, 2, false}).isOk());
    sync_ = std::make_unique<SyncService>(*store_, tokens_, clock_);
  }

  void write(const char* identity, const char* dataset, const char* key, const char* value) {
    Caller c{kPool, identity, "dev"};
    auto list = sync_->listRecords(c, proto::ListRecordsRequest{dataset, 0, 0, ""});
    ASSERT_TRUE(list.isOk()) << list.status();
    int64_t count = 0;
    for (const Record& r : list->records)
      if (r.key == key) count = r.syncCount;
    proto::UpdateRecordsRequest req{dataset, list->syncSessionToken, "dev",
                                    {RecordPatch{PatchOp::kReplace, key, value, count, 0}}};
    auto up = sync_->updateRecords(c, req);
    ASSERT_TRUE(up.isOk()) << up.status();
  }

  ManualClock clock_;
  SessionTokenSigner tokens_{std::string(32, 't')};
  std::unique_ptr<Store> store_;
  std::unique_ptr<SyncService> sync_;
};

TETHER_INSTANTIATE_BACKENDS(IdentityMergeTest);

TEST_P(IdentityMergeTest, LoginsLinkOnceAndMoveWithTheirIdentity) {
  ASSERT_TRUE(store_->linkLogin(LoginLink{kPool, "dev.app", "u1", kLoser}).isOk());
  EXPECT_TRUE(store_->linkLogin(LoginLink{kPool, "dev.app", "u1", kLoser}).isOk());  // idempotent
  EXPECT_EQ(store_->linkLogin(LoginLink{kPool, "dev.app", "u1", kWinner}).code(), StatusCode::kConflict);
  auto found = store_->findLogin(kPool, "dev.app", "u1");
  ASSERT_TRUE(found.isOk());
  EXPECT_EQ(*found, std::optional<std::string>(kLoser));
  EXPECT_EQ(store_->unlinkLogin(kWinner, "dev.app", "u1").code(), StatusCode::kNotFound);
  auto ids = store_->listIdentities(kPool, "", 1);
  ASSERT_TRUE(ids.isOk());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ((*ids)[0].id, kWinner);
  auto rest = store_->listIdentities(kPool, kWinner, 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id, kLoser);
}

TEST_P(IdentityMergeTest, MergeRenamesTheLosersDatasetsAndDisablesIt) {
  write(kWinner, "game", "level", "w");
  write(kLoser, "game", "level", "l");
  write(kLoser, "game", "score", "9");
  write(kLoser, "notes", "n", "x");
  ASSERT_TRUE(store_->linkLogin(LoginLink{kPool, "dev.app", "loser", kLoser}).isOk());

  ASSERT_TRUE(mergeIdentities(*store_, kPool, kWinner, kLoser, clock_.nowMs()).isOk());

  std::string merged = std::string("game.") + kLoser;
  auto game = sync_->listRecords(Caller{kPool, kWinner, ""}, proto::ListRecordsRequest{"game", 0, 0, ""});
  ASSERT_TRUE(game.isOk());
  EXPECT_EQ(game->mergedDatasetNames, std::vector<std::string>{merged});
  ASSERT_EQ(game->records.size(), 1u);
  EXPECT_EQ(game->records[0].value, "w");
  auto copy = sync_->listRecords(Caller{kPool, kWinner, ""}, proto::ListRecordsRequest{merged, 0, 0, ""});
  ASSERT_TRUE(copy.isOk());
  EXPECT_EQ(copy->records.size(), 2u);
  EXPECT_EQ(copy->datasetSyncCount, 1);
  auto datasets = sync_->listDatasets(Caller{kPool, kWinner, ""}, {});
  ASSERT_TRUE(datasets.isOk());
  EXPECT_EQ(datasets->datasets.size(), 3u);  // game, game.<L>, notes.<L>

  auto loserDatasets = sync_->listDatasets(Caller{kPool, kLoser, ""}, {});
  ASSERT_TRUE(loserDatasets.isOk());
  EXPECT_TRUE(loserDatasets->datasets.empty());
  auto loser = store_->getIdentity(kLoser);
  ASSERT_TRUE(loser.isOk());
  EXPECT_TRUE((*loser)->disabled);
  EXPECT_EQ(*store_->findLogin(kPool, "dev.app", "loser"), std::optional<std::string>(kWinner));
}

TEST_P(IdentityMergeTest, MergeMovesDevicesAndRefusesLaterWritesToTheLoser) {
  write(kLoser, "game", "level", "l");
  // The loser's device follows it; a device whose token the winner already has is dropped.
  auto moved = store_->registerDevice(DeviceInfo{kPool, kLoser, "local:dev-a", "GCM", "token-a", 1}, 64);
  ASSERT_TRUE(moved.isOk()) << moved.status();
  auto dup = store_->registerDevice(DeviceInfo{kPool, kLoser, "local:dev-b", "GCM", "token-b", 1}, 64);
  ASSERT_TRUE(dup.isOk()) << dup.status();
  auto kept = store_->registerDevice(DeviceInfo{kPool, kWinner, "local:dev-c", "GCM", "token-b", 1}, 64);
  ASSERT_TRUE(kept.isOk()) << kept.status();
  ASSERT_TRUE(store_->subscribeDevice(kPool, kLoser, *moved, "game", 100).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kLoser, *dup, "game", 100).isOk());

  // A session token the loser's device obtained before the merge.
  Caller loser{kPool, kLoser, "dev"};
  auto before = sync_->listRecords(loser, proto::ListRecordsRequest{"game", 0, 0, ""});
  ASSERT_TRUE(before.isOk());

  ASSERT_TRUE(mergeIdentities(*store_, kPool, kWinner, kLoser, clock_.nowMs()).isOk());

  auto dev = store_->getDevice(kPool, kWinner, *moved);
  ASSERT_TRUE(dev.isOk());
  ASSERT_TRUE(dev->has_value());
  EXPECT_EQ(*store_->listDeviceSubscriptions(kPool, kWinner, *moved), std::vector<std::string>{"game"});
  EXPECT_FALSE(store_->getDevice(kPool, kLoser, *dup)->has_value());
  EXPECT_FALSE(store_->getDevice(kPool, kWinner, *dup)->has_value());

  // Its still-valid session token cannot write into the retired identity, nor delete there.
  proto::UpdateRecordsRequest late{"game", before->syncSessionToken, "dev",
                                   {RecordPatch{PatchOp::kReplace, "level", "late", 0, 0}}};
  EXPECT_EQ(sync_->updateRecords(loser, late).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(sync_->deleteDataset(loser, proto::DeleteDatasetRequest{"game"}).status().code(),
            StatusCode::kUnauthenticated);
  auto datasets = sync_->listDatasets(loser, {});
  ASSERT_TRUE(datasets.isOk());
  EXPECT_TRUE(datasets->datasets.empty());
}

TEST_P(IdentityMergeTest, PoolsArePagedInIdOrder) {
  const std::vector<std::string> ids = {"local:00000000-0000-0000-0000-000000000003",
                                        "local:00000000-0000-0000-0000-000000000001",
                                        "local:00000000-0000-0000-0000-000000000002"};
  for (const std::string& id : ids) ASSERT_TRUE(store_->putPool(PoolInfo{id, "p", false, 5}).isOk());
  std::vector<std::string> seen;
  const std::string* after = nullptr;
  std::string token;
  int pages = 0;
  while (true) {
    auto page = pagePools(*store_, after, 2);
    ASSERT_TRUE(page.isOk()) << page.status();
    ASSERT_LE(page->pools.size(), 2u);
    for (const PoolInfo& p : page->pools) seen.push_back(p.id);
    ++pages;
    if (!page->nextToken) break;
    EXPECT_EQ(*page->nextToken, page->pools.back().id);
    token = *page->nextToken;
    after = &token;
  }
  // kPool ("local:1111...") sorts after the three zero-prefixed ones.
  EXPECT_EQ(seen, (std::vector<std::string>{ids[1], ids[2], ids[0], kPool}));
  EXPECT_EQ(pages, 2);
  auto none = pagePools(*store_, &seen.back(), 2);
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none->pools.empty());
  EXPECT_FALSE(none->nextToken.has_value());
}

TEST_P(IdentityMergeTest, DeleteIdentityRemovesItsDataAndLogins) {
  write(kLoser, "d", "k", "v");
  ASSERT_TRUE(store_->linkLogin(LoginLink{kPool, "dev.app", "x", kLoser}).isOk());
  ASSERT_TRUE(store_->deleteIdentity(kLoser).isOk());
  EXPECT_FALSE(store_->getIdentity(kLoser)->has_value());
  EXPECT_FALSE(store_->findLogin(kPool, "dev.app", "x")->has_value());
  auto usage = store_->poolUsage(kPool);
  ASSERT_TRUE(usage.isOk());
  EXPECT_EQ(usage->datasetCount, 0);
  EXPECT_EQ(store_->deleteIdentity(kLoser).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tether::server::cognito
