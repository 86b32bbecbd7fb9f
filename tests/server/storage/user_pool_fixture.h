// UserPoolStoreFixture: the Cognito User Pools storage contract (storage/user_pool_store.h) on
// both backends (store_backend.h): a fresh store with one user pool, and row builders. Used by
// user_pool_store_test.cpp (pools, clients, users, ListUsers) and user_pool_more_test.cpp
// (groups, tickets, revocations, concurrency, schema upgrade).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.h"
#include "store_backend.h"

namespace tether::server::testing {

inline const std::string kUserPool = "us-east-1_AAAAAAAAA";
inline const std::string kOtherPool = "us-east-1_AAAAAAAAA2";  // kUserPool is a prefix of its id

inline UserPoolRow poolRow(const std::string& id, const std::string& domain = "", int64_t createdMs = 100) {
  return UserPoolRow{id, "pool " + id, domain, createdMs, createdMs + 1, R"({"MfaConfiguration":"OFF"})"};
}

inline UserRow userRow(const std::string& sub, const std::string& username, int64_t createdMs,
                       std::vector<std::pair<std::string, std::string>> attributes = {},
                       std::vector<UserAlias> aliases = {}, const std::string& pool = kUserPool) {
  UserRow u;
  u.poolId = pool;
  u.username = username;
  u.usernameKey = username;
  u.sub = sub;
  u.status = "CONFIRMED";
  u.enabled = true;
  u.createdMs = createdMs;
  u.modifiedMs = createdMs + 5;
  u.attributes = std::move(attributes);
  u.aliases = std::move(aliases);
  u.stateJson = R"({"srp":{"salt":"00ff","verifier":"abcd"}})";
  return u;
}

class UserPoolStoreFixture : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->createUserPool(poolRow(kUserPool)).isOk());
  }

  // Inserts and expects kOk; returns the row as stored (version 1).
  UserRow insert(UserRow u) {
    Result<UserWriteOutcome> r = store_->insertUser(u);
    EXPECT_TRUE(r.isOk()) << r.status();
    EXPECT_EQ(r.isOk() ? *r : UserWriteOutcome::kGone, UserWriteOutcome::kOk) << u.sub;
    u.version = 1;
    return u;
  }

  std::optional<UserRow> bySub(const std::string& sub, const std::string& pool = kUserPool) {
    Result<std::optional<UserRow>> r = store_->getUserBySub(pool, sub);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : std::nullopt;
  }

  std::optional<UserRow> byAlias(const std::string& kind, const std::string& key) {
    Result<std::optional<UserRow>> r = store_->getUserByAlias(kUserPool, kind, key);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : std::nullopt;
  }

  // The subs listUsers returns for `filter`, read page by page (`page` rows each).
  std::vector<std::string> subs(const UserFilter& filter, int page = 100, const std::string& pool = kUserPool) {
    std::vector<std::string> out;
    UserCursor after;
    for (int guard = 0; guard < 1000; ++guard) {
      Result<std::vector<UserRow>> rows = store_->listUsers(pool, filter, after, page);
      EXPECT_TRUE(rows.isOk()) << rows.status();
      if (!rows.isOk()) break;
      for (const UserRow& u : *rows) out.push_back(u.sub);
      if (static_cast<int>(rows->size()) < page) break;
      after = UserCursor{rows->back().createdMs, rows->back().sub};
    }
    return out;
  }

  std::unique_ptr<Store> store_;
};

inline UserFilter filter(UserFilter::Kind kind, std::string value, std::string attribute = "") {
  UserFilter f;
  f.kind = kind;
  f.value = std::move(value);
  f.attribute = std::move(attribute);
  return f;
}

}  // namespace tether::server::testing
