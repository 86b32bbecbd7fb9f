// FaultProxy: a loopback TCP relay in front of tetherd that injects network faults, per
// connection, for the convergence-under-faults suite (tests/torture). Unlike TcpProxy
// (tests/client/tcp_proxy.h, which takes a device offline) it misbehaves at random while on:
//   - delay: every chunk of a connection is held back a fixed random latency (order kept);
//   - cut: the connection is closed after a random number of bytes in either direction, so it
//     dies mid-frame (a request half sent, a response half received);
//   - drop: after a random number of bytes nothing more is relayed either way (a dead route);
//     the connection is closed after `dropHoldMs`, or earlier by the client's timeouts;
//   - duplicate on reconnect: the last dataset request (a whole WebSocket message) the client
//     sent on a connection that died is sent again on the client's next connection, right after
//     that connection's first dataset request (hello and authentication are then behind it, so
//     it is read as the same identity's request): a late retransmission of a request the client
//     gave up on, which the server may or may not have executed the first time. Client frames
//     are masked and self-contained, so the original bytes are a valid frame on the new
//     connection; its response carries an old request id, which the client must ignore.
// Faults are decided when a connection is accepted, from the current settings and the proxy's
// seed. Threading: one relay thread; setters and counters from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tether/codec.h"
#include "tether/protocol.h"

namespace tether::testing {

class FaultProxy {
 public:
  struct Faults {
    bool on = false;
    int cutPercent = 0;        // connections cut after a random byte count
    int dropPercent = 0;       // connections that stop relaying after a random byte count
    int duplicatePercent = 0;  // reconnections that replay the dead connection's last message
    int maxDelayMs = 0;        // each connection gets a latency in [0, maxDelayMs]
    int maxBytesBeforeFault = 4096;
    int dropHoldMs = 3000;
  };
  struct Counters {
    std::atomic<int64_t> connections{0}, cuts{0}, drops{0}, duplicates{0}, delayed{0};
    std::atomic<int64_t> live{0}, bytesToServer{0}, bytesToClient{0};  // for diagnostics
  };

