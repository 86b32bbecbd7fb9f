// IdpKeyring (idp/crypto/idp_keyring.h): the keys come back the same on a second load (file
// store in a temp dir, and the database store on both backends), distinct kids per pool and per
// purpose, the published JWKS verifies our tokens through JwkSet, the token and at-rest stores
// stay apart, concurrent creators end with one key (threads sharing a keyring, and "nodes" with
// a keyring and a Store each), sealing-key rotation, and damaged keys are kCorruption.
#include "idp/crypto/idp_keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "auth/base64url.h"
#include "auth/jwk_set.h"
#include "auth/secret_store.h"
#include "store_backend.h"
#include "temp_dir.h"

namespace tether::server::idp {
namespace {

using server::testing::TempDir;

constexpr const char* kPool = "us-east-1_AbCdEf123";
constexpr const char* kOtherPool = "eu-west-2_Zz9";

std::string kidsOf(IdpKeyring& ring, std::string_view pool) {
  auto keys = ring.poolKeys(pool);
  EXPECT_TRUE(keys.isOk()) << keys.status();
  return keys.isOk() ? keys->idToken->kid() + "/" + keys->accessToken->kid() : "";
}

mode_t modeOf(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

class IdpKeyringFileTest : public ::testing::Test {
 protected:
  TempDir tokenDir_, atRestDir_;
  auth::FileSecretStore tokenStore_{tokenDir_.path()};
  auth::FileSecretStore atRestStore_{atRestDir_.path()};
};

TEST_F(IdpKeyringFileTest, SameKeysOnASecondLoad) {
  std::string kids, jwks, sealed;
  {
    IdpKeyring ring(tokenStore_, atRestStore_);
    kids = kidsOf(ring, kPool);
    jwks = ring.jwksJson(kPool).value();
    sealed = ring.tokenSealer().value()->sealToken("refresh", "ad").value();
  }
  IdpKeyring again(tokenStore_, atRestStore_);
  EXPECT_EQ(kidsOf(again, kPool), kids);
  EXPECT_EQ(again.jwksJson(kPool).value(), jwks);
  EXPECT_EQ(again.tokenSealer().value()->openToken(sealed, "ad").value(), "refresh");
  // Where they live, and that nobody else can read them.
  const std::filesystem::path idKey = tokenDir_.path() / "keys" / "idp" / kPool / "id-key.pem";
  EXPECT_TRUE(std::filesystem::exists(idKey));
  EXPECT_TRUE(std::filesystem::exists(tokenDir_.path() / "keys" / "idp" / kPool / "access-key.pem"));
  EXPECT_EQ(modeOf(idKey), 0600u);
  EXPECT_EQ(modeOf(idKey.parent_path()), 0700u);
  EXPECT_EQ(modeOf(idKey.parent_path().parent_path()), 0700u) << "every folder of the name";
  EXPECT_EQ(std::filesystem::file_size(tokenDir_.path() / "keys" / "idp-token.key"), 32u);
}

TEST_F(IdpKeyringFileTest, DistinctKidsPerPoolAndPurpose) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  auto a = ring.poolKeys(kPool).value();
  auto b = ring.poolKeys(kOtherPool).value();
  std::set<std::string> kids = {a.idToken->kid(), a.accessToken->kid(), b.idToken->kid(), b.accessToken->kid()};
  EXPECT_EQ(kids.size(), 4u);
  EXPECT_EQ(ring.poolKeys(kPool).value().idToken, a.idToken) << "cached: the same object";
}

TEST_F(IdpKeyringFileTest, JwksVerifiesOurTokensThroughJwkSet) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  auto keys = ring.poolKeys(kPool).value();
  auto jwks = nlohmann::json::parse(ring.jwksJson(kPool).value());
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], keys.idToken->kid());
  EXPECT_EQ(jwks["keys"][1]["kid"], keys.accessToken->kid());
  auto set = JwkSet::parse(ring.jwksJson(kPool).value());
  ASSERT_TRUE(set.isOk()) << set.status();
  for (const Rs256Key* key : {keys.idToken.get(), keys.accessToken.get()}) {
    std::string token = key->sign({{"token_use", "id"}}).value();
    size_t dot = token.rfind('.');
    bool found = false;
    EXPECT_TRUE((*set)->verify("RS256", key->kid(), token.substr(0, dot), *auth::base64UrlDecode(token.substr(dot + 1)),
                               &found));
  }
  // An access token does not verify with the ID key.
  std::string access = keys.accessToken->sign({{"token_use", "access"}}).value();
  EXPECT_EQ(keys.idToken->verify(access).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdpKeyringFileTest, TokenAndAtRestKeysStayApart) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  auto token = ring.tokenSealer().value();
  auto atRest = ring.atRestSealer().value();
  EXPECT_TRUE(std::filesystem::exists(atRestDir_.path() / "keys" / "idp-at-rest.key"));
  EXPECT_FALSE(std::filesystem::exists(tokenDir_.path() / "keys" / "idp-at-rest.key"));
  EXPECT_FALSE(std::filesystem::exists(atRestDir_.path() / "keys" / "idp-token.key"));
  std::string secret = atRest->seal("JBSWY3DPEHPK3PXP", "totp").value();
  EXPECT_EQ(token->open(secret, "totp").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(atRest->open(secret, "totp").value(), "JBSWY3DPEHPK3PXP");
  // Code hashes: stable for the at-rest store, different under another one.
  TempDir elsewhere;
  auth::FileSecretStore otherAtRest(elsewhere.path());
  IdpKeyring second(tokenStore_, atRestStore_), third(tokenStore_, otherAtRest);
  const std::string h = ring.codeHasher().value()->hash("scope", "123456");
  EXPECT_EQ(second.codeHasher().value()->hash("scope", "123456"), h);
  EXPECT_NE(third.codeHasher().value()->hash("scope", "123456"), h);
}

