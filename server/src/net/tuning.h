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

// Receive buffer lws allocates for every WebSocket connection, for its whole life. Frames larger
// than this arrive in pieces and are reassembled (WsConn::rx). Higher: fewer callbacks for big
// pushes; lower: less memory per idle connection (bench W5; lws's default is 4 KB).
constexpr size_t kWsRxBufferBytes = 1024;
// Most bytes one lws_write hands to the socket; lws buffers the rest and sends it in chunks of
// this size on later POLLOUTs. Without it lws would use the rx buffer size (or 4 KB), and a 1 MB
// ListRecords page would take hundreds of loop turns plus a copy (bench W1). lws allocates
// nothing of this size; the kernel takes what its socket buffer holds.
constexpr size_t kWsTxChunkBytes = 1u << 20;

// Worker threads of the shared WorkPool: at least this many, or one per core if more. Storage
// work blocks in fsync, not on the CPU, and write transactions waiting for the same fsync share
// it (group commit, storage/sqlite_transaction.h): a commit group can only hold as many batches
// as there are workers. Higher: bigger groups and more requests in flight under load (each
// thread costs its stack, ~8 MB virtual, little resident); lower: fewer threads, smaller groups.
constexpr unsigned kMinWorkerThreads = 16;

// TLS 1.2 cipher suites offered (TLS 1.0/1.1 are refused): ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305 only (Mozilla's "intermediate" list without finite-field DHE). No RSA key
// exchange, CBC, SHA-1 MACs, 3DES, RC4 or export suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// How long shutdown waits for queued responses to be written before closing connections.
constexpr int kShutdownFlushMs = 2000;

}  // namespace tether::server::tuning