  FaultProxy(int targetPort, uint32_t seed) : target_(targetPort), rng_(seed) {
    listenFd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(listenFd_, 64) == 0) {
      socklen_t len = sizeof a;
      getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~FaultProxy() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) closeConn(*c, false);
    ::close(listenFd_);
  }
  int port() const { return port_; }
  void setFaults(const Faults& f) {
    std::lock_guard lock(mu_);
    faults_ = f;
  }
  // Closes every relayed connection now (e.g. to end faulty connections before quiescence).
  void cutAll() { cutAll_ = true; }
  // Every connection open now stops relaying, silently, for `holdMs` (then it is closed): a
  // route that dies without a FIN. New connections are not affected.
  void silenceAll(int holdMs) { silenceMs_ = holdMs; }
  const Counters& counters() const { return counters_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Chunk {
    Clock::time_point due;
    std::string bytes;
  };
  struct Conn {
    int c = -1, s = -1;
    std::chrono::milliseconds latency{0};
    int64_t faultAt = -1;        // bytes relayed (both ways) after which the fault hits
    enum class Fault { kNone, kCut, kDrop } fault = Fault::kNone;
    bool dropping = false;
    Clock::time_point dropUntil;
    int64_t relayed = 0;
    std::deque<Chunk> toServer, toClient;
    // Client -> server WebSocket parsing (after the upgrade request).
    std::string parse;           // the upgrade request until its end
    bool upgraded = false;
    std::string frame;           // the current frame so far
    uint64_t payloadLeft = 0;
    bool sawDatasetRequest = false;
    std::string lastMessage;     // the last complete binary message's frame bytes
    std::string inject;          // to send before the client's message number 2 (0 = hello)
    bool dead = false;
  };

  static bool writeAll(int fd, const std::string& b) {
    for (size_t off = 0; off < b.size();) {
      ssize_t w = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (w <= 0) return false;
      off += static_cast<size_t>(w);
    }
    return true;
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

  void closeConn(Conn& c, bool remember) {
    if (c.dead) return;
    c.dead = true;
    ::close(c.c);
    ::close(c.s);
    if (remember && !c.lastMessage.empty()) lastDeadMessage_ = c.lastMessage;
  }

  // Follows the client's byte stream frame by frame (after the upgrade request) to remember
  // its last complete binary message and to put a due duplicate in front of message number 2
  // (0 is the hello, 1 the authenticate). Returns the bytes to forward: the input unchanged
  // (partial frames included: a cut may split a frame), plus the injected frame if due.
  std::string parseClient(Conn& c, const std::string& in) {
    std::string out;
    size_t i = 0, from = 0;
    if (!c.upgraded) {
      size_t before = c.parse.size();
      c.parse += in;
      size_t end = c.parse.find("\r\n\r\n");
      if (end == std::string::npos) return in;
      c.upgraded = true;
      i = end + 4 - before;
      c.parse.clear();
    }
    while (i < in.size()) {
      if (c.payloadLeft > 0) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(c.payloadLeft, in.size() - i));
        c.frame.append(in, i, take);
        i += take;
        c.payloadLeft -= take;
        if (c.payloadLeft == 0 && frameDone(c)) {
          out.append(in, from, i - from);
          out += c.inject;
          from = i;
          c.inject.clear();
          ++counters_.duplicates;
        }
        continue;
      }
      c.frame.push_back(in[i++]);
      // Header complete?
      const auto* p = reinterpret_cast<const unsigned char*>(c.frame.data());
      if (c.frame.size() < 2) continue;
      size_t hdr = 2;
      uint64_t len = p[1] & 0x7f;
      if (len == 126) hdr = 4;
      if (len == 127) hdr = 10;
      if (p[1] & 0x80) hdr += 4;
      if (c.frame.size() < hdr) continue;
      if (len == 126) len = (uint64_t{p[2]} << 8) | p[3];
      else if (len == 127) {
        len = 0;
        for (int k = 0; k < 8; ++k) len = (len << 8) | p[2 + k];
      }
      c.payloadLeft = len;
      if (len == 0) frameDone(c);
    }
    out.append(in, from, std::string::npos);
    return out;
  }
  // A whole client frame arrived; true if the due duplicate goes right after it: it is the
  // first dataset request of the connection (hello and authentication are behind it, so the
  // duplicate is read as the same identity's request).
  bool frameDone(Conn& c) {
    const auto* p = reinterpret_cast<const unsigned char*>(c.frame.data());
    bool injectNow = false;
    if ((p[0] & 0x80) && (p[0] & 0x0f) == 0x2 && (p[1] & 0x80)) {
      size_t hdr = (p[1] & 0x7f) == 126 ? 4 : (p[1] & 0x7f) == 127 ? 10 : 2;
      std::string payload = c.frame.substr(hdr + 4);
      for (size_t k = 0; k < payload.size(); ++k) payload[k] = static_cast<char>(payload[k] ^ p[hdr + k % 4]);
      auto m = codec::decodeClientMessage(payload);
      const auto* rq = m.isOk() ? std::get_if<proto::Request>(&*m) : nullptr;
      if (rq && !std::holds_alternative<proto::GetIdRequest>(rq->body) &&
          !std::holds_alternative<proto::GetTokenRequest>(rq->body) &&
          !std::holds_alternative<proto::AuthenticateRequest>(rq->body) &&
          !std::holds_alternative<proto::GetDeveloperTokenRequest>(rq->body)) {
        injectNow = !c.inject.empty() && !c.sawDatasetRequest;
        c.sawDatasetRequest = true;
        c.lastMessage = std::move(c.frame);
      }
    }
    c.frame.clear();
    return injectNow;
  }

  void accept1() {
    int cfd = ::accept(listenFd_, nullptr, nullptr);
    if (cfd < 0) return;
    int sfd = connectTarget();
    if (sfd < 0) {
      ::close(cfd);  // the server is down: the client sees its connection refused-ish
      lastDeadMessage_.clear();
      return;
    }
    ++counters_.connections;
    Faults f;
    {
      std::lock_guard lock(mu_);
      f = faults_;
    }
    auto c = std::make_unique<Conn>();
    c->c = cfd;
    c->s = sfd;
    if (f.on) {
      auto pct = [&](int p) { return static_cast<int>(rng_() % 100) < p; };
      if (f.maxDelayMs > 0) {
        c->latency = std::chrono::milliseconds(rng_() % static_cast<unsigned>(f.maxDelayMs + 1));
        ++counters_.delayed;
      }
      if (pct(f.cutPercent)) c->fault = Conn::Fault::kCut;
      else if (pct(f.dropPercent)) c->fault = Conn::Fault::kDrop;
      if (c->fault != Conn::Fault::kNone)
        c->faultAt = 1 + static_cast<int64_t>(rng_() % static_cast<unsigned>(f.maxBytesBeforeFault));
      if (!lastDeadMessage_.empty() && pct(f.duplicatePercent)) c->inject = lastDeadMessage_;
      dropHold_ = std::chrono::milliseconds(f.dropHoldMs);
    }
    lastDeadMessage_.clear();
    conns_.push_back(std::move(c));
  }

