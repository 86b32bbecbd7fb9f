// See publisher.h.
#include "streams/publisher.h"
#include "common/recent_failures.h"

#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

namespace tether::server::streams {
namespace {

// Records read per round and stream, beyond the batch: room for the later records of datasets
// already in the batch, which wait for the next round.
constexpr int kReadAhead = 4;
constexpr int64_t kStatsIntervalMs = 500;
constexpr int64_t kUnconfiguredCheckMs = 30000;

bool shouldWarn(int failures) { return failures == 1 || failures == 5 || failures == 20 || failures % 100 == 0; }

}  // namespace

Publisher::Publisher(Store& store, const Clock& clock, PublisherOptions options, std::function<bool()> mayPublish)
    : store_(store), clock_(clock), options_(options), mayPublish_(std::move(mayPublish)) {}

Publisher::~Publisher() { stop(); }

void Publisher::addSink(std::string streamName, std::unique_ptr<StreamSink> sink) {
  auto s = std::make_unique<Stream>();
  s->name = std::move(streamName);
  s->sink = std::move(sink);
  streams_.push_back(std::move(s));
}

void Publisher::start() { thread_ = std::thread([this] { run(); }); }

void Publisher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Publisher::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Publisher::run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      woken_ = false;
    }
    const bool leader = !mayPublish_ || mayPublish_();
    active_.store(leader);
    int64_t now = clock_.nowMs();
    int64_t waitMs = options_.pollIntervalMs;
    if (leader) {
      if (now - lastStatsMs_ >= kStatsIntervalMs) refreshStats();
      if (now - lastUnconfiguredCheckMs_ >= kUnconfiguredCheckMs) warnUnconfigured();
      if (bulk_ != nullptr && bulk_->step()) waitMs = 0;
      for (auto& sp : streams_) {
        Stream& s = *sp;
        if (now < s.nextAttemptMs) {
          waitMs = std::min<int64_t>(waitMs, s.nextAttemptMs - now);
          continue;
        }
        Round r = publishOnce(s);
        now = clock_.nowMs();
        if (r.failed) {
          s.failures++;
          int64_t backoff = options_.retryInitialMs;
          for (int i = 1; i < s.failures && backoff < options_.retryMaxMs; ++i) backoff *= 2;
          backoff = std::min<int64_t>(backoff, options_.retryMaxMs);
          backoff = std::max<int64_t>(backoff, r.retryAfter.count());
          s.nextAttemptMs = now + backoff;
          waitMs = std::min<int64_t>(waitMs, backoff);
        } else {
          s.failures = 0;
          if (r.more) waitMs = 0;
        }
      }
    }
    if (waitMs <= 0) continue;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(waitMs), [this] { return stop_ || woken_; });
  }
}

Publisher::Round Publisher::publishOnce(Stream& s) {
  Round round;
  const size_t batchMax = std::max<size_t>(1, s.sink->maxBatchRecords());
  std::vector<OutboxEntry> rows;
  {
    Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
    Result<std::vector<OutboxEntry>> listed =
        txn.isOk() ? (*txn)->listOutbox(s.name, static_cast<int>(batchMax) * kReadAhead) : txn.status();
    if (!listed.isOk()) {
      errors_++;
      spdlog::warn("streams: cannot read the outbox of stream {}: {}", s.name, listed.status().message());
      round.failed = true;
      return round;
    }
    rows = std::move(listed).value();
  }
  if (rows.empty()) return round;
  // The first (oldest) record of each dataset, in outbox order.
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::vector<StreamRecord> batch;
  for (OutboxEntry& e : rows) {
    if (batch.size() >= batchMax) break;
    if (!seen.emplace(e.poolId, e.identityId, e.dataset).second) continue;
    batch.push_back(StreamRecord{e.seq, std::move(e.stream), std::move(e.poolId), std::move(e.identityId),
                                 std::move(e.dataset), std::move(e.json)});
  }
  round.more = rows.size() > batch.size();
  SinkDelivery d = s.sink->deliver(batch);
  std::vector<int64_t> done;
  for (size_t i = 0; i < batch.size(); ++i)
    if (i < d.delivered.size() && d.delivered[i]) done.push_back(batch[i].seq);
  if (!done.empty()) {
    Status del = runWriteTransaction(store_, [&](StoreTransaction& txn) -> Status {
      TETHER_RETURN_IF_ERROR(txn.deleteOutbox(done));
      return txn.commit();
    });
    if (!del.isOk()) {
      // Delivered but still in the outbox: sent again next round (a documented duplicate).
      errors_++;
      spdlog::warn("streams: cannot mark {} records of stream {} delivered: {}", done.size(), s.name, del.message());
      round.failed = true;
    }
    s.delivered += static_cast<int64_t>(done.size());
  }
  if (done.size() < batch.size()) {
    round.failed = true;
    round.retryAfter = d.retryAfter;
    s.retries += static_cast<int64_t>(batch.size() - done.size());
    RecentFailures::get().add("stream", s.name, d.status.message());  // the console's live view (issue 17)
    if (shouldWarn(s.failures + 1))
      spdlog::warn("streams: {} sink of stream {} failed {} time(s) in a row, {} records waiting: {}", s.sink->kind(),
                   s.name, s.failures + 1, rows.size() - done.size(), d.status.message());
  }
  return round;
}

