// Erasure (issue 16, point 4): Store::deleteIdentity removes every trace of an identity. An
// identity gets records, tombstones, a deleted dataset, merged relations, logins, devices with
// subscriptions and Cognito Streams outbox and feed rows (which carry its record values); after
// the delete, the raw database (SQLite through the sqlite3 API, PostgreSQL through libpq) is read
// table by table, column by column — every table there is, so one added later is covered too —
// and no value may mention the identity's ID or its record values. A second identity's rows are
// untouched (and prove the scan sees data at all). Both backends.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <string>
#include <vector>

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

  // Every value of every table in the test's database, as text.
  std::vector<std::string> rawValues() {
    std::vector<std::string> out;
    if (postgres()) {
      PGconn* c = PQconnectdb(pgConninfo_.c_str());
      EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
      std::string q = "SELECT table_name FROM information_schema.tables WHERE table_schema = '" + pgSchema_ +
                      "' AND table_type = 'BASE TABLE'";
      PGresult* tables = PQexec(c, q.c_str());
      EXPECT_EQ(PQresultStatus(tables), PGRES_TUPLES_OK) << PQerrorMessage(c);
      EXPECT_GT(PQntuples(tables), 10);
      for (int t = 0; t < PQntuples(tables); ++t) {
        std::string sql = "SELECT * FROM \"" + pgSchema_ + "\".\"" + PQgetvalue(tables, t, 0) + "\"";
        PGresult* rows = PQexec(c, sql.c_str());
        EXPECT_EQ(PQresultStatus(rows), PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(c);
        for (int r = 0; r < PQntuples(rows); ++r)
          for (int f = 0; f < PQnfields(rows); ++f)
            out.push_back(std::string(PQgetvalue(tables, t, 0)) + ": " + PQgetvalue(rows, r, f));
        PQclear(rows);
      }
      PQclear(tables);
      PQfinish(c);
      return out;
    }
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((sqliteDir_ / "tether.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* tables = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &tables, nullptr);
    int n = 0;
    while (sqlite3_step(tables) == SQLITE_ROW) {
      ++n;
      std::string table = reinterpret_cast<const char*>(sqlite3_column_text(tables, 0));
      sqlite3_stmt* rows = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(db, ("SELECT * FROM \"" + table + "\"").c_str(), -1, &rows, nullptr), SQLITE_OK);
      while (sqlite3_step(rows) == SQLITE_ROW)
        for (int f = 0; f < sqlite3_column_count(rows); ++f) {
          const void* b = sqlite3_column_blob(rows, f);
          out.push_back(table + ": " +
                        std::string(static_cast<const char*>(b != nullptr ? b : ""),
                                    static_cast<size_t>(sqlite3_column_bytes(rows, f))));
        }
      sqlite3_finalize(rows);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    EXPECT_GT(n, 10);
    return out;
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
