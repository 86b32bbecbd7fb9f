// Issue 13, points 4 and 5 (+ TLS and UNSIGNED-PAYLOAD from 6), on the wire against the real
// tetherd: HTTP framing by RFC 9112 (raw bytes on a TCP socket, first request of a connection
// and later requests of a keep-alive one), oversized and odd request heads, TLS versions and
// ciphers (openssl s_client), connection caps, slow clients, and the rate limits per kind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_test_client.h"
#include "signed_sync_client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A raw TCP connection to the server, optionally from another loopback address (127.0.0.x),
// so one test can be "many clients" without the per-address cap applying to all of them.
class RawConn {
 public:
  static std::unique_ptr<RawConn> open(int port, const char* source = nullptr) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    if (source) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &src.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        ::close(fd);
        return nullptr;
      }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return nullptr;
    }
    // No read or write may block a test for good (SSL_read waits for whole TLS records).
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto c = std::make_unique<RawConn>();
    c->fd_ = fd;
    return c;
  }
  // The same over TLS (the test server's certificate is not checked: only bytes matter here).
  static std::unique_ptr<RawConn> openTls(int port) {
    ::signal(SIGPIPE, SIG_IGN);  // SSL_write to a closed connection: an error, not the end of the test
    std::unique_ptr<RawConn> c = open(port);
    if (!c) return nullptr;
    c->ctx_ = SSL_CTX_new(TLS_client_method());
    c->ssl_ = SSL_new(c->ctx_);
    SSL_set_fd(c->ssl_, c->fd_);
    if (SSL_connect(c->ssl_) != 1) return nullptr;
    return c;
  }
  ~RawConn() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off))
                       : ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes or `timeout` passes; `closed` tells which.
  std::string readUntilClose(std::chrono::milliseconds timeout, bool* closed) {
    std::string out;
    *closed = false;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (!waitReadable(deadline)) break;
      char buf[65536];
      ssize_t n = readSome(buf, sizeof buf);
      if (n <= 0) {
        *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Reads one whole response (head + Content-Length body); "" on timeout or close.
  std::string readResponse(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      size_t end = buffered_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::smatch m;
        std::string head = buffered_.substr(0, end);
        size_t len = 0;
        if (std::regex_search(head, m, std::regex("[Cc]ontent-[Ll]ength: *([0-9]+)"))) len = std::stoul(m[1]);
        if (buffered_.size() >= end + 4 + len) {
          std::string r = buffered_.substr(0, end + 4 + len);
          buffered_.erase(0, end + 4 + len);
          return r;
        }
      }
      if (Clock::now() >= deadline || !waitReadable(deadline)) return "";
      char buf[65536];
      ssize_t n = readSome(buf, sizeof buf);
      if (n <= 0) return "";
      buffered_.append(buf, static_cast<size_t>(n));
    }
  }

  // Bytes already received but not returned by readResponse (e.g. frames after a 101).
  std::string takeBuffered() { return std::exchange(buffered_, std::string()); }

 private:
  ssize_t readSome(char* buf, size_t len) {
    if (ssl_) return SSL_read(ssl_, buf, static_cast<int>(len));
    return ::recv(fd_, buf, len, 0);
  }

  bool waitReadable(Clock::time_point deadline) {
    if (ssl_ && SSL_pending(ssl_) > 0) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffered_;
};

int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// Status lines ("HTTP/1.1 200 ") in what a connection received.
size_t responsesIn(const std::string& received) {
  static const std::regex statusLine("HTTP/1\\.[01] [0-9]{3} ");
  return static_cast<size_t>(std::distance(std::sregex_iterator(received.begin(), received.end(), statusLine),
                                           std::sregex_iterator()));
}