void Publisher::refreshStats() {
  lastStatsMs_ = clock_.nowMs();
  Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
  Result<OutboxStats> st = txn.isOk() ? (*txn)->outboxStats() : txn.status();
  if (!st.isOk()) {
    errors_++;
    return;
  }
  depth_.store(st->depth);
  oldestMs_.store(st->oldestCreatedMs);
}

void Publisher::warnUnconfigured() {
  lastUnconfiguredCheckMs_ = clock_.nowMs();
  Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
  Result<std::vector<std::string>> names = txn.isOk() ? (*txn)->outboxStreams() : txn.status();
  if (!names.isOk()) return;
  for (const std::string& n : *names) {
    bool known = false;
    for (const auto& s : streams_) known = known || s->name == n;
    if (!known)
      spdlog::warn("streams: the outbox holds records for stream '{}', which no [[streams]] entry of the config "
                   "names: they wait (and count towards outbox.max_records) until one does",
                   n);
  }
}

std::string Publisher::metricsText() const {
  std::string out;
  auto head = [&out](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  head("tether_stream_outbox_depth", "gauge", "Cognito Streams records waiting in the outbox (all streams).");
  out += "tether_stream_outbox_depth " + std::to_string(depth_.load()) + "\n";
  head("tether_stream_outbox_oldest_age_seconds", "gauge", "Age of the oldest undelivered stream record.");
  const int64_t oldest = oldestMs_.load();
  const int64_t age = oldest > 0 ? std::max<int64_t>(0, clock_.nowMs() - oldest) : 0;
  out += "tether_stream_outbox_oldest_age_seconds " + std::to_string(age / 1000.0) + "\n";
  head("tether_stream_delivered_total", "counter", "Stream records delivered, by stream and sink.");
  for (const auto& s : streams_)
    out += "tether_stream_delivered_total{stream=\"" + s->name + "\",sink=\"" + std::string(s->sink->kind()) +
           "\"} " + std::to_string(s->delivered.load()) + "\n";
  head("tether_stream_retries_total", "counter", "Stream records a sink did not take, to be retried.");
  for (const auto& s : streams_)
    out += "tether_stream_retries_total{stream=\"" + s->name + "\",sink=\"" + std::string(s->sink->kind()) +
           "\"} " + std::to_string(s->retries.load()) + "\n";
  head("tether_stream_publisher_errors_total", "counter", "Outbox reads or deletes that failed.");
  out += "tether_stream_publisher_errors_total " + std::to_string(errors_.load()) + "\n";
  if (bulk_ != nullptr) {
    head("tether_stream_bulk_publish_running", "gauge", "BulkPublish jobs in progress (seen by the lease holder).");
    out += "tether_stream_bulk_publish_running " + std::to_string(bulk_->running()) + "\n";
    head("tether_stream_bulk_publish_records_total", "counter", "Stream records written by BulkPublish jobs.");
    out += "tether_stream_bulk_publish_records_total " + std::to_string(bulk_->recordsPublished()) + "\n";
    head("tether_stream_bulk_publish_finished_total", "counter", "BulkPublish jobs finished, by outcome.");
    out += "tether_stream_bulk_publish_finished_total{status=\"SUCCEEDED\"} " + std::to_string(bulk_->succeeded()) +
           "\ntether_stream_bulk_publish_finished_total{status=\"FAILED\"} " + std::to_string(bulk_->failed()) + "\n";
  }
  head("tether_stream_publisher_active", "gauge", "1 while this node runs the publisher (holds the lease).");
  out += std::string("tether_stream_publisher_active ") + (active_.load() ? "1" : "0") + "\n";
  return out;
}

}  // namespace tether::server::streams
