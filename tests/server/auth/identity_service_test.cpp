// Tests for auth/identity_service.h against an in-memory Store and a manual clock.
#include "auth/identity_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "memory_store.h"
#include "temp_dir.h"
#include "tether/limits.h"

namespace tether::server {
namespace {

using testing::MemoryStore;
using testing::TempDir;

constexpr const char* kGuestPool = "eu-west-1:11111111-2222-4333-8444-555555555555";
constexpr const char* kClosedPool = "local:22222222-2222-4333-8444-555555555555";
constexpr const char* kUnknownPool = "local:99999999-2222-4333-8444-555555555555";

class ManualClock final : public Clock {
 public:
  int64_t nowMs() const override { return now_.load(); }
  void advance(int64_t ms) { now_ += ms; }
 private:
  std::atomic<int64_t> now_{1'700'000'000'000};
};

class IdentityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = TokenIssuer::open(dir_.path(), "http://127.0.0.1:8080");
    ASSERT_TRUE(issuer.isOk()) << issuer.status();
    issuer_ = std::move(*issuer);
    ASSERT_TRUE(store_.putPool({kGuestPool, "Guests", true, 1}).isOk());
    ASSERT_TRUE(store_.putPool({kClosedPool, "Closed", false, 2}).isOk());
    service_ = std::make_unique<IdentityService>(store_, *issuer_, clock_);
  }

  std::string newGuest() {
    auto r = service_->getId({kGuestPool, {}});
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? r->identityId : "";
  }
  std::string tokenFor(const std::string& identityId) {
    auto r = service_->getToken({identityId, {}});
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? r->token : "";
  }

  TempDir dir_;
  MemoryStore store_;
  ManualClock clock_;
  std::unique_ptr<TokenIssuer> issuer_;
  std::unique_ptr<IdentityService> service_;
};

TEST_F(IdentityServiceTest, GetIdCreatesNewGuestEachCall) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    std::string id = newGuest();
    EXPECT_TRUE(validateIdentityId(id).isOk()) << id;
    EXPECT_EQ(id.rfind("eu-west-1:", 0), 0u) << "region of the pool: " << id;
    ids.insert(id);
    auto stored = store_.getIdentity(id);
    ASSERT_TRUE(stored.isOk() && stored->has_value());
    EXPECT_EQ((*stored)->poolId, kGuestPool);
    EXPECT_EQ((*stored)->createdMs, clock_.nowMs());
    EXPECT_FALSE((*stored)->disabled);
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(store_.identityCount(), 20u);
}

