// FeedHttp: the changes feed endpoint on tetherd's HTTP port (docs/events.md, "Changes feed"):
//
//   GET /streams/<name>/records?after=<position>&limit=<1..1000>&wait=<0..30 seconds>
//   -> 200 {"records":[{"position":P,"record":{<stream record>}}...],"cursor":<last position>}
//
// Signed with developer credentials (SigV4, service "cognito-sync", as the other developer
// operations); anything else is refused as the Cognito API refuses it. Only streams configured
// with sink = "feed" exist here. `after` is the last position the consumer processed (0 at
// the start); the answer holds the records after it in position order, and `cursor` is what to
// send next. A cursor below the stream's floor (records past the retention window were
// dropped) is refused with 410 ExpiredCursorException, never answered with a silent gap; a
// cursor past the end with 400.
//
// Long-poll: with wait > 0 and nothing after the cursor, the request is parked (no thread is
// held: its reply callback waits in a list) and answered as soon as a record arrives or when
// the wait ends (an empty page). A local delivery wakes it at once; records delivered by the
// publisher on another node are seen by a poll of the feed's last position every 200 ms.
// Threading: handle() on the network thread (routes and posts only); reads on the WorkPool;
// one hub thread watches the parked requests. stop() before the WorkPool is joined.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cognito/request_auth.h"
#include "common/clock.h"
#include "common/work_pool.h"
#include "net/http.h"
#include "storage/store.h"

namespace tether::server::streams {

class FeedHttp final : public HttpHandler {
 public:
  // `streams`: the names served (sink = "feed"). Every referent outlives this object.
  FeedHttp(Store& store, const cognito::RequestAuthenticator& auth, WorkPool& pool, const Clock& clock,
           std::set<std::string> streams, HttpHandler* next = nullptr);
  ~FeedHttp() override;

  void handle(HttpRequest request, Reply reply) override;
  // A delivery appended records to `stream` (FeedSink, publisher thread).
  void appended(const std::string& stream);
  // Answers every parked request (empty pages) and stops the hub thread.
  void stop();

 private:
  struct Waiter {
    std::string stream;
    int64_t after = 0;
    int limit = 0;
    int64_t deadlineMs = 0;
    Reply reply;
  };
  // Reads and answers on the calling (worker) thread; parks the request when it is empty and
  // may wait.
  void serve(const std::string& stream, int64_t after, int limit, int64_t deadlineMs, Reply reply);
  void hubLoop();

  Store& store_;
  const cognito::RequestAuthenticator& auth_;
  WorkPool& pool_;
  const Clock& clock_;
  const std::set<std::string> streams_;
  HttpHandler* next_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiter> waiters_;
  std::set<std::string> dirty_;  // streams appended to since the hub last looked
  bool stop_ = false;
  std::thread hub_;
};

}  // namespace tether::server::streams
