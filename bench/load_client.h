// LoadClient: many native-protocol connections on one libwebsockets context and one thread,
// each driven by a small state machine (a BenchDevice). The benchmarks use it where thousands of
// devices are needed (W4 throughput, W5 idle connections): a full client library instance per
// device would measure the benchmark machine, not the server.
// Threading: everything runs on the thread that calls run().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tether/protocol.h"

namespace tether::bench {

class LoadClient;

// One simulated device. Callbacks come from LoadClient::run() on its thread.
class BenchDevice {
 public:
  virtual ~BenchDevice() = default;
  virtual void onOpen() = 0;
  virtual void onMessage(proto::ServerMessage msg) = 0;
  virtual void onClosed() { failed = true; }
  bool done = false;     // finished its script (an idle device is "done" while it stays open)
  bool failed = false;

 protected:
  friend class LoadClient;
  // Sends a request with a fresh id; returns the id.
  uint64_t request(proto::RequestBody body);
  void hello();
  LoadClient* client_ = nullptr;
  size_t index_ = 0;
  uint64_t nextId_ = 1;
};

class LoadClient {
 public:
  // url: ws://host:port or wss://host:port; caFile: PEM CAs trusted for wss (the test CA).
  explicit LoadClient(std::string url, std::string caFile = "");
  // Several servers on one host (the nodes of a deployment): the devices of run() connect to
  // them round-robin, device i to urls[i % urls.size()]. urls must not be empty.
  explicit LoadClient(const std::vector<std::string>& urls, std::string caFile = "");
  ~LoadClient();

  // Connects every device (at most `maxConnecting` handshakes at a time) and services the
  // connections until `until()` is true or `timeout` passes. Returns false on timeout.
  bool run(std::vector<BenchDevice*> devices, const std::function<bool()>& until,
           std::chrono::milliseconds timeout, size_t maxConnecting = 64);
  // Services already-connected devices until `until()` (no new connections).
  bool pump(const std::function<bool()>& until, std::chrono::milliseconds timeout);
  size_t openConnections() const;
  // Makes a blocked run()/pump() check `until()` now. Any thread (lws_cancel_service): a driver
  // that acts on time (not only on network events) calls it from a ticker.
  void wake();

  struct Impl;
 private:
  friend class BenchDevice;
  void send(size_t index, std::string frame);
  std::unique_ptr<Impl> impl_;
};

// Raises this process's open-file soft limit to the hard limit (many sockets).
void raiseFileLimit();

}  // namespace tether::bench