TEST_F(IdentityServiceTest, GetIdRules) {
  auto unknown = service_->getId({kUnknownPool, {}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound) << unknown.status();

  auto closed = service_->getId({kClosedPool, {}});
  EXPECT_EQ(closed.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(closed.status().message(), "Unauthenticated access is not supported for this identity pool.");

  auto logins = service_->getId({kGuestPool, {{"accounts.google.com", "tok"}}});
  EXPECT_EQ(logins.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(logins.status().message(), "Token is not from a supported provider of this identity pool.");

  EXPECT_EQ(service_->getId({"not a pool", {}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->getId({"", {}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.identityCount(), 0u) << "no failed call created an identity";
}

TEST_F(IdentityServiceTest, StoreErrorsPassThrough) {
  store_.failNext(Status::ioError("disk on fire"));
  EXPECT_EQ(service_->getId({kGuestPool, {}}).status().code(), StatusCode::kIOError);
  std::string id = newGuest();
  store_.failNext(Status::unavailable("busy"));
  EXPECT_EQ(service_->getToken({id, {}}).status().code(), StatusCode::kUnavailable);
  std::string token = tokenFor(id);
  store_.failNext(Status::ioError("disk on fire"));
  EXPECT_EQ(service_->authenticate(token).status().code(), StatusCode::kIOError);
}

TEST_F(IdentityServiceTest, GetTokenIssuesFifteenMinuteGuestToken) {
  std::string id = newGuest();
  auto r = service_->getToken({id, {}});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->identityId, id);
  int64_t expected = (clock_.nowMs() / 1000 + 15 * 60) * 1000;
  EXPECT_EQ(r->expiresAtMs, expected);
  auto v = issuer_->verify(r->token, clock_.nowMs());
  ASSERT_TRUE(v.isOk()) << v.status();
  EXPECT_EQ(v->poolId, kGuestPool);
  EXPECT_EQ(v->identityId, id);
  EXPECT_EQ(v->amr, std::vector<std::string>{"unauthenticated"});
}

TEST_F(IdentityServiceTest, GetTokenRules) {
  EXPECT_EQ(service_->getToken({"local:00000000-0000-4000-8000-000000000000", {}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->getToken({"garbage", {}}).status().code(), StatusCode::kInvalidArgument);

  std::string id = newGuest();
  EXPECT_EQ(service_->getToken({id, {{"accounts.google.com", "tok"}}}).status().code(),
            StatusCode::kUnauthenticated);

  store_.setDisabled(id, true);
  EXPECT_EQ(service_->getToken({id, {}}).status().code(), StatusCode::kUnauthenticated);
  store_.setDisabled(id, false);
  EXPECT_TRUE(service_->getToken({id, {}}).isOk());

  // The pool stops allowing guests: existing guests get no new tokens.
  ASSERT_TRUE(store_.putPool({kGuestPool, "Guests", false, 1}).isOk());
  auto closed = service_->getToken({id, {}});
  EXPECT_EQ(closed.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(closed.status().message(), "Unauthenticated access is not supported for this identity pool.");

  store_.erasePool(kGuestPool);
  EXPECT_EQ(service_->getToken({id, {}}).status().code(), StatusCode::kNotFound);
}

TEST_F(IdentityServiceTest, AuthenticateAcceptsOwnValidToken) {
  std::string id = newGuest();
  std::string token = tokenFor(id);
  auto v = service_->authenticate(token);
  ASSERT_TRUE(v.isOk()) << v.status();
  EXPECT_EQ(v->identityId, id);
  EXPECT_EQ(v->poolId, kGuestPool);
}

TEST_F(IdentityServiceTest, AuthenticateUsesTheClock) {
  std::string token = tokenFor(newGuest());
  clock_.advance(15 * 60 * 1000 - 1000);
  EXPECT_TRUE(service_->authenticate(token).isOk());
  clock_.advance(1000);
  EXPECT_EQ(service_->authenticate(token).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityServiceTest, AuthenticateRejects) {
  EXPECT_EQ(service_->authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->authenticate("x.y.z").status().code(), StatusCode::kUnauthenticated);

  // A validly signed token for an identity the store does not know.
  auto ghost = issuer_->issue({kGuestPool, "eu-west-1:00000000-0000-4000-8000-000000000000",
                               {"unauthenticated"}, 600}, clock_.nowMs());
  ASSERT_TRUE(ghost.isOk());
  EXPECT_EQ(service_->authenticate(ghost->token).status().code(), StatusCode::kUnauthenticated);

  // A validly signed token naming the wrong pool for a real identity.
  std::string id = newGuest();
  auto wrongPool = issuer_->issue({kClosedPool, id, {"unauthenticated"}, 600}, clock_.nowMs());
  ASSERT_TRUE(wrongPool.isOk());
  EXPECT_EQ(service_->authenticate(wrongPool->token).status().code(), StatusCode::kUnauthenticated);

  std::string token = tokenFor(id);
  store_.setDisabled(id, true);
  EXPECT_EQ(service_->authenticate(token).status().code(), StatusCode::kUnauthenticated);
  store_.setDisabled(id, false);
  EXPECT_TRUE(service_->authenticate(token).isOk());

  ASSERT_TRUE(store_.putPool({kGuestPool, "Guests", false, 1}).isOk());
  EXPECT_EQ(service_->authenticate(token).status().code(), StatusCode::kUnauthenticated)
      << "guest token after the pool stopped allowing guests";
  ASSERT_TRUE(store_.putPool({kGuestPool, "Guests", true, 1}).isOk());
  store_.erasePool(kGuestPool);
  EXPECT_EQ(service_->authenticate(token).status().code(), StatusCode::kUnauthenticated)
      << "pool removed";
}

TEST_F(IdentityServiceTest, TokenFromAnotherServerRejected) {
  TempDir other;
  auto otherIssuer = TokenIssuer::open(other.path(), "http://127.0.0.1:8080");  // same iss, other key
  ASSERT_TRUE(otherIssuer.isOk());
  std::string id = newGuest();
  auto foreign = (*otherIssuer)->issue({kGuestPool, id, {"unauthenticated"}, 600}, clock_.nowMs());
  ASSERT_TRUE(foreign.isOk());
  EXPECT_EQ(service_->authenticate(foreign->token).status().code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace tether::server
