// StreamGuard: follows the bytes a client sends on one connection, in the order libwebsockets
// reads them, and says when they break a framing rule lws 4.1 does not enforce itself.
//
// The ConnectionGate checks the first request head of a plain connection before lws sees it.
// What it cannot see, this sees: the heads of later requests on a keep-alive connection, every
// head on a TLS connection (after decryption), and the frames of a WebSocket connection, where
// RFC 6455 section 5.1 requires a server to close on an unmasked client frame (lws 4.1.6
// accepts them). Each head goes through the same checkRequestHead() as the gate's; request
// bodies are skipped by their Content-Length (a head with Transfer-Encoding never passes the
// check, so the guard and lws always agree on where a request ends); after a WebSocket upgrade
// request, the bytes are frames, and only their headers are looked at.
//
// Nothing is held back: feed() returns at once, so a caller can pass the bytes on (or not) in
// the same call. A limit is decided on the bytes seen so far (a head longer than the limit is
// refused as soon as the limit is passed), so the verdict always comes before lws would drop the
// connection silently (its header space is larger than HeadLimits::maxHeadBytes).
//
// Pure: no I/O, no locks. One instance per connection, used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/request_head.h"

namespace tether::server {

class StreamGuard {
 public:
  enum class Verdict { kPass, kRejectHttp, kCloseWebSocket };
  struct Outcome {
    Verdict verdict = Verdict::kPass;
    int status = 0;        // kRejectHttp: the HTTP status to answer with (400, 411, 414, 431, ...)
    std::string reason;    // kRejectHttp, kCloseWebSocket: one line for the client and the log
  };

  explicit StreamGuard(const HeadLimits* limits) : limits_(limits) {}

  // The next bytes the client sent. After an outcome other than kPass the connection is done
  // for: later calls return the same verdict.
  Outcome feed(std::string_view bytes);

  bool webSocket() const { return state_ == State::kFrameHeader || state_ == State::kFramePayload; }

 private:
  enum class State { kHead, kBody, kFrameHeader, kFramePayload, kFailed };

  // Each consumes a prefix of `bytes` and returns how much, or sets failure_.
  size_t feedHead(std::string_view bytes);
  size_t feedFrameHeader(std::string_view bytes);

  const HeadLimits* limits_;
  State state_ = State::kHead;
  std::string head_;           // kHead: the head so far (at most maxHeadBytes + one read)
  uint64_t remaining_ = 0;     // kBody / kFramePayload: bytes still to skip
  bool upgradeAfterBody_ = false;
  uint8_t frameHeader_[14] = {};
  size_t frameHeaderLen_ = 0;
  Outcome failure_;
};

}  // namespace tether::server
