// Fuzz target 2: the native protocol's session state machine (server/src/net/native_handler)
// fed sequences of frames on up to three connections, against the real SyncService,
// IdentityService and SQLite store (fuzz_server_world.h). libwebsockets is replaced by a
// FakeNetServer behind the WsHandler/NetServer seam NativeHandler already has; the worker pool
// is real (one thread) and drained after every frame, so one input always plays out the same.
//
// Input: a sequence of steps, each starting with one byte:
//   0      a raw frame (length byte + bytes): hostile Cap'n Proto
//   1..11  a frame built from the input (fuzz_messages.h): hello, or a request of any type with
//          fields mostly from the world's vocabulary (real pool and identity IDs, valid tokens,
//          session tokens and OIDC logins), so requests pass authentication and reach the
//          sync and identity logic; a GetDeveloperToken may be signed with the developer key
//   12     close the connection (the handler's onClose), a new one opens
//   13     switch to another open connection
// A connection starts with a valid hello unless the input says otherwise; one the handler
// closed is closed (onClose) and replaced.
// Properties: no crash, hang, leak or UB; every frame the server sends decodes (FakeNetServer).
#include <vector>

#include "fuzz_server_world.h"

using namespace tether;

namespace {

constexpr int kMaxSteps = 24;

server::ConnId nextConnId() {
  static server::ConnId next = 1;
  return next++;
}

server::ConnId open(fuzz::ServerWorld& w, fuzz::FuzzInput& in) {
  server::ConnId id = nextConnId();
  w.native->onOpen(id, "127.0.0.1:1234");
  if (in.range<int>(0, 7) != 0) {
    proto::Hello h;
    h.clientName = "fuzz";
    w.native->onFrame(id, codec::encode(proto::ClientMessage{h}));
  }
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ServerWorld& w = fuzz::ServerWorld::get();
  fuzz::FuzzInput in(data, size);
  std::vector<server::ConnId> conns;
  conns.push_back(open(w, in));
  size_t current = 0;
  for (int step = 0; step < kMaxSteps && !in.empty(); ++step) {
    server::ConnId conn = conns[current];
    int op = in.range<int>(0, 13);
    if (op == 12) {
      w.native->onClose(conn);
      w.net.forget(conn);
      conns[current] = open(w, in);
    } else if (op == 13) {
      if (conns.size() < 3 && in.boolean()) conns.push_back(open(w, in));
      current = in.range<size_t>(0, conns.size() - 1);
    } else {
      std::string frame;
      if (op == 0) {
        frame = in.bytes(1024);
      } else {
        proto::ClientMessage m = fuzz::fuzzClientMessage(in, w.vocab);
        if (auto* r = std::get_if<proto::Request>(&m)) {
          if (auto* dev = std::get_if<proto::GetDeveloperTokenRequest>(&r->body); dev && in.boolean()) {
            dev->accessKeyId = fuzz::kDevKey;
            dev->timestampMs = fuzz::kWorldNowMs;
            dev->signature = server::signDeveloperRequest(fuzz::kDevSecret, *dev);
          }
        }
        frame = codec::encode(m);
      }
      w.native->onFrame(conn, std::move(frame));
    }
    w.drain();
    // The handler closed it (protocol error): lws would report the close.
    if (w.net.closed(conns[current])) {
      w.native->onClose(conns[current]);
      w.net.forget(conns[current]);
      conns[current] = open(w, in);
      w.drain();
    }
  }
  for (server::ConnId c : conns) {
    w.native->onClose(c);
    w.net.forget(c);
  }
  w.drain();
  return 0;
}
