// Tests for auth/session_token_signer.h.
#include "auth/session_token_signer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "auth/base64url.h"
#include "temp_dir.h"

namespace tether::server {
namespace {

using testing::TempDir;

constexpr const char* kPool = "local:11111111-2222-4333-8444-555555555555";
constexpr const char* kIdentity = "local:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
constexpr const char* kDataset = "prefs";
constexpr int64_t kNow = 1'700'000'000'000;

void expectInvalid(const Status& s, const std::string& why) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << why << ": " << s;
  EXPECT_EQ(s.message(), "SyncSessionToken not valid for these inputs") << why;
}

SessionTokenSigner testSigner(char fill = 'k') { return SessionTokenSigner(std::string(32, fill)); }

TEST(SessionTokenSignerTest, RoundTrip) {
  SessionTokenSigner signer = testSigner();
  std::string token = signer.issue(kPool, kIdentity, kDataset, kNow);
  EXPECT_TRUE(signer.verify(token, kPool, kIdentity, kDataset, kNow).isOk());
  EXPECT_TRUE(signer.verify(token, kPool, kIdentity, kDataset, kNow + 1000).isOk()) << "reusable";
  EXPECT_EQ(token.find_first_of("+/= \n"), std::string::npos) << "URL- and header-safe";
}

TEST(SessionTokenSignerTest, BoundToPoolIdentityAndDataset) {
  SessionTokenSigner signer = testSigner();
  std::string token = signer.issue(kPool, kIdentity, kDataset, kNow);
  expectInvalid(signer.verify(token, "local:00000000-2222-4333-8444-555555555555", kIdentity, kDataset, kNow), "pool");
  expectInvalid(signer.verify(token, kPool, "local:00000000-bbbb-4ccc-8ddd-eeeeeeeeeeee", kDataset, kNow), "identity");
  expectInvalid(signer.verify(token, kPool, kIdentity, "prefs2", kNow), "dataset");
  expectInvalid(signer.verify(token, kPool, kIdentity, "Prefs", kNow), "dataset case");
  expectInvalid(signer.verify(token, kIdentity, kPool, kDataset, kNow), "pool/identity swapped");
}

TEST(SessionTokenSignerTest, ExpiryBoundary) {
  SessionTokenSigner signer = testSigner();
  std::string token = signer.issue(kPool, kIdentity, kDataset, kNow);
  EXPECT_TRUE(signer.verify(token, kPool, kIdentity, kDataset, kNow + kSessionTokenLifetimeMs - 1).isOk());
  expectInvalid(signer.verify(token, kPool, kIdentity, kDataset, kNow + kSessionTokenLifetimeMs), "at expiry");
  expectInvalid(signer.verify(token, kPool, kIdentity, kDataset, kNow + 10 * kSessionTokenLifetimeMs), "long after");
  EXPECT_EQ(kSessionTokenLifetimeMs, 15 * 60 * 1000);
}

TEST(SessionTokenSignerTest, EachTokenIsUnique) {
  SessionTokenSigner signer = testSigner();
  EXPECT_NE(signer.issue(kPool, kIdentity, kDataset, kNow), signer.issue(kPool, kIdentity, kDataset, kNow));
}

TEST(SessionTokenSignerTest, TamperingDetected) {
  SessionTokenSigner signer = testSigner();
  std::string token = signer.issue(kPool, kIdentity, kDataset, kNow);
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    std::string changed = token;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    expectInvalid(signer.verify(changed, kPool, kIdentity, kDataset, kNow), "char " + std::to_string(i));
  }
  // Re-signing a modified payload needs the key: a payload with a later expiry but the old MAC.
  size_t dot = token.find('.');
  std::string payload = *auth::base64UrlDecode(token.substr(0, dot));
  payload[payload.size() - 17] = static_cast<char>(payload[payload.size() - 17] + 1);  // expiresAt low byte
  expectInvalid(signer.verify(auth::base64UrlEncode(payload) + token.substr(dot), kPool, kIdentity,
                              kDataset, kNow), "extended expiry");
}

TEST(SessionTokenSignerTest, OtherKeyRejected) {
  SessionTokenSigner a = testSigner('a');
  SessionTokenSigner b = testSigner('b');
  expectInvalid(b.verify(a.issue(kPool, kIdentity, kDataset, kNow), kPool, kIdentity, kDataset, kNow), "other key");
}

TEST(SessionTokenSignerTest, GarbageRejected) {
  SessionTokenSigner signer = testSigner();
  std::string token = signer.issue(kPool, kIdentity, kDataset, kNow);
  size_t dot = token.find('.');
  const std::vector<std::string> garbage = {
      "", ".", "..", "a.b", "abc", "a.b.c", std::string(2000, 'A'),
      token + ".", "." + token, token + "=", token.substr(0, dot), token.substr(dot),
      token.substr(0, dot) + "." + auth::base64UrlEncode(std::string(32, '\0')),
      auth::base64UrlEncode("x") + token.substr(dot),
      std::string("\0\xff\n", 3), token + " ",
  };
  for (const std::string& g : garbage)
    expectInvalid(signer.verify(g, kPool, kIdentity, kDataset, kNow), "garbage: " + g.substr(0, 30));
}

TEST(SessionTokenSignerTest, OpenPersistsKeyWithPrivateMode) {
  TempDir dir;
  auto a = SessionTokenSigner::open(dir.path());
  ASSERT_TRUE(a.isOk()) << a.status();
  std::filesystem::path keyFile = SessionTokenSigner::keyPath(dir.path());
  struct stat st {};
  ASSERT_EQ(::stat(keyFile.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(kSessionKeyBytes));

  std::string token = (*a)->issue(kPool, kIdentity, kDataset, kNow);
  auto b = SessionTokenSigner::open(dir.path());  // a restart
  ASSERT_TRUE(b.isOk());
  EXPECT_TRUE((*b)->verify(token, kPool, kIdentity, kDataset, kNow).isOk());

  TempDir other;
  auto c = SessionTokenSigner::open(other.path());
  ASSERT_TRUE(c.isOk());
  expectInvalid((*c)->verify(token, kPool, kIdentity, kDataset, kNow), "other data dir");
}

TEST(SessionTokenSignerTest, WrongSizeKeyFileIsCorruption) {
  for (size_t size : {size_t{0}, size_t{31}, size_t{33}, size_t{4096}}) {
    TempDir dir;
    std::filesystem::path keyFile = SessionTokenSigner::keyPath(dir.path());
    std::filesystem::create_directories(keyFile.parent_path());
    { std::ofstream(keyFile, std::ios::binary) << std::string(size, 'k'); }
    auto s = SessionTokenSigner::open(dir.path());
    ASSERT_FALSE(s.isOk()) << size;
    EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << size << ": " << s.status();
  }
}

}  // namespace
}  // namespace tether::server
