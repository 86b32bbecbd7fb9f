// Tests for auth/signing_key.h: persistence, file modes, signature round trip.
#include "auth/signing_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "auth/key_file.h"
#include "temp_dir.h"

namespace tether::server {
namespace {

using testing::TempDir;

mode_t modeOf(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST(SigningKeyTest, CreatedWithPrivateModes) {
  TempDir dir;
  auto key = SigningKey::loadOrCreate(dir.path() / "data");
  ASSERT_TRUE(key.isOk()) << key.status();
  std::filesystem::path file = SigningKey::keyPath(dir.path() / "data");
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(modeOf(file), 0600u);
  EXPECT_EQ(modeOf(file.parent_path()), 0700u);
  // No temp files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(file.parent_path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(SigningKeyTest, PersistsAcrossReopen) {
  TempDir dir;
  auto a = SigningKey::loadOrCreate(dir.path());
  ASSERT_TRUE(a.isOk()) << a.status();
  auto b = SigningKey::loadOrCreate(dir.path());
  ASSERT_TRUE(b.isOk()) << b.status();
  EXPECT_EQ((*a)->kid(), (*b)->kid());
  EXPECT_EQ((*a)->publicJwk().x, (*b)->publicJwk().x);
  auto sig = (*a)->sign("hello");
  ASSERT_TRUE(sig.isOk());
  EXPECT_TRUE((*b)->verify("hello", *sig));

  TempDir other;
  auto c = SigningKey::loadOrCreate(other.path());
  ASSERT_TRUE(c.isOk());
  EXPECT_NE((*a)->kid(), (*c)->kid());
  EXPECT_FALSE((*c)->verify("hello", *sig));
}

TEST(SigningKeyTest, SignatureIsRawAndBound) {
  TempDir dir;
  auto key = SigningKey::loadOrCreate(dir.path());
  ASSERT_TRUE(key.isOk());
  auto sig = (*key)->sign("payload");
  ASSERT_TRUE(sig.isOk());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE((*key)->verify("payload", *sig));
  EXPECT_FALSE((*key)->verify("payloaD", *sig));
  std::string flipped = *sig;
  flipped[10] = static_cast<char>(flipped[10] ^ 1);
  EXPECT_FALSE((*key)->verify("payload", flipped));
  EXPECT_FALSE((*key)->verify("payload", sig->substr(0, 63)));
  EXPECT_FALSE((*key)->verify("payload", std::string(64, '\0')));
  EXPECT_FALSE((*key)->verify("payload", std::string(64, '\xff')));
}

TEST(SigningKeyTest, CorruptKeyFileIsReported) {
  TempDir dir;
  std::filesystem::path file = SigningKey::keyPath(dir.path());
  ASSERT_TRUE(auth::ensurePrivateDir(file.parent_path()).isOk());
  { std::ofstream(file) << "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n"; }
  auto key = SigningKey::loadOrCreate(dir.path());
  ASSERT_FALSE(key.isOk());
  EXPECT_EQ(key.status().code(), StatusCode::kCorruption) << key.status();
  // The bad file is left for the operator, not silently replaced (tokens would change).
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(SigningKeyTest, WrongCurveIsReported) {
  TempDir dir;
  std::filesystem::path file = SigningKey::keyPath(dir.path());
  ASSERT_TRUE(auth::ensurePrivateDir(file.parent_path()).isOk());
  // An Ed25519 PKCS#8 key (RFC 8410 example).
  { std::ofstream(file) << "-----BEGIN PRIVATE KEY-----\n"
                           "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
                           "-----END PRIVATE KEY-----\n"; }
  auto key = SigningKey::loadOrCreate(dir.path());
  ASSERT_FALSE(key.isOk());
  EXPECT_EQ(key.status().code(), StatusCode::kCorruption) << key.status();
}

TEST(SigningKeyTest, UnwritableDataDirIsIoError) {
  TempDir dir;
  std::filesystem::path blocker = dir.path() / "file";
  { std::ofstream(blocker) << "x"; }
  auto key = SigningKey::loadOrCreate(blocker / "data");  // parent is a regular file
  ASSERT_FALSE(key.isOk());
  EXPECT_EQ(key.status().code(), StatusCode::kIOError) << key.status();
}

TEST(SigningKeyTest, OperatorPreparedKeysDirIsUsedAsIs) {
  // e.g. a read-only secret volume whose files are symlinks (Kubernetes style).
  TempDir source;
  auto original = SigningKey::loadOrCreate(source.path());
  ASSERT_TRUE(original.isOk());
  TempDir dir;
  std::filesystem::path keys = dir.path() / "keys";
  std::filesystem::create_directories(keys);
  std::filesystem::permissions(keys, std::filesystem::perms(0755));
  std::filesystem::create_symlink(SigningKey::keyPath(source.path()), keys / "signing-key.pem");
  auto key = SigningKey::loadOrCreate(dir.path());
  ASSERT_TRUE(key.isOk()) << key.status();
  EXPECT_EQ((*key)->kid(), (*original)->kid());
  EXPECT_EQ(modeOf(keys), 0755u) << "an existing directory is not re-permissioned";
}

TEST(KeyFileTest, CreateNeverReplaces) {
  TempDir dir;
  std::filesystem::path file = dir.path() / "secret";
  auto first = auth::createSecretFile(file, "one");
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_TRUE(*first);
  auto second = auth::createSecretFile(file, "two");
  ASSERT_TRUE(second.isOk()) << second.status();
  EXPECT_FALSE(*second);
  auto read = auth::readSecretFile(file, 100);
  ASSERT_TRUE(read.isOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, "one");
  EXPECT_EQ(modeOf(file), 0600u);
  auto tooSmallCap = auth::readSecretFile(file, 2);
  EXPECT_EQ(tooSmallCap.status().code(), StatusCode::kCorruption);
  auto absent = auth::readSecretFile(dir.path() / "nope", 100);
  ASSERT_TRUE(absent.isOk());
  EXPECT_FALSE(absent->has_value());
}

}  // namespace
}  // namespace tether::server
