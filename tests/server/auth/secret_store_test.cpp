// Secret stores (auth/secret_store.h): keys in files (SQLite deployments) or in the database's
// meta table (PostgreSQL deployments, on both backends here). Creators racing on several nodes
// (threads with a Store each) all end up with the one key that won; a stored key that is not
// base64url or too large is corruption, not a silent new key.
#include "auth/secret_store.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "auth/session_token_signer.h"
#include "auth/token_issuer.h"
#include "store_backend.h"
#include "temp_dir.h"

namespace tether::server {
namespace {

class DatabaseSecretStoreTest : public tether::testing::StoreBackendFixture {};
TETHER_INSTANTIATE_BACKENDS(DatabaseSecretStoreTest);

TEST_P(DatabaseSecretStoreTest, ConcurrentCreatorsOnSeveralNodesAgreeOnOneKey) {
  constexpr int kNodes = 4;
  std::vector<std::unique_ptr<Store>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(openStore(2));
    ASSERT_NE(nodes.back(), nullptr);
  }
  std::mutex mu;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auth::DatabaseSecretStore secrets(*nodes[static_cast<size_t>(i)]);
      // Each node would generate a different key.
      auto key = secrets.loadOrCreate("session-key", 64,
                                      [i] { return Result<std::string>(std::string(32, static_cast<char>('a' + i))); });
      ASSERT_TRUE(key.isOk()) << key.status();
      std::lock_guard lock(mu);
      seen.insert(*key);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(seen.size(), 1u) << "every node uses the key that won";
  // Later loads read it back, byte for byte, without generating.
  auth::DatabaseSecretStore again(*nodes[0]);
  auto key = again.loadOrCreate("session-key", 64, [] { return Result<std::string>(Status::internal("must not generate")); });
  ASSERT_TRUE(key.isOk()) << key.status();
  EXPECT_EQ(*key, *seen.begin());
}

TEST_P(DatabaseSecretStoreTest, KeysOpenThroughTheStoreAndDamageIsCorruption) {
  auto store = openStore();
  ASSERT_NE(store, nullptr);
  auth::DatabaseSecretStore secrets(*store);
  auto issuer1 = TokenIssuer::open(secrets, "http://a");
  ASSERT_TRUE(issuer1.isOk()) << issuer1.status();
  auto issuer2 = TokenIssuer::open(secrets, "http://a");
  ASSERT_TRUE(issuer2.isOk());
  EXPECT_EQ((*issuer1)->jwksJson(), (*issuer2)->jwksJson()) << "the same signing key";
  ASSERT_TRUE(SessionTokenSigner::open(secrets).isOk());
  ASSERT_TRUE(store->putMeta("secret/session-key", "not base64url!").isOk());
  EXPECT_EQ(SessionTokenSigner::open(secrets).status().code(), StatusCode::kCorruption);
  ASSERT_TRUE(store->putMeta("secret/session-key", std::string(200, 'A')).isOk());
  EXPECT_EQ(SessionTokenSigner::open(secrets).status().code(), StatusCode::kCorruption) << "too large";
}

TEST(FileSecretStoreTest, SameLayoutAsBefore) {
  testing::TempDir dir;
  auth::FileSecretStore files(dir.path());
  auto key = files.loadOrCreate("session-key", 64, [] { return Result<std::string>(std::string(32, 'z')); });
  ASSERT_TRUE(key.isOk()) << key.status();
  EXPECT_EQ(files.describe("session-key"), (dir.path() / "keys" / "session-key").string());
  // The data-dir entry points read the very same file.
  EXPECT_TRUE(SessionTokenSigner::open(dir.path()).isOk());
  EXPECT_EQ(SessionTokenSigner::keyPath(dir.path()), dir.path() / "keys" / "session-key");
}

}  // namespace
}  // namespace tether::server
