// The security matrix (issue 13, docs/security.md "Security matrix"): every operation of both
// surfaces, taken from the routers' own lists (IdentityApi::operations(), syncRouteTable(),
// the Request union of sync.capnp by Cap'n Proto reflection), against every kind of credential
// that surface takes: none, the identity's own, another identity's, another pool's, a developer
// credential, and forged ones (SigV4 and JWT). Each cell asserts the exact answer (HTTP status +
// Cognito error type, or the native status code) and, for a denial, that no row of the store
// changed. One tetherd (log level trace) serves the whole matrix, on SQLite and on PostgreSQL; at the end its whole
// log is searched for every secret the matrix used.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "auth/secret_store.h"
#include "cognito/identity_api.h"
#include "cognito/sync_routes.h"
#include "pg_test_cluster.h"
#include "security_matrix_support.h"
#include "security_matrix_world.h"
#include "storage/pg_store.h"
#include "tether/codec.h"
#include "test_oidc_issuer.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing::matrix {
namespace {

using nlohmann::json;

constexpr const char* kP1 = "local:a1a1a1a1-1111-4222-8333-444455556666";
constexpr const char* kP2 = "local:b2b2b2b2-1111-4222-8333-444455556666";
constexpr const char* kProvider = "login.matrix.example";
constexpr const char* kAud = "matrix-client";
constexpr const char* kDevKey = "AKIAMATRIXDEVELOPER1";
constexpr const char* kDevSecret = "matrix-developer-secret-0123456789abcdef";
constexpr const char* kCognito = "cognito-identity.amazonaws.com";

std::string devProvider(const std::string& pool) { return pool == kP1 ? "login.matrix1" : "login.matrix2"; }

// The parameter is the store: "sqlite" (the data directory) or "postgresql" (a schema of the
// process's test cluster, tests/support/pg_test_cluster.h).
class SecurityMatrixTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("security-matrix");
    oidc_.writeJwks(dir_ / "jwks.json");
    std::ofstream cfg(dir_ / "tetherd.toml");
    for (const char* pool : {kP1, kP2})
      cfg << "[[pools]]\nid = \"" << pool << "\"\nname = \"matrix\"\nallow_guests = true\ndeveloper_provider = \""
          << devProvider(pool) << "\"\n[[pools.oidc_providers]]\nname = \"" << kProvider << "\"\nissuer = \""
          << oidc_.issuer() << "\"\naudiences = [\"" << kAud << "\"]\njwks_file = \"jwks.json\"\n\n";
    cfg << "[[developer_credentials]]\naccess_key_id = \"" << kDevKey << "\"\nsecret_access_key = \"" << kDevSecret
        << "\"\n\n[limits]\n";
    for (const char* kind : {"identity_creation", "token_issuance", "sign_in", "writes"})
      cfg << "[limits." << kind << "]\nper_address_per_second = 0\nper_pool_per_second = 0\n";
    cfg.close();
    TetherdOptions o;
    o.createPool = false;
    o.extraArgs = {"--config", (dir_ / "tetherd.toml").string()};
    o.logLevel = "trace";
    if (GetParam() == "postgresql") {
      PG_TEST_OR_SKIP(cluster);
      auto schema = cluster->freshSchema("security_matrix");
      ASSERT_TRUE(schema.isOk()) << schema.status();
      o.store = cluster->url(*schema);
      o.extraArgs.insert(o.extraArgs.end(), {"--issuer", "http://tether-matrix.test"});
      std::string conninfo = cluster->conninfo(*schema);
      auto pg = server::openPgStore(conninfo, server::PgStoreOptions{2, 10000});
      ASSERT_TRUE(pg.isOk()) << pg.status();
      pgStore_ = std::move(*pg);
      secrets_ = std::make_unique<server::auth::DatabaseSecretStore>(*pgStore_);
      auto pgSnapshot = std::make_shared<PgSnapshot>(conninfo, *schema);
      snapshot_ = [pgSnapshot] { return (*pgSnapshot)(); };
    }
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
    if (GetParam() == "sqlite") {
      secrets_ = std::make_unique<server::auth::FileSecretStore>(server_->dataDir());
      snapshot_ = [dir = server_->dataDir()] { return sqliteSnapshot(dir); };
    }
  }

  std::filesystem::path dir_;
  TestOidcIssuer oidc_{"https://issuer.matrix.example"};
  std::unique_ptr<server::Store> pgStore_;
  std::unique_ptr<server::auth::SecretStore> secrets_;
  std::function<std::vector<std::string>()> snapshot_;
  std::unique_ptr<TetherdProcess> server_;
};

TEST_P(SecurityMatrixTest, EveryOperationTimesEveryCredential) {
  World w(*server_, oidc_,
          {kP1, kP2, kProvider, kAud, kDevKey, kDevSecret, kCognito, devProvider(kP1), devProvider(kP2)},
          {snapshot_, secrets_.get()});
  ASSERT_TRUE(w.setUp()) << w.setupError();

  // Completeness: each router's list against the rows, both ways.
  std::set<std::string> identityOps, syncOps, nativeKinds;
  for (const auto& op : server::cognito::IdentityApi::operations()) identityOps.insert(std::string(op.name));
  for (const auto& r : server::cognito::syncRouteTable()) syncOps.insert(std::string(server::cognito::syncOpName(r.op)));
  for (const std::string& k : codec::requestKindNames()) nativeKinds.insert(k);
  EXPECT_EQ(identityOps.size(), 13u);
  EXPECT_EQ(syncOps.size(), 17u);
  EXPECT_EQ(nativeKinds.size(), 12u);
  std::vector<std::string> missing, stale;
  compareRows("cognito-identity", identityOps, identityRowNames(), missing, stale);
  compareRows("cognito-sync", syncOps, syncRowNames(), missing, stale);
  compareRows("native", nativeKinds, nativeRowNames(), missing, stale);
  EXPECT_TRUE(missing.empty()) << "operations without a row in the security matrix: " << join(missing);
  EXPECT_TRUE(stale.empty()) << "rows for operations no router has: " << join(stale);

  auto t0 = std::chrono::steady_clock::now();
  CellCounts counts = w.runAll();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("security matrix (%s): %d cells checked (%d denied, %d allowed, %d scoped to the caller's own identity); "
              "%d not applicable; %.1f s\n",
              GetParam().c_str(), counts.denied + counts.allowed + counts.scoped, counts.denied, counts.allowed, counts.scoped,
              counts.notApplicable, seconds);
  EXPECT_GT(counts.denied, 400);

  // Secrets never appear in the log (log level trace; failures included).
  w.collectServerSecrets();
  server_->stop();
  std::ifstream in(server_->logFile());
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(log.size(), 1000u) << "the trace log is unexpectedly short";
  int checked = 0;
  for (const auto& [what, secret] : w.secrets()) {
    if (secret.size() < 12) continue;
    ++checked;
    EXPECT_EQ(log.find(secret), std::string::npos) << what << " appears in the log: " << secret;
  }
  std::printf("security matrix: %d secret values searched in %zu bytes of trace log\n", checked, log.size());
  EXPECT_GT(checked, 50);
}

INSTANTIATE_TEST_SUITE_P(Stores, SecurityMatrixTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tether::testing::matrix
