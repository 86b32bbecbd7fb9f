// Store URLs (app/open_store.h): sqlite:DIR, postgresql:// and postgres:// URLs and libpq keyword
// strings, pool_size taken out before libpq sees it, and the errors for bad ones; openStore on
// SQLite keeps the keys in DIR/keys/.
#include "app/open_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "temp_dir.h"

namespace tether::server {
namespace {

TEST(StoreUrlTest, SqliteDirectory) {
  auto u = parseStoreUrl("sqlite:./tether-data");
  ASSERT_TRUE(u.isOk()) << u.status();
  EXPECT_EQ(u->kind, StoreUrl::Kind::kSqlite);
  EXPECT_EQ(u->dataDir, std::filesystem::path("./tether-data"));
  EXPECT_EQ(parseStoreUrl("sqlite:///srv/data")->dataDir, std::filesystem::path("/srv/data"));
  EXPECT_EQ(parseStoreUrl("sqlite:").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sqliteStoreUrl("/x/y"), "sqlite:/x/y");
}

TEST(StoreUrlTest, PostgresUrlsPassUnchangedExceptPoolSize) {
  auto u = parseStoreUrl("postgresql://tether@db:5432/tether");
  ASSERT_TRUE(u.isOk()) << u.status();
  EXPECT_EQ(u->kind, StoreUrl::Kind::kPostgres);
  EXPECT_EQ(u->conninfo, "postgresql://tether@db:5432/tether");
  EXPECT_EQ(u->poolSize, 8);
  auto sized = parseStoreUrl("postgres://h/db?sslmode=require&pool_size=3&connect_timeout=5");
  ASSERT_TRUE(sized.isOk()) << sized.status();
  EXPECT_EQ(sized->poolSize, 3);
  EXPECT_EQ(sized->conninfo, "postgres://h/db?sslmode=require&connect_timeout=5");
  auto only = parseStoreUrl("postgresql://?pool_size=2");
  ASSERT_TRUE(only.isOk());
  EXPECT_EQ(only->conninfo, "postgresql://") << "the PG* environment fills in the rest";
  EXPECT_EQ(only->poolSize, 2);
  EXPECT_EQ(parseStoreUrl("postgresql://h/db?pool_size=0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parseStoreUrl("postgresql://h/db?pool_size=x").status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreUrlTest, LibpqKeywordString) {
  auto u = parseStoreUrl("host=/tmp port=5433 dbname=tether pool_size=4 options='-c search_path=a'");
  ASSERT_TRUE(u.isOk()) << u.status();
  EXPECT_EQ(u->kind, StoreUrl::Kind::kPostgres);
  EXPECT_EQ(u->poolSize, 4);
  EXPECT_EQ(u->conninfo, "host=/tmp port=5433 dbname=tether options='-c search_path=a'");
}

TEST(StoreUrlTest, UnknownSchemesAreRefused) {
  for (const char* bad : {"", "mysql://x", "./tether-data", "tether.db"}) {
    auto u = parseStoreUrl(bad);
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(StoreUrlTest, OpenSqliteKeepsKeysInTheDataDirectory) {
  testing::TempDir dir;
  const std::string url = sqliteStoreUrl(dir.path() / "data");
  EXPECT_EQ(openStore(url, OpenMode::kMustExist).status().code(), StatusCode::kNotFound)
      << "administration of a directory without a database";
  auto opened = openStore(url, OpenMode::kCreate);
  ASSERT_TRUE(opened.isOk()) << opened.status();
  auto key = opened->secrets->loadOrCreate("session-key", 64, [] { return Result<std::string>(std::string(32, 'k')); });
  ASSERT_TRUE(key.isOk()) << key.status();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / "keys" / "session-key"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / "tether.db"));
}

}  // namespace
}  // namespace tether::server
