// The config keys the Cognito front end added: [[developer_credentials]] and pools'
// developer_provider (auth/config.h), strict like the rest of the file.
#include <gtest/gtest.h>

#include "auth/config.h"

namespace tether::server {
namespace {

constexpr const char* kGood = R"(
[[pools]]
id = "us-east-1:11111111-2222-3333-4444-555555555555"
name = "p"
developer_provider = "login.example.app"

[[developer_credentials]]
access_key_id = "AKIAEXAMPLE0000001"
secret_access_key = "0123456789abcdef0123"
)";

TEST(DeveloperConfigTest, ParsesCredentialsAndProvider) {
  Result<ServerConfig> c = parseConfig(kGood, "t.toml", {});
  ASSERT_TRUE(c.isOk()) << c.status();
  ASSERT_EQ(c->pools.size(), 1u);
  EXPECT_EQ(c->pools[0].developerProvider, "login.example.app");
  ASSERT_EQ(c->developerCredentials.size(), 1u);
  EXPECT_EQ(c->developerCredentials[0].accessKeyId, "AKIAEXAMPLE0000001");
  EXPECT_EQ(c->developerCredentials[0].secretAccessKey, "0123456789abcdef0123");
}

TEST(DeveloperConfigTest, RejectsBadValuesWithTheirPlace) {
  const char* bad[] = {
      "[[developer_credentials]]\naccess_key_id = \"short\"\nsecret_access_key = \"0123456789abcdef0123\"\n",
      "[[developer_credentials]]\naccess_key_id = \"ASIAEXAMPLE0000001\"\nsecret_access_key = \"0123456789abcdef0123\"\n",
      "[[developer_credentials]]\naccess_key_id = \"AKIAEXAMPLE0000001\"\nsecret_access_key = \"short\"\n",
      "[[developer_credentials]]\naccess_key_id = \"AKIAEXAMPLE0000001\"\nsecret = \"0123456789abcdef0123\"\n",
      "[[developer_credentials]]\naccess_key_id = \"akiaexample0000001\"\nsecret_access_key = \"0123456789abcdef0123\"\n",
      "developer_credentials = 5\n",
      "[[pools]]\nid = \"us-east-1:11111111-2222-3333-4444-555555555555\"\nname = \"p\"\n"
      "developer_provider = \"bad provider!\"\n",
      "[[developer_credentials]]\naccess_key_id = \"AKIAEXAMPLE0000001\"\nsecret_access_key = \"0123456789abcdef0123\"\n"
      "[[developer_credentials]]\naccess_key_id = \"AKIAEXAMPLE0000001\"\nsecret_access_key = \"0123456789abcdef0124\"\n",
  };
  for (const char* text : bad) {
    Result<ServerConfig> c = parseConfig(text, "t.toml", {});
    ASSERT_FALSE(c.isOk()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("t.toml"), std::string::npos) << c.status();
  }
}

}  // namespace
}  // namespace tether::server
