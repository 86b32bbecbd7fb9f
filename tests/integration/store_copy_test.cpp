// `tetherd store copy` end to end: a deployment populated through the real server (native and
// Cognito HTTP clients, deletions, tombstones, a push-sync device, a developer credential) and,
// in its store, Cognito User Pools (pools, clients, users, groups, revocations) is stopped,
// copied into an empty store, verified, and served again from the copy; a device that had
// synced goes on without a re-pull and without a conflict, with the same identity, and the user
// pools read back from the copy as they were.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include <unistd.h>

#include "auth/secret_store.h"
#include "pg_test_cluster.h"
#include "signed_sync_client.h"
#include "storage/pg_store.h"
#include "storage/sqlite_store.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;

RecordPatch put(const std::string& k, const std::string& v, int64_t count) {
  return RecordPatch{PatchOp::kReplace, k, v, count, 1};
}

using server::RevokedOrigin;
using server::Store;
using server::UserAlias;
using server::UserCursor;
using server::UserFilter;
using server::UserGroupRow;
using server::UserPoolClientRow;
using server::UserPoolRow;
using server::UserRow;
using server::UserWriteOutcome;

UserRow poolUser(const std::string& pool, const std::string& sub, const std::string& name, int64_t createdMs,
                 std::vector<UserAlias> aliases) {
  UserRow u;
  u.poolId = pool;
  u.username = u.usernameKey = name;
  u.sub = sub;
  u.status = "CONFIRMED";
  u.createdMs = createdMs;
  u.modifiedMs = createdMs + 1;
  u.attributes = {{"email", name + "@example.org"}, {"name", "It's " + name}};
  u.aliases = std::move(aliases);
  u.stateJson = R"({"srp":{"salt":")" + name + R"("}})";
  return u;
}

// Cognito User Pools written straight into the (stopped) source store: two pools, one with a
// domain; two app clients; three users with attributes, aliases and state (one updated twice,
// so at version 3, one disabled); a group with two members; a revoked session; a ticket (not
// copied: short-lived).
void populateUserPools(Store& s) {
  ASSERT_TRUE(s.createUserPool({"us-east-1_AAAAAAAAA", "users", "auth-demo", 1, 2, R"({"Mfa":"OFF"})"}).isOk());
  ASSERT_TRUE(s.createUserPool({"us-east-1_BBBBBBBBB", "staff", "", 3, 4, "{}"}).isOk());
  ASSERT_TRUE(s.createUserPoolClient({"client1", "us-east-1_AAAAAAAAA", "web", 5, 6, R"({"secret":"s1"})"}).isOk());
  ASSERT_TRUE(s.createUserPoolClient({"client2", "us-east-1_BBBBBBBBB", "cli", 7, 8, "{}"}).isOk());
  for (UserRow u : {poolUser("us-east-1_AAAAAAAAA", "sub-1", "alice", 10, {{"email", "alice@example.org"}}),
                    poolUser("us-east-1_AAAAAAAAA", "sub-2", "bob", 20, {}),
                    poolUser("us-east-1_BBBBBBBBB", "sub-3", "carol", 30, {{"preferred_username", "c"}})}) {
    auto r = s.insertUser(u);
    ASSERT_TRUE(r.isOk()) << r.status();
    ASSERT_EQ(*r, UserWriteOutcome::kOk);
  }
  for (int i = 0; i < 2; ++i) {
    UserRow bob = **s.getUserBySub("us-east-1_AAAAAAAAA", "sub-2");
    bob.enabled = false;
    bob.stateJson = "{\"n\":" + std::to_string(i) + "}";
    ASSERT_EQ(*s.updateUser(bob, false), UserWriteOutcome::kOk);
  }
  ASSERT_TRUE(s.createUserGroup({"us-east-1_AAAAAAAAA", "admins", "the admins", "arn:role", 1, 40, 41}).isOk());
  ASSERT_TRUE(s.addUserToGroup("us-east-1_AAAAAAAAA", "admins", "sub-1").isOk());
  ASSERT_TRUE(s.addUserToGroup("us-east-1_AAAAAAAAA", "admins", "sub-2").isOk());
  ASSERT_TRUE(s.revokeOrigin("us-east-1_AAAAAAAAA", "jti-1", 4102444800000).isOk());
  ASSERT_TRUE(s.putTicket("us-east-1_AAAAAAAAA/srp/x", "handshake", 4102444800000).isOk());
}