// CPU seconds (user + system) the process has used so far.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The value of a /metrics line (name with labels), -1 if absent.
int64_t metricIn(const std::string& m, const std::string& line) {
  size_t at = m.find("\n" + line + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(m.substr(at + line.size() + 2));
}

int64_t metric(int port, const std::string& line) { return metricIn(httpGet(port, "/metrics"), line); }

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

std::string writeConfig(const std::string& name, const std::string& toml) {
  auto dir = makeTempDir(name);
  std::string path = (dir / "tetherd.toml").string();
  std::ofstream(path) << toml;
  return path;
}

// Sends `bad` (after one good request on the same connection when `keepAliveFirst`): it must
// be answered `status` at once, with nothing after it, and the connection closed; and no
// request hidden in it may reach a handler (HTTP requests handled grow by exactly the ones
// this test makes on purpose).
void expectRefusedAndClosedOn(int port, bool tls, const std::string& bad, int status, bool keepAliveFirst) {
  SCOPED_TRACE(std::string(tls ? "TLS, " : "") + (keepAliveFirst ? "after a good request: " : "first request: ") + bad.substr(0, 80));
  auto requestsHandled = [&] {
    if (!tls) return metric(port, "tether_http_requests_total");
    std::unique_ptr<RawConn> m = RawConn::openTls(port);
    if (!m || !m->send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return int64_t{-1};
    return metricIn(m->readResponse(), "tether_http_requests_total");
  };
  int64_t before = requestsHandled();
  ASSERT_GE(before, 0);
  auto c = tls ? RawConn::openTls(port) : RawConn::open(port);
  ASSERT_NE(c, nullptr);
  if (keepAliveFirst) {
    ASSERT_TRUE(c->send(kHealthz));
    ASSERT_EQ(statusOf(c->readResponse()), 200);
  }
  auto start = Clock::now();
  ASSERT_TRUE(c->send(bad));
  bool closed = false;
  std::string got = c->readUntilClose(5000ms, &closed);
  auto took = Clock::now() - start;
  EXPECT_TRUE(closed) << "connection left open; got: " << got;
  EXPECT_LT(took, 4000ms) << "not answered at once";
  EXPECT_EQ(statusOf(got), status) << got;
  EXPECT_EQ(responsesIn(got), 1u) << "a second response came out of the request: " << got;
  EXPECT_NE(got.find("\"__type\""), std::string::npos) << got;
  // The metrics request itself, plus the good request if any: nothing else was handled.
  EXPECT_EQ(requestsHandled(), before + 1 + (keepAliveFirst ? 1 : 0));
}

class FramingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = TetherdProcess::start().release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void expectRefusedAndClosed(const std::string& bad, int status, bool keepAliveFirst) {
    expectRefusedAndClosedOn(server_->port(), false, bad, status, keepAliveFirst);
  }

  static TetherdProcess* server_;
};

TetherdProcess* FramingTest::server_ = nullptr;

// The request a smuggler hides: on a keep-alive connection lws 4.1 alone would answer it.
const std::string kSmuggled = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

TEST_F(FramingTest, ContentLengthWithTransferEncodingIsRefusedAndNothingIsSmuggled) {
  std::string body = "0\r\n\r\n" + kSmuggled;
  std::string req = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
  // CL framing would take the whole body; TE framing ends it at "0\r\n\r\n" and parses the rest.
  std::string clShort = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
                        std::string("0\r\n\r\n") + kSmuggled;
  for (bool keepAlive : {false, true}) {
    expectRefusedAndClosed(req, 400, keepAlive);
    expectRefusedAndClosed(clShort, 400, keepAlive);
  }
}

TEST_F(FramingTest, DuplicateOrConflictingContentLengthsAreRefused) {
  std::string conflicting = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: " +
                            std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled;
  std::string duplicate = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}";
  for (bool keepAlive : {false, true}) {
    expectRefusedAndClosed(conflicting, 400, keepAlive);
    expectRefusedAndClosed(duplicate, 400, keepAlive);
  }
}

TEST_F(FramingTest, ChunkedBodiesAreAnsweredAtOnceNotLeftToTimeOut) {
  std::string chunked = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                        "X-Amz-Target: AWSCognitoIdentityService.GetId\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
  std::string gzip = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n";
  expectRefusedAndClosed(chunked, 411, false);
  expectRefusedAndClosed(chunked, 411, true);
  expectRefusedAndClosed(gzip, 501, false);
}

TEST_F(FramingTest, InvalidContentLengthsAreRefusedAtOnce) {
  for (const char* cl : {"-1", "abc", "99999999999999999999999", "1 2", "+5", "0x10"}) {
    std::string req = std::string("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ") + cl + "\r\n\r\n{}";
    expectRefusedAndClosed(req, 400, false);
    expectRefusedAndClosed(req, 400, true);
  }
}

