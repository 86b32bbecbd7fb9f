// StreamGuard (net/stream_guard.h): the byte stream of a whole connection, in any split into
// reads - keep-alive requests with bodies, a WebSocket upgrade and frames.
#include "net/stream_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tether::server {
namespace {

using Verdict = StreamGuard::Verdict;

// A masked client frame (RFC 6455 section 5.2) with `n` payload bytes.
std::string maskedFrame(size_t n, uint8_t opcode = 0x2) {
  std::string f(1, static_cast<char>(0x80 | opcode));
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
  }
  f += std::string("\x11\x22\x33\x44", 4);
  f += std::string(n, '\x5a');  // masked bytes: whatever they decode to
  return f;
}

std::string unmaskedFrame(size_t n) {
  std::string f = maskedFrame(n);
  f[1] = static_cast<char>(f[1] & 0x7f);
  size_t ext = (n < 126) ? 0 : (n < 65536 ? 2 : 8);
  f.erase(2 + ext, 4);  // no masking key
  return f;
}

const std::string kUpgrade =
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// Feeds `stream` in pieces of `step` bytes; the first verdict other than kPass, or kPass.
StreamGuard::Outcome feedInSteps(const std::string& stream, size_t step, const HeadLimits& limits = {}) {
  StreamGuard g(&limits);
  for (size_t i = 0; i < stream.size(); i += step) {
    StreamGuard::Outcome o = g.feed(std::string_view(stream).substr(i, step));
    if (o.verdict != Verdict::kPass) return o;
  }
  return {};
}

TEST(StreamGuardTest, KeepAliveRequestsWithBodiesPassInAnySplit) {
  std::string body = "{\"IdentityPoolId\":\"p\"}";
  std::string req = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n\r\n" + body;
  // A body that looks like a request must not be taken for one.
  std::string smuggled = "GET /%00 HTTP/1.1\r\n\r\n";
  std::string req2 = "POST / HTTP/1.1\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled;
  std::string stream = req + req2 + "GET /healthz HTTP/1.1\r\n\r\n" + req;
  for (size_t step : {1, 2, 7, 64, 4096})
    EXPECT_EQ(feedInSteps(stream, step).verdict, Verdict::kPass) << step;
}

TEST(StreamGuardTest, ALaterBadHeadIsRefusedWithItsStatus) {
  std::string good = "GET /healthz HTTP/1.1\r\n\r\n";
  struct Case { std::string head; int status; };
  std::vector<Case> cases = {
      {"GET /a%00b HTTP/1.1\r\n\r\n", 400},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n", 431},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
  };
  std::string headers;
  for (int i = 0; i < 100; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
  cases.push_back({"GET / HTTP/1.1\r\n" + headers + "\r\n", 431});
  for (const Case& c : cases) {
    for (size_t step : {1, 1000, 100000}) {
      StreamGuard::Outcome o = feedInSteps(good + good + c.head, step);
      EXPECT_EQ(o.verdict, Verdict::kRejectHttp) << c.head.substr(0, 60) << " step " << step;
      EXPECT_EQ(o.status, c.status) << c.head.substr(0, 60) << " step " << step;
      EXPECT_FALSE(o.reason.empty());
    }
  }
}

TEST(StreamGuardTest, AnOversizedHeadIsRefusedBeforeItsEndArrives) {
  HeadLimits limits;
  StreamGuard g(&limits);
  ASSERT_EQ(g.feed("GET / HTTP/1.1\r\nX-Big: ").verdict, Verdict::kPass);
  StreamGuard::Outcome o;
  size_t fed = 0;
  while (o.verdict == Verdict::kPass && fed < 100000) {
    o = g.feed(std::string(1000, 'x'));
    fed += 1000;
  }
  EXPECT_EQ(o.status, 431);
  EXPECT_LE(fed, limits.maxHeadBytes + 1000) << "decided within one read of the limit";
  EXPECT_EQ(g.feed("\r\n\r\n").verdict, Verdict::kRejectHttp) << "a failed stream stays failed";
}

TEST(StreamGuardTest, MaskedFramesPassUnmaskedOnesCloseTheConnection) {
  std::string frames = maskedFrame(0) + maskedFrame(5) + maskedFrame(125) + maskedFrame(126) +
                       maskedFrame(70000) + maskedFrame(0, 0x9) /* ping */ + maskedFrame(2, 0x8) /* close */;
  for (size_t step : {1, 3, 13, 4096, 1 << 20}) {
    StreamGuard::Outcome ok = feedInSteps(kUpgrade + frames, step);
    EXPECT_EQ(ok.verdict, Verdict::kPass) << step;
    for (size_t n : {0, 10, 300, 70000}) {
      StreamGuard::Outcome bad = feedInSteps(kUpgrade + frames + unmaskedFrame(n) + maskedFrame(3), step);
      EXPECT_EQ(bad.verdict, Verdict::kCloseWebSocket) << "step " << step << " len " << n;
      EXPECT_EQ(bad.status, 1002);
    }
  }
  // (step 1 << 20: the frames came in the same read as the upgrade request.)
}

TEST(StreamGuardTest, WithoutAnUpgradeFrameBytesAreAHeadAndRefused) {
  std::string get = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(feedInSteps(get + maskedFrame(5) + "\r\n\r\n", 4096).verdict, Verdict::kRejectHttp);
  EXPECT_TRUE([] {
    HeadLimits limits;
    StreamGuard g(&limits);
    (void)g.feed(kUpgrade);
    return g.webSocket();
  }());
}

}  // namespace
}  // namespace tether::server
