// The outgoing HTTP client against a loopback server: deadlines, the response cap, failure kinds,
// no redirects; and the webhook signature against a vector computed with Python's hmac module.
#include <gtest/gtest.h>

#include <chrono>

#include "haproxy_process.h"  // freeLoopbackPort
#include "loopback_http_server.h"
#include "outbound/http_client.h"
#include "outbound/webhook_signature.h"

namespace tether::server::outbound {
namespace {

using testing::LoopbackHttpServer;
using testing::LoopbackReply;
using testing::LoopbackRequest;

TEST(HttpClientTest, SendsTheRequestAndReadsStatusHeadersAndBody) {
  LoopbackHttpServer server;
  server.setHandler([](const LoopbackRequest& r) {
    return LoopbackReply{201, {{"X-Answer", "Forty-Two"}}, "echo:" + r.body};
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.url() + "/hook?x=1";
  req.headers = {{"Content-Type", "application/json"}, {"X-Custom", "v"}};
  req.body = R"({"a":1})";
  HttpOutcome out = client.send(req);
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(out.response.status, 201);
  EXPECT_EQ(out.response.body, R"(echo:{"a":1})");
  ASSERT_NE(out.response.header("x-answer"), nullptr);
  EXPECT_EQ(*out.response.header("X-ANSWER"), "Forty-Two");
  LoopbackRequest seen = server.requests().at(0);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/hook?x=1");
  EXPECT_EQ(seen.headers.at("x-custom"), "v");
  EXPECT_EQ(seen.headers.count("expect"), 0u);  // no 100-continue round trip

  // The same client again (the connection is reused): a GET.
  req.method = "GET";
  req.body.clear();
  out = client.send(req);
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(server.requests().at(1).method, "GET");
}

TEST(HttpClientTest, APeerThatDoesNotAnswerCostsTheDeadlineAndNoMore) {
  LoopbackHttpServer server;
  server.setHandler([](const LoopbackRequest&) { return LoopbackReply{200, {}, "late", 3000}; });
  HttpClient client;
  HttpRequest req;
  req.url = server.url();
  req.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  HttpOutcome out = client.send(req);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.failure, HttpFailure::kTimeout) << out.error;
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_GE(took, std::chrono::milliseconds(250));
}

TEST(HttpClientTest, AnAnswerOverTheCapIsRefusedWithoutKeepingIt) {
  LoopbackHttpServer server;
  server.setHandler([](const LoopbackRequest&) { return LoopbackReply{200, {}, std::string(10 << 20, 'x')}; });
  HttpClient client;
  HttpRequest req;
  req.url = server.url();
  req.maxResponseBytes = 1 << 20;
  HttpOutcome out = client.send(req);
  EXPECT_EQ(out.failure, HttpFailure::kTooLarge) << out.error;
  EXPECT_TRUE(out.response.body.empty());
}

TEST(HttpClientTest, UnreachableAndMalformedTargetsAreTold) {
  HttpClient client;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(testing::freeLoopbackPort()) + "/";
  EXPECT_EQ(client.send(req).failure, HttpFailure::kUnreachable);
  req.url = "ftp://127.0.0.1/x";
  EXPECT_EQ(client.send(req).failure, HttpFailure::kBadRequest);
  req.url = "file:///etc/passwd";
  EXPECT_EQ(client.send(req).failure, HttpFailure::kBadRequest);
}

TEST(HttpClientTest, RedirectsAreNotFollowed) {
  LoopbackHttpServer target;
  LoopbackHttpServer server;
  server.setHandler([&target](const LoopbackRequest&) {
    return LoopbackReply{302, {{"Location", target.url() + "/elsewhere"}}, ""};
  });
  HttpClient client;
  HttpRequest req;
  req.url = server.url();
  req.body = "signed body";
  HttpOutcome out = client.send(req);
  ASSERT_TRUE(out.ok()) << out.error;
  EXPECT_EQ(out.response.status, 302);
  EXPECT_EQ(target.requestCount(), 0u);
}

TEST(WebhookSignatureTest, MatchesHmacSha256OfTimestampDotBody) {
  // python3: hmac.new(b'whsec_test', b'1700000000.{"records":[]}', hashlib.sha256).hexdigest()
  EXPECT_EQ(webhookSignature("whsec_test", 1700000000, R"({"records":[]})"),
            "t=1700000000,v1=039a25bfba8a9a26e45079bf46ae189a835a82359dd7ab71e0f84728e9e127d9");
  EXPECT_NE(webhookSignature("whsec_test", 1700000001, R"({"records":[]})"),
            webhookSignature("whsec_test", 1700000000, R"({"records":[]})"));
}

}  // namespace
}  // namespace tether::server::outbound