TEST_F(FramingTest, OversizedHeadsGet431Or414WithAnErrorBody) {
  std::string bigHeader = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  expectRefusedAndClosed(bigHeader, 431, false);
  std::string many = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  expectRefusedAndClosed(many + "\r\n", 431, false);
  std::string longUrl = "GET /healthz?" + std::string(64 * 1024, 'q') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  expectRefusedAndClosed(longUrl, 414, false);
  std::string params = "GET /healthz?a=1";
  for (int i = 0; i < 200; ++i) params += "&p" + std::to_string(i) + "=1";
  expectRefusedAndClosed(params + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, false);
  // The Cognito error shape, which AWS SDKs parse.
  auto c = RawConn::open(server_->port());
  ASSERT_TRUE(c->send(bigHeader));
  bool closed = false;
  std::string got = c->readUntilClose(5000ms, &closed);
  EXPECT_NE(got.find("x-amzn-ErrorType: RequestHeaderFieldsTooLargeException"), std::string::npos) << got;
  EXPECT_NE(got.find("{\"__type\":\"RequestHeaderFieldsTooLargeException\""), std::string::npos) << got;
}

TEST_F(FramingTest, OddBytesInThePathGet400) {
  for (std::string target : {"/healthz%00", "/healthz?x=%00", "/a%0d%0aSet-Cookie:x", "/a%zz", "/a%4",
                             "/h\x01z", "/caf\xc3\xa9", "healthz"}) {
    expectRefusedAndClosed("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, false);
  }
  // Malformed heads: whitespace before the colon, obsolete folding, a bare CR, a bad version.
  expectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", 400, false);
  expectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n c\r\n\r\n", 400, false);
  expectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\rX: y\r\n\r\n", 400, false);
  expectRefusedAndClosed("GET /healthz HTTP/9.1\r\nHost: 127.0.0.1\r\n\r\n", 505, false);
}

TEST_F(FramingTest, GoodRequestsStillWorkWithKeepAliveAndBodiesInTheSamePacket) {
  auto c = RawConn::open(server_->port());
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c->send(kHealthz));
    EXPECT_EQ(statusOf(c->readResponse()), 200);
  }
  // Head and body in one write, twice on the same connection; pipelined GETs.
  std::string body = "{\"IdentityPoolId\":\"" + server_->poolId() + "\"}";
  std::string getId = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
                      "X-Amz-Target: AWSCognitoIdentityService.GetId\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c->send(getId));
    std::string r = c->readResponse();
    EXPECT_EQ(statusOf(r), 200) << r;
    EXPECT_NE(r.find("\"IdentityId\""), std::string::npos) << r;
  }
  ASSERT_TRUE(c->send(kHealthz + kHealthz + kHealthz));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(statusOf(c->readResponse()), 200);
  // A POST without a body (Content-Length: 0, as SubscribeToDataset sends), then more.
  ASSERT_TRUE(c->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                      "X-Amz-Target: AWSCognitoIdentityService.GetId\r\n\r\n"));
  std::string empty = c->readResponse();
  EXPECT_EQ(statusOf(empty), 400) << empty;  // SerializationException: the body is not JSON
  ASSERT_TRUE(c->send(kHealthz));
  EXPECT_EQ(statusOf(c->readResponse()), 200);
}

// lws 4.1 alone spun forever on a request pipelined behind a body (BODY_COMPLETION repeated on
// every loop turn, the response never written): one such packet pinned the network thread. It
// is now closed at once, and the server stays idle and responsive.
TEST_F(FramingTest, RequestPipelinedBehindABodyIsClosedNotSpunOn) {
  std::string body = "{\"IdentityPoolId\":\"" + server_->poolId() + "\"}";
  std::string getId = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
                      "X-Amz-Target: AWSCognitoIdentityService.GetId\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
  auto c = RawConn::open(server_->port());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(getId + getId + getId));
  bool closed = false;
  c->readUntilClose(5000ms, &closed);
  EXPECT_TRUE(closed);
  double before = cpuSeconds(server_->pid());
  std::this_thread::sleep_for(1000ms);
  double used = cpuSeconds(server_->pid()) - before;
  EXPECT_LT(used, 0.5) << "the server kept busy after the connection";
  auto start = Clock::now();
  EXPECT_NE(httpGet(server_->port(), "/healthz").find("200"), std::string::npos);
  EXPECT_LT(Clock::now() - start, 1000ms);
}

