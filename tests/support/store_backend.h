// StoreBackend: run a test suite against both Store backends (the storage contract suite, the
// sync-service and auth tests that use a real store). A parameterized fixture derives from
// StoreBackendFixture and is instantiated with TETHER_INSTANTIATE_BACKENDS(Fixture):
//   kSqlite   - a fresh SQLite file in a temp dir per test
//   kPostgres - a fresh schema per test in the process's PostgreSQL test cluster
//               (pg_test_cluster.h; skipped without PostgreSQL, failed when CI=true)
// openStore() may be called again to reopen the same database (durability across reopen) or to
// open a second Store on it (a second node).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "pg_test_cluster.h"
#include "storage/pg_store.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"

namespace tether::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class StoreBackendFixture : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      PG_TEST_OR_SKIP(cluster);
      cluster_ = cluster;
      const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
      Result<std::string> schema = cluster->freshSchema(info != nullptr ? info->name() : "test");
      ASSERT_TRUE(schema.isOk()) << schema.status();
      pgSchema_ = *schema;
      pgConninfo_ = cluster->conninfo(*schema);
    } else {
      const char* root = std::getenv("TETHER_TEST_TMP");
      std::filesystem::path base = root != nullptr && *root != '\0' ? root : "/tmp";
      std::filesystem::create_directories(base);
      std::string pattern = (base / "sb-XXXXXX").string();
      ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
      sqliteDir_ = pattern;
    }
  }
  void TearDown() override {
    if (!sqliteDir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(sqliteDir_, ec);
    }
  }

  bool postgres() const { return GetParam() == Backend::kPostgres; }

  // A Store on this test's database (a new connection pool / file handle each call).
  Result<std::unique_ptr<server::Store>> tryOpenStore(int pgPoolSize = 8) {
    if (postgres()) {
      server::PgStoreOptions options;
      options.poolSize = pgPoolSize;
      return server::openPgStore(pgConninfo_, options);
    }
    return server::openSqliteStore(sqliteDir_ / "tether.db");
  }
  std::unique_ptr<server::Store> openStore(int pgPoolSize = 8) {
    auto s = tryOpenStore(pgPoolSize);
    EXPECT_TRUE(s.isOk()) << s.status();
    return s.isOk() ? std::move(s).value() : nullptr;
  }

  PgTestCluster* cluster_ = nullptr;  // kPostgres
  std::string pgSchema_;              // kPostgres: this test's schema
  std::string pgConninfo_;            // kPostgres: selects it
  std::filesystem::path sqliteDir_;         // kSqlite
};

}  // namespace tether::testing

#define TETHER_INSTANTIATE_BACKENDS(Fixture)                                                    \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                                   \
                           ::testing::Values(::tether::testing::Backend::kSqlite,               \
                                             ::tether::testing::Backend::kPostgres),            \
                           ::tether::testing::backendName)
