// sdNotify() (server/src/app/sd_notify.h): the datagram reaches the socket named by
// $NOTIFY_SOCKET (path or abstract), nothing happens without it, and bad names or a missing
// socket are typed errors, not crashes.
#include "app/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace tether::server {
namespace {

// A bound datagram socket (REQUIRES: name fits sun_path); "@x" binds in the abstract namespace.
class Receiver {
 public:
  explicit Receiver(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Receiver() { ::close(fd_); }
  bool bound() const { return bound_; }
  std::string receive() {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

std::string tempPath(const char* leaf) {
  const char* base = std::getenv("TETHER_TEST_TMP");
  std::filesystem::path dir = base ? base : "/tmp";
  std::filesystem::create_directories(dir);
  std::string path = (dir / (std::string(leaf) + "." + std::to_string(::getpid()))).string();
  std::filesystem::remove(path);
  return path;
}

TEST(SdNotify, WithoutNotifySocketDoesNothing) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(sdNotify("READY=1").isOk());
}

TEST(SdNotify, SendsTheStateToAPathSocket) {
  std::string path = tempPath("notify");
  Receiver r(path);
  ASSERT_TRUE(r.bound());
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ASSERT_TRUE(sdNotify("READY=1\nSTATUS=serving on port 8080").isOk());
  EXPECT_EQ(r.receive(), "READY=1\nSTATUS=serving on port 8080");
  ASSERT_TRUE(sdNotify("STOPPING=1").isOk());
  EXPECT_EQ(r.receive(), "STOPPING=1");
  ::unsetenv("NOTIFY_SOCKET");
  std::filesystem::remove(path);
}

TEST(SdNotify, SendsToAnAbstractSocket) {
  std::string name = "@tether-sd-notify-test-" + std::to_string(::getpid());
  Receiver r(name);
  ASSERT_TRUE(r.bound());
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  ASSERT_TRUE(sdNotify("READY=1").isOk());
  EXPECT_EQ(r.receive(), "READY=1");
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, BadNamesAndMissingSocketsAreTypedErrors) {
  ::setenv("NOTIFY_SOCKET", "relative/socket", 1);
  EXPECT_EQ(sdNotify("READY=1").code(), StatusCode::kInvalidArgument);
  std::string tooLong = "/" + std::string(200, 'x');
  ::setenv("NOTIFY_SOCKET", tooLong.c_str(), 1);
  EXPECT_EQ(sdNotify("READY=1").code(), StatusCode::kInvalidArgument);
  ::setenv("NOTIFY_SOCKET", tempPath("no-such-socket").c_str(), 1);
  Status s = sdNotify("READY=1");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find("no-such-socket"), std::string::npos) << s.message();
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace tether::server