// The bad heads lws 4.1 alone answers with a silent close, each with the status it gets.
std::vector<std::pair<std::string, int>> silentlyClosedHeads() {
  std::vector<std::pair<std::string, int>> out;
  out.push_back({"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n", 431});
  std::string many = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  out.push_back({many + "\r\n", 431});
  out.push_back({"GET /healthz?" + std::string(64 * 1024, 'q') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414});
  out.push_back({"GET /healthz%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400});
  out.push_back({"GET /healthz?x=%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400});
  return out;
}

// The gate checks the first head of a plain connection; later ones pass the network thread's
// guard (net/read_guard.h) instead, with the same answers.
TEST_F(FramingTest, LaterRequestsOfAKeepAliveConnectionGetTheSameAnswers) {
  for (const auto& [head, status] : silentlyClosedHeads()) expectRefusedAndClosed(head, status, true);
}

// A WebSocket upgrade to the native protocol, as raw bytes.
const std::string kWsUpgrade =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: tether.v1\r\n\r\n";

// A client frame: masked (as RFC 6455 requires of clients) or not.
std::string clientFrame(uint8_t opcode, const std::string& payload, bool masked) {
  std::string f(1, static_cast<char>(0x80 | opcode));
  f += static_cast<char>((masked ? 0x80 : 0) | payload.size());  // payload < 126 here
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) f += masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
  return f;
}

// RFC 6455 section 5.1: a server must close the connection on an unmasked client frame (lws
// 4.1.6 accepts them). Masked frames on the same kind of connection keep working.
void expectUnmaskedFrameCloses(int port, bool tls) {
  SCOPED_TRACE(tls ? "wss" : "ws");
  auto c = tls ? RawConn::openTls(port) : RawConn::open(port);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(kWsUpgrade));
  std::string head = c->readResponse();
  ASSERT_EQ(statusOf(head), 101) << head;
  // A masked ping is answered with a pong carrying its payload: frames get through.
  ASSERT_TRUE(c->send(clientFrame(0x9, "hi", true)));
  std::string pong = c->takeBuffered();
  auto deadline = Clock::now() + 3000ms;
  while (pong.size() < 4 && Clock::now() < deadline) {
    bool closed = false;
    pong += c->readUntilClose(200ms, &closed);
    ASSERT_FALSE(closed) << "closed after a masked ping";
  }
  EXPECT_EQ(pong.substr(0, 4), std::string("\x8a\x02hi", 4));
  // An unmasked one (a binary frame, as the native protocol sends) closes the connection, with a
  // Close frame saying 1002 (protocol error).
  auto start = Clock::now();
  ASSERT_TRUE(c->send(clientFrame(0x2, "abc", false)));
  bool closed = false;
  std::string got = c->readUntilClose(3000ms, &closed);
  EXPECT_TRUE(closed) << "an unmasked frame was accepted";
  EXPECT_LT(Clock::now() - start, 2000ms);
  EXPECT_EQ(got.substr(0, 4), std::string("\x88\x02\x03\xea", 4));
}

TEST_F(FramingTest, UnmaskedWebSocketFramesCloseTheConnection) {
  int64_t before = metric(server_->port(), "tether_protocol_errors_total");
  expectUnmaskedFrameCloses(server_->port(), false);
  EXPECT_EQ(metric(server_->port(), "tether_protocol_errors_total"), before + 1);
}

// With TLS the gate sees only ciphertext: every head and frame is checked after decryption.
TEST(TlsFramingTest, HeadsAndFramesAreCheckedInsideTls) {
  TetherdOptions o;
  o.tls = true;
  auto server = TetherdProcess::start(o);
  ASSERT_NE(server, nullptr);
  for (const auto& [head, status] : silentlyClosedHeads()) {
    expectRefusedAndClosedOn(server->port(), true, head, status, false);
    expectRefusedAndClosedOn(server->port(), true, head, status, true);
  }
  std::string smuggle = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\n\r\n" + kSmuggled;
  expectRefusedAndClosedOn(server->port(), true, smuggle, 400, true);
  expectUnmaskedFrameCloses(server->port(), true);
}

// ------------------------------------------------------------------------------------- TLS

bool haveOpenssl() { return std::system("openssl version > /dev/null 2>&1") == 0; }

// Runs openssl s_client with `args` against the port; true if a handshake completed. The
// client gets a permissive OpenSSL config so that it offers old versions and suites: the
// refusal must come from the server.
bool handshake(int port, const std::string& args, const std::string& permissiveConf) {
  std::string cmd = "echo | OPENSSL_CONF=" + permissiveConf + " timeout 10 openssl s_client -connect 127.0.0.1:" +
                    std::to_string(port) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return false;
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  // A completed handshake prints the negotiated cipher; a refused one "Cipher is (NONE)" or an alert.
  std::smatch m;
  return std::regex_search(out, m, std::regex("Cipher is ([A-Z0-9_-]+)")) && m[1] != "NONE" &&
         m[1] != "(NONE)";
}

TEST(TlsTest, OnlyTls12AndUpWithStrongCiphers) {
  if (!haveOpenssl()) GTEST_SKIP() << "openssl CLI not installed";
  auto dir = makeTempDir("tls-conf");
  // Both sides permissive (MinProtocol TLSv1, security level 0): only tetherd's own settings
  // can refuse old versions and weak suites, whatever the system's OpenSSL config says.
  std::string conf = (dir / "openssl.cnf").string();
  std::ofstream(conf) << "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
                         "[sys]\nMinProtocol = TLSv1\nCipherString = ALL:@SECLEVEL=0\n";
  ::setenv("OPENSSL_CONF", conf.c_str(), 1);
  TetherdOptions o;
  o.tls = true;
  auto server = TetherdProcess::start(o);
  ::unsetenv("OPENSSL_CONF");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  EXPECT_TRUE(handshake(port, "-tls1_3", conf));
  EXPECT_TRUE(handshake(port, "-tls1_2", conf));
  // The test certificate is ECDSA (P-256).
  EXPECT_TRUE(handshake(port, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256", conf));
  EXPECT_TRUE(handshake(port, "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305", conf));
  EXPECT_FALSE(handshake(port, "-tls1_1 -cipher ALL:@SECLEVEL=0", conf));
  EXPECT_FALSE(handshake(port, "-tls1 -cipher ALL:@SECLEVEL=0", conf));
  // CBC and SHA-1 suites an ECDSA certificate could otherwise negotiate, and null encryption.
  for (const char* weak : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
                           "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-NULL-SHA"})
    EXPECT_FALSE(handshake(port, std::string("-tls1_2 -cipher ") + weak + ":@SECLEVEL=0", conf)) << weak;
  // And HTTPS still serves.
  std::string cmd = "curl -s --cacert " + server->caFile() + " https://localhost:" + std::to_string(port) +
                    "/healthz --resolve localhost:" + std::to_string(port) + ":127.0.0.1";
  if (std::system("curl --version > /dev/null 2>&1") == 0) {
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[256] = "";
    size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    ::pclose(p);
    EXPECT_NE(std::string(buf, n).find("ok"), std::string::npos) << std::string(buf, n);
  }
}

// ----------------------------------------------------------------------- abuse limits (point 5)

const std::string kUpgrade =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: tether.v1\r\n\r\n";

std::unique_ptr<TetherdProcess> startWith(const std::string& name, const std::string& toml) {
  TetherdOptions o;
  o.extraArgs = {"--config", writeConfig(name, toml)};
  return TetherdProcess::start(o);
}

// Reads until the peer closes (up to `timeout`); the status of what it sent, 0 if nothing.
int statusBeforeClose(RawConn& c, std::chrono::milliseconds timeout, bool* closed) {
  return statusOf(c.readUntilClose(timeout, closed));
}

std::string limitLine(const char* limit) { return std::string("tether_limit_rejections_total{limit=\"") + limit + "\"}"; }

TEST(LimitsTest, ConnectionsPerAddressAreCappedAndSlotsComeBack) {
  auto server = startWith("cap", "[limits]\nmax_connections_per_address = 20\n");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  // 20 from 127.0.0.2 still sending their head (held by the gate), 20 from 127.0.0.3 that
  // finished a request and sit idle on keep-alive (held by lws).
  std::vector<std::unique_ptr<RawConn>> pending, idle;
  for (int i = 0; i < 20; ++i) {
    pending.push_back(RawConn::open(port, "127.0.0.2"));
    ASSERT_NE(pending.back(), nullptr);
    ASSERT_TRUE(pending.back()->send("GET /healthz HTTP/1.1\r\n"));
    idle.push_back(RawConn::open(port, "127.0.0.3"));
    ASSERT_NE(idle.back(), nullptr);
    ASSERT_TRUE(idle.back()->send(kHealthz));
    ASSERT_EQ(statusOf(idle.back()->readResponse()), 200);
  }
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {
    auto extra = RawConn::open(port, source);
    ASSERT_NE(extra, nullptr);
    bool closed = false;
    EXPECT_EQ(statusBeforeClose(*extra, 5000ms, &closed), 503) << source;
    EXPECT_TRUE(closed);
  }
  // Other addresses are not affected.
  EXPECT_NE(httpGet(port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_GE(metric(port, limitLine("connections_per_address")), 2);
  EXPECT_GE(metric(port, "tether_tcp_connections_open"), 40);
  // Closed connections give their slots back (the gate's and lws's).
  pending.clear();
  idle.clear();
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {
    bool served = false;
    for (auto deadline = Clock::now() + 10s; !served && Clock::now() < deadline;) {
      auto c = RawConn::open(port, source);
      ASSERT_NE(c, nullptr);
      ASSERT_TRUE(c->send(kHealthz));
      served = statusOf(c->readResponse()) == 200;
      if (!served) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(served) << source;
  }
}

TEST(LimitsTest, SlowClientsGet408WhenTheirHeadIsLate) {
  auto server = startWith("slow", "[limits]\nrequest_head_timeout_seconds = 1\n");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto partial = RawConn::open(port);
  ASSERT_TRUE(partial->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-"));
  // A slow-loris trickle: one byte every 100 ms never finishes in time either.
  auto trickle = RawConn::open(port);
  auto start = Clock::now();
  std::thread feeder([&] {
    std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(100, 'z');
    for (char ch : head) {
      if (!trickle->send(std::string(1, ch))) break;
      std::this_thread::sleep_for(100ms);
      if (Clock::now() - start > 4s) break;
    }
  });
  bool closed = false;
  EXPECT_EQ(statusBeforeClose(*partial, 5000ms, &closed), 408);
  EXPECT_TRUE(closed);
  feeder.join();
  std::string got = trickle->readUntilClose(2000ms, &closed);
  EXPECT_EQ(statusOf(got), 408) << got;
  EXPECT_GE(metric(port, limitLine("request_head_timeout")), 2);
}

// Issue 13's scenario: 1,000 idle WebSocket connections and 200 half-open ones (connected,
// partial head) from other addresses, under the default limits; a legitimate client still gets
// an identity within 1 s on both surfaces.
TEST(LimitsTest, IdleAndHalfOpenConnectionsDoNotStarveALegitimateClient) {
  // 1,200 sockets here: raise the soft open-files limit to the hard one (tetherd does the same).
  if (rlimit rl; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rlimit rl; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1400)
    GTEST_SKIP() << "open-files limit " << rl.rlim_cur << " is below the 1,400 this test needs";
  auto server = TetherdProcess::start();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  std::vector<std::unique_ptr<RawConn>> crowd;
  crowd.reserve(1200);
  for (int i = 0; i < 1000; ++i) {
    std::string source = "127.0.0." + std::to_string(2 + i / 250);
    auto c = RawConn::open(port, source.c_str());
    ASSERT_NE(c, nullptr) << i;
    ASSERT_TRUE(c->send(kUpgrade));
    std::string r = c->readResponse();
    ASSERT_EQ(statusOf(r), 101) << i << ": " << r;
    crowd.push_back(std::move(c));
  }
  for (int i = 0; i < 200; ++i) {
    auto c = RawConn::open(port, "127.0.0.7");
    ASSERT_NE(c, nullptr) << i;
    ASSERT_TRUE(c->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar"));
    crowd.push_back(std::move(c));
  }
  EXPECT_GE(metric(port, "tether_tcp_connections_open"), 1200);

  auto start = Clock::now();
  HttpReply id = httpRequest(port, "POST", "/",
                             {{"Content-Type", "application/x-amz-json-1.1"},
                              {"X-Amz-Target", "AWSCognitoIdentityService.GetId"}},
                             "{\"IdentityPoolId\":\"" + server->poolId() + "\"}");
  auto httpTook = Clock::now() - start;
  EXPECT_EQ(id.status, 200) << id.raw;
  EXPECT_TRUE(id.body.contains("IdentityId")) << id.raw;
  EXPECT_LT(httpTook, 1000ms);

  start = Clock::now();
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  Result<std::string> guest = native->loginAsNewGuest(server->poolId());
  auto nativeTook = Clock::now() - start;
  EXPECT_TRUE(guest.isOk()) << guest.status();
  EXPECT_LT(nativeTook, 1000ms);
  std::printf("legitimate client with 1,200 idle/half-open connections open: HTTP GetId %lld ms, "
              "native connect+GetId+GetToken+Authenticate %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(httpTook).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(nativeTook).count()));
}

std::string getIdBody(const std::string& pool, const std::string& logins = "") {
  return "{\"IdentityPoolId\":\"" + pool + "\"" + (logins.empty() ? "" : ",\"Logins\":" + logins) + "}";
}

HttpReply identityCall(int port, const std::string& op, const std::string& body) {
  return httpRequest(port, "POST", "/",
                     {{"Content-Type", "application/x-amz-json-1.1"},
                      {"X-Amz-Target", "AWSCognitoIdentityService." + op}},
                     body);
}

bool throttledHttp(const HttpReply& r, int status) {
  return r.status == status && r.body.is_object() && r.body.value("__type", "") == "TooManyRequestsException";
}

// A bucket that does not refill during the test: `burst` requests, then refusals.
std::string rate(const char* kind, const char* scope, int burst) {
  return std::string("[limits.") + kind + "]\n" + scope + "_per_second = 0.001\n" + scope + "_burst = " +
         std::to_string(burst) + "\n" + (std::string(scope) == "per_address" ? "per_pool" : "per_address") +
         "_per_second = 0\n";
}

TEST(RateLimitTest, IdentityCreationPerAddressOnBothSurfaces) {
  auto server = startWith("rl-id", rate("identity_creation", "per_address", 5));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(identityCall(port, "GetId", getIdBody(server->poolId())).status, 200) << i;
  HttpReply refused = identityCall(port, "GetId", getIdBody(server->poolId()));
  EXPECT_TRUE(throttledHttp(refused, 400)) << refused.raw;
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  auto r = native->callAs<proto::GetIdResponse>(proto::GetIdRequest{server->poolId(), {}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kTooManyRequests) << r.status();
  // Another address has its own bucket.
  auto other = RawConn::open(port, "127.0.0.9");
  std::string body = getIdBody(server->poolId());
  ASSERT_TRUE(other->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n"
                          "Content-Type: application/x-amz-json-1.1\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body));
  EXPECT_EQ(statusOf(other->readResponse()), 200);
  EXPECT_EQ(metric(port, limitLine("identity_creation_per_address")), 2);
}

TEST(RateLimitTest, IdentityCreationPerPoolAcrossAddresses) {
  auto server = startWith("rl-pool", rate("identity_creation", "per_pool", 3));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(identityCall(port, "GetId", getIdBody(server->poolId())).status, 200) << i;
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  auto r = native->callAs<proto::GetIdResponse>(proto::GetIdRequest{server->poolId(), {}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kTooManyRequests) << r.status();
  EXPECT_EQ(metric(port, limitLine("identity_creation_per_pool")), 1);
}

TEST(RateLimitTest, TokenIssuance) {
  auto server = startWith("rl-token", rate("token_issuance", "per_address", 4));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  Result<std::string> id = native->loginAsNewGuest(server->poolId());  // one token
  ASSERT_TRUE(id.isOk()) << id.status();
  std::string body = "{\"IdentityId\":\"" + *id + "\"}";
  EXPECT_EQ(identityCall(port, "GetOpenIdToken", body).status, 200);
  EXPECT_EQ(identityCall(port, "GetCredentialsForIdentity", body).status, 200);
  EXPECT_TRUE(native->callAs<proto::GetTokenResponse>(proto::GetTokenRequest{*id, {}}).isOk());
  EXPECT_TRUE(throttledHttp(identityCall(port, "GetOpenIdToken", body), 400));
  EXPECT_TRUE(throttledHttp(identityCall(port, "GetCredentialsForIdentity", body), 400));
  auto t = native->callAs<proto::GetTokenResponse>(proto::GetTokenRequest{*id, {}});
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().code(), StatusCode::kTooManyRequests);
  EXPECT_EQ(metric(port, limitLine("token_issuance_per_address")), 3);
}

TEST(RateLimitTest, SignInAttempts) {
  auto server = startWith("rl-signin", rate("sign_in", "per_address", 3));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  // Logins from a provider the pool does not know: refused as such until the bucket is empty,
  // then refused as throttled, before any verification.
  std::string logins = "{\"accounts.example.com\":\"not-a-token\"}";
  for (int i = 0; i < 3; ++i) {
    HttpReply r = identityCall(port, "GetId", getIdBody(server->poolId(), logins));
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_NE(r.body.value("__type", ""), "TooManyRequestsException") << r.raw;
  }
  EXPECT_TRUE(throttledHttp(identityCall(port, "GetId", getIdBody(server->poolId(), logins)), 400));
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  auto r = native->callAs<proto::GetIdResponse>(
      proto::GetIdRequest{server->poolId(), {Login{"accounts.example.com", "not-a-token"}}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kTooManyRequests) << r.status();
  // Guests are another kind: still served.
  EXPECT_EQ(identityCall(port, "GetId", getIdBody(server->poolId())).status, 200);
  EXPECT_EQ(metric(port, limitLine("sign_in_per_address")), 2);
}

TEST(RateLimitTest, WritesOnBothSurfaces) {
  auto server = startWith("rl-writes", rate("writes", "per_address", 3));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto native = WsTestClient::connect(server->url());
  ASSERT_NE(native, nullptr);
  Result<std::string> id = native->loginAsNewGuest(server->poolId());
  ASSERT_TRUE(id.isOk()) << id.status();
  auto write = [&](int i) {
    auto p = native->callAs<proto::ListRecordsResponse>(proto::ListRecordsRequest{"ds", 0, 0, ""});
    if (!p.isOk()) return p.status();
    RecordPatch patch{PatchOp::kReplace, "k" + std::to_string(i), "v", 0, 1};
    return native->callAs<proto::UpdateRecordsResponse>(
                     proto::UpdateRecordsRequest{"ds", p->syncSessionToken, "dev", {patch}})
        .status();
  };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(write(i).isOk()) << i;
  EXPECT_EQ(write(3).code(), StatusCode::kTooManyRequests);
  // The HTTP surface shares the address's bucket: Cognito Sync answers 429.
  SignedSyncClient http(port, server->poolId(), *id);
  ASSERT_TRUE(http.fetchCredentials());
  std::vector<std::string> records = {"identitypools", server->poolId(), "identities", *id, "datasets", "ds", "records"};
  HttpReply list = http.call("GET", records, "");
  ASSERT_EQ(list.status, 200) << list.raw;
  std::string body = "{\"SyncSessionToken\":\"" + list.body.value("SyncSessionToken", "") +
                     "\",\"RecordPatches\":[{\"Op\":\"replace\",\"Key\":\"h\",\"Value\":\"v\",\"SyncCount\":0}]}";
  HttpReply update = http.call("POST", {"identitypools", server->poolId(), "identities", *id, "datasets", "ds"}, body);
  EXPECT_TRUE(throttledHttp(update, 429)) << update.raw;
  // Reads are not writes.
  EXPECT_EQ(http.call("GET", records, "").status, 200);
  EXPECT_EQ(metric(port, limitLine("writes_per_address")), 2);
}

}  // namespace
}  // namespace tether::testing

namespace tether::testing {
namespace {

// GetId over a fresh connection from `source`, with an X-Forwarded-For header if given.
int getIdFrom(int port, const char* source, const std::string& pool, const std::string& forwardedFor) {
  auto c = RawConn::open(port, source);
  if (!c) return 0;
  std::string body = getIdBody(pool);
  std::string head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSCognitoIdentityService.GetId\r\n"
                     "Content-Type: application/x-amz-json-1.1\r\n";
  if (!forwardedFor.empty()) head += "X-Forwarded-For: " + forwardedFor + "\r\n";
  if (!c->send(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body)) return 0;
  return statusOf(c->readResponse());
}

// Behind a load balancer every connection comes from its address (docs/scale-out.md): with it
// in trusted_proxies its connections are not capped per address, and the rate limits apply to
// the client address it forwards (the last X-Forwarded-For entry). Anyone else's header is
// ignored, so a client cannot pick its own bucket.
TEST(RateLimitTest, BehindATrustedProxyLimitsApplyToTheForwardedAddress) {
  auto server = startWith("rl-proxy", rate("identity_creation", "per_address", 2) +
                                          "[limits]\ntrusted_proxies = [\"127.0.0.1\"]\n"
                                          "max_connections_per_address = 3\n");
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  const std::string pool = server->poolId();
  // The proxy (127.0.0.1) forwards two clients; each has its own bucket of 2.
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "10.0.0.1"), 200);
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "203.0.113.9, 10.0.0.1"), 200);  // the last entry counts
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "10.0.0.1"), 400);
  EXPECT_EQ(getIdFrom(port, "127.0.0.1", pool, "10.0.0.2"), 200);
  // Many connections from the proxy at once: not capped.
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 10; ++i) {
    held.push_back(RawConn::open(port, "127.0.0.1"));
    ASSERT_NE(held.back(), nullptr);
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }
  for (auto& c : held) EXPECT_EQ(statusOf(c->readResponse()), 200);
  held.clear();
  // An untrusted address's X-Forwarded-For is ignored: its own bucket, and its cap of 3.
  EXPECT_EQ(getIdFrom(port, "127.0.0.9", pool, "10.0.0.50"), 200);
  EXPECT_EQ(getIdFrom(port, "127.0.0.9", pool, "10.0.0.51"), 200);
  EXPECT_EQ(getIdFrom(port, "127.0.0.9", pool, "10.0.0.52"), 400);
  for (int i = 0; i < 3; ++i) held.push_back(RawConn::open(port, "127.0.0.9"));
  auto fourth = RawConn::open(port, "127.0.0.9");
  ASSERT_NE(fourth, nullptr);
  ASSERT_TRUE(fourth->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") || true);
  EXPECT_NE(statusOf(fourth->readResponse()), 200);
}

}  // namespace
}  // namespace tether::testing
