// Unit tests for the observability pieces that need no server process: the histogram and
// labelled families of common/metrics.h (buckets, exposition format, bounded label sets), the
// ReadinessProbe's timeout and single flight, and the HttpObserver's request IDs, error names
// and operation folding; the JSON log line format.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "common/metrics.h"
#include "common/request_context.h"
#include "net/http_observer.h"
#include "net/log_format.h"
#include "net/readiness.h"

namespace tether::server {
namespace {

using namespace std::chrono_literals;

// Whatever a message echoes (quotes, control characters, bytes that are not UTF-8), the line is
// one valid JSON object; invalid bytes become U+FFFD.
TEST(JsonLogFormat, EveryLineIsValidJsonWhateverTheMessageHolds) {
  std::unique_ptr<spdlog::formatter> f = makeLogFormatter(LogFormat::kJson);
  const std::string payload = std::string("key \"a\\b\"\n\x01 bad:\xff\xfe end");
  spdlog::details::log_msg msg("tetherd", spdlog::level::warn, payload);
  spdlog::memory_buf_t out;
  f->format(msg, out);
  std::string line(out.data(), out.size());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  nlohmann::json j = nlohmann::json::parse(line);  // throws (fails the test) if not valid JSON
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["logger"], "tetherd");
  EXPECT_EQ(j["msg"], "key \"a\\b\"\n\x01 bad:\xef\xbf\xbd\xef\xbf\xbd end");
}

TEST(MetricsHistogram, BucketsAreCumulativeAndRenderedInTheExpositionFormat) {
  metrics::HistogramFamily f("tether_x_seconds", "Help.", {"surface"}, 8, {0.1, 1});
  f.with({"a"}).observe(0.05);
  f.with({"a"}).observe(0.5);
  f.with({"a"}).observe(5);
  std::string out;
  f.render(out);
  EXPECT_NE(out.find("# TYPE tether_x_seconds histogram\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tether_x_seconds_bucket{surface=\"a\",le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tether_x_seconds_bucket{surface=\"a\",le=\"1\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tether_x_seconds_bucket{surface=\"a\",le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tether_x_seconds_sum{surface=\"a\"} 5.55\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tether_x_seconds_count{surface=\"a\"} 3\n"), std::string::npos) << out;
}

TEST(MetricsFamily, SeriesBeyondTheBoundFoldIntoOther) {
  metrics::CounterFamily f("tether_y_total", "Help.", {"error"}, 2);
  f.with({"A"}).add();
  f.with({"B"}).add();
  f.with({"C"}).add();
  f.with({"D\"quoted"}).add(2);
  f.with({"A"}).add();
  std::string out;
  f.render(out);
  EXPECT_NE(out.find("tether_y_total{error=\"A\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tether_y_total{error=\"other\"} 3\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("\"C\""), std::string::npos) << out;
  EXPECT_EQ(out.find("quoted"), std::string::npos) << out;
}

TEST(ReadinessProbe, AHangingProbeIsAnsweredUnavailableWithinTheTimeout) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> probes{0};
  {
    ReadinessProbe probe([&]() -> Status {
      probes++;
      released.wait();
      return Status::ok();
    }, 200);
    std::promise<Status> first, second;
    auto start = std::chrono::steady_clock::now();
    probe.check([&](Status s) { first.set_value(s); });
    probe.check([&](Status s) { second.set_value(s); });
    Status a = first.get_future().get();
    Status b = second.get_future().get();
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(a.code(), StatusCode::kUnavailable) << a;
    EXPECT_NE(a.message().find("did not answer within 200 ms"), std::string::npos) << a;
    EXPECT_EQ(b.code(), StatusCode::kUnavailable);
    EXPECT_LT(took, 2s);
    EXPECT_EQ(probes.load(), 1) << "concurrent checks share one probe";
    release.set_value();
  }
}

TEST(ReadinessProbe, TheProbesStatusIsTheAnswer) {
  ReadinessProbe probe([] { return Status::ioError("disk on fire"); }, 2000);
  std::promise<Status> p;
  probe.check([&](Status s) { p.set_value(s); });
  Status s = p.get_future().get();
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(s.message(), "disk on fire");
}

class CannedHandler final : public HttpHandler {
 public:
  HttpResponse response;
  std::string seenId;
  std::string seenCurrent;
  void handle(HttpRequest request, Reply reply) override {
    seenId = request.requestId;
    seenCurrent = currentRequestId();
    reply(response);
  }
};

TEST(HttpObserver, EveryAnswerCarriesTheRequestIdAndErrorsAreCountedByName) {
  ServerMetrics m;
  CannedHandler next;
  next.response = HttpResponse{400, "application/json", {{"x-amzn-RequestId", "made-up"}, {"x-amzn-ErrorType", "ResourceNotFoundException:"}}, "{}"};
  HttpObserver observer(next, m, [](const HttpRequest&) { return std::optional<HttpOperation>(HttpOperation{"cognito-sync", "ListRecords"}); });
  HttpResponse got;
  observer.handle(HttpRequest{"GET", "/identitypools/x", {}, {}, "", "127.0.0.1"}, [&](HttpResponse r) { got = std::move(r); });
  ASSERT_FALSE(next.seenId.empty());
  EXPECT_EQ(next.seenCurrent, next.seenId);
  int ids = 0;
  for (auto& [k, v] : got.headers)
    if (k == "x-amzn-RequestId") {
      ++ids;
      EXPECT_EQ(v, next.seenId);
    }
  EXPECT_EQ(ids, 1);
  EXPECT_EQ(m.requestErrors.with({"cognito-sync", "ResourceNotFoundException"}).value(), 1);
  EXPECT_EQ(m.requestSeconds.with({"cognito-sync", "ListRecords"}).count(), 1u);
  EXPECT_TRUE(currentRequestId().empty()) << "the scope ends with the request";

  next.response = HttpResponse{404, "application/json", {}, "{}"};
  observer.handle(HttpRequest{"GET", "/nowhere", {}, {}, "", "127.0.0.1"}, [&](HttpResponse r) { got = std::move(r); });
  EXPECT_EQ(HttpObserver::errorName(got), "HTTP404");
  EXPECT_EQ(boundedOperation("Get Id"), "other");
  EXPECT_EQ(boundedOperation(std::string(65, 'a')), "other");
  EXPECT_EQ(boundedOperation("UpdateRecords"), "UpdateRecords");
}

}  // namespace
}  // namespace tether::server
