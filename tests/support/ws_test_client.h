// WsTestClient: a small, blocking native-protocol client for tests (its own libwebsockets
// context and service thread). It can also misbehave on purpose: raw or text frames, a wrong
// subprotocol, no hello, a paused reader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tether/protocol.h"

namespace tether::testing {

class WsTestClient {
 public:
  struct Options {
    std::string url;                       // ws://127.0.0.1:PORT or wss://localhost:PORT
    std::string caFile;                    // for wss
    std::string subprotocol = proto::kSubprotocol;  // "" = none
    bool sendHello = true;                 // send hello and wait for helloAck in connect()
  };
  // nullptr if the connection (or the hello exchange) failed within 10 s.
  static std::unique_ptr<WsTestClient> connect(const Options& options);
  static std::unique_ptr<WsTestClient> connect(const std::string& url, const std::string& caFile = "");
  ~WsTestClient();

  // Sends a request with a fresh id and waits for its response; kUnavailable on timeout or
  // closed connection. An error response comes back as its Status.
  Result<proto::ResponseBody> call(proto::RequestBody body, int timeoutMs = 10000);
  template <class T>
  Result<T> callAs(proto::RequestBody body, int timeoutMs = 10000) {
    Result<proto::ResponseBody> r = call(std::move(body), timeoutMs);
    if (!r.isOk()) return r.status();
    if (auto* s = std::get_if<Status>(&*r)) return *s;
    if (auto* v = std::get_if<T>(&*r)) return std::move(*v);
    return Status::protocolError("unexpected response type");
  }

  uint64_t sendRequest(proto::RequestBody body);                  // returns its id
  std::optional<proto::Response> waitResponse(uint64_t id, int timeoutMs = 10000);
  void sendRaw(std::string bytes, bool binary = true);
  void sendHello(uint32_t version);
  std::optional<proto::HelloAck> helloAck() const;

  bool isOpen() const;
  // Waits until the connection is closed; the server's close code and reason if it sent one.
  bool waitClosed(int timeoutMs, int* code = nullptr, std::string* reason = nullptr);
  void close();

  // Stop/start reading from the socket (to play a slow reader).
  void setReading(bool on);
  std::vector<proto::DatasetChanged> pushes() const;

  // Guest identity shortcut: getId + getToken + authenticate. Returns the identity ID.
  Result<std::string> loginAsNewGuest(const std::string& poolId);
  Result<std::string> loginAs(const std::string& identityId);

  // One write as a device makes it: ListRecords from 0 for a session token, then UpdateRecords
  // of `patches` as device "dev-a".
  Result<proto::UpdateRecordsResponse> write(const std::string& dataset, std::vector<RecordPatch> patches);

  struct Impl;
 private:
  explicit WsTestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tether::testing
