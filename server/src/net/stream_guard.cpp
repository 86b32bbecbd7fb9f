// See stream_guard.h.
#include "net/stream_guard.h"

#include <algorithm>

namespace tether::server {

StreamGuard::Outcome StreamGuard::feed(std::string_view bytes) {
  while (!bytes.empty() && state_ != State::kFailed) {
    size_t used = 0;
    switch (state_) {
      case State::kHead:
        used = feedHead(bytes);
        break;
      case State::kBody:
      case State::kFramePayload: {
        used = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
        remaining_ -= used;
        if (remaining_ == 0) {
          bool frames = state_ == State::kFramePayload || upgradeAfterBody_;
          state_ = frames ? State::kFrameHeader : State::kHead;
        }
        break;
      }
      case State::kFrameHeader:
        used = feedFrameHeader(bytes);
        break;
      case State::kFailed:
        break;
    }
    bytes.remove_prefix(used);
  }
  return state_ == State::kFailed ? failure_ : Outcome{};
}

size_t StreamGuard::feedHead(std::string_view bytes) {
  size_t before = head_.size();
  // Never more than one byte past the limit: enough for checkRequestHead to refuse it.
  size_t room = limits_->maxHeadBytes + 1 - std::min(before, limits_->maxHeadBytes);
  size_t take = std::min(bytes.size(), room);
  head_.append(bytes.data(), take);
  HeadCheck check = checkRequestHead(head_, *limits_);
  if (check.state == HeadCheck::State::kIncomplete && take < bytes.size())
    check = HeadCheck{HeadCheck::State::kReject, 431,
                      "request head larger than " + std::to_string(limits_->maxHeadBytes) + " bytes"};
  switch (check.state) {
    case HeadCheck::State::kIncomplete:
      return take;
    case HeadCheck::State::kReject:
      state_ = State::kFailed;
      failure_ = {Verdict::kRejectHttp, check.status, std::move(check.reason)};
      return take;
    case HeadCheck::State::kOk:
      break;
  }
  size_t used = check.headBytes - before;
  head_.clear();
  if (head_.capacity() > 4096) head_.shrink_to_fit();  // idle keep-alive connections stay small
  upgradeAfterBody_ = check.webSocketUpgrade;
  remaining_ = check.contentLength;
  if (remaining_ > 0)
    state_ = State::kBody;
  else
    state_ = check.webSocketUpgrade ? State::kFrameHeader : State::kHead;
  return used;
}

size_t StreamGuard::feedFrameHeader(std::string_view bytes) {
  size_t used = 0;
  while (used < bytes.size()) {
    frameHeader_[frameHeaderLen_++] = static_cast<uint8_t>(bytes[used++]);
    if (frameHeaderLen_ < 2) continue;
    // RFC 6455 section 5.2: FIN/RSV/opcode, then MASK and a 7-bit length, then 0, 2 or 8 bytes of
    // extended length, then the 4-byte masking key.
    if (!(frameHeader_[1] & 0x80)) {
      state_ = State::kFailed;
      failure_ = {Verdict::kCloseWebSocket, 1002, "unmasked frame from a client (RFC 6455 section 5.1)"};
      return used;
    }
    uint8_t len7 = frameHeader_[1] & 0x7f;
    size_t extBytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    size_t total = 2 + extBytes + 4;
    if (frameHeaderLen_ < total) continue;
    uint64_t length = len7;
    if (extBytes > 0) {
      length = 0;
      for (size_t i = 0; i < extBytes; ++i) length = (length << 8) | frameHeader_[2 + i];
    }
    frameHeaderLen_ = 0;
    remaining_ = length;
    state_ = length > 0 ? State::kFramePayload : State::kFrameHeader;
    return used;
  }
  return used;
}

}  // namespace tether::server
