// The Cognito User Pools storage contract on both backends (storage/user_pool_store.h), part 2:
// groups and memberships, tickets (take once, expiry, concurrent takers), use-once records,
// pruning, revoked sessions, concurrent user writes (one node and two), and an older schema
// upgrading in place. Part 1 is user_pool_store_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "storage/pg_conn.h"
#include "storage/pg_schema.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_schema.h"
#include "user_pool_fixture.h"

namespace tether::server::testing {
namespace {

class UserPoolMoreTest : public UserPoolStoreFixture {
 protected:
  // Stores for concurrent work: on PostgreSQL a second one (another node) as well.
  std::vector<std::unique_ptr<Store>> nodes() {
    std::vector<std::unique_ptr<Store>> out;
    out.push_back(openStore());
    if (postgres()) out.push_back(openStore());
    return out;
  }
};
TETHER_INSTANTIATE_BACKENDS(UserPoolMoreTest);

using Strings = std::vector<std::string>;

Strings subsOf(const Result<std::vector<UserRow>>& rows) {
  EXPECT_TRUE(rows.isOk()) << rows.status();
  Strings out;
  if (rows.isOk())
    for (const UserRow& u : *rows) out.push_back(u.sub);
  return out;
}

Strings namesOf(const Result<std::vector<UserGroupRow>>& rows) {
  EXPECT_TRUE(rows.isOk()) << rows.status();
  Strings out;
  if (rows.isOk())
    for (const UserGroupRow& g : *rows) out.push_back(g.name);
  return out;
}

TEST_P(UserPoolMoreTest, GroupsAreCreatedUpdatedListedAndDeletedWithTheirMemberships) {
  UserGroupRow admins{kUserPool, "admins", "the admins", "arn:aws:iam::1:role/a", 0, 10, 11};
  ASSERT_TRUE(store_->createUserGroup(admins).isOk());
  ASSERT_TRUE(store_->createUserGroup({kUserPool, "readers", "", "", std::nullopt, 12, 12}).isOk());
  ASSERT_TRUE(store_->createUserGroup({kUserPool, "b-team", "", "", 5, 13, 13}).isOk());
  EXPECT_EQ(store_->createUserGroup(admins).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->createUserGroup({"us-east-1_ZZZZZZZZZ", "g", "", "", 1, 1, 1}).code(), StatusCode::kNotFound);
  EXPECT_EQ(**store_->getUserGroup(kUserPool, "admins"), admins);
  EXPECT_FALSE((*store_->getUserGroup(kUserPool, "readers"))->precedence.has_value());
  EXPECT_FALSE(store_->getUserGroup(kUserPool, "nope")->has_value());
  EXPECT_EQ(namesOf(store_->listUserGroups(kUserPool, "", 2)), (Strings{"admins", "b-team"}));
  EXPECT_EQ(namesOf(store_->listUserGroups(kUserPool, "b-team", 2)), (Strings{"readers"}));

  UserGroupRow changed{kUserPool, "admins", "new", "", std::nullopt, 999, 20};
  ASSERT_TRUE(store_->updateUserGroup(changed).isOk());
  changed.createdMs = 10;
  EXPECT_EQ(**store_->getUserGroup(kUserPool, "admins"), changed);
  changed.precedence = 7;
  ASSERT_TRUE(store_->updateUserGroup(changed).isOk());
  EXPECT_EQ((*store_->getUserGroup(kUserPool, "admins"))->precedence, std::optional<int64_t>(7));
  EXPECT_EQ(store_->updateUserGroup({kUserPool, "nope", "", "", 1, 1, 1}).code(), StatusCode::kNotFound);

  insert(userRow("s2", "bob", 20));
  insert(userRow("s1", "alice", 10));
  insert(userRow("s3", "carol", 20));
  for (const char* sub : {"s3", "s2", "s1"}) ASSERT_TRUE(store_->addUserToGroup(kUserPool, "admins", sub).isOk());
  ASSERT_TRUE(store_->addUserToGroup(kUserPool, "admins", "s1").isOk());  // idempotent
  ASSERT_TRUE(store_->addUserToGroup(kUserPool, "readers", "s1").isOk());
  ASSERT_TRUE(store_->addUserToGroup(kUserPool, "b-team", "s1").isOk());
  EXPECT_EQ(store_->addUserToGroup(kUserPool, "nope", "s1").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->addUserToGroup(kUserPool, "admins", "s-none").code(), StatusCode::kNotFound);
  EXPECT_EQ(namesOf(store_->listGroupsForUser(kUserPool, "s1")), (Strings{"admins", "b-team", "readers"}));
  EXPECT_EQ(subsOf(store_->listUsersInGroup(kUserPool, "admins", {}, 10)), (Strings{"s1", "s2", "s3"}));
  EXPECT_EQ(subsOf(store_->listUsersInGroup(kUserPool, "admins", {}, 2)), (Strings{"s1", "s2"}));
  EXPECT_EQ(subsOf(store_->listUsersInGroup(kUserPool, "admins", UserCursor{20, "s2"}, 2)), (Strings{"s3"}));
  EXPECT_TRUE(subsOf(store_->listUsersInGroup(kUserPool, "nope", {}, 10)).empty());
  auto whole = store_->listUsersInGroup(kUserPool, "admins", {}, 1);
  ASSERT_EQ(whole->size(), 1u);
  EXPECT_EQ((*whole)[0], *bySub("s1"));

  ASSERT_TRUE(store_->removeUserFromGroup(kUserPool, "readers", "s1").isOk());
  ASSERT_TRUE(store_->removeUserFromGroup(kUserPool, "readers", "s1").isOk());  // not a member: ok
  EXPECT_EQ(store_->removeUserFromGroup(kUserPool, "nope", "s1").code(), StatusCode::kNotFound);
  EXPECT_EQ(namesOf(store_->listGroupsForUser(kUserPool, "s1")), (Strings{"admins", "b-team"}));

  ASSERT_TRUE(store_->deleteUserGroup(kUserPool, "admins").isOk());
  EXPECT_EQ(store_->deleteUserGroup(kUserPool, "admins").code(), StatusCode::kNotFound);
  EXPECT_EQ(namesOf(store_->listGroupsForUser(kUserPool, "s1")), (Strings{"b-team"}));
  EXPECT_TRUE(namesOf(store_->listGroupsForUser(kUserPool, "s2")).empty());
  ASSERT_TRUE(store_->createUserGroup({kUserPool, "admins", "", "", 1, 30, 30}).isOk());
  EXPECT_TRUE(subsOf(store_->listUsersInGroup(kUserPool, "admins", {}, 10)).empty());  // no old members
}

TEST_P(UserPoolMoreTest, ATicketIsTakenOnceAndNotAfterItExpires) {
  ASSERT_TRUE(store_->putTicket("k/1", "first", 1000).isOk());
  ASSERT_TRUE(store_->putTicket("k/1", "second", 1000).isOk());  // replaces
  EXPECT_EQ(*store_->peekTicket("k/1", 999), std::optional<std::string>("second"));
  EXPECT_EQ(*store_->peekTicket("k/1", 999), std::optional<std::string>("second"));  // peeking keeps it
  EXPECT_FALSE(store_->peekTicket("k/1", 1000)->has_value());  // expired at expiresMs
  EXPECT_EQ(*store_->takeTicket("k/1", 999), std::optional<std::string>("second"));
  EXPECT_FALSE(store_->takeTicket("k/1", 999)->has_value());
  EXPECT_FALSE(store_->peekTicket("k/1", 0)->has_value());
  EXPECT_FALSE(store_->takeTicket("never", 0)->has_value());

  ASSERT_TRUE(store_->putTicket("k/2", "late", 1000).isOk());
  EXPECT_FALSE(store_->takeTicket("k/2", 1000)->has_value());
  EXPECT_FALSE(store_->takeTicket("k/2", 0)->has_value());  // an expired take removed it
  std::string big(8000, 'v');
  ASSERT_TRUE(store_->putTicket("k/3", big, 1000).isOk());
  EXPECT_EQ(*store_->takeTicket("k/3", 1), std::optional<std::string>(big));
}

TEST_P(UserPoolMoreTest, OfConcurrentTakersExactlyOneGetsTheTicket) {
  std::vector<std::unique_ptr<Store>> stores = nodes();
  constexpr int kRounds = 20;
  constexpr int kTakers = 6;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = "srp/" + std::to_string(round);
    ASSERT_TRUE(store_->putTicket(key, "value-" + std::to_string(round), 1000).isOk());
    std::atomic<int> winners{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kTakers; ++t) {
      Store& s = *stores[static_cast<size_t>(t) % stores.size()];
      threads.emplace_back([&, key] {
        Result<std::optional<std::string>> v = s.takeTicket(key, 1);
        if (!v.isOk()) ++failures;
        else if (v->has_value()) ++winners;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

TEST_P(UserPoolMoreTest, UseOnceIsTrueOnlyTheFirstTimeUntilTheRecordExpires) {
  EXPECT_TRUE(*store_->useOnce("totp/7", 1000, 0));
  EXPECT_FALSE(*store_->useOnce("totp/7", 1000, 500));
  EXPECT_FALSE(*store_->useOnce("totp/7", 5000, 999));
  EXPECT_TRUE(*store_->useOnce("totp/7", 2000, 1000));  // expired at 1000: absent
  EXPECT_FALSE(*store_->useOnce("totp/7", 3000, 1500));  // the new record holds until 2000
  EXPECT_TRUE(*store_->useOnce("totp/8", 1000, 0));

  std::vector<std::unique_ptr<Store>> stores = nodes();
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> firsts{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      Store& s = *stores[static_cast<size_t>(t) % stores.size()];
      threads.emplace_back([&, round] {
        Result<bool> r = s.useOnce("step/" + std::to_string(round), 1000, 0);
        if (!r.isOk()) ++failures;
        else if (*r) ++firsts;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(firsts.load(), 1) << "round " << round;
  }
}

TEST_P(UserPoolMoreTest, RevocationsAreKeptUntilTheyExpireAndPruneRemovesWhatExpired) {
  ASSERT_TRUE(store_->revokeOrigin(kUserPool, "jti-b", 1000).isOk());
  ASSERT_TRUE(store_->revokeOrigin(kUserPool, "jti-a", 3000).isOk());
  ASSERT_TRUE(store_->revokeOrigin(kUserPool, "jti-b", 500).isOk());  // idempotent; keeps the later expiry
  EXPECT_TRUE(*store_->isOriginRevoked(kUserPool, "jti-b"));
  EXPECT_FALSE(*store_->isOriginRevoked(kUserPool, "jti-c"));
  EXPECT_FALSE(*store_->isOriginRevoked(kOtherPool, "jti-b"));
  auto list = store_->listRevokedOrigins(kUserPool, "", 10);
  ASSERT_TRUE(list.isOk()) << list.status();
  EXPECT_EQ(*list, (std::vector<RevokedOrigin>{{"jti-a", 3000}, {"jti-b", 1000}}));
  EXPECT_EQ(*store_->listRevokedOrigins(kUserPool, "jti-a", 10), (std::vector<RevokedOrigin>{{"jti-b", 1000}}));
  EXPECT_EQ(store_->listRevokedOrigins(kUserPool, "", 1)->size(), 1u);

  ASSERT_TRUE(store_->putTicket("t/old", "x", 900).isOk());
  ASSERT_TRUE(store_->putTicket("t/new", "x", 2000).isOk());
  ASSERT_TRUE(*store_->useOnce("u/old", 1000, 0));
  ASSERT_TRUE(*store_->useOnce("u/new", 1001, 0));
  EXPECT_EQ(*store_->pruneTickets(1000), 3);  // t/old, u/old, jti-b (expired at or before 1000)
  EXPECT_EQ(*store_->pruneTickets(1000), 0);
  EXPECT_FALSE(*store_->isOriginRevoked(kUserPool, "jti-b"));
  EXPECT_TRUE(*store_->isOriginRevoked(kUserPool, "jti-a"));
  EXPECT_TRUE(store_->peekTicket("t/new", 1000)->has_value());
  EXPECT_FALSE(*store_->useOnce("u/new", 5000, 1000));
  EXPECT_EQ(*store_->pruneTickets(1 << 30), 3);
}

// Read-modify-write from several threads (and, on PostgreSQL, two nodes): every increment that
// reports kOk is in the final row; a write that raced another one reports kStale and retries.
TEST_P(UserPoolMoreTest, ConcurrentUpdatesNeverLoseAWrite) {
  insert(userRow("s1", "alice", 10, {{"n", "0"}}));
  std::vector<std::unique_ptr<Store>> stores = nodes();
  constexpr int kThreads = 4;
  constexpr int kIncrements = 15;
  std::atomic<int> stale{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    Store& s = *stores[static_cast<size_t>(t) % stores.size()];
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        Result<std::optional<UserRow>> u = s.getUserBySub(kUserPool, "s1");
        if (!u.isOk() || !u->has_value()) {
          ++failures;
          return;
        }
        UserRow next = **u;
        next.attributes = {{"n", std::to_string(std::stoi(next.attributes.at(0).second) + 1)}};
        next.stateJson = next.attributes[0].second;
        Result<UserWriteOutcome> r = s.updateUser(next, false);
        if (!r.isOk()) {
          ++failures;
          return;
        }
        if (*r == UserWriteOutcome::kOk) ++done;
        else if (*r == UserWriteOutcome::kStale) ++stale;
        else ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::optional<UserRow> last = bySub("s1");
  ASSERT_TRUE(last.has_value());
  const std::string total = std::to_string(kThreads * kIncrements);
  EXPECT_EQ(last->attributes, (std::vector<std::pair<std::string, std::string>>{{"n", total}}));
  EXPECT_EQ(last->stateJson, total);  // the state and the attributes of one write, never mixed
  EXPECT_EQ(last->version, 1 + kThreads * kIncrements);
}

TEST_P(UserPoolMoreTest, OfConcurrentSignUpsForOneUsernameOrAliasExactlyOneWins) {
  std::vector<std::unique_ptr<Store>> stores = nodes();
  for (int round = 0; round < 5; ++round) {
    const std::string name = "user" + std::to_string(round);
    std::atomic<int> ok{0}, taken{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      Store& s = *stores[static_cast<size_t>(t) % stores.size()];
      // Half race for the username, half (other usernames) for the same email alias.
      UserRow u = t % 2 == 0 ? userRow(name + "-sub" + std::to_string(t), name, round)
                             : userRow(name + "-sub" + std::to_string(t), name + "-" + std::to_string(t), round,
                                       {{"email", name + "@x.org"}}, {{"email", name + "@x.org"}});
      threads.emplace_back([&, u] {
        Result<UserWriteOutcome> r = s.insertUser(u);
        if (!r.isOk()) ++failures;
        else if (*r == UserWriteOutcome::kOk) ++ok;
        else if (*r == UserWriteOutcome::kUsernameTaken || *r == UserWriteOutcome::kAliasTaken) ++taken;
        else ++failures;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(ok.load(), 2) << "one username winner and one alias winner, round " << round;
    EXPECT_EQ(taken.load(), 4);
  }
}

// Text PostgreSQL cannot hold is a typed error there (libpq would cut a NUL silently); SQLite
// keeps it byte for byte.
TEST_P(UserPoolMoreTest, ANulByteIsRefusedOnPostgresAndKeptOnSqlite) {
  UserRow u = userRow("s-nul", std::string("ali\0ce", 6), 1, {{"name", std::string("a\0b", 3)}});
  Result<UserWriteOutcome> r = store_->insertUser(u);
  if (postgres()) {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_FALSE(bySub("s-nul").has_value());
    EXPECT_FALSE(store_->getUserByUsernameKey(kUserPool, "ali")->has_value());
    EXPECT_EQ(store_->putTicket(std::string("k\0", 2), "v", 10).code(), StatusCode::kInvalidArgument);
  } else {
    ASSERT_TRUE(r.isOk()) << r.status();
    u.version = 1;
    EXPECT_EQ(bySub("s-nul"), u);
  }
}

// A database of the schema before user pools (SQLite 6, PostgreSQL 2) upgrades when opened: its
// data stays and the user-pool tables work.
TEST_P(UserPoolMoreTest, AnOlderSchemaUpgradesInPlace) {
  store_.reset();
  if (postgres()) {
    ASSERT_TRUE(cluster_->adminExec("DROP SCHEMA " + pgSchema_ + " CASCADE; CREATE SCHEMA " + pgSchema_).isOk());
    auto conn = PgConn::connect(pgConninfo_);
    ASSERT_TRUE(conn.isOk()) << conn.status();
    ASSERT_TRUE(migratePgSchema(**conn, 2).isOk());
    ASSERT_TRUE((*conn)->exec("INSERT INTO pools (id, name, allow_guests, created_ms) VALUES ('p', 'old', true, 1)").isOk());
    EXPECT_FALSE((*conn)->exec("SELECT 1 FROM idp_pools").isOk());  // not there yet
  } else {
    std::filesystem::remove_all(sqliteDir_);
    std::filesystem::create_directories(sqliteDir_);
    auto db = SqliteDb::open(sqliteDir_ / "tether.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(db.isOk()) << db.status();
    ASSERT_TRUE(migrateSqliteSchemaTo(**db, 6).isOk());
    ASSERT_TRUE((*db)->exec("INSERT INTO pools (id, name, allow_guests, created_ms) VALUES ('p', 'old', 1, 1)").isOk());
    EXPECT_FALSE((*db)->exec("SELECT 1 FROM idp_pools").isOk());
  }
  store_ = openStore();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ((*store_->getPool("p"))->name, "old");
  ASSERT_TRUE(store_->createUserPool(poolRow(kUserPool)).isOk());
  insert(userRow("s1", "alice", 1, {{"email", "a@x.org"}}, {{"email", "a@x.org"}}));
  EXPECT_EQ(byAlias("email", "a@x.org")->sub, "s1");
}

}  // namespace
}  // namespace tether::server::testing
