// The Cognito User Pools storage contract on both backends (storage/user_pool_store.h), part 1:
// pools (domain uniqueness, deletion of everything in a pool), app clients, users (insert and
// update outcomes, all-or-nothing writes, versions, aliases, lookups, deletion) and ListUsers
// (every filter kind, prefixes holding LIKE wildcards, pagination). Part 2 is
// user_pool_more_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "user_pool_fixture.h"

namespace tether::server::testing {
namespace {

class UserPoolStoreTest : public UserPoolStoreFixture {};
TETHER_INSTANTIATE_BACKENDS(UserPoolStoreTest);

using Kind = UserFilter::Kind;
using Strings = std::vector<std::string>;

TEST_P(UserPoolStoreTest, PoolsAreCreatedReadListedAndUpdatedWithUniqueDomains) {
  UserPoolRow a = poolRow("us-east-1_BBBBBBBBB", "auth-a", 200);
  ASSERT_TRUE(store_->createUserPool(a).isOk());
  ASSERT_TRUE(store_->createUserPool(poolRow("us-east-1_CCCCCCCCC")).isOk());  // "" domains never collide
  EXPECT_EQ(store_->createUserPool(poolRow("us-east-1_BBBBBBBBB")).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->createUserPool(poolRow("us-east-1_DDDDDDDDD", "auth-a")).code(), StatusCode::kConflict);
  EXPECT_FALSE(store_->getUserPool("us-east-1_DDDDDDDDD")->has_value());

  EXPECT_EQ(**store_->getUserPool(a.id), a);
  EXPECT_FALSE(store_->getUserPool("us-east-1_ZZZZZZZZZ")->has_value());
  EXPECT_EQ(**store_->findUserPoolByDomain("auth-a"), a);
  EXPECT_FALSE(store_->findUserPoolByDomain("")->has_value());  // "" is "none", not a domain
  EXPECT_FALSE(store_->findUserPoolByDomain("auth-b")->has_value());

  auto all = store_->listUserPools("", 10);
  ASSERT_TRUE(all.isOk()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, kUserPool);  // by id
  EXPECT_EQ((*all)[1].id, "us-east-1_BBBBBBBBB");
  EXPECT_EQ((*all)[2].id, "us-east-1_CCCCCCCCC");
  auto page = store_->listUserPools(kUserPool, 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "us-east-1_BBBBBBBBB");
  EXPECT_TRUE(store_->listUserPools("", 0)->empty());
  EXPECT_TRUE(store_->listUserPools("", -1)->empty());

  // Update: name, domain, modified and config change; created stays.
  UserPoolRow changed = a;
  changed.name = "renamed";
  changed.domain = "auth-a2";
  changed.createdMs = 999;
  changed.modifiedMs = 300;
  changed.configJson = "{}";
  ASSERT_TRUE(store_->updateUserPool(changed).isOk());
  changed.createdMs = a.createdMs;
  EXPECT_EQ(**store_->getUserPool(a.id), changed);
  EXPECT_FALSE(store_->findUserPoolByDomain("auth-a")->has_value());
  EXPECT_TRUE(store_->createUserPool(poolRow("us-east-1_DDDDDDDDD", "auth-a")).isOk());  // freed
  UserPoolRow thief = **store_->getUserPool("us-east-1_CCCCCCCCC");
  thief.domain = "auth-a2";
  EXPECT_EQ(store_->updateUserPool(thief).code(), StatusCode::kConflict);
  EXPECT_EQ((*store_->getUserPool("us-east-1_CCCCCCCCC"))->domain, "");
  EXPECT_EQ(store_->updateUserPool(poolRow("us-east-1_ZZZZZZZZZ")).code(), StatusCode::kNotFound);
  // Removing a domain.
  changed.domain = "";
  ASSERT_TRUE(store_->updateUserPool(changed).isOk());
  EXPECT_FALSE(store_->findUserPoolByDomain("auth-a2")->has_value());
}

TEST_P(UserPoolStoreTest, DeletingAPoolRemovesEverythingInItAndNothingElse) {
  ASSERT_TRUE(store_->createUserPool(poolRow(kOtherPool)).isOk());
  for (const std::string& pool : {kUserPool, kOtherPool}) {
    ASSERT_TRUE(store_->createUserPoolClient({"client-" + pool, pool, "app", 1, 1, "{}"}).isOk());
    insert(userRow("sub-1", "alice", 10, {{"email", "a@x.org"}}, {{"email", "a@x.org"}}, pool));
    ASSERT_TRUE(store_->createUserGroup({pool, "admins", "", "", 1, 1, 1}).isOk());
    ASSERT_TRUE(store_->addUserToGroup(pool, "admins", "sub-1").isOk());
    ASSERT_TRUE(store_->putTicket(pool + "/srp/1", "v", 1000).isOk());
    ASSERT_TRUE(*store_->useOnce(pool + "/totp/1", 1000, 0));
    ASSERT_TRUE(store_->revokeOrigin(pool, "jti-1", 1000).isOk());
  }
  ASSERT_TRUE(store_->putTicket(kUserPool + "0", "just past the pool's key range", 1000).isOk());

  ASSERT_TRUE(store_->deleteUserPool(kUserPool).isOk());
  EXPECT_EQ(store_->deleteUserPool(kUserPool).code(), StatusCode::kNotFound);
  EXPECT_FALSE(store_->getUserPool(kUserPool)->has_value());
  EXPECT_FALSE(store_->getUserPoolClient("client-" + kUserPool)->has_value());
  EXPECT_FALSE(bySub("sub-1").has_value());
  EXPECT_EQ(*store_->countUsers(kUserPool), 0);
  EXPECT_FALSE(store_->getUserGroup(kUserPool, "admins")->has_value());
  EXPECT_TRUE(store_->listGroupsForUser(kUserPool, "sub-1")->empty());
  EXPECT_FALSE(store_->peekTicket(kUserPool + "/srp/1", 0)->has_value());
  EXPECT_TRUE(*store_->useOnce(kUserPool + "/totp/1", 1000, 0));  // the record went with the pool
  EXPECT_FALSE(*store_->isOriginRevoked(kUserPool, "jti-1"));
  EXPECT_TRUE(store_->peekTicket(kUserPool + "0", 0)->has_value());

  // The other pool (whose id starts with the deleted one's) keeps everything.
  EXPECT_TRUE(store_->getUserPoolClient("client-" + kOtherPool)->has_value());
  EXPECT_TRUE(bySub("sub-1", kOtherPool).has_value());
  EXPECT_EQ(store_->listGroupsForUser(kOtherPool, "sub-1")->size(), 1u);
  EXPECT_TRUE(store_->peekTicket(kOtherPool + "/srp/1", 0)->has_value());
  EXPECT_FALSE(*store_->useOnce(kOtherPool + "/totp/1", 1000, 0));
  EXPECT_TRUE(*store_->isOriginRevoked(kOtherPool, "jti-1"));

  // Nothing of the old pool is left behind: the same users, aliases and groups fit again.
  ASSERT_TRUE(store_->createUserPool(poolRow(kUserPool)).isOk());
  insert(userRow("sub-1", "alice", 10, {{"email", "a@x.org"}}, {{"email", "a@x.org"}}));
  EXPECT_TRUE(store_->listGroupsForUser(kUserPool, "sub-1")->empty());
  EXPECT_TRUE(store_->createUserGroup({kUserPool, "admins", "", "", 1, 1, 1}).isOk());
}

TEST_P(UserPoolStoreTest, ClientsAreCreatedListedUpdatedAndDeletedWithinTheirPool) {
  ASSERT_TRUE(store_->createUserPool(poolRow(kOtherPool)).isOk());
  for (const char* id : {"cccc", "aaaa", "bbbb", "dddd"})
    ASSERT_TRUE(store_->createUserPoolClient({id, kUserPool, std::string("app ") + id, 5, 6, R"({"s":1})"}).isOk());
  ASSERT_TRUE(store_->createUserPoolClient({"zzzz", kOtherPool, "other", 5, 6, "{}"}).isOk());
  EXPECT_EQ(store_->createUserPoolClient({"aaaa", kOtherPool, "dup", 1, 1, "{}"}).code(), StatusCode::kConflict);
  EXPECT_EQ(store_->createUserPoolClient({"eeee", "us-east-1_ZZZZZZZZZ", "x", 1, 1, "{}"}).code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(store_->getUserPoolClient("eeee")->has_value());

  UserPoolClientRow a{"aaaa", kUserPool, "app aaaa", 5, 6, R"({"s":1})"};
  EXPECT_EQ(**store_->getUserPoolClient("aaaa"), a);
  auto first = store_->listUserPoolClients(kUserPool, "", 3);
  ASSERT_TRUE(first.isOk()) << first.status();
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].clientId, "aaaa");
  EXPECT_EQ((*first)[2].clientId, "cccc");
  auto rest = store_->listUserPoolClients(kUserPool, "cccc", 3);
  ASSERT_EQ(rest->size(), 1u);  // not the other pool's zzzz
  EXPECT_EQ((*rest)[0].clientId, "dddd");

