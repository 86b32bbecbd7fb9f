// TcpProxy: a loopback TCP relay a test can cut, to take one client offline while the server
// keeps running (the "device loses its network" case). setOnline(false) closes every relayed
// connection, and while offline every new connection is accepted and closed at once (the
// listener stays bound: closing and re-binding it could lose the port to an ephemeral source
// port, or let the client connect to itself). Threading: one relay thread; setOnline/port
// from the test thread (setOnline returns once the relay thread applied it).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tether::client::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int targetPort) : target_(targetPort) {
    listenFd_ = listenOn(0);
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    stop_ = true;
    thread_.join();
    closeAll();
    if (listenFd_ >= 0) ::close(listenFd_);
  }
  int port() const { return port_; }

  void setOnline(bool online) { setMode(online ? 1 : 0); }
  // Connections are accepted and held open, but nothing is relayed or answered (a server that
  // stopped responding, or a dead route): only the client's timeouts end them.
  void setBlackhole() { setMode(2); }

 private:
  void setMode(int mode) {
    std::unique_lock lock(mu_);
    want_ = mode;
    cv_.wait(lock, [this] { return want_ < 0; });
  }

  struct Pair {
    int a, b;
  };

  static int listenOn(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  int connectTarget() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(target_));
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  void closeAll() {
    for (int fd : held_) ::close(fd);
    held_.clear();
    for (Pair& p : pairs_) {
      ::close(p.a);
      ::close(p.b);
    }
    pairs_.clear();
  }
  void applyCommand() {
    std::lock_guard lock(mu_);
    if (want_ < 0) return;
    online_ = want_ == 1;
    blackhole_ = want_ == 2;
    for (int fd : held_) ::close(fd);
    held_.clear();
    if (!online_) closeAll();
    want_ = -1;
    cv_.notify_all();
  }
  void run() {
    char buf[65536];
    while (!stop_) {
      applyCommand();
      std::vector<pollfd> fds;
      if (listenFd_ >= 0) fds.push_back({listenFd_, POLLIN, 0});
      for (Pair& p : pairs_) {
        fds.push_back({p.a, POLLIN, 0});
        fds.push_back({p.b, POLLIN, 0});
      }
      // Short timeout only so that commands and stop are noticed; data wakes poll at once.
      if (poll(fds.data(), fds.size(), 5) <= 0) continue;
      const size_t polled = pairs_.size();  // a pair accepted below has no pollfd yet
      size_t i = 0;
      if (listenFd_ >= 0) {
        if (fds[0].revents & POLLIN) {
          int c = accept(listenFd_, nullptr, nullptr);
          if (c >= 0 && blackhole_) {
            held_.push_back(c);  // never read, never answered
          } else if (c >= 0 && !online_) {
            ::close(c);  // offline: the connection dies at once
          } else if (c >= 0) {
            int t = connectTarget();
            if (t >= 0) pairs_.push_back({c, t});
            else ::close(c);
          }
        }
        i = 1;
      }
      std::vector<Pair> keep(pairs_.begin() + static_cast<std::ptrdiff_t>(polled), pairs_.end());
      for (size_t k = 0; k < polled; ++k) {
        Pair p = pairs_[k];
        bool dead = false;
        for (int side = 0; side < 2 && !dead; ++side) {
          const pollfd& f = fds[i + 2 * k + side];
          if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
          int from = side == 0 ? p.a : p.b, to = side == 0 ? p.b : p.a;
          ssize_t n = ::read(from, buf, sizeof buf);
          if (n <= 0) { dead = true; break; }
          for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
            if (w <= 0) { dead = true; break; }
            off += w;
          }
        }
        if (dead) {
          ::close(p.a);
          ::close(p.b);
        } else {
          keep.push_back(p);
        }
      }
      pairs_ = std::move(keep);
    }
  }

  int target_;
  int port_ = 0;
  int listenFd_ = -1;           // relay thread (and constructor/destructor)
  bool online_ = true;          // relay thread
  bool blackhole_ = false;      // relay thread
  std::vector<int> held_;       // relay thread: blackholed connections
  std::vector<Pair> pairs_;     // relay thread
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int want_ = -1;               // guarded by mu_: -1 none, 0 offline, 1 online, 2 blackhole
  std::thread thread_;
};

}  // namespace tether::client::testing
