// See conn_gate.h.
#include "net/conn_gate.h"
#include "tether_internal/thread_annotations.h"

#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

namespace tether::server {
namespace {

using Clock = std::chrono::steady_clock;

// After a rejection the response is written, our side shut down, and what the client still
// sends is read and dropped until it closes or this passes: closing at once with unread input
// would make the kernel send a reset, which can destroy the response before the client reads
// it (RFC 9112 section 9.6).
constexpr int kLingerMs = 2000;
constexpr size_t kLingerMaxBytes = 1u << 20;

std::string addressOf(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(ss);
    if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
      in_addr v4;
      std::memcpy(&v4, a6.sin6_addr.s6_addr + 12, 4);
      inet_ntop(AF_INET, &v4, buf, sizeof buf);
    } else {
      inet_ntop(AF_INET6, &a6.sin6_addr, buf, sizeof buf);
    }
  }
  return buf;
}

class EpollGate final : public ConnectionGate {
 public:
  EpollGate(const GateOptions& options, Handoff handoff) : options_(options), handoff_(std::move(handoff)) {}

  ~EpollGate() override {
    stop();
    if (listenFd_ >= 0) ::close(listenFd_);
    if (wakeFd_ >= 0) ::close(wakeFd_);
    if (epollFd_ >= 0) ::close(epollFd_);
  }

