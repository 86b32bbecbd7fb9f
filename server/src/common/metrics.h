// Prometheus metric building blocks for /metrics (docs/operations.md): a fixed-bucket histogram
// and labelled families of histograms and counters, rendered in the text exposition format.
// Header-only, no dependency: every layer (storage, net, the front ends) can record into them.
//
// Thread-safety: Histogram::observe() and Counter::add() are lock-free (relaxed atomics; a
// scrape may see a bucket one observation ahead of _count, which Prometheus tolerates). A
// family's with() looks its series up under a mutex; callers on hot paths keep the returned
// reference (series live as long as the family). A family holds at most `maxSeries` label sets:
// further ones fold into the series whose every label value is "other", so a client that
// invents operation or error names cannot grow the exposition without bound.
//
// StoreMetrics::get() is process-wide: the storage backends record their transactions there,
// and ServerMetrics renders it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace tether::server::metrics {

// Bucket upper bounds for request and transaction latencies, in seconds (1 ms .. 10 s).
inline const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,    10};
// Records per committed write transaction, and write transactions per commit group.
inline const std::vector<double> kCountBuckets = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

// A number as Prometheus writes it ("+Inf", shortest round-trip decimal otherwise).
inline std::string formatValue(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v < 1e15 && v > -1e15)
    return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// A label value escaped for the exposition format (backslash, quote, newline).
inline std::string escapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds)
      : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size()]) {
    for (size_t i = 0; i < bounds_.size(); ++i) buckets_[i].store(0);
  }

  void observe(double v) {
    for (size_t i = 0; i < bounds_.size(); ++i)
      if (v <= bounds_[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);  // cumulative
    count_.fetch_add(1, std::memory_order_relaxed);
    double old = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
    }
  }
  void observeSince(std::chrono::steady_clock::time_point start) {
    observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }  // cumulative

  // `labels` is the rendered label set without braces ("" for none).
  void render(std::string& out, const std::string& name, const std::string& labels) const {
    const std::string sep = labels.empty() ? "" : ",";
    for (size_t i = 0; i < bounds_.size(); ++i)
      out += name + "_bucket{" + labels + sep + "le=\"" + formatValue(bounds_[i]) + "\"} " +
             std::to_string(buckets_[i].load(std::memory_order_relaxed)) + "\n";
    const std::string braces = labels.empty() ? "" : "{" + labels + "}";
    out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count()) + "\n";
    out += name + "_sum" + braces + " " + formatValue(sum_.load(std::memory_order_relaxed)) + "\n";
    out += name + "_count" + braces + " " + std::to_string(count()) + "\n";
  }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Counter {
 public:
  void add(int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Series of one metric, keyed by their label values (in the order of `labelNames`).
template <class Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labelNames, size_t maxSeries = 256,
         std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labelNames_(std::move(labelNames)),
        maxSeries_(maxSeries), bounds_(std::move(bounds)) {}

  Series& with(const std::vector<std::string>& values) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;
    std::vector<std::string> key = values;
    if (series_.size() >= maxSeries_) key.assign(labelNames_.size(), "other");
    auto& slot = series_[key];
    if (!slot) slot = make();
    return *slot;
  }

  const std::string& name() const { return name_; }
  // Calls fn(labelValues, series) for every series, under the family's mutex (the console's
  // live view reads the figures /metrics renders).
  template <class Fn>
  void forEach(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, s] : series_) fn(values, *s);
  }

  void render(std::string& out) const {
    const bool histogram = !bounds_.empty();
    out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + (histogram ? " histogram\n" : " counter\n");
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, s] : series_) {
      std::string labels;
      for (size_t i = 0; i < labelNames_.size() && i < values.size(); ++i)
        labels += (i ? "," : "") + labelNames_[i] + "=\"" + escapeLabel(values[i]) + "\"";
      if constexpr (std::is_same_v<Series, Histogram>) {
        s->render(out, name_, labels);
      } else {
        out += name_ + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(s->value()) + "\n";
      }
    }
  }

 private:
  std::unique_ptr<Series> make() const {
    if constexpr (std::is_same_v<Series, Histogram>) return std::make_unique<Histogram>(bounds_);
    else return std::make_unique<Series>();
  }

  std::string name_;
  std::string help_;
  std::vector<std::string> labelNames_;
  size_t maxSeries_;
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

using HistogramFamily = Family<Histogram>;
using CounterFamily = Family<Counter>;

// Store transactions, recorded by both backends (storage/sqlite_transaction.cpp,
// storage/pg_transaction.cpp) from begin to commit or rollback.
struct StoreMetrics {
  HistogramFamily transactionSeconds{"tether_store_transaction_duration_seconds",
                                     "Store transactions from begin to commit or rollback, by backend and kind.",
                                     {"backend", "kind", "outcome"}, 32, kLatencyBuckets};
  // SQLite groups concurrent write transactions into one COMMIT (group commit); PostgreSQL
  // commits each on its own (a group of 1).
  HistogramFamily commitGroupSize{"tether_store_commit_group_size",
                                  "Write transactions made durable by one database COMMIT.", {"backend"}, 8,
                                  kCountBuckets};

  static StoreMetrics& get() {
    static StoreMetrics m;
    return m;
  }
  std::string text() const {
    std::string out;
    transactionSeconds.render(out);
    commitGroupSize.render(out);
    return out;
  }
};

// Times one store transaction into StoreMetrics: from construction (the backend's begin, lock
// waits included) to finish(). One that is never finished counts, when destroyed, as a
// "rollback" (a write abandoned) or "done" (a read: reads end without a commit).
class TransactionTimer {
 public:
  TransactionTimer(const char* backend, bool write) : backend_(backend), write_(write) {}
  ~TransactionTimer() { finish(write_ ? "rollback" : "done"); }
  TransactionTimer(const TransactionTimer&) = delete;
  TransactionTimer& operator=(const TransactionTimer&) = delete;

  // "commit", "error", "rollback" or "done"; only the first call counts.
  void finish(const char* outcome) {
    if (done_) return;
    done_ = true;
    StoreMetrics::get().transactionSeconds.with({backend_, write_ ? "write" : "read", outcome}).observeSince(start_);
  }

 private:
  const char* backend_;
  bool write_;
  bool done_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace tether::server::metrics
