// Sync-trigger calls; see trigger_executor.h.
#include "outbound/trigger_executor.h"
#include "common/recent_failures.h"

#include <cstdio>
#include <ctime>

#include <spdlog/spdlog.h>

#include "outbound/command_runner.h"
#include "outbound/webhook_signature.h"

namespace tether::server::outbound {
namespace {

// A log line shows at most this much of a command's stderr or a webhook's error body.
constexpr size_t kLoggedBytes = 512;

std::string clip(const std::string& s) {
  std::string out = s.substr(0, kLoggedBytes);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '"') c = ' ';
  return out;
}

TriggerOutcome failed(TriggerOutcome::Kind kind, Status status, int code = 0) {
  TriggerOutcome o;
  o.kind = kind;
  o.status = std::move(status);
  o.code = code;
  return o;
}

}  // namespace

TriggerExecutor::TriggerExecutor(std::vector<SyncTriggerConfig> targets) {
  for (SyncTriggerConfig& t : targets) {
    std::string arn = t.function;
    targets_.emplace(std::move(arn), std::move(t));
  }
  if (targets_.empty()) return;  // no target: every call fails in invoke(), no thread needed
  threads_.reserve(kTriggerThreads);
  for (int i = 0; i < kTriggerThreads; ++i) threads_.emplace_back([this] { run(); });
}

TriggerExecutor::~TriggerExecutor() { stop(); }

bool TriggerExecutor::hasTarget(const std::string& functionArn) const { return targets_.count(functionArn) != 0; }

void TriggerExecutor::invoke(const std::string& functionArn, std::string event,
                             std::function<void(Result<std::string>)> done) {
  invokeDetailed(functionArn, std::move(event),
                 [done = std::move(done)](TriggerOutcome o) { done(std::move(o).toResult()); });
}

void TriggerExecutor::invokeDetailed(const std::string& functionArn, std::string event,
                                     std::function<void(TriggerOutcome)> done) {
  using Kind = TriggerOutcome::Kind;
  auto it = targets_.find(functionArn);
  if (it == targets_.end()) {
    done(failed(Kind::kNoTarget, Status::triggerFailed("The sync trigger function " + functionArn +
                                                       " is not configured on this server.")));
    return;
  }
  calls_++;
  bool stopping = false;
  {
    MutexLock lock(mu_);
    stopping = stopping_;
    if (!stopping_ && queue_.size() < static_cast<size_t>(kMaxQueuedTriggerCalls)) {
      queue_.push_back(Call{&it->second, std::move(event), std::move(done)});
      queued_.store(static_cast<int64_t>(queue_.size()));
      cv_.notify_one();
      return;
    }
  }
  // Refused at once (outside the lock: done posts).
  if (stopping) {
    done(failed(Kind::kStopping, Status::unavailable("server shutting down")));
    return;
  }
  errors_[kThrottled]++;
  done(failed(Kind::kThrottled, Status::triggerThrottled("Too many sync trigger calls in progress; retry later.")));
}

void TriggerExecutor::stop() {
  std::deque<Call> dropped;
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (Call& c : dropped)
    c.done(failed(TriggerOutcome::Kind::kStopping, Status::unavailable("server shutting down")));
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void TriggerExecutor::run() {
  HttpClient http;  // this thread's: it keeps its connections to webhook targets
  while (true) {
    Call call;
    {
      MutexLock lock(mu_);
      lock.wait(cv_, [this] {
        mu_.assertHeld();  // the predicate runs under the lock
        return stopping_ || !queue_.empty();
      });
      if (queue_.empty()) return;  // stopping
      call = std::move(queue_.front());
      queue_.pop_front();
      queued_.store(static_cast<int64_t>(queue_.size()));
    }
    const auto start = std::chrono::steady_clock::now();
    TriggerOutcome reply = call.target->url.empty() ? callCommand(*call.target, call.event)
                                                    : callWebhook(*call.target, call.event, http);
    reply.fromWebhook = !call.target->url.empty();
    observe(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start));
    if (!reply.status.isOk()) {
      spdlog::warn("sync trigger {}: {}", call.target->function, reply.status.message());
      RecentFailures::get().add("trigger", call.target->function, reply.status.message());  // console (issue 17)
    }
    call.done(std::move(reply));
  }
}

TriggerOutcome TriggerExecutor::callWebhook(const SyncTriggerConfig& t, const std::string& event, HttpClient& http) {
  using Kind = TriggerOutcome::Kind;
  HttpRequest req;
  req.url = t.url;
  req.body = event;
  req.timeout = std::chrono::milliseconds(t.timeoutMs);
  req.maxResponseBytes = kMaxTriggerReplyBytes;
  req.caFile = t.caFile;
  req.headers.emplace_back("Content-Type", "application/json");
  if (!t.hmacSecret.empty())
    req.headers.emplace_back(std::string(kSignatureHeader), webhookSignature(t.hmacSecret, std::time(nullptr), event));
  HttpOutcome out = http.send(req);
  switch (out.failure) {
    case HttpFailure::kNone: break;
    case HttpFailure::kTimeout:
      errors_[kTimeout]++;
      return failed(Kind::kTimeout, Status::triggerFailed("The sync trigger did not answer within " +
                                                          std::to_string(t.timeoutMs) + " ms."));
    case HttpFailure::kTooLarge:
      errors_[kTooLarge]++;
      return failed(Kind::kTooLarge, Status::triggerFailed("The sync trigger's reply is larger than " +
                                                           std::to_string(kMaxTriggerReplyBytes) + " bytes."));
    case HttpFailure::kUnreachable:
    case HttpFailure::kBadRequest:
    case HttpFailure::kCancelled:
      errors_[kUnreachable]++;
      spdlog::warn("sync trigger {}: {} unreachable: {}", t.function, t.url, out.error);
      return failed(Kind::kUnreachable, Status::triggerFailed("The sync trigger could not be reached."));
  }
  const int status = static_cast<int>(out.response.status);
  if (status == 429) {
    errors_[kThrottled]++;
    return failed(Kind::kThrottled, Status::triggerThrottled("The sync trigger is throttled; retry later."), status);
  }
  if (status < 200 || status > 299) {
    errors_[kErrorStatus]++;
    spdlog::warn("sync trigger {}: HTTP {} from {}: {}", t.function, status, t.url, clip(out.response.body));
    TriggerOutcome o = failed(Kind::kFunctionError,
                              Status::triggerFailed("The sync trigger failed (HTTP " + std::to_string(status) + ")."),
                              status);
    o.body = std::move(out.response.body);
    return o;
  }
  TriggerOutcome o;
  o.kind = Kind::kReply;
  o.code = status;
  o.body = std::move(out.response.body);
  return o;
}

