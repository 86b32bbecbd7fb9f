// The [outbox] and [[streams]] keys of the config file (auth/config_streams.h): the docs
// example parses, each sink's keys, and every mistake is an error with its place.
#include "auth/config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace tether::server {
namespace {

Result<ServerConfig> parse(std::string_view text) { return parseConfig(text, "test.toml", "/etc/tether"); }

void expectError(std::string_view text, std::string_view fragment) {
  auto c = parse(text);
  ASSERT_FALSE(c.isOk()) << text;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("test.toml:"), std::string::npos) << c.status().message();
}

TEST(ConfigStreamsTest, DocsExampleParses) {
  std::ifstream in(std::filesystem::path(TETHER_SOURCE_ROOT) / "docs" / "config.md");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t a = text.find("### `[outbox]` and `[[streams]]`");
  ASSERT_NE(a, std::string::npos);
  a = text.find("```toml\n", a) + 8;
  size_t b = text.find("```", a);
  auto c = parse(text.substr(a, b - a));
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->streams.maxRecords, 100000);
  ASSERT_EQ(c->streams.streams.size(), 2u);
  EXPECT_EQ(c->streams.streams[0].sink, "webhook");
  EXPECT_EQ(c->streams.streams[0].webhook.url, "https://ingest.example.com/cognito");
  EXPECT_EQ(c->streams.streams[1].sink, "feed");
}

TEST(ConfigStreamsTest, DefaultsAndEachSink) {
  auto c = parse(R"(
[outbox]
max_records = 10
retry_initial_ms = 20
retry_max_ms = 40

[[streams]]
name = "w"
sink = "webhook"
url = "http://127.0.0.1:9/x"
ca_file = "ca.pem"

[[streams]]
name = "k"
sink = "kinesis"
[streams.kinesis]
region = "us-east-1"
endpoint = "http://127.0.0.1:4567"
)");
  ASSERT_TRUE(c.isOk()) << c.status();
  EXPECT_EQ(c->streams.maxRecords, 10);
  EXPECT_EQ(c->streams.retryMaxMs, 40);
  EXPECT_EQ(c->streams.pollIntervalMs, 1000);
  EXPECT_EQ(c->streams.streams[0].webhook.batchSize, 100);
  EXPECT_EQ(c->streams.streams[0].webhook.caFile, "/etc/tether/ca.pem");
  EXPECT_NE(c->streams.streams[1].kinesisToml.find("us-east-1"), std::string::npos);
  EXPECT_TRUE(parse("").value().streams.streams.empty());
}

TEST(ConfigStreamsTest, MistakesAreErrorsWithTheirPlace) {
  expectError("[outbox]\nmax_record = 5\n", "unknown key 'outbox.max_record'");
  expectError("[outbox]\nmax_records = 0\n", "between 1 and");
  expectError("[outbox]\nretry_initial_ms = 500\nretry_max_ms = 100\n", "retry_max_ms");
  expectError("[[streams]]\nname = \"a\"\nsink = \"webhook\"\n", "needs url");
  expectError("[[streams]]\nname = \"a\"\nsink = \"sqs\"\n", "streams.sink must be");
  expectError("[[streams]]\nsink = \"feed\"\n", "needs name");
  expectError("[[streams]]\nname = \"a\"\nsink = \"feed\"\nurl = \"http://x\"\n", "belong to sink = \"webhook\"");
  expectError("[[streams]]\nname = \"a\"\nsink = \"webhook\"\nurl = \"ftp://x\"\n", "http:// or https://");
  expectError("[[streams]]\nname = \"a\"\nsink = \"kinesis\"\n", "[streams.kinesis] is required");
  expectError("[[streams]]\nname = \"a\"\nsink = \"feed\"\n[[streams]]\nname = \"a\"\nsink = \"feed\"\n",
              "configured twice");
  expectError("[[streams]]\nname = \"a\"\nsink = \"feed\"\nretention = 5\n", "unknown key 'streams.retention'");
  expectError("streams = 3\n", "array of tables");
}

}  // namespace
}  // namespace tether::server
