// The rest of the storage contract on both backends (storage_test.cpp has pools, identities,
// meta and the dataset transactions; device_store_test.cpp the push-sync devices): linked logins
// and identity administration, login providers and developer credentials, insert-if-absent
// meta, pool usage, and the identity side of a merge inside a transaction.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/store.h"
#include "store_backend.h"

namespace tether::server {
namespace {

const std::string kPool = "local:00000000-0000-0000-0000-0000000000aa";
const std::string kAlice = "local:00000000-0000-0000-0000-00000000a11c";
const std::string kBob = "local:00000000-0000-0000-0000-000000000b0b";

class StoreContractMore : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    store_ = openStore();
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->putPool({kPool, "p", true, 1}).isOk());
    ASSERT_TRUE(store_->createIdentity({kAlice, kPool, 10, false}).isOk());
    ASSERT_TRUE(store_->createIdentity({kBob, kPool, 20, false}).isOk());
  }
  std::unique_ptr<Store> store_;
};
TETHER_INSTANTIATE_BACKENDS(StoreContractMore);

DatasetRow live(std::string name, int64_t count, int64_t bytes = 0, int64_t modified = 200) {
  DatasetRow r;
  r.name = std::move(name);
  r.syncCount = count;
  r.live = true;
  r.creationMs = 100;
  r.lastModifiedMs = modified;
  r.lastModifiedBy = "dev";
  r.dataStorage = bytes;
  r.numRecords = bytes > 0 ? 1 : 0;
  return r;
}

TEST_P(StoreContractMore, LoginsLinkFindListUnlinkAndConflict) {
  ASSERT_TRUE(store_->linkLogin({kPool, "graph.facebook.com", "u2", kAlice}).isOk());
  ASSERT_TRUE(store_->linkLogin({kPool, "accounts.google.com", "u1", kAlice}).isOk());
  ASSERT_TRUE(store_->linkLogin({kPool, "accounts.google.com", "u1", kAlice}).isOk());  // again: no-op
  Status taken = store_->linkLogin({kPool, "accounts.google.com", "u1", kBob});
  EXPECT_EQ(taken.code(), StatusCode::kConflict) << taken;
  EXPECT_EQ(**store_->findLogin(kPool, "accounts.google.com", "u1"), kAlice);
  EXPECT_FALSE(store_->findLogin(kPool, "accounts.google.com", "nobody")->has_value());
  EXPECT_FALSE(store_->findLogin("local:other", "accounts.google.com", "u1")->has_value());
  auto links = store_->listLogins(kAlice);
  ASSERT_TRUE(links.isOk());
  ASSERT_EQ(links->size(), 2u);
  EXPECT_EQ((*links)[0].provider, "accounts.google.com");  // by provider, then subject
  EXPECT_EQ((*links)[1].provider, "graph.facebook.com");
  EXPECT_EQ(store_->unlinkLogin(kBob, "accounts.google.com", "u1").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->unlinkLogin(kAlice, "accounts.google.com", "u1").isOk());
  EXPECT_EQ(store_->listLogins(kAlice)->size(), 1u);
  ASSERT_TRUE(store_->moveLogins(kAlice, kBob).isOk());
  EXPECT_TRUE(store_->listLogins(kAlice)->empty());
  EXPECT_EQ(**store_->findLogin(kPool, "graph.facebook.com", "u2"), kBob);
}