  // Relays up to the fault point; returns false when the connection must die now.
  bool relay(Conn& c, bool fromClient, std::string bytes) {
    if (c.dropping) return true;  // swallowed
    if (c.faultAt >= 0 && c.relayed + static_cast<int64_t>(bytes.size()) >= c.faultAt) {
      bytes.resize(static_cast<size_t>(c.faultAt - c.relayed));
      c.relayed = c.faultAt;
      queue(c, fromClient, std::move(bytes));
      if (c.fault == Conn::Fault::kCut) {
        flush(c, true);  // what came before the cut point still goes out, then the cut
        ++counters_.cuts;
        return false;
      }
      ++counters_.drops;
      c.dropping = true;
      c.dropUntil = Clock::now() + dropHold_;
      return true;
    }
    c.relayed += static_cast<int64_t>(bytes.size());
    queue(c, fromClient, std::move(bytes));
    return true;
  }

  void queue(Conn& c, bool fromClient, std::string bytes) {
    if (bytes.empty()) return;
    if (fromClient) bytes = parseClient(c, bytes);
    if (bytes.empty()) return;
    (fromClient ? c.toServer : c.toClient).push_back(Chunk{Clock::now() + c.latency, std::move(bytes)});
  }

  // Sends what is due (everything if `all`); false if a write failed.
  bool flush(Conn& c, bool all) {
    auto now = Clock::now();
    for (auto* q : {&c.toServer, &c.toClient}) {
      int fd = q == &c.toServer ? c.s : c.c;
      while (!q->empty() && (all || q->front().due <= now)) {
        if (!writeAll(fd, q->front().bytes)) return false;
        (q == &c.toServer ? counters_.bytesToServer : counters_.bytesToClient) += static_cast<int64_t>(q->front().bytes.size());
        q->pop_front();
      }
    }
    return true;
  }

  void run() {
    char buf[65536];
    while (!stop_) {
      if (int ms = silenceMs_.exchange(0); ms > 0) {
        for (auto& c : conns_) {
          c->dropping = true;
          c->dropUntil = Clock::now() + std::chrono::milliseconds(ms);
        }
      }
      if (cutAll_.exchange(false)) {
        for (auto& c : conns_) closeConn(*c, false);
        lastDeadMessage_.clear();
      }
      std::vector<pollfd> fds{{listenFd_, POLLIN, 0}};
      for (auto& c : conns_) {
        fds.push_back({c->c, POLLIN, 0});
        fds.push_back({c->s, POLLIN, 0});
      }
      poll(fds.data(), fds.size(), 2);  // short: delayed chunks and stop are noticed promptly
      const size_t polled = conns_.size();
      if (fds[0].revents & POLLIN) accept1();
      for (size_t k = 0; k < polled; ++k) {
        Conn& c = *conns_[k];
        if (c.dead) continue;
        bool alive = true;
        for (int side = 0; side < 2 && alive; ++side) {
          const pollfd& f = fds[1 + 2 * k + static_cast<size_t>(side)];
          if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
          ssize_t n = ::read(side == 0 ? c.c : c.s, buf, sizeof buf);
          if (n <= 0) {
            flush(c, true);
            alive = false;
            break;
          }
          alive = relay(c, side == 0, std::string(buf, static_cast<size_t>(n)));
        }
        if (alive && c.dropping && Clock::now() > c.dropUntil) alive = false;
        if (alive) alive = flush(c, false);
        if (!alive) closeConn(c, true);
      }
      std::erase_if(conns_, [](const std::unique_ptr<Conn>& c) { return c->dead; });
      counters_.live = static_cast<int64_t>(conns_.size());
    }
  }

  int target_;
  int port_ = 0;
  int listenFd_ = -1;
  std::mt19937 rng_;                         // relay thread
  std::vector<std::unique_ptr<Conn>> conns_; // relay thread
  std::string lastDeadMessage_;              // relay thread
  std::chrono::milliseconds dropHold_{3000}; // relay thread
  std::mutex mu_;
  Faults faults_;                            // guarded by mu_
  Counters counters_;
  std::atomic<bool> stop_{false}, cutAll_{false};
  std::atomic<int> silenceMs_{0};
  std::thread thread_;
};

}  // namespace tether::testing
