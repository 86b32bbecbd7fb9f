// The security matrix (issue 13, docs/security.md "Security matrix"): every operation of both
// surfaces, taken from the routers' own lists (IdentityApi::operations(), syncRouteTable(),
// the Request union of sync.capnp by Cap'n Proto reflection), against every kind of credential
// that surface takes: none, the identity's own, another identity's, another pool's, a developer
// credential, and forged ones (SigV4 and JWT). Each cell asserts the exact answer (HTTP status +
// Cognito error type, or the native status code) and, for a denial, that no row of the store
// changed. One tetherd (SQLite, log level trace) serves the whole matrix; at the end its whole
// log is searched for every secret the matrix used.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "auth/developer_signature.h"
#include "cognito/identity_api.h"
#include "cognito/sync_routes.h"
#include "cognito/temporary_credentials.h"
#include "security_matrix_world.h"
#include "security_matrix_support.h"
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

class SecurityMatrixTest : public ::testing::Test {
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
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
  }

  std::filesystem::path dir_;
  TestOidcIssuer oidc_{"https://issuer.matrix.example"};
  std::unique_ptr<TetherdProcess> server_;
};

TEST_F(SecurityMatrixTest, EveryOperationTimesEveryCredential) {
  World w(*server_, oidc_, {kP1, kP2, kProvider, kAud, kDevKey, kDevSecret, kCognito, devProvider(kP1),
                            devProvider(kP2)});
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

  CellCounts counts = w.runAll();
  std::printf("security matrix: %d cells checked (%d denied, %d allowed, %d scoped to the caller's own identity); "
              "%d not applicable\n",
              counts.denied + counts.allowed + counts.scoped, counts.denied, counts.allowed, counts.scoped,
              counts.notApplicable);
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

}  // namespace
}  // namespace tether::testing::matrix