TEST_P(StoreContractMore, IdentitiesListDisableAndDeleteWithEverythingTheyOwn) {
  const std::string carol = "local:00000000-0000-0000-0000-0000000c0001";
  ASSERT_TRUE(store_->createIdentity({carol, kPool, 30, false}).isOk());
  ASSERT_TRUE(store_->createIdentity({"local:zz", "local:otherpool", 5, false}).isOk());
  auto page = store_->listIdentities(kPool, "", 2);
  ASSERT_TRUE(page.isOk());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, kBob);  // by id: ...000b0b < ...00a11c < ...0c0001
  EXPECT_EQ((*page)[1].id, kAlice);
  auto rest = store_->listIdentities(kPool, kAlice, 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id, carol);

  ASSERT_TRUE(store_->setIdentityDisabled(kBob, true).isOk());
  EXPECT_TRUE((*store_->getIdentity(kBob))->disabled);
  EXPECT_EQ(store_->setIdentityDisabled("local:nobody", true).code(), StatusCode::kNotFound);

  // Alice owns a dataset with records, a merge relation, a login and a device.
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    OwnerRef alice{kPool, kAlice};
    ASSERT_TRUE((*txn)->putDataset(alice, live("d", 1, 2)).isOk());
    std::vector<Record> recs{Record{"k", "v", 1, 1, "dev", 1}};
    ASSERT_TRUE((*txn)->putRecords(alice, "d", recs).isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(alice, "d", "d.x").isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  ASSERT_TRUE(store_->linkLogin({kPool, "p", "s", kAlice}).isOk());
  ASSERT_TRUE(store_->registerDevice({kPool, kAlice, "dev1", "GCM", "t", 1}, 10).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kAlice, "dev1", "d", 10).isOk());

  ASSERT_TRUE(store_->deleteIdentity(kAlice).isOk());
  EXPECT_FALSE(store_->getIdentity(kAlice)->has_value());
  EXPECT_FALSE(store_->findLogin(kPool, "p", "s")->has_value());
  EXPECT_FALSE(store_->getDevice(kPool, kAlice, "dev1")->has_value());
  EXPECT_TRUE(store_->listDeviceSubscriptions(kPool, kAlice, "dev1")->empty());
  auto txn = store_->beginRead();
  ASSERT_TRUE(txn.isOk());
  EXPECT_FALSE((*txn)->getDataset({kPool, kAlice}, "d")->has_value());
  EXPECT_TRUE((*txn)->listRecords({kPool, kAlice}, "d", RecordQuery{})->empty());
  EXPECT_TRUE((*txn)->listMergedDatasets({kPool, kAlice}, "d")->empty());
  txn->reset();
  EXPECT_EQ(store_->deleteIdentity(kAlice).code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->getIdentity(kBob)->has_value());  // others untouched
}

TEST_P(StoreContractMore, PoolUsageCountsLiveDatasetsOfThePool) {
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->putDataset({kPool, kAlice}, live("a", 1, 10, 300)).isOk());
    ASSERT_TRUE((*txn)->putDataset({kPool, kBob}, live("b", 1, 5, 400)).isOk());
    DatasetRow dead = live("c", 2, 0, 900);
    dead.live = false;
    ASSERT_TRUE((*txn)->putDataset({kPool, kBob}, dead).isOk());
    ASSERT_TRUE((*txn)->putDataset({"local:otherpool", "local:x"}, live("z", 1, 99, 999)).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  auto u = store_->poolUsage(kPool);
  ASSERT_TRUE(u.isOk()) << u.status();
  EXPECT_EQ(u->datasetCount, 2);
  EXPECT_EQ(u->dataStorage, 15);
  EXPECT_EQ(u->lastModifiedMs, 900);  // a deletion is a change
  EXPECT_EQ(store_->poolUsage("local:empty")->datasetCount, 0);
}

