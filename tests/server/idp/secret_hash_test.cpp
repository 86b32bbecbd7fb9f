// SECRET_HASH (idp/crypto/secret_hash.h): spec Appendix A.2 and the constant-time check.
#include "idp/crypto/secret_hash.h"

#include <gtest/gtest.h>

namespace tether::server::idp {
namespace {

constexpr const char* kSecret = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP";
constexpr const char* kClientId = "1example23456789abcdefghij";
constexpr const char* kHash = "ID9Y9/YeJu6oTPP1Y/OScySly4I3zGGgHfTNiIA0Q78=";

TEST(SecretHashTest, AppendixA2) {
  EXPECT_EQ(secretHash(kSecret, "alice", kClientId), kHash);
  EXPECT_TRUE(checkSecretHash(kSecret, "alice", kClientId, kHash));
}

TEST(SecretHashTest, AnythingElseDoesNotMatch) {
  EXPECT_FALSE(checkSecretHash(kSecret, "Alice", kClientId, kHash)) << "username";
  EXPECT_FALSE(checkSecretHash(kSecret, "alice", "1example23456789abcdefghik", kHash)) << "client id";
  EXPECT_FALSE(checkSecretHash("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOQ", "alice", kClientId, kHash));
  EXPECT_FALSE(checkSecretHash(kSecret, "alice", kClientId, "ID9Y9_YeJu6oTPP1Y_OScySly4I3zGGgHfTNiIA0Q78="))
      << "base64url spelling";
  EXPECT_FALSE(checkSecretHash(kSecret, "alice", kClientId, "ID9Y9/YeJu6oTPP1Y/OScySly4I3zGGgHfTNiIA0Q78"))
      << "no padding";
  EXPECT_FALSE(checkSecretHash(kSecret, "alice", kClientId, "id9y9/yeju6otpp1y/oscysly4i3zgggHftniia0q78="));
  EXPECT_FALSE(checkSecretHash(kSecret, "alice", kClientId, ""));
  EXPECT_FALSE(checkSecretHash(kSecret, "alice", kClientId, std::string(kHash) + "="));
  // The message is username || clientId: moving characters across the boundary changes nothing
  // in the bytes, which is AWS's formula (documented, not a bug of ours).
  EXPECT_EQ(secretHash(kSecret, "alice1", "example23456789abcdefghij"), kHash);
}

}  // namespace
}  // namespace tether::server::idp
