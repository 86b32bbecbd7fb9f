// Erasure (issue 16, point 4): Store::deleteIdentity removes every trace of an identity. An
// identity gets records, tombstones, a deleted dataset, merged relations, logins, devices with
// subscriptions and Cognito Streams outbox and feed rows (which carry its record values); after
// the delete, the raw database (SQLite through the sqlite3 API, PostgreSQL through libpq) is read
// table by table, column by column — every table there is, so one added later is covered too —
// and no value may mention the identity's ID or its record values. A second identity's rows are
// untouched (and prove the scan sees data at all). Both backends.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raw_db_scan.h"
#include "storage/store.h"
#include "store_backend.h"

namespace tether::server {
namespace {

const std::string kPool = "local:00000000-0000-0000-0000-0000000000aa";
const std::string kAlice = "local:00000000-0000-0000-0000-00000000a11c";
const std::string kBob = "local:00000000-0000-0000-0000-000000000b0b";
const std::string kAliceSecret = "alice-private-value-7f3e";

class ForgetTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->putPool({kPool, "p", true, 1}).isOk());
  }

  // Everything an identity can own, written through the Store API as the services write it.
  void populate(const std::string& id, const std::string& tag) {
    ASSERT_TRUE(store_->createIdentity({id, kPool, 10, false}).isOk());
    ASSERT_TRUE(store_->linkLogin({kPool, "accounts.example.com", "subject-" + tag, id}).isOk());
    ASSERT_TRUE(store_->linkLogin({kPool, "login.dev", "dev-" + tag, id}).isOk());
    auto dev = store_->registerDevice({kPool, id, "device-" + tag, "GCM", "token-" + tag, 20}, 10);
    ASSERT_TRUE(dev.isOk()) << dev.status();
    ASSERT_TRUE(store_->subscribeDevice(kPool, id, "device-" + tag, "settings", 10).isOk());
    OwnerRef owner{kPool, id};
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk()) << txn.status();
    DatasetRow settings{"settings", 3, true, std::nullopt, 30, 40, id, 50, 1};
    ASSERT_TRUE((*txn)->putDataset(owner, settings).isOk());
    std::vector<Record> records = {{"color", tag + "-" + kAliceSecret, 1, 40, id, 41},
                                   {"gone", std::nullopt, 3, 42, id, 43}};
    ASSERT_TRUE((*txn)->putRecords(owner, "settings", records).isOk());
    DatasetRow old{"old", 2, false, 2, 30, 44, id, 0, 0};
    ASSERT_TRUE((*txn)->putDataset(owner, old).isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(owner, "settings", "settings.merged-from-" + tag).isOk());
    OutboxEntry e{0, "stream", kPool, id, "settings", 45,
                  R"({"identityId":")" + id + R"(","value":")" + tag + "-" + kAliceSecret + R"("})"};
    ASSERT_TRUE((*txn)->appendOutbox(e, 1000).isOk());
    ASSERT_TRUE((*txn)->appendFeed(std::vector<OutboxEntry>{e}).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }

  // Every value of every table in the test's database, as text (raw_db_scan.h).
  std::vector<std::string> rawValues() {
    return postgres() ? tether::testing::rawPgValues(pgConninfo_, pgSchema_)
                      : tether::testing::rawSqliteValues(sqliteDir_ / "tether.db");
  }

  std::unique_ptr<Store> store_;
};
TETHER_INSTANTIATE_BACKENDS(ForgetTest);

TEST_P(ForgetTest, DeleteIdentityLeavesNoRowMentioningIt) {
  populate(kAlice, "alice");
  populate(kBob, "bob");
  auto mentions = [&](const std::string& needle) {
    std::vector<std::string> hits;
    for (const std::string& v : rawValues())
      if (v.find(needle) != std::string::npos) hits.push_back(v);
    return hits;
  };
  ASSERT_FALSE(mentions(kAlice).empty());  // the scan sees the identity before
  ASSERT_TRUE(store_->deleteIdentity(kAlice).isOk());

  std::vector<std::string> left = mentions(kAlice);
  for (const std::string& hit : mentions("alice-" + kAliceSecret)) left.push_back(hit);
  for (const std::string& hit : mentions("subject-alice")) left.push_back(hit);
  for (const std::string& hit : mentions("token-alice")) left.push_back(hit);
  EXPECT_TRUE(left.empty()) << "rows left after the erasure, e.g. " << left.front();

  // Bob's data is untouched: every kind of row still mentions him.
  for (const std::string& table : {"identities", "logins", "devices", "dataset_subscriptions", "datasets", "records",
                                   "merged_datasets", "stream_outbox", "stream_feed"}) {
    bool found = false;
    for (const std::string& v : mentions(kBob)) found = found || v.rfind(table + ": ", 0) == 0;
    EXPECT_TRUE(found) << "no row of " << table << " mentions the other identity";
  }
  EXPECT_EQ(store_->deleteIdentity(kAlice).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tether::server
