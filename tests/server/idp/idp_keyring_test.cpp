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
#include "result_test_util.h"
#include "store_backend.h"
#include "temp_dir.h"

namespace tether::server::idp {
namespace {

using server::testing::TempDir;
using testing::textOf;

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
    jwks = textOf(ring.jwksJson(kPool));
    IDP_ASSERT_OK_AND_ASSIGN(auto sealer, ring.tokenSealer());
    sealed = textOf(sealer->sealToken("refresh", "ad"));
  }
  IdpKeyring again(tokenStore_, atRestStore_);
  EXPECT_EQ(kidsOf(again, kPool), kids);
  EXPECT_EQ(textOf(again.jwksJson(kPool)), jwks);
  IDP_ASSERT_OK_AND_ASSIGN(auto sealer, again.tokenSealer());
  EXPECT_EQ(textOf(sealer->openToken(sealed, "ad")), "refresh");
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
  IDP_ASSERT_OK_AND_ASSIGN(auto a, ring.poolKeys(kPool));
  IDP_ASSERT_OK_AND_ASSIGN(auto b, ring.poolKeys(kOtherPool));
  std::set<std::string> kids = {a.idToken->kid(), a.accessToken->kid(), b.idToken->kid(), b.accessToken->kid()};
  EXPECT_EQ(kids.size(), 4u);
  IDP_ASSERT_OK_AND_ASSIGN(auto again, ring.poolKeys(kPool));
  EXPECT_EQ(again.idToken, a.idToken) << "cached: the same object";
}

TEST_F(IdpKeyringFileTest, JwksVerifiesOurTokensThroughJwkSet) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  IDP_ASSERT_OK_AND_ASSIGN(auto keys, ring.poolKeys(kPool));
  IDP_ASSERT_OK_AND_ASSIGN(std::string text, ring.jwksJson(kPool));
  auto jwks = nlohmann::json::parse(text);
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], keys.idToken->kid());
  EXPECT_EQ(jwks["keys"][1]["kid"], keys.accessToken->kid());
  auto set = JwkSet::parse(text);
  ASSERT_TRUE(set.isOk()) << set.status();
  for (const Rs256Key* key : {keys.idToken.get(), keys.accessToken.get()}) {
    std::string token = textOf(key->sign({{"token_use", "id"}}));
    size_t dot = token.rfind('.');
    bool found = false;
    EXPECT_TRUE((*set)->verify("RS256", key->kid(), token.substr(0, dot), *auth::base64UrlDecode(token.substr(dot + 1)),
                               &found));
  }
  // An access token does not verify with the ID key.
  std::string access = textOf(keys.accessToken->sign({{"token_use", "access"}}));
  EXPECT_EQ(keys.idToken->verify(access).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdpKeyringFileTest, TokenAndAtRestKeysStayApart) {
  IdpKeyring ring(tokenStore_, atRestStore_);
  IDP_ASSERT_OK_AND_ASSIGN(auto token, ring.tokenSealer());
  IDP_ASSERT_OK_AND_ASSIGN(auto atRest, ring.atRestSealer());
  EXPECT_TRUE(std::filesystem::exists(atRestDir_.path() / "keys" / "idp-at-rest.key"));
  EXPECT_FALSE(std::filesystem::exists(tokenDir_.path() / "keys" / "idp-at-rest.key"));
  EXPECT_FALSE(std::filesystem::exists(atRestDir_.path() / "keys" / "idp-token.key"));
  std::string secret = textOf(atRest->seal("JBSWY3DPEHPK3PXP", "totp"));
  EXPECT_EQ(token->open(secret, "totp").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(textOf(atRest->open(secret, "totp")), "JBSWY3DPEHPK3PXP");
  // Code hashes: stable for the at-rest store, different under another one.
  TempDir elsewhere;
  auth::FileSecretStore otherAtRest(elsewhere.path());
  IdpKeyring second(tokenStore_, atRestStore_), third(tokenStore_, otherAtRest);
  IDP_ASSERT_OK_AND_ASSIGN(auto codes1, ring.codeHasher());
  IDP_ASSERT_OK_AND_ASSIGN(auto codes2, second.codeHasher());
  IDP_ASSERT_OK_AND_ASSIGN(auto codes3, third.codeHasher());
  const std::string h = codes1->hash("scope", "123456");
  EXPECT_EQ(codes2->hash("scope", "123456"), h);
  EXPECT_NE(codes3->hash("scope", "123456"), h);
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
  IDP_ASSERT_OK_AND_ASSIGN(auto oldSealer, before.tokenSealer());
  const std::string oldToken = textOf(oldSealer->sealToken("v1", "ad"));
  IDP_ASSERT_OK_AND_ASSIGN(uint8_t second, IdpKeyring::addSealingKey(tokenStore_, IdpKeyring::kTokenSealingKeyName));
  IDP_ASSERT_OK_AND_ASSIGN(uint8_t third, IdpKeyring::addSealingKey(tokenStore_, IdpKeyring::kTokenSealingKeyName));
  EXPECT_EQ(second, 2);
  EXPECT_EQ(third, 3);
  IdpKeyring after(tokenStore_, atRestStore_);
  IDP_ASSERT_OK_AND_ASSIGN(auto newSealer, after.tokenSealer());
  EXPECT_EQ(newSealer->sealingKeyId(), 3);
  EXPECT_EQ(textOf(newSealer->openToken(oldToken, "ad")), "v1");
  EXPECT_EQ(oldSealer->openToken(textOf(newSealer->sealToken("v3", "ad")), "ad").status().code(),
            StatusCode::kUnauthenticated);
  IDP_ASSERT_OK_AND_ASSIGN(auto stillOld, before.tokenSealer());
  EXPECT_EQ(stillOld, oldSealer) << "a running keyring keeps its keys until restarted";
  // Names that only look like rotated keys are ignored.
  ASSERT_TRUE(tokenStore_.loadOrCreate("idp-token.key.07", 32, [] { return Result<std::string>(std::string(32, 'x')); }).isOk());
  ASSERT_TRUE(tokenStore_.loadOrCreate("idp-token.key.999", 32, [] { return Result<std::string>(std::string(32, 'x')); }).isOk());
  IdpKeyring restarted(tokenStore_, atRestStore_);
  IDP_ASSERT_OK_AND_ASSIGN(auto sealer, restarted.tokenSealer());
  EXPECT_EQ(sealer->sealingKeyId(), 3);
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
  IDP_ASSERT_OK_AND_ASSIGN(auto first, ring.poolKeys(kPool));
  ring.forgetPool(kPool);
  ring.forgetPool("never-loaded_x");
  IDP_ASSERT_OK_AND_ASSIGN(auto second, ring.poolKeys(kPool));
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
      IDP_ASSERT_OK_AND_ASSIGN(auto sealer, ring.tokenSealer());
      std::string token = textOf(sealer->sealToken("node", "ad"));
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
  IDP_ASSERT_OK_AND_ASSIGN(auto sealer, ring.tokenSealer());
  for (const std::string& token : sealed) EXPECT_EQ(textOf(sealer->openToken(token, "ad")), "node");
  auto stored = later->getMeta("secret/" + IdpKeyring::idKeyName(kPool));
  ASSERT_TRUE(stored.isOk());
  EXPECT_TRUE(stored->has_value()) << "the key is in the database";
  auto atRestInDb = later->getMeta("secret/idp-at-rest.key");
  ASSERT_TRUE(atRestInDb.isOk());
  EXPECT_FALSE(atRestInDb->has_value()) << "the at-rest key is not";
}

}  // namespace
}  // namespace tether::server::idp
