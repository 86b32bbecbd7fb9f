// checkRequestHead (net/request_head.h): the RFC 9112 rules the ConnectionGate applies to the
// first request head of every plain connection, byte by byte as they arrive.
#include "net/request_head.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tether::server {
namespace {

using State = HeadCheck::State;

HeadCheck check(const std::string& head, const HeadLimits& limits = {}) { return checkRequestHead(head, limits); }

TEST(RequestHeadTest, GoodHeadsPassAndReportTheirLength) {
  std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nX-Amz-Target: a.b\r\n\r\n";
  HeadCheck c = check(head + "{}");
  ASSERT_EQ(c.state, State::kOk) << c.reason;
  EXPECT_EQ(c.headBytes, head.size());
  EXPECT_FALSE(c.webSocketUpgrade);
  EXPECT_EQ(check("GET /healthz?a=1&b=%2F HTTP/1.0\n\n").state, State::kOk) << "bare LF tolerated";
  HeadCheck ws = check("GET / HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n");
  ASSERT_EQ(ws.state, State::kOk);
  EXPECT_TRUE(ws.webSocketUpgrade);
  EXPECT_EQ(check("\r\nGET / HTTP/1.1\r\n\r\n").state, State::kOk) << "one leading empty line is ignored";
}

TEST(RequestHeadTest, EveryPrefixOfAGoodHeadIsIncomplete) {
  std::string head = "POST /identitypools/p/identities/i/datasets/d HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
  for (size_t n = 0; n < head.size(); ++n)
    EXPECT_EQ(check(head.substr(0, n)).state, State::kIncomplete) << n;
  EXPECT_EQ(check(head).state, State::kOk);
}

TEST(RequestHeadTest, FramingConflictsAreRefused) {
  auto status = [](const std::string& headers) {
    HeadCheck c = check("POST / HTTP/1.1\r\n" + headers + "\r\n");
    return c.state == State::kReject ? c.status : 0;
  };
  EXPECT_EQ(status("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"), 400);
  EXPECT_EQ(status("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"), 400);
  EXPECT_EQ(status("Content-Length: 3\r\nContent-Length: 4\r\n"), 400);
  EXPECT_EQ(status("Content-Length: 3\r\ncontent-length: 3\r\n"), 400);
  EXPECT_EQ(status("Transfer-Encoding: chunked\r\n"), 411);
  EXPECT_EQ(status("Transfer-Encoding: gzip, chunked\r\n"), 411);
  EXPECT_EQ(status("Transfer-Encoding: gzip\r\n"), 501);
  for (const char* bad : {"-1", "", "abc", "1 2", "+1", "0x1", "1234567890123456789", "1,1"})
    EXPECT_EQ(status(std::string("Content-Length: ") + bad + "\r\n"), 400) << bad;
  EXPECT_EQ(status("Content-Length: 123456789012345678\r\n"), 0) << "18 digits still fit";
}

TEST(RequestHeadTest, LimitsGive431And414EvenBeforeTheHeadEnds) {
  HeadLimits small{1024, 100, 4, 3};
  EXPECT_EQ(check("GET / HTTP/1.1\r\nA: " + std::string(2000, 'x'), small).status, 431);
  EXPECT_EQ(check("GET /" + std::string(200, 'x'), small).status, 414) << "refused while the target is still arriving";
  EXPECT_EQ(check("GET /" + std::string(200, 'x') + " HTTP/1.1\r\n\r\n", small).status, 414);
  EXPECT_EQ(check("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", small).state, State::kOk);
  EXPECT_EQ(check("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n", small).status, 431);
  EXPECT_EQ(check("GET /?a&b&c HTTP/1.1\r\n\r\n", small).state, State::kOk);
  EXPECT_EQ(check("GET /?a&b&c&d HTTP/1.1\r\n\r\n", small).status, 414);
}

TEST(RequestHeadTest, OddBytesAndMalformedLinesGet400) {
  for (const std::string target : {"/a%00", "/a?b=%00", "/a%0A", "/a%7f", "/a%zz", "/a%4", "/a%", "/\x01",
                                   "/\x7f", "/\xc3\xa9", "a", ""}) {
    HeadCheck c = check("GET " + target + " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(c.status, 400) << target;
  }
  EXPECT_EQ(check("GET * HTTP/1.1\r\n\r\n").state, State::kOk);
  EXPECT_EQ(check("GET http://h/a HTTP/1.1\r\n\r\n").state, State::kOk);
  for (const std::string line : {"Host : h", " folded", "\tfolded", "Na me: v", ": v", "NoColon", "A: b\x01",
                                 "A: b\rc"}) {
    HeadCheck c = check("GET / HTTP/1.1\r\nX: y\r\n" + line + "\r\n\r\n");
    EXPECT_EQ(c.status, 400) << line;
  }
  EXPECT_EQ(check("GET  / HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(check("GET / HTTP/1.1 x\r\n\r\n").status, 400);
  EXPECT_EQ(check("G@T / HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(check("GET / HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(check("GET / HTTQ/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(check("GET / HTTP/1.1\r\nA: caf\xc3\xa9\r\n\r\n").state, State::kOk) << "obs-text in values is allowed";
}

TEST(RequestHeadTest, RejectResponseIsAWholeHttpResponseWithTheCognitoErrorShape) {
  std::string r = headRejectResponse(431, "too \"big\"");
  EXPECT_EQ(r.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("x-amzn-ErrorType: RequestHeaderFieldsTooLargeException\r\n"), std::string::npos);
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  std::string body = r.substr(r.find("\r\n\r\n") + 4);
  EXPECT_NE(r.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["__type"], "RequestHeaderFieldsTooLargeException");
  EXPECT_EQ(j["message"], "too \"big\"");
}

}  // namespace
}  // namespace tether::server
