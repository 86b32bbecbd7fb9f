// Tests for auth/config_triggers.h: [[sync_triggers]] and a pool's sync_trigger in the config file.
#include "auth/config_triggers.h"

#include <gtest/gtest.h>

#include <fstream>

#include "auth/config.h"

namespace tether::server {
namespace {

Result<ServerConfig> parse(std::string_view text) { return parseConfig(text, "test.toml", "/etc/tether"); }

void expectError(std::string_view text, std::string_view needle) {
  auto c = parse(text);
  ASSERT_FALSE(c.isOk()) << text;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(needle), std::string::npos) << "message was: " << c.status().message();
}

constexpr const char* kTriggers = R"(
[[sync_triggers]]
function = "arn:aws:lambda:us-east-1:123456789012:function:upper"
url = "https://hooks.example.com/tether"
hmac_secret = "s3cret"
ca_file = "ca.pem"

[[sync_triggers]]
function = "arn:aws:lambda:us-east-1:123456789012:function:check"
command = ["/usr/local/bin/check", "--strict"]
timeout_ms = 1500

[[pools]]
id = "us-east-1:6f1c2a0e-1111-4222-8333-444455556666"
name = "app"
sync_trigger = "arn:aws:lambda:us-east-1:123456789012:function:check"
)";

TEST(ConfigTriggersTest, WebhookAndCommandTargets) {
  auto c = parse(kTriggers);
  ASSERT_TRUE(c.isOk()) << c.status();
  ASSERT_EQ(c->syncTriggers.size(), 2u);
  const SyncTriggerConfig& hook = c->syncTriggers[0];
  EXPECT_EQ(hook.url, "https://hooks.example.com/tether");
  EXPECT_EQ(hook.hmacSecret, "s3cret");
  EXPECT_EQ(hook.caFile, "/etc/tether/ca.pem");  // relative to the file
  EXPECT_EQ(hook.timeoutMs, 5000);              // Cognito's limit is the default
  const SyncTriggerConfig& cmd = c->syncTriggers[1];
  EXPECT_EQ(cmd.command, (std::vector<std::string>{"/usr/local/bin/check", "--strict"}));
  EXPECT_EQ(cmd.timeoutMs, 1500);
  EXPECT_EQ(c->pools.at(0).syncTrigger, "arn:aws:lambda:us-east-1:123456789012:function:check");
}

TEST(ConfigTriggersTest, MistakesAreNamed) {
  const std::string f = "[[sync_triggers]]\nfunction = \"arn:aws:lambda:x:1:function:f\"\n";
  expectError(f, "exactly one of url and command");
  expectError(f + "url = \"http://a\"\ncommand = [\"/bin/true\"]\n", "exactly one of url and command");
  expectError(f + "url = \"ftp://a\"\n", "http:// or https://");
  expectError(f + "command = [\"true\"]\n", "absolute path");
  expectError(f + "command = []\n", "non-empty array");
  expectError(f + "command = [\"/bin/x\", 3]\n", "only strings");
  expectError(f + "command = [\"/bin/x\"]\nhmac_secret = \"s\"\n", "go with url");
  expectError(f + "url = \"http://a\"\ntimeout_ms = 5001\n", "1..5000");
  expectError(f + "url = \"http://a\"\ntimeout_ms = 0\n", "1..5000");
  expectError(f + "url = \"http://a\"\ntimout_ms = 10\n", "unknown key 'sync_triggers.timout_ms'");
  expectError("[[sync_triggers]]\nurl = \"http://a\"\n", "has no function");
  expectError("[[sync_triggers]]\nfunction = \"lambda-f\"\nurl = \"http://a\"\n", "must be an ARN");
  expectError(f + "url = \"http://a\"\n" + f + "url = \"http://b\"\n", "appears twice");
  expectError("sync_triggers = 3\n", "array of tables");
  // A pool naming a function no entry maps, or not an ARN.
  expectError("[[pools]]\nid = \"us-east-1:6f1c2a0e-1111-4222-8333-444455556666\"\nname = \"a\"\n"
              "sync_trigger = \"arn:aws:lambda:x:1:function:nowhere\"\n",
              "has no [[sync_triggers]] entry");
  expectError("[[pools]]\nid = \"us-east-1:6f1c2a0e-1111-4222-8333-444455556666\"\nname = \"a\"\nsync_trigger = \"f\"\n",
              "must be an ARN");
}

TEST(ConfigTriggersTest, EventsDocExampleParses) {
  // docs/events.md's sync-trigger example is kept verbatim between these markers.
  std::filesystem::path doc = std::filesystem::path(TETHER_SOURCE_ROOT) / "docs" / "events.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- trigger-example:begin -->\n```toml\n";
  size_t a = text.find(begin);
  ASSERT_NE(a, std::string::npos);
  a += begin.size();
  size_t b = text.find("```\n<!-- trigger-example:end -->", a);
  ASSERT_NE(b, std::string::npos);
  auto c = parseConfig(text.substr(a, b - a), "docs/events.md", "/srv/tether");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->syncTriggers.size(), 2u);
}

}  // namespace
}  // namespace tether::server