TEST_P(StoreContractMore, OidcProvidersAndDeveloperProvider) {
  OidcProviderRow g{kPool, "accounts.google.com", "https://accounts.google.com", {"a1", "a2"}, "", "{\"keys\":[]}", 30, 7};
  OidcProviderRow f{kPool, "auth.example.com", "https://auth.example.com", {"x"}, "/etc/jwks.json", "", 60, 8};
  OidcProviderRow other{"local:otherpool", "z", "https://z", {"z"}, "", "{}", 0, 9};
  ASSERT_TRUE(store_->putOidcProvider(f).isOk());
  ASSERT_TRUE(store_->putOidcProvider(g).isOk());
  ASSERT_TRUE(store_->putOidcProvider(other).isOk());
  g.audiences = {"a3"};
  ASSERT_TRUE(store_->putOidcProvider(g).isOk());  // replace
  auto mine = store_->listOidcProviders(kPool);
  ASSERT_TRUE(mine.isOk());
  EXPECT_EQ(*mine, (std::vector<OidcProviderRow>{g, f}));
  EXPECT_EQ(store_->listOidcProviders("")->size(), 3u);
  OidcProviderRow bad = g;
  bad.audiences = {"a\nb"};
  EXPECT_EQ(store_->putOidcProvider(bad).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->deleteOidcProvider(kPool, "auth.example.com").isOk());
  EXPECT_EQ(store_->deleteOidcProvider(kPool, "auth.example.com").code(), StatusCode::kNotFound);

  EXPECT_EQ(*store_->getPoolDeveloperProvider(kPool), "");
  ASSERT_TRUE(store_->setPoolDeveloperProvider(kPool, "login.example.app").isOk());
  EXPECT_EQ(*store_->getPoolDeveloperProvider(kPool), "login.example.app");
  EXPECT_EQ(store_->getPoolDeveloperProvider("local:nopool").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->setPoolDeveloperProvider("local:nopool", "x").code(), StatusCode::kNotFound);
  // putPool (the config file's pools) leaves the developer provider alone.
  ASSERT_TRUE(store_->putPool({kPool, "renamed", false, 1}).isOk());
  EXPECT_EQ(*store_->getPoolDeveloperProvider(kPool), "login.example.app");
}

TEST_P(StoreContractMore, DeveloperCredentials) {
  ASSERT_TRUE(store_->createDeveloperCredential({"AKIDB", "secret-b", "two", 2}).isOk());
  ASSERT_TRUE(store_->createDeveloperCredential({"AKIDA", "secret-a", "one", 1}).isOk());
  EXPECT_EQ(store_->createDeveloperCredential({"AKIDA", "other", "dup", 3}).code(), StatusCode::kConflict);
  auto a = store_->findDeveloperCredential("AKIDA");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(**a, (DeveloperCredentialRow{"AKIDA", "secret-a", "one", 1}));
  EXPECT_FALSE(store_->findDeveloperCredential("AKIDZ")->has_value());
  auto all = store_->listDeveloperCredentials();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].accessKeyId, "AKIDA");
  ASSERT_TRUE(store_->deleteDeveloperCredential("AKIDA").isOk());
  EXPECT_EQ(store_->deleteDeveloperCredential("AKIDA").code(), StatusCode::kNotFound);
}

TEST_P(StoreContractMore, PutMetaIfAbsentKeepsTheFirstValue) {
  auto first = store_->putMetaIfAbsent("secret/k", "one");
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_EQ(*first, "one");
  auto second = store_->putMetaIfAbsent("secret/k", "two");
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(*second, "one");
  EXPECT_EQ(**store_->getMeta("secret/k"), "one");
}

// listMeta: by prefix, byte order, a prefix with LIKE's wildcards taken literally.
TEST_P(StoreContractMore, ListMetaByPrefixInByteOrder) {
  for (const char* k : {"secret/b", "secret/a", "secretX", "cognito.events:p", "sec%et/z", "Secret/c"})
    ASSERT_TRUE(store_->putMeta(k, std::string("v-") + k).isOk());
  auto secrets = store_->listMeta("secret/");
  ASSERT_TRUE(secrets.isOk()) << secrets.status();
  using KV = std::pair<std::string, std::string>;
  EXPECT_EQ(*secrets, (std::vector<KV>{{"secret/a", "v-secret/a"}, {"secret/b", "v-secret/b"}}));
  auto wild = store_->listMeta("sec%");
  ASSERT_TRUE(wild.isOk());
  EXPECT_EQ(*wild, (std::vector<KV>{{"sec%et/z", "v-sec%et/z"}}));
  auto all = store_->listMeta("");
  ASSERT_TRUE(all.isOk());
  std::vector<std::string> keys;
  for (const auto& [k, v] : *all) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"Secret/c", "cognito.events:p", "sec%et/z", "secret/a", "secret/b",
                                            "secretX"}));
}