TEST_F(IdpKeyringFileTest, ConcurrentCreatorsGetOneKey) {
  constexpr int kThreads = 6;
  IdpKeyring shared(tokenStore_, atRestStore_);
  std::mutex mu;
  std::set<std::string> sharedKids, nodeKids;
  std::set<const Rs256Key*> objects;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto keys = shared.poolKeys(kPool);
      // A keyring of its own on the same store: another node starting at the same moment.
      auth::FileSecretStore files(tokenDir_.path());
      IdpKeyring node(files, atRestStore_);
      std::string mine = kidsOf(node, kOtherPool);
      std::lock_guard lock(mu);
      ASSERT_TRUE(keys.isOk()) << keys.status();
      sharedKids.insert(keys->idToken->kid() + "/" + keys->accessToken->kid());
      objects.insert(keys->idToken.get());
      nodeKids.insert(mine);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sharedKids.size(), 1u);
  EXPECT_EQ(objects.size(), 1u) << "one load for all threads of one keyring";
  EXPECT_EQ(nodeKids.size(), 1u) << "nodes racing on one store agree";
  EXPECT_EQ(nodeKids.count(""), 0u);
}

TEST_F(IdpKeyringFileTest, InvalidPoolIdsAreRefusedBeforeTouchingTheStore) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  for (const std::string& bad : {std::string(""), std::string("nounderscore"), std::string("../x_y"),
                                 std::string("a/b_c"), std::string("us-east-1_"), std::string("_abc"),
                                 std::string("a_b-c"), std::string("a_b.c"), std::string("a_b c"),
                                 std::string("us-east-1_") + std::string(46, 'x')})
    EXPECT_EQ(ring.poolKeys(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  EXPECT_TRUE(ring.poolKeys("a_b").isOk());
  EXPECT_TRUE(ring.poolKeys("local_x_9").isOk()) << "the region part may hold '_'";
  EXPECT_TRUE(ring.poolKeys("us-east-1_" + std::string(45, 'x')).isOk()) << "55 characters";
  EXPECT_FALSE(std::filesystem::exists(tokenDir_.path() / "x_y"));
}

TEST_F(IdpKeyringFileTest, SealingKeysRotate) {
  IdpKeyring before(tokenStore_, atRestStore_);
  auto oldSealer = before.tokenSealer().value();
  const std::string oldToken = oldSealer->sealToken("v1", "ad").value();
  EXPECT_EQ(IdpKeyring::addSealingKey(tokenStore_, IdpKeyring::kTokenSealingKeyName).value(), 2);
  EXPECT_EQ(IdpKeyring::addSealingKey(tokenStore_, IdpKeyring::kTokenSealingKeyName).value(), 3);
  IdpKeyring after(tokenStore_, atRestStore_);
  auto newSealer = after.tokenSealer().value();
  EXPECT_EQ(newSealer->sealingKeyId(), 3);
  EXPECT_EQ(newSealer->openToken(oldToken, "ad").value(), "v1");
  EXPECT_EQ(oldSealer->openToken(newSealer->sealToken("v3", "ad").value(), "ad").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(before.tokenSealer().value(), oldSealer) << "a running keyring keeps its keys until restarted";
  // Names that only look like rotated keys are ignored.
  ASSERT_TRUE(tokenStore_.loadOrCreate("idp-token.key.07", 32, [] { return Result<std::string>(std::string(32, 'x')); }).isOk());
  ASSERT_TRUE(tokenStore_.loadOrCreate("idp-token.key.999", 32, [] { return Result<std::string>(std::string(32, 'x')); }).isOk());
  IdpKeyring third(tokenStore_, atRestStore_);
  EXPECT_EQ(third.tokenSealer().value()->sealingKeyId(), 3);
}

TEST_F(IdpKeyringFileTest, DamagedKeysAreCorruption) {
  {
    IdpKeyring ring(tokenStore_, atRestStore_);
    ASSERT_TRUE(ring.poolKeys(kPool).isOk());
  }
  const std::filesystem::path dir = tokenDir_.path() / "keys" / "idp" / kPool;
  std::filesystem::copy_file(dir / "id-key.pem", dir / "access-key.pem", std::filesystem::copy_options::overwrite_existing);
  IdpKeyring same(tokenStore_, atRestStore_);
  EXPECT_EQ(same.poolKeys(kPool).status().code(), StatusCode::kCorruption) << "one key for both purposes";
  { std::ofstream(dir / "id-key.pem", std::ios::trunc) << "not a key"; }
  IdpKeyring garbage(tokenStore_, atRestStore_);
  EXPECT_EQ(garbage.poolKeys(kPool).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(garbage.poolKeys(kPool).status().code(), StatusCode::kCorruption) << "errors are not cached as keys";
  { std::ofstream(tokenDir_.path() / "keys" / "idp-token.key", std::ios::trunc) << "short"; }
  EXPECT_EQ(garbage.tokenSealer().status().code(), StatusCode::kCorruption);
}

TEST_F(IdpKeyringFileTest, ForgetPoolReloadsTheSameKeys) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  auto first = ring.poolKeys(kPool).value();
  ring.forgetPool(kPool);
  ring.forgetPool("never-loaded_x");
  auto second = ring.poolKeys(kPool).value();
  EXPECT_NE(second.idToken, first.idToken) << "reloaded";
  EXPECT_EQ(second.idToken->kid(), first.idToken->kid());
}

// The database secret store (PostgreSQL deployments) on both backends.
class IdpKeyringDatabaseTest : public tether::testing::StoreBackendFixture {};
TETHER_INSTANTIATE_BACKENDS(IdpKeyringDatabaseTest);

TEST_P(IdpKeyringDatabaseTest, KeysLiveInTheDatabaseAndNodesAgree) {
  constexpr int kNodes = 3;
  std::vector<std::unique_ptr<Store>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(openStore(2));
    ASSERT_NE(nodes.back(), nullptr);
  }
  TempDir atRestDir;
  auth::FileSecretStore atRest(atRestDir.path());
  std::mutex mu;
  std::set<std::string> kids;
  std::set<std::string> sealed;
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auth::DatabaseSecretStore secrets(*nodes[static_cast<size_t>(i)]);
      IdpKeyring ring(secrets, atRest);
      std::string k = kidsOf(ring, kPool);
      auto token = ring.tokenSealer().value()->sealToken("node", "ad").value();
      std::lock_guard lock(mu);
      kids.insert(k);
      sealed.insert(token);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids.count(""), 0u);
  // A node started later (a fresh Store on the same database) reads the same keys.
  auto later = openStore();
  ASSERT_NE(later, nullptr);
  auth::DatabaseSecretStore secrets(*later);
  IdpKeyring ring(secrets, atRest);
  EXPECT_EQ(kidsOf(ring, kPool), *kids.begin());
  for (const std::string& token : sealed) EXPECT_EQ(ring.tokenSealer().value()->openToken(token, "ad").value(), "node");
  auto stored = later->getMeta("secret/" + IdpKeyring::idKeyName(kPool));
  ASSERT_TRUE(stored.isOk());
  EXPECT_TRUE(stored->has_value()) << "the key is in the database";
  auto atRestInDb = later->getMeta("secret/idp-at-rest.key");
  ASSERT_TRUE(atRestInDb.isOk());
  EXPECT_FALSE(atRestInDb->has_value()) << "the at-rest key is not";
}

}  // namespace
}  // namespace tether::server::idp