// Everything populateUserPools wrote, as `s` holds it (users' versions set to 1: not copied).
std::string userPoolDump(Store& s) {
  std::string out;
  auto pools = s.listUserPools("", 100);
  if (!pools.isOk()) return "error: " + pools.status().toString();
  for (const UserPoolRow& p : *pools) {
    out += "pool " + p.id + " " + p.name + " " + p.domain + " " + std::to_string(p.createdMs) + " " +
           std::to_string(p.modifiedMs) + " " + p.configJson + "\n";
    // Each Result in a local: a range-for over *temporary() would read a destroyed Result.
    auto clients = s.listUserPoolClients(p.id, "", 100);
    auto users = s.listUsers(p.id, UserFilter{}, UserCursor{}, 100);
    auto groups = s.listUserGroups(p.id, "", 100);
    auto revoked = s.listRevokedOrigins(p.id, "", 100);
    if (!clients.isOk() || !users.isOk() || !groups.isOk() || !revoked.isOk()) return "error reading " + p.id;
    for (const UserPoolClientRow& c : *clients)
      out += " client " + c.clientId + " " + c.name + " " + std::to_string(c.createdMs) + " " + c.configJson + "\n";
    for (const UserRow& u : *users) {
      out += " user " + u.sub + " " + u.username + " " + u.status + " " + (u.enabled ? "on" : "off") + " " +
             std::to_string(u.createdMs) + " " + std::to_string(u.modifiedMs) + " " + u.stateJson;
      for (const auto& [k, v] : u.attributes) out += " " + k + "=" + v;
      for (const UserAlias& a : u.aliases) out += " alias:" + a.kind + "=" + a.valueKey;
      out += "\n";
    }
    for (const UserGroupRow& g : *groups) {
      out += " group " + g.name + " " + g.description + " " + g.roleArn + " " + std::to_string(g.precedence.value_or(-1));
      auto members = s.listUsersInGroup(p.id, g.name, UserCursor{}, 100);
      if (!members.isOk()) return "error reading " + g.name;
      for (const UserRow& m : *members) out += " member:" + m.sub;
      out += "\n";
    }
    for (const RevokedOrigin& r : *revoked)
      out += " revoked " + r.originJti + " " + std::to_string(r.expiresMs) + "\n";
  }
  return out;
}

// The target: another SQLite directory, or (the scale-out move) a PostgreSQL database.
class StoreCopyTest : public ::testing::TestWithParam<bool> {
 protected:
  bool postgres() const { return GetParam(); }
};

