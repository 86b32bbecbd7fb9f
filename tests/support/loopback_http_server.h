// LoopbackHttpServer: a small HTTP/1.1 server on 127.0.0.1 for tests that need an endpoint
// tetherd calls out to (a webhook, a fake AWS service answering errors). Each request is handed
// to the test's handler on the server's thread and recorded; keep-alive connections are served
// one request after another, as libcurl sends them. Bodies must carry Content-Length (no
// chunked uploads): what tetherd's HTTP client sends.
// Thread-safety: requests() and setHandler() may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tether::testing {

struct LoopbackRequest {
  std::string method;
  std::string target;                         // path and query as sent
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
};

struct LoopbackReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int delayMs = 0;  // wait this long before answering (timeouts)
};

class LoopbackHttpServer {
 public:
  using Handler = std::function<LoopbackReply(const LoopbackRequest&)>;
  // Listens on 127.0.0.1 and a free port; every request gets 200 {} until setHandler().
  LoopbackHttpServer();
  ~LoopbackHttpServer();  // stops accepting and joins the thread

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void setHandler(Handler handler);
  std::vector<LoopbackRequest> requests() const;
  size_t requestCount() const;

 private:
  void run();
  void serve(int fd);

  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  Handler handler_;
  std::vector<LoopbackRequest> requests_;
  std::thread thread_;
};

}  // namespace tether::testing