// listDevices: every device of one identity, by device ID, with all fields; others' stay out.
TEST_P(StoreContractMore, ListDevicesOfOneIdentityByDeviceId) {
  ASSERT_TRUE(store_->registerDevice({kPool, kAlice, "dev-b", "GCM", "t2", 2}, 10).isOk());
  ASSERT_TRUE(store_->registerDevice({kPool, kAlice, "dev-a", "APNS", "t1", 3}, 10).isOk());
  ASSERT_TRUE(store_->registerDevice({kPool, kBob, "dev-c", "GCM", "t3", 4}, 10).isOk());
  auto alice = store_->listDevices(kPool, kAlice);
  ASSERT_TRUE(alice.isOk()) << alice.status();
  EXPECT_EQ(*alice, (std::vector<DeviceInfo>{{kPool, kAlice, "dev-a", "APNS", "t1", 3},
                                             {kPool, kAlice, "dev-b", "GCM", "t2", 2}}));
  auto none = store_->listDevices(kPool, "local:00000000-0000-0000-0000-00000000dead");
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractMore, RetireIdentityDisablesAndMovesLoginsAndDevicesAtCommit) {
  ASSERT_TRUE(store_->linkLogin({kPool, "p", "bob-user", kBob}).isOk());
  ASSERT_TRUE(store_->registerDevice({kPool, kBob, "bdev", "GCM", "bob-token", 1}, 10).isOk());
  ASSERT_TRUE(store_->subscribeDevice(kPool, kBob, "bdev", "d", 10).isOk());
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->lockIdentities({kBob, kAlice}).isOk());
    EXPECT_FALSE(*(*txn)->identityDisabled(kBob));
    ASSERT_TRUE((*txn)->retireIdentity(kPool, kBob, kAlice).isOk());
    // Not committed: nothing moved yet for anyone else.
  }
  EXPECT_FALSE((*store_->getIdentity(kBob))->disabled);
  EXPECT_EQ(**store_->findLogin(kPool, "p", "bob-user"), kBob);
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->lockIdentities({kAlice, kBob}).isOk());
    ASSERT_TRUE((*txn)->retireIdentity(kPool, kBob, kAlice).isOk());
    EXPECT_FALSE((*txn)->failedRetryably());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  EXPECT_TRUE((*store_->getIdentity(kBob))->disabled);
  EXPECT_EQ(**store_->findLogin(kPool, "p", "bob-user"), kAlice);
  EXPECT_TRUE(store_->getDevice(kPool, kAlice, "bdev")->has_value());
  EXPECT_EQ(*store_->listDeviceSubscriptions(kPool, kAlice, "bdev"), std::vector<std::string>{"d"});
  auto txn = store_->begin();
  ASSERT_TRUE(txn.isOk());
  EXPECT_TRUE(*(*txn)->identityDisabled(kBob));
  EXPECT_FALSE(*(*txn)->identityDisabled("local:never-created"));
}

TEST_P(StoreContractMore, RunWriteTransactionCommitsOnceAndReportsBodyErrors) {
  int runs = 0;
  Result<int64_t> r = runWriteTransaction(*store_, [&](StoreTransaction& txn) -> Result<int64_t> {
    ++runs;
    TETHER_RETURN_IF_ERROR(txn.putDataset({kPool, kAlice}, live("w", 5)));
    TETHER_RETURN_IF_ERROR(txn.commit());
    return int64_t{5};
  });
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(runs, 1);
  Status failed = runWriteTransaction(*store_, [&](StoreTransaction&) -> Status {
    ++runs;
    return Status::conflict("the body's own verdict");
  });
  EXPECT_EQ(failed.code(), StatusCode::kConflict);
  EXPECT_EQ(runs, 2) << "a failure that is not a database abort is not retried";
}

}  // namespace
}  // namespace tether::server