TriggerOutcome TriggerExecutor::callCommand(const SyncTriggerConfig& t, const std::string& event) {
  using Kind = TriggerOutcome::Kind;
  CommandResult r = runCommand(t.command, event, std::chrono::milliseconds(t.timeoutMs), kMaxTriggerReplyBytes);
  if (!r.err.empty()) spdlog::info("sync trigger {}: stderr: {}", t.function, clip(r.err));
  switch (r.outcome) {
    case CommandResult::Outcome::kExited: {
      if (r.exitCode == 0) {
        TriggerOutcome o;
        o.kind = Kind::kReply;
        o.body = std::move(r.out);
        return o;
      }
      if (r.exitCode == kTriggerThrottledExitCode) {
        errors_[kThrottled]++;
        return failed(Kind::kThrottled, Status::triggerThrottled("The sync trigger is throttled; retry later."),
                      r.exitCode);
      }
      errors_[kErrorStatus]++;
      TriggerOutcome o = failed(Kind::kFunctionError,
                                Status::triggerFailed("The sync trigger failed (exit status " +
                                                      std::to_string(r.exitCode) + ")."),
                                r.exitCode);
      o.body = std::move(r.out);
      o.errorText = std::move(r.err);
      return o;
    }
    case CommandResult::Outcome::kSignaled: {
      errors_[kErrorStatus]++;
      TriggerOutcome o = failed(Kind::kFunctionError,
                                Status::triggerFailed("The sync trigger failed (killed by signal " +
                                                      std::to_string(r.exitCode) + ")."),
                                r.exitCode);
      o.errorText = std::move(r.err);
      return o;
    }
    case CommandResult::Outcome::kTimeout:
      errors_[kTimeout]++;
      return failed(Kind::kTimeout, Status::triggerFailed("The sync trigger did not answer within " +
                                                          std::to_string(t.timeoutMs) + " ms."));
    case CommandResult::Outcome::kTooLarge:
      errors_[kTooLarge]++;
      return failed(Kind::kTooLarge, Status::triggerFailed("The sync trigger's reply is larger than " +
                                                           std::to_string(kMaxTriggerReplyBytes) + " bytes."));
    case CommandResult::Outcome::kSpawnFailed:
      errors_[kUnreachable]++;
      spdlog::error("sync trigger {}: cannot start {}: {}", t.function, t.command[0], r.error);
      return failed(Kind::kUnreachable, Status::triggerFailed("The sync trigger could not be started."));
  }
  return failed(Kind::kUnreachable, Status::internal("unreachable"));
}

void TriggerExecutor::observe(std::chrono::microseconds elapsed) {
  const double msVal = static_cast<double>(elapsed.count()) / 1000.0;
  for (size_t i = 0; i < std::size(kBucketsMs); ++i)
    if (msVal <= kBucketsMs[i]) buckets_[i]++;
  latencyCount_++;
  latencySumUs_ += elapsed.count();
}

std::string TriggerExecutor::metricsText() const {
  std::string out;
  out += "# HELP tether_sync_trigger_calls_total Sync trigger calls asked for (refused ones included).\n"
         "# TYPE tether_sync_trigger_calls_total counter\n"
         "tether_sync_trigger_calls_total " + std::to_string(calls_.load()) + "\n";
  out += "# HELP tether_sync_trigger_errors_total Sync trigger calls that failed, by kind.\n"
         "# TYPE tether_sync_trigger_errors_total counter\n";
  for (int i = 0; i < kErrorKindCount; ++i)
    out += std::string("tether_sync_trigger_errors_total{kind=\"") + kErrorNames[i] + "\"} " +
           std::to_string(errors_[i].load()) + "\n";
  out += "# HELP tether_sync_trigger_queued Sync trigger calls waiting for a thread.\n"
         "# TYPE tether_sync_trigger_queued gauge\n"
         "tether_sync_trigger_queued " + std::to_string(queued_.load()) + "\n";
  out += "# HELP tether_sync_trigger_duration_seconds Time of a sync trigger call (webhook or command).\n"
         "# TYPE tether_sync_trigger_duration_seconds histogram\n";
  for (size_t i = 0; i < std::size(kBucketsMs); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "%g", kBucketsMs[i] / 1000.0);
    out += std::string("tether_sync_trigger_duration_seconds_bucket{le=\"") + le + "\"} " +
           std::to_string(buckets_[i].load()) + "\n";
  }
  out += "tether_sync_trigger_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(latencyCount_.load()) + "\n";
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(latencySumUs_.load()) / 1e6);
  out += std::string("tether_sync_trigger_duration_seconds_sum ") + sum + "\n";
  out += "tether_sync_trigger_duration_seconds_count " + std::to_string(latencyCount_.load()) + "\n";
  return out;
}

}  // namespace tether::server::outbound