  UserPoolClientRow changed{"aaaa", kUserPool, "renamed", 999, 50, "{}"};
  ASSERT_TRUE(store_->updateUserPoolClient(changed).isOk());
  changed.createdMs = 5;
  EXPECT_EQ(**store_->getUserPoolClient("aaaa"), changed);
  EXPECT_EQ(store_->updateUserPoolClient({"aaaa", kOtherPool, "x", 1, 1, "{}"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->updateUserPoolClient({"nope", kUserPool, "x", 1, 1, "{}"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->deleteUserPoolClient(kOtherPool, "aaaa").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->deleteUserPoolClient(kUserPool, "aaaa").isOk());
  EXPECT_FALSE(store_->getUserPoolClient("aaaa")->has_value());
  EXPECT_EQ(store_->deleteUserPoolClient(kUserPool, "aaaa").code(), StatusCode::kNotFound);
}

TEST_P(UserPoolStoreTest, AUserReadsBackAsWrittenByEveryLookup) {
  // Text the SQL must not interpret, multi-byte UTF-8, and a 4 KB attribute value.
  std::string big;
  for (int i = 0; i < 1024; ++i) big += i % 2 ? "\xE2\x82\xAC" : "z";  // alternating euro signs
  const std::string name = "o'brien\"; DROP TABLE idp_users; -- \xC3\xA9";
  UserRow u = userRow("0f7c-sub", name, 42,
                      {{"custom:blob", big}, {"email", "O'Brien@Example.org"}, {"name", "%_\\ \xF0\x9F\x98\x80"}},
                      {{"preferred_username", "ob"}, {"email", "o'brien@example.org"}});
  u.usernameKey = "o'brien\"; drop table idp_users; -- \xC3\xA9";
  u.enabled = false;
  u.status = "FORCE_CHANGE_PASSWORD";
  UserRow stored = insert(u);
  std::sort(stored.aliases.begin(), stored.aliases.end());  // read back sorted
  EXPECT_EQ(bySub("0f7c-sub"), stored);
  EXPECT_EQ(*store_->getUserByUsernameKey(kUserPool, u.usernameKey), stored);
  EXPECT_EQ(byAlias("email", "o'brien@example.org"), stored);
  EXPECT_EQ(byAlias("preferred_username", "ob"), stored);
  EXPECT_EQ(*store_->countUsers(kUserPool), 1);

  EXPECT_FALSE(store_->getUserByUsernameKey(kUserPool, name + "x")->has_value());
  EXPECT_FALSE(store_->getUserByUsernameKey(kOtherPool, u.usernameKey)->has_value());
  EXPECT_FALSE(byAlias("phone_number", "o'brien@example.org").has_value());
  EXPECT_FALSE(bySub("0f7c-sub", kOtherPool).has_value());
}

TEST_P(UserPoolStoreTest, InsertUserReportsWhatIsTakenAndWritesNothingThen) {
  insert(userRow("sub-a", "alice", 10, {{"email", "a@x.org"}}, {{"email", "a@x.org"}}));
  auto outcome = [&](const UserRow& u) {
    Result<UserWriteOutcome> r = store_->insertUser(u);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : UserWriteOutcome::kOk;
  };
  EXPECT_EQ(outcome(userRow("sub-b", "alice", 11)), UserWriteOutcome::kUsernameTaken);
  EXPECT_EQ(outcome(userRow("sub-a", "bob", 11)), UserWriteOutcome::kSubTaken);
  // The second alias is taken: the first is not written either, nor the user.
  UserRow carol = userRow("sub-c", "carol", 12, {{"email", "a@x.org"}},
                          {{"phone_number", "+15550100"}, {"email", "a@x.org"}});
  EXPECT_EQ(outcome(carol), UserWriteOutcome::kAliasTaken);
  EXPECT_FALSE(bySub("sub-c").has_value());
  EXPECT_FALSE(byAlias("phone_number", "+15550100").has_value());
  EXPECT_FALSE(store_->getUserByUsernameKey(kUserPool, "carol")->has_value());
  EXPECT_TRUE(store_->listUsers(kUserPool, filter(Kind::kAttributeEquals, "a@x.org", "email"), {}, 10)->size() == 1);
  EXPECT_EQ(*store_->countUsers(kUserPool), 1);
  // Another pool's names do not collide; a missing pool is kNotFound.
  ASSERT_TRUE(store_->createUserPool(poolRow(kOtherPool)).isOk());
  EXPECT_EQ(outcome(userRow("sub-a", "alice", 10, {}, {{"email", "a@x.org"}}, kOtherPool)), UserWriteOutcome::kOk);
  EXPECT_EQ(store_->insertUser(userRow("sub-z", "zed", 1, {}, {}, "us-east-1_ZZZZZZZZZ")).status().code(),
            StatusCode::kNotFound);
  // Bad rows are refused before anything is written.
  EXPECT_EQ(store_->insertUser(userRow("sub-d", "dave", 1, {{"email", "1"}, {"email", "2"}})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->insertUser(userRow("sub-d", "dave", 1, {}, {{"email", "d"}, {"email", "d"}})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(bySub("sub-d").has_value());
}

TEST_P(UserPoolStoreTest, UpdateUserBumpsTheVersionAndRefusesStaleOrGoneRows) {
  UserRow u = insert(userRow("sub-a", "alice", 10, {{"email", "a@x.org"}, {"name", "A"}}, {{"email", "a@x.org"}}));
  UserRow next = u;
  next.status = "RESET_REQUIRED";
  next.enabled = false;
  next.modifiedMs = 77;
  next.attributes = {{"email", "b@x.org"}, {"given_name", "Al"}};
  next.aliases = {{"email", "b@x.org"}};
  next.stateJson = R"({"v":2})";
  next.username = "ignored";     // never changes
  next.usernameKey = "ignored";  // never changes
  next.createdMs = 1;            // never changes
  ASSERT_EQ(*store_->updateUser(next, false), UserWriteOutcome::kOk);
  UserRow expect = next;
  expect.username = expect.usernameKey = "alice";
  expect.createdMs = 10;
  expect.version = 2;
  EXPECT_EQ(bySub("sub-a"), expect);
  EXPECT_FALSE(byAlias("email", "a@x.org").has_value());  // the dropped alias is free
  EXPECT_EQ(byAlias("email", "b@x.org")->sub, "sub-a");

  // Written against version 1 again: stale, nothing changes.
  UserRow stale = u;
  stale.status = "UNCONFIRMED";
  EXPECT_EQ(*store_->updateUser(stale, false), UserWriteOutcome::kStale);
  EXPECT_EQ(bySub("sub-a"), expect);
  // Against the current version: ok, version 3.
  expect.status = "CONFIRMED";
  ASSERT_EQ(*store_->updateUser(expect, false), UserWriteOutcome::kOk);
  EXPECT_EQ(bySub("sub-a")->version, 3);

  ASSERT_TRUE(store_->deleteUser(kUserPool, "sub-a").isOk());
  expect.version = 3;
  EXPECT_EQ(*store_->updateUser(expect, false), UserWriteOutcome::kGone);
  EXPECT_FALSE(bySub("sub-a").has_value());
  EXPECT_EQ(store_->updateUser(userRow("sub-x", "x", 1, {{"a", "1"}, {"a", "2"}}), false).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(UserPoolStoreTest, AnAliasOfAnotherUserIsTakenOnlyWhenMovingIsAllowed) {
  UserRow a = insert(userRow("sub-a", "alice", 10, {{"email", "shared@x.org"}}, {{"email", "shared@x.org"}}));
  UserRow b = insert(userRow("sub-b", "bob", 11, {{"email", "b@x.org"}}, {{"email", "b@x.org"}}));
  UserRow claim = b;
  claim.attributes = {{"email", "shared@x.org"}};
  claim.aliases = {{"email", "b@x.org"}, {"email", "shared@x.org"}};
  claim.stateJson = "changed";
  EXPECT_EQ(*store_->updateUser(claim, false), UserWriteOutcome::kAliasTaken);
  EXPECT_EQ(bySub("sub-b"), b);  // nothing written: version, attributes, state, aliases
  EXPECT_EQ(byAlias("email", "shared@x.org")->sub, "sub-a");

  ASSERT_EQ(*store_->updateUser(claim, true), UserWriteOutcome::kOk);
  EXPECT_EQ(byAlias("email", "shared@x.org")->sub, "sub-b");
  EXPECT_EQ(byAlias("email", "b@x.org")->sub, "sub-b");
  // The old owner keeps its row, attributes and version; only the alias moved.
  UserRow aNow = a;
  aNow.aliases.clear();
  EXPECT_EQ(bySub("sub-a"), aNow);
  // Keeping an alias one already owns is never a conflict.
  UserRow again = *bySub("sub-b");
  EXPECT_EQ(*store_->updateUser(again, false), UserWriteOutcome::kOk);
  EXPECT_EQ(bySub("sub-b")->aliases, (std::vector<UserAlias>{{"email", "b@x.org"}, {"email", "shared@x.org"}}));
}

TEST_P(UserPoolStoreTest, DeletingAUserRemovesItsAttributesAliasesAndMemberships) {
  insert(userRow("sub-a", "alice", 10, {{"email", "a@x.org"}}, {{"email", "a@x.org"}}));
  ASSERT_TRUE(store_->createUserGroup({kUserPool, "g", "", "", std::nullopt, 1, 1}).isOk());
  ASSERT_TRUE(store_->addUserToGroup(kUserPool, "g", "sub-a").isOk());
  ASSERT_TRUE(store_->deleteUser(kUserPool, "sub-a").isOk());
  EXPECT_EQ(store_->deleteUser(kUserPool, "sub-a").code(), StatusCode::kNotFound);
  EXPECT_FALSE(bySub("sub-a").has_value());
  EXPECT_FALSE(byAlias("email", "a@x.org").has_value());
  EXPECT_TRUE(store_->listUsersInGroup(kUserPool, "g", {}, 10)->empty());
  EXPECT_TRUE(store_->listGroupsForUser(kUserPool, "sub-a")->empty());
  EXPECT_TRUE(subs(filter(Kind::kAttributeEquals, "a@x.org", "email")).empty());
  EXPECT_EQ(*store_->countUsers(kUserPool), 0);
  // A new user with the same username, sub and alias fits.
  insert(userRow("sub-a", "alice", 20, {{"email", "a@x.org"}}, {{"email", "a@x.org"}}));
  EXPECT_TRUE(store_->listGroupsForUser(kUserPool, "sub-a")->empty());
}

TEST_P(UserPoolStoreTest, ListUsersFiltersByEveryKindInCreationOrder) {
  std::string longValue(300, 'q');  // past the 200 characters PostgreSQL indexes
  insert(userRow("s3", "a%c", 30, {{"email", "50%_off@x.org"}, {"name", longValue + "1"}}));
  insert(userRow("s1", "abc", 10, {{"email", "500ff@x.org"}, {"name", longValue + "2"}}));
  insert(userRow("s2", "a_c", 20, {{"email", "5\\0%off@x.org"}, {"family_name", "\xC3\xA9t\xC3\xA9"}}));
  UserRow d = userRow("s4", "ab\\", 20, {{"email", "\x7f" "del"}, {"family_name", "\xC3\xA9tage"}});
  d.enabled = false;
  d.status = "UNCONFIRMED";
  insert(d);
  insert(userRow("s5", "z\x7fz", 5, {{"email", "\xF4\x8F\xBF\xBF" "max"}}));  // U+007F, U+10FFFF
  ASSERT_TRUE(store_->createUserPool(poolRow(kOtherPool)).isOk());
  insert(userRow("s9", "abc", 1, {{"email", "500ff@x.org"}}, {}, kOtherPool));

  EXPECT_EQ(subs({}), (Strings{"s5", "s1", "s2", "s4", "s3"}));  // createdMs, then sub on ties
  EXPECT_EQ(subs({}, 2), (Strings{"s5", "s1", "s2", "s4", "s3"}));  // page by page
  EXPECT_EQ(subs(filter(Kind::kUsernameEquals, "a_c")), (Strings{"s2"}));
  EXPECT_EQ(subs(filter(Kind::kUsernameEquals, "A_C")), Strings{});  // byte-exact
  // '%', '_' and '\' are literal in a prefix.
  EXPECT_EQ(subs(filter(Kind::kUsernamePrefix, "a%")), (Strings{"s3"}));
  EXPECT_EQ(subs(filter(Kind::kUsernamePrefix, "a_")), (Strings{"s2"}));
  EXPECT_EQ(subs(filter(Kind::kUsernamePrefix, "ab")), (Strings{"s1", "s4"}));
  EXPECT_EQ(subs(filter(Kind::kUsernamePrefix, "ab\\")), (Strings{"s4"}));
  EXPECT_EQ(subs(filter(Kind::kUsernamePrefix, "")), (Strings{"s5", "s1", "s2", "s4", "s3"}));
  EXPECT_EQ(subs(filter(Kind::kUsernamePrefix, "z\x7f")), (Strings{"s5"}));  // the range ends at U+0080
  EXPECT_EQ(subs(filter(Kind::kSubEquals, "s4")), (Strings{"s4"}));
  EXPECT_EQ(subs(filter(Kind::kSubPrefix, "s")), (Strings{"s5", "s1", "s2", "s4", "s3"}));
  EXPECT_EQ(subs(filter(Kind::kSubPrefix, "s2")), (Strings{"s2"}));
  EXPECT_EQ(subs(filter(Kind::kStatusEquals, "UNCONFIRMED")), (Strings{"s4"}));
  EXPECT_EQ(subs(filter(Kind::kEnabledEquals, "false")), (Strings{"s4"}));
  EXPECT_EQ(subs(filter(Kind::kEnabledEquals, "true")), (Strings{"s5", "s1", "s2", "s3"}));
  EXPECT_EQ(store_->listUsers(kUserPool, filter(Kind::kEnabledEquals, "yes"), {}, 10).status().code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(subs(filter(Kind::kAttributeEquals, "500ff@x.org", "email")), (Strings{"s1"}));
  EXPECT_EQ(subs(filter(Kind::kAttributeEquals, "500FF@x.org", "email")), Strings{});
  EXPECT_EQ(subs(filter(Kind::kAttributeEquals, "500ff@x.org", "name")), Strings{});  // another attribute
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "50%", "email")), (Strings{"s3"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "50", "email")), (Strings{"s1", "s3"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "5_", "email")), Strings{});
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "5\\", "email")), (Strings{"s2"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "\x7f", "email")), (Strings{"s4"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "\xF4\x8F\xBF\xBF", "email")), (Strings{"s5"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "\xC3\xA9t", "family_name")), (Strings{"s2", "s4"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "\xC3\xA9t\xC3\xA9", "family_name")), (Strings{"s2"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "", "email")), (Strings{"s5", "s1", "s2", "s4", "s3"}));
  // Long values: equality and prefixes beyond the indexed head.
  EXPECT_EQ(subs(filter(Kind::kAttributeEquals, longValue + "2", "name")), (Strings{"s1"}));
  EXPECT_EQ(subs(filter(Kind::kAttributeEquals, longValue, "name")), Strings{});
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, longValue, "name")), (Strings{"s1", "s3"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, longValue + "1", "name")), (Strings{"s3"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, std::string(250, 'q'), "name")), (Strings{"s1", "s3"}));
  EXPECT_EQ(subs(filter(Kind::kAttributePrefix, "500ff", "email"), 100, kOtherPool), (Strings{"s9"}));

  // The cursor also works inside a filter, and rows come whole.
  auto page = store_->listUsers(kUserPool, filter(Kind::kAttributePrefix, "5", "email"), UserCursor{10, "s1"}, 1);
  ASSERT_TRUE(page.isOk()) << page.status();
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0], *bySub("s2"));
  EXPECT_TRUE(store_->listUsers(kUserPool, {}, {}, 0)->empty());
  EXPECT_TRUE(store_->listUsers(kUserPool, {}, {}, -1)->empty());
}

}  // namespace
}  // namespace tether::server::testing