  Status init() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(options_.port);
    const char* host = options_.host.empty() ? nullptr : options_.host.c_str();
    if (int rc = ::getaddrinfo(host, port.c_str(), &hints, &res); rc != 0)
      return Status::ioError("cannot resolve listen address " + options_.host + ": " + gai_strerror(rc));
    std::string lastError = "no address";
    for (addrinfo* ai = res; ai && listenFd_ < 0; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
        listenFd_ = fd;
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
          port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                                 : reinterpret_cast<sockaddr_in&>(ss).sin_port);
      } else {
        lastError = std::strerror(errno);
        ::close(fd);
      }
    }
    ::freeaddrinfo(res);
    if (listenFd_ < 0)
      return Status::ioError("cannot listen on " + options_.host + ":" + port + ": " + lastError);
    epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epollFd_ < 0 || wakeFd_ < 0) return Status::ioError("epoll/eventfd failed");
    addWatch(listenFd_, EPOLLIN);
    addWatch(wakeFd_, EPOLLIN);
    thread_ = std::thread([this] { run(); });
    return Status::ok();
  }

  int port() const override { return port_; }

  void release(const std::string& peer) override {
    MutexLock lock(countMu_);
    auto it = perAddress_.find(peer);
    if (it == perAddress_.end()) return;
    if (--it->second <= 0) perAddress_.erase(it);
    if (options_.metrics) options_.metrics->tcpConnectionsOpen--;
  }

  void stop() override {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof one);
    thread_.join();
    for (auto& [fd, c] : pending_) {
      ::close(fd);
      release(c.peer);
    }
    pending_.clear();
  }

 private:
  struct Pending {
    std::string peer;
    Clock::time_point deadline;
    bool lingering = false;   // rejected: draining input until the client closes
    size_t drained = 0;
  };

  void addWatch(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev);
  }

  void dropPending(int fd) {
    auto it = pending_.find(fd);
    if (it == pending_.end()) return;
    ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    std::string peer = std::move(it->second.peer);
    pending_.erase(it);
    release(peer);
  }

  // Writes `response` (small: it fits the empty socket buffer), shuts our side down and keeps
  // reading until the client closes or kLingerMs passes.
  void rejectPending(int fd, Pending& p, int status, const std::string& reason) {
    if (options_.metrics) options_.metrics->countHeadRejection(status);
    spdlog::debug("http: {} from {}: {}", status, p.peer, reason);  // counted in /metrics
    std::string response = headRejectResponse(status, reason);
    [[maybe_unused]] ssize_t n = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    p.lingering = true;
    p.deadline = Clock::now() + std::chrono::milliseconds(kLingerMs);
    lingerDeadlines_.push_back({p.deadline, fd});
  }

  void acceptAll() {
    while (true) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(listenFd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop polling the listener for a moment instead of spinning
          // on it; queued connections wait in the backlog.
          auto now = Clock::now();
          if (now - lastFdWarning_ > std::chrono::seconds(10)) {
            spdlog::warn("accept: {} (raise the open-files limit)", std::strerror(errno));
            lastFdWarning_ = now;
          }
          ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, listenFd_, nullptr);
          listenPausedUntil_ = now + std::chrono::milliseconds(100);
        }
        return;
      }
      std::string peer = addressOf(ss);
      if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      bool refused = false;
      {
        MutexLock lock(countMu_);
        bool proxy = std::find(options_.trustedProxies.begin(), options_.trustedProxies.end(), peer) !=
                     options_.trustedProxies.end();
        int& count = perAddress_[peer];
        if (!proxy && options_.maxConnectionsPerAddress > 0 && count >= options_.maxConnectionsPerAddress) {
          refused = true;
          if (count == 0) perAddress_.erase(peer);
        } else {
          ++count;
        }
      }
      if (refused) {
        if (options_.metrics) options_.metrics->limitRejections[ServerMetrics::kConnectionsPerAddress]++;
        if (options_.inspectHeads) {
          std::string r = headRejectResponse(503, "too many connections from this address");
          [[maybe_unused]] ssize_t n = ::send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        ::close(fd);
        continue;
      }
      if (options_.metrics) {
        options_.metrics->tcpConnectionsOpen++;
        options_.metrics->tcpConnectionsTotal++;
      }
      if (!options_.inspectHeads) {
        handoff_(fd, peer, {});
        continue;
      }
      Pending p;
      p.peer = std::move(peer);
      p.deadline = Clock::now() + std::chrono::milliseconds(options_.headTimeoutMs);
      headDeadlines_.push_back({p.deadline, fd});
      pending_.emplace(fd, std::move(p));
      addWatch(fd, EPOLLIN | EPOLLRDHUP | EPOLLET);
    }
  }

  // The head is read with MSG_PEEK: it stays in the socket for lws to read itself once the
  // gate is satisfied (lws 4.1's "adopt with bytes already read" re-parses them in a loop when a
  // body came in the same read). Edge-triggered: each arrival of new bytes peeks once more.
  void onReadable(int fd, uint32_t events) {
    auto it = pending_.find(fd);
    if (it == pending_.end()) return;
    Pending& p = it->second;
    if (p.lingering) {
      char buf[16384];
      while (true) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0 || (p.drained += static_cast<size_t>(n)) > kLingerMaxBytes) {
          dropPending(fd);
          return;
        }
      }
    }
    ssize_t n;
    do {
      n = ::recv(fd, peekBuf_.data(), peekBuf_.size(), MSG_PEEK);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // closed (or reset) by the client before sending a whole head
      dropPending(fd);
      return;
    }
    HeadCheck check = checkRequestHead(std::string_view(peekBuf_.data(), static_cast<size_t>(n)), options_.head);
    if (check.state == HeadCheck::State::kIncomplete) {
      // A client that half-closed with a partial head will never finish it.
      if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) dropPending(fd);
      return;
    }
    if (check.state == HeadCheck::State::kReject) {
      rejectPending(fd, p, check.status, check.reason);
      onReadable(fd, 0);  // start draining what is already there
      return;
    }
    // A good head: lws takes the socket and reads it from the start.
    ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
    std::string peer = std::move(p.peer);
    pending_.erase(it);
    handoff_(fd, peer, {});
  }

  void expireDeadlines(std::deque<std::pair<Clock::time_point, int>>& deadlines) {
    auto now = Clock::now();
    while (!deadlines.empty() && deadlines.front().first <= now) {
      int fd = deadlines.front().second;
      Clock::time_point when = deadlines.front().first;
      deadlines.pop_front();
      auto it = pending_.find(fd);
      // Stale entries (the fd was handed off, closed or reused since) do not match.
      if (it == pending_.end() || it->second.deadline != when) continue;
      if (it->second.lingering) {
        dropPending(fd);
      } else {
        if (options_.metrics) options_.metrics->limitRejections[ServerMetrics::kRequestHeadTimeout]++;
        rejectPending(fd, it->second, 408, "request head not received within " +
                                               std::to_string(options_.headTimeoutMs) + " ms");
      }
    }
  }

  void run() {
    std::vector<epoll_event> events(256);
    while (!stopping_.load()) {
      int timeoutMs = -1;
      auto now = Clock::now();
      auto soonest = Clock::time_point::max();
      if (!headDeadlines_.empty()) soonest = headDeadlines_.front().first;
      if (!lingerDeadlines_.empty()) soonest = std::min(soonest, lingerDeadlines_.front().first);
      if (listenPausedUntil_ != Clock::time_point{}) soonest = std::min(soonest, listenPausedUntil_);
      if (soonest != Clock::time_point::max())
        timeoutMs = static_cast<int>(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now).count() + 1));
      int n = ::epoll_wait(epollFd_, events.data(), static_cast<int>(events.size()), timeoutMs);
      if (n < 0 && errno != EINTR) {
        spdlog::error("gate: epoll_wait: {}", std::strerror(errno));
        break;
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[static_cast<size_t>(i)].data.fd;
        if (fd == wakeFd_) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wakeFd_, &v, sizeof v);
        } else if (fd == listenFd_) {
          acceptAll();
        } else {
          onReadable(fd, events[static_cast<size_t>(i)].events);
        }
      }
      if (listenPausedUntil_ != Clock::time_point{} && Clock::now() >= listenPausedUntil_) {
        listenPausedUntil_ = {};
        addWatch(listenFd_, EPOLLIN);
      }
      expireDeadlines(headDeadlines_);
      expireDeadlines(lingerDeadlines_);
    }
  }

  GateOptions options_;
  Handoff handoff_;
  std::vector<char> peekBuf_ = std::vector<char>(options_.head.maxHeadBytes + 1);
  int listenFd_ = -1;
  int epollFd_ = -1;
  int wakeFd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Gate thread only.
  std::unordered_map<int, Pending> pending_;
  // (deadline, fd) in deadline order: each kind's deadlines are "now + a constant", so
  // appending keeps each deque sorted. Entries whose connection moved on are skipped.
  std::deque<std::pair<Clock::time_point, int>> headDeadlines_;
  std::deque<std::pair<Clock::time_point, int>> lingerDeadlines_;
  Clock::time_point listenPausedUntil_{};
  Clock::time_point lastFdWarning_{};

  Mutex countMu_;
  std::unordered_map<std::string, int> perAddress_ TETHER_GUARDED_BY(countMu_);
};

}  // namespace

Result<std::unique_ptr<ConnectionGate>> ConnectionGate::start(const GateOptions& options, Handoff handoff) {
  auto gate = std::make_unique<EpollGate>(options, std::move(handoff));
  TETHER_RETURN_IF_ERROR(gate->init());
  return std::unique_ptr<ConnectionGate>(std::move(gate));
}

}  // namespace tether::server
