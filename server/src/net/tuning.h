// Tunables of the network layer. Each says what raising or lowering it does.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tether::server::tuning {

// Requests one WebSocket connection may have in flight (sent, not yet answered). More are
// answered TooManyRequests at once. Higher: more pipelining per device; lower: less memory and
// pool time one connection can claim.
constexpr int kMaxInFlightPerConnection = 64;

// Bytes of encoded responses queued for one connection that its peer has not read yet. Past
// this the peer is a slow reader and the connection is closed (1008), so one slow client
// cannot make the server grow without bound. Must exceed the largest single response
// (a 1,024-record page of a 1 MB dataset is about 1.1 MB).
constexpr size_t kMaxOutboundBytesPerConnection = 16u << 20;

// Largest HTTP request body accepted (Cognito API). Larger requests get 413.
constexpr size_t kMaxHttpBodyBytes = 4u << 20;

// Idle WebSocket connections: a PING after this many seconds without traffic, and a hangup
// if nothing (not even a PONG) arrived for the second figure.
constexpr uint16_t kIdlePingSeconds = 30;
constexpr uint16_t kIdleHangupSeconds = 75;

// How long shutdown waits for queued responses to be written before closing connections.
constexpr int kShutdownFlushMs = 2000;

}  // namespace tether::server::tuning