TEST_P(StoreCopyTest, CopiesAPopulatedDeploymentAndDevicesContinueOnTheCopy) {
  PgTestCluster* pg = nullptr;
  std::string pgSchema;
  if (postgres()) {
    PG_TEST_OR_SKIP(cluster);
    pg = cluster;
    pgSchema = "storecopy_" + std::to_string(::getpid());
    ASSERT_TRUE(pg->adminExec("DROP SCHEMA IF EXISTS " + pgSchema + " CASCADE; CREATE SCHEMA " + pgSchema).isOk());
  }
  auto source = TetherdProcess::start();
  ASSERT_NE(source, nullptr);
  std::string pool = source->poolId();
  std::string out, err;
  ASSERT_EQ(TetherdProcess::runTool({"credentials", "create", "--data-dir", source->dataDir().string()}, &out, &err), 0)
      << err;

  auto a = WsTestClient::connect(source->url());
  ASSERT_NE(a, nullptr);
  Result<std::string> id = a->loginAsNewGuest(pool);
  ASSERT_TRUE(id.isOk()) << id.status();
  auto w1 = a->write("prefs", {put("theme", "dark", 0), put("lang", "en", 0), put("tmp", "x", 0)});
  ASSERT_TRUE(w1.isOk()) << w1.status();
  auto w2 = a->write("prefs", {RecordPatch{PatchOp::kRemove, "tmp", "", w1->syncCount, 2}});
  ASSERT_TRUE(w2.isOk()) << w2.status();
  ASSERT_TRUE(a->write("scratch", {put("k", "v", 0)}).isOk());
  ASSERT_TRUE(a->callAs<DeleteDatasetResponse>(DeleteDatasetRequest{"scratch"}).isOk());
  // A second identity, and a push-sync device with a subscription over the Cognito HTTP API.
  auto b = WsTestClient::connect(source->url());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->loginAsNewGuest(pool).isOk());
  ASSERT_TRUE(b->write("notes", {put("n1", std::string(2000, 'z'), 0)}).isOk());
  SignedSyncClient cognito(source->port(), pool, *id);
  ASSERT_TRUE(cognito.fetchCredentials());
  HttpReply reg = cognito.registerDevice("GCM", "push-token-1");
  ASSERT_EQ(reg.status, 200) << reg.raw;
  std::string deviceId = reg.body.value("DeviceId", "");
  ASSERT_FALSE(deviceId.empty());
  ASSERT_EQ(cognito.subscribe("prefs", deviceId).status, 200);
  a.reset();
  b.reset();
  ASSERT_EQ(source->stop(), 0);
  std::string sourceUserPools;
  {
    auto store = server::openSqliteStore(source->dataDir() / "tether.db");
    ASSERT_TRUE(store.isOk()) << store.status();
    populateUserPools(**store);
    if (HasFatalFailure()) return;
    sourceUserPools = userPoolDump(**store);
    EXPECT_EQ((*(*store)->getUserBySub("us-east-1_AAAAAAAAA", "sub-2"))->version, 3);
  }

  // Every key goes along: a rotated signing key and a user pool's token key (in a folder) too,
  // besides the ones the server made on start (signing, session, credential, user-pool sealing).
  ASSERT_EQ(TetherdProcess::runTool({"keys", "rotate", "--data-dir", source->dataDir().string()}, &out, &err), 0)
      << err;
  {
    server::auth::FileSecretStore files(source->dataDir());
    auto made = files.loadOrCreate("idp/us-east-1_AAAAAAAAA/id-key.pem", 65536,
                                   []() -> Result<std::string> { return std::string("pool token key bytes"); });
    ASSERT_TRUE(made.isOk()) << made.status();
  }
  std::map<std::string, std::string> sourceKeys;  // path under keys/ -> bytes
  for (const auto& f : std::filesystem::recursive_directory_iterator(source->dataDir() / "keys")) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    sourceKeys[std::filesystem::relative(f.path(), source->dataDir() / "keys").string()] =
        std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Issue 5's three, the rotated signing key, the user-pool sealing and at-rest keys, the pool's.
  ASSERT_GE(sourceKeys.size(), 7u);
  ASSERT_EQ(sourceKeys.count("idp-at-rest.key"), 1u);
  ASSERT_EQ(sourceKeys.count("idp-token.key"), 1u);

  std::filesystem::path target = makeTempDir("copy-target");
  std::string from = "sqlite:" + source->dataDir().string();
  std::string to = postgres() ? pg->url(pgSchema) : "sqlite:" + target.string();
  // A target that holds only a user pool is not empty either.
  {
    std::filesystem::path occupied = makeTempDir("copy-occupied");
    {
      auto store = server::openSqliteStore(occupied / "tether.db");
      ASSERT_TRUE(store.isOk()) << store.status();
      ASSERT_TRUE((*store)->createUserPool({"us-east-1_CCCCCCCCC", "x", "", 1, 1, "{}"}).isOk());
    }
    int refused = TetherdProcess::runTool({"store", "copy", "--from", from, "--to", "sqlite:" + occupied.string()},
                                          &out, &err);
    EXPECT_EQ(refused, 1);
    EXPECT_NE(err.find("not empty"), std::string::npos) << err;
  }
  int rc = TetherdProcess::runTool({"store", "copy", "--from", from, "--to", to}, &out, &err);
  ASSERT_EQ(rc, 0) << out << err;
  EXPECT_NE(out.find("2 user pools, 2 app clients, 3 users, 1 user groups, 2 group memberships, 1 revoked sessions"),
            std::string::npos)
      << out;
  {
    server::PgStoreOptions pgOptions;
    auto store = postgres() ? server::openPgStore(pg->conninfo(pgSchema), pgOptions)
                            : server::openSqliteStore(target / "tether.db");
    ASSERT_TRUE(store.isOk()) << store.status();
    EXPECT_EQ(userPoolDump(**store), sourceUserPools);
    auto bob = (*store)->getUserBySub("us-east-1_AAAAAAAAA", "sub-2");
    ASSERT_TRUE(bob.isOk() && bob->has_value());
    EXPECT_EQ((*bob)->version, 1);  // a fresh concurrency token (store_copy.h)
    EXPECT_EQ((*(*store)->getUserByAlias("us-east-1_AAAAAAAAA", "email", "alice@example.org"))->sub, "sub-1");
    EXPECT_EQ((*(*store)->findUserPoolByDomain("auth-demo"))->id, "us-east-1_AAAAAAAAA");
    EXPECT_FALSE((*store)->peekTicket("us-east-1_AAAAAAAAA/srp/x", 0)->has_value());  // tickets stay behind
    std::unique_ptr<server::auth::SecretStore> secrets;
    if (postgres()) secrets = std::make_unique<server::auth::DatabaseSecretStore>(**store);
    else secrets = std::make_unique<server::auth::FileSecretStore>(target);
    for (const auto& [name, bytes] : sourceKeys) {
      auto copied = secrets->loadOrCreate(name, 65536, []() -> Result<std::string> { return Status::notFound("absent"); });
      ASSERT_TRUE(copied.isOk()) << name << ": " << copied.status();
      EXPECT_EQ(*copied, bytes) << name;
    }
  }
  // The verification's checksum covers the users' attributes: one changed value, another sum.
  {
    auto checksum = [](const std::string& text) {
      size_t at = text.find("sha256 ");
      return at == std::string::npos ? std::string() : text.substr(at + 7, 64);
    };
    const std::string before = checksum(out);
    ASSERT_EQ(before.size(), 64u) << out;
    {
      auto store = server::openSqliteStore(source->dataDir() / "tether.db");
      ASSERT_TRUE(store.isOk()) << store.status();
      UserRow alice = **(*store)->getUserBySub("us-east-1_AAAAAAAAA", "sub-1");
      alice.attributes[1].second = "It's Alice";
      ASSERT_EQ(*(*store)->updateUser(alice, false), UserWriteOutcome::kOk);
    }
    std::string outAgain;
    std::filesystem::path again = makeTempDir("copy-again");
    ASSERT_EQ(TetherdProcess::runTool({"store", "copy", "--from", from, "--to", "sqlite:" + again.string()}, &outAgain,
                                      &err),
              0)
        << outAgain << err;
    EXPECT_NE(checksum(outAgain), before) << outAgain;
  }
  EXPECT_NE(out.find("copied 1 pools, 2 identities, 0 logins, 3 datasets, 3 records, 1 tombstones"), std::string::npos)
      << out;
  EXPECT_NE(out.find("1 devices, 1 subscriptions"), std::string::npos) << out;
  EXPECT_NE(out.find("1 developer credentials"), std::string::npos) << out;
  EXPECT_NE(out.find(" " + std::to_string(sourceKeys.size()) + " keys"), std::string::npos) << out;
  EXPECT_NE(out.find("verified: 3 datasets, 3 records and 1 tombstones on both sides"), std::string::npos) << out;

  // --key-dir: the at-rest key goes there (the target's [user_pools] key_dir), not into the store.
  {
    std::filesystem::path keyed = makeTempDir("copy-keyed"), keyDir = makeTempDir("copy-keydir");
    ASSERT_EQ(TetherdProcess::runTool({"store", "copy", "--from", from, "--to", "sqlite:" + keyed.string(), "--key-dir",
                                       keyDir.string()},
                                      &out, &err),
              0)
        << out << err;
    auto absent = []() -> Result<std::string> { return Status::notFound("absent"); };
    auto inDir = server::auth::FileSecretStore(keyDir).loadOrCreate("idp-at-rest.key", 65536, absent);
    ASSERT_TRUE(inDir.isOk()) << inDir.status();
    EXPECT_EQ(*inDir, sourceKeys["idp-at-rest.key"]);
    EXPECT_EQ(server::auth::FileSecretStore(keyed).loadOrCreate("idp-at-rest.key", 65536, absent).status().code(),
              StatusCode::kNotFound);
    EXPECT_TRUE(server::auth::FileSecretStore(keyed).loadOrCreate("idp-token.key", 65536, absent).isOk());
  }

  // Never into a store that holds something.
  rc = TetherdProcess::runTool({"store", "copy", "--from", from, "--to", to}, &out, &err);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.find("not empty"), std::string::npos) << err;

  // Served from the copy: the same identity, the same sync counts, nothing to re-pull.
  TetherdOptions opts;
  opts.dataDir = target;
  opts.createPool = false;
  if (postgres()) {
    opts.store = to;
    // The issuer the SQLite deployment signed as (its listen address), kept: the tokens devices
    // hold stay valid (docs/scale-out.md).
    opts.extraArgs = {"--issuer", "http://127.0.0.1:" + std::to_string(source->port())};
  }
  auto copy = TetherdProcess::start(opts);
  ASSERT_NE(copy, nullptr);
  auto again = WsTestClient::connect(copy->url());
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->loginAs(*id).isOk());
  auto pulled = again->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", w2->syncCount, 0, ""});
  ASSERT_TRUE(pulled.isOk()) << pulled.status();
  EXPECT_TRUE(pulled->records.empty());  // the device is current: nothing to pull
  EXPECT_EQ(pulled->datasetSyncCount, w2->syncCount);
  // Its next edit, made against the counts it already had, is accepted (no conflict).
  auto next = again->callAs<UpdateRecordsResponse>(UpdateRecordsRequest{
      "prefs", pulled->syncSessionToken, "dev-a", {put("theme", "light", w1->syncCount)}});
  ASSERT_TRUE(next.isOk()) << next.status();
  EXPECT_EQ(next->syncCount, w2->syncCount + 1);
  // The deleted dataset stays deleted with its count; the tombstone is still there for devices
  // that have not seen the removal.
  auto full = again->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(full.isOk());
  std::map<std::string, std::optional<std::string>> seen;
  for (const Record& r : full->records) seen[r.key] = r.value;
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen["tmp"], std::nullopt);
  EXPECT_EQ(seen["lang"], std::optional<std::string>("en"));
}

INSTANTIATE_TEST_SUITE_P(Targets, StoreCopyTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "ToPostgres" : "ToSqlite"; });

}  // namespace
}  // namespace tether::testing
