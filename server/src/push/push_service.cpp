#include "push/push_service.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "push/apns_sender.h"
#include "push/fcm_sender.h"
#include "sync/pool_settings.h"
#include "sync/sync_service.h"
#include "tether_internal/thread_annotations.h"

namespace tether::server::push {
namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// The pool configuration as SetIdentityPoolConfiguration stores it (cognito/sync_api.cpp).

enum Provider { kApns = 0, kFcm = 1, kProviderCount = 2 };
constexpr const char* kProviderNames[kProviderCount] = {"apns", "fcm"};

Provider providerOf(std::string_view platform) { return platform == "GCM" ? kFcm : kApns; }

struct ChangeKey {
  std::string poolId, identityId, dataset;
  auto operator<=>(const ChangeKey&) const = default;
};

struct PendingChange {
  int64_t syncCount = 0;
  std::string writerDevice;   // the one device that made every coalesced write ("" = none)
};

struct PushKey {
  std::string poolId, identityId, deviceId, dataset;
  auto operator<=>(const PushKey&) const = default;
};

struct PendingPush {
  PushSender* sender = nullptr;
  std::string token;
  int64_t syncCount = 0;
  int attempts = 0;
  SteadyClock::time_point due;
  bool inFlight = false;
};

}  // namespace

struct PushService::Impl {
  Store& store;
  const Clock& clock;
  PushServiceOptions options;
  std::map<std::string, std::unique_ptr<PushSender>> senders;  // by application ARN; immutable
  std::map<std::string, Provider> senderProvider;              // by application ARN; immutable

  // ---- the change queue (datasetChanged -> dispatcher)
  Mutex changesMu;
  std::condition_variable changesCv;
  std::map<ChangeKey, PendingChange> changes TETHER_GUARDED_BY(changesMu);
  std::deque<ChangeKey> changeOrder TETHER_GUARDED_BY(changesMu);
  bool stopping TETHER_GUARDED_BY(changesMu) = false;

  // ---- one push queue and worker per provider
  struct Worker {
    Mutex mu;
    std::condition_variable cv;
    std::map<PushKey, PendingPush> pushes TETHER_GUARDED_BY(mu);
    bool stopping TETHER_GUARDED_BY(mu) = false;
    std::thread thread;
  };
  Worker workers[kProviderCount];
  std::thread dispatcher;
  // Raised by stop(): a request in flight is abandoned within a second (HttpClient::setCancelFlag)
  // instead of holding shutdown for its 10 s deadline.
  std::atomic<bool> cancel{false};

  // ---- metrics
  mutable Mutex metricsMu;
  int64_t sent[kProviderCount] TETHER_GUARDED_BY(metricsMu) = {};
  int64_t tokensRemoved[kProviderCount] TETHER_GUARDED_BY(metricsMu) = {};
  // (provider, reason) -> count. Reasons are a bounded set (push_sender.h).
  std::map<std::pair<std::string, std::string>, int64_t> failed TETHER_GUARDED_BY(metricsMu);
  std::map<std::pair<std::string, std::string>, int64_t> dropped TETHER_GUARDED_BY(metricsMu);
  std::set<std::string> loggedOnce TETHER_GUARDED_BY(metricsMu);

  Impl(Store& s, const Clock& c, const PushServiceOptions& o) : store(s), clock(c), options(o) {}

  void count(std::map<std::pair<std::string, std::string>, int64_t>& family, const std::string& provider,
             const std::string& reason) TETHER_REQUIRES(metricsMu) {
    family[{provider, reason}]++;
  }
  void drop(const std::string& provider, const std::string& reason) {
    MutexLock lock(metricsMu);
    count(dropped, provider, reason);
  }
  // True the first time `what` is seen: a misconfiguration is logged once, not per write.
  bool firstTime(const std::string& what) {
    MutexLock lock(metricsMu);
    if (loggedOnce.size() >= 1000) return false;
    return loggedOnce.insert(what).second;
  }

  void enqueueChange(const Caller& writer, std::string_view dataset, int64_t syncCount) {
    ChangeKey key{writer.poolId, writer.identityId, std::string(dataset)};
    {
      MutexLock lock(changesMu);
      auto it = changes.find(key);
      if (it != changes.end()) {
        it->second.syncCount = std::max(it->second.syncCount, syncCount);
        // Two writers in one burst: every subscribed device has news from someone else.
        if (it->second.writerDevice != writer.deviceId) it->second.writerDevice.clear();
        return;
      }
      if (changes.size() < options.maxQueuedChanges) {
        changes.emplace(key, PendingChange{syncCount, writer.deviceId});
        changeOrder.push_back(std::move(key));
        changesCv.notify_one();
        return;
      }
    }
    drop("none", "queue_full");
    if (firstTime("queue_full:changes"))
      spdlog::warn("push: change queue full ({} datasets waiting); changes are not pushed until it drains",
                   options.maxQueuedChanges);
  }

  // ---- dispatcher: change -> one push per subscribed device
  void runDispatcher() {
    while (true) {
      ChangeKey key;
      PendingChange change;
      {
        MutexLock lock(changesMu);
        lock.wait(changesCv, [this]() TETHER_REQUIRES(changesMu) { return stopping || !changeOrder.empty(); });
        if (stopping) return;
        key = std::move(changeOrder.front());
        changeOrder.pop_front();
        auto it = changes.find(key);
        change = it->second;
        changes.erase(it);
      }
      dispatch(key, change);
    }
  }

  // The pool's PushSync.ApplicationArns (empty when push sync is not configured).
  std::vector<std::string> applicationArns(const std::string& poolId) {
    Result<std::optional<std::string>> meta = store.getMeta(poolConfigurationMetaKey(poolId));
    if (!meta.isOk() || !*meta) return {};
    Json config = Json::parse(**meta, nullptr, false);
    std::vector<std::string> out;
    if (!config.is_object() || !config.contains("PushSync") || !config["PushSync"].is_object()) return out;
    const Json& push = config["PushSync"];
    auto arns = push.find("ApplicationArns");
    if (arns == push.end() || !arns->is_array()) return out;
    for (const Json& a : *arns)
      if (a.is_string()) out.push_back(a.get<std::string>());
    return out;
  }

  void dispatch(const ChangeKey& key, const PendingChange& change) {
    Result<std::vector<DeviceInfo>> devices = store.listSubscribedDevices(key.poolId, key.identityId, key.dataset);
    if (!devices.isOk()) {
      drop("none", "store_error");
      spdlog::warn("push: cannot list the devices subscribed to {}/{}: {}", key.identityId, key.dataset,
                   devices.status().message());
      return;
    }
    std::vector<const DeviceInfo*> targets;
    for (const DeviceInfo& d : *devices)
      if (change.writerDevice.empty() || d.deviceId != change.writerDevice) targets.push_back(&d);
    if (targets.empty()) return;
    const std::vector<std::string> arns = applicationArns(key.poolId);
    for (const DeviceInfo* d : targets) {
      std::string arn;
      for (const std::string& a : arns) {
        Result<std::string> platform = pushAppPlatform(a);
        if (platform.isOk() && *platform == d->platform && senders.count(a) != 0) {
          arn = a;
          break;
        }
      }
      if (arn.empty()) {
        drop("none", "no_app");
        if (firstTime("no_app:" + key.poolId + ":" + d->platform))
          spdlog::warn("push: pool {} has no configured push application for platform {} (its PushSync."
                       "ApplicationArns need an app/{}/... ARN that [[push_apps]] gives credentials for); devices "
                       "of that platform are not pushed (docs/events.md)",
                       key.poolId, d->platform, d->platform);
        continue;
      }
      enqueuePush(senderProvider.at(arn), PushKey{key.poolId, key.identityId, d->deviceId, key.dataset},
                  senders.at(arn).get(), d->pushToken, change.syncCount);
    }
  }

  void enqueuePush(Provider p, PushKey key, PushSender* sender, const std::string& token, int64_t syncCount) {
    Worker& w = workers[p];
    {
      MutexLock lock(w.mu);
      auto it = w.pushes.find(key);
      if (it != w.pushes.end()) {  // coalesce: one push, the latest count, its retry schedule kept
        it->second.syncCount = std::max(it->second.syncCount, syncCount);
        it->second.token = token;
        it->second.sender = sender;
        return;
      }
      if (w.pushes.size() < options.maxQueuedPushes) {
        w.pushes.emplace(std::move(key), PendingPush{sender, token, syncCount, 0, SteadyClock::now(), false});
        w.cv.notify_one();
        return;
      }
    }
    drop(kProviderNames[p], "queue_full");
    if (firstTime(std::string("queue_full:") + kProviderNames[p]))
      spdlog::warn("push: {} queue full ({} pushes waiting); further pushes are dropped until it drains",
                   kProviderNames[p], options.maxQueuedPushes);
  }

  std::chrono::milliseconds backoff(int attempts) const {
    auto d = options.initialBackoff;
    for (int i = 1; i < attempts && d < options.maxBackoff; ++i) d *= 2;
    return std::min(d, options.maxBackoff);
  }

  // ---- provider workers
  void runWorker(Provider p) {
    Worker& w = workers[p];
    outbound::HttpClient http;  // this thread's own: its HTTP/2 connection stays open between pushes
    http.setCancelFlag(&cancel);
    while (true) {
      PushKey key;
      PendingPush push;
      {
        MutexLock lock(w.mu);
        while (true) {
          if (w.stopping) return;
          // TODO(perf): a linear scan per push; fine at the default 10,000 queued.
          auto next = w.pushes.end();
          for (auto it = w.pushes.begin(); it != w.pushes.end(); ++it)
            if (!it->second.inFlight && (next == w.pushes.end() || it->second.due < next->second.due)) next = it;
          if (next != w.pushes.end() && next->second.due <= SteadyClock::now()) {
            next->second.inFlight = true;
            key = next->first;
            push = next->second;
            break;
          }
          if (next == w.pushes.end())
            lock.wait(w.cv);
          else
            lock.waitUntil(w.cv, next->second.due);
        }
      }
      PushData data{key.poolId, key.identityId, key.dataset, push.syncCount};
      PushOutcome outcome = push.sender->send(http, push.token, data);
      finish(p, key, push, outcome);
    }
  }

  // After a send: done, retry later, or drop; the device removed if its token is gone.
  void finish(Provider p, const PushKey& key, const PendingPush& attempt, const PushOutcome& outcome) {
    const char* provider = kProviderNames[p];
    Worker& w = workers[p];
    bool removeDevice = false;
    {
      MutexLock lock(w.mu);
      auto it = w.pushes.find(key);  // still there: only this thread erases
      if (it == w.pushes.end()) return;
      PendingPush& cur = it->second;
      cur.inFlight = false;
      const bool newer = cur.syncCount > attempt.syncCount;  // a change arrived while it was sent
      switch (outcome.result) {
        case PushResult::kSent:
          if (newer) {
            cur.attempts = 0;
            cur.due = SteadyClock::now();
          } else {
            w.pushes.erase(it);
          }
          break;
        case PushResult::kRetry:
          cur.attempts += 1;
          if (cur.attempts >= options.maxAttempts) {
            w.pushes.erase(it);
          } else {
            cur.due = SteadyClock::now() + std::max(backoff(cur.attempts), outcome.retryAfter);
          }
          break;
        case PushResult::kTokenGone:
          // Every queued push to this device goes: the token will not work for any dataset.
          for (auto d = w.pushes.begin(); d != w.pushes.end();) {
            const PushKey& k = d->first;
            const bool same = k.poolId == key.poolId && k.identityId == key.identityId && k.deviceId == key.deviceId;
            d = same && !d->second.inFlight ? w.pushes.erase(d) : std::next(d);
          }
          removeDevice = true;
          break;
        case PushResult::kRejected:
          w.pushes.erase(it);
          break;
      }
    }
    {
      MutexLock lock(metricsMu);
      if (outcome.result == PushResult::kSent) {
        sent[p]++;
      } else {
        count(failed, provider, outcome.reason);
        if (outcome.result == PushResult::kRejected) count(dropped, provider, "rejected");
        if (outcome.result == PushResult::kRetry && attempt.attempts + 1 >= options.maxAttempts)
          count(dropped, provider, "retries_exhausted");
      }
    }
    if (outcome.result == PushResult::kRetry || outcome.result == PushResult::kRejected) {
      spdlog::log(outcome.result == PushResult::kRejected ? spdlog::level::warn : spdlog::level::debug,
                  "push: {} to device {} ({}/{}) failed: {} {} ({})", provider, key.deviceId, key.identityId,
                  key.dataset, outcome.reason, outcome.detail,
                  outcome.result == PushResult::kRejected ? "dropped" : "will retry");
    }
    if (removeDevice) {
      Status s = store.removeDevice(key.poolId, key.identityId, key.deviceId);
      if (s.isOk()) {
        MutexLock lock(metricsMu);
        tokensRemoved[p]++;
      }
      spdlog::info("push: {} reports the token of device {} ({}) as gone ({} {}); device {}", provider, key.deviceId,
                   key.identityId, outcome.reason, outcome.detail,
                   s.isOk() ? "removed with its subscriptions"
                            : s.code() == StatusCode::kNotFound ? "was already removed"
                                                                : "not removed: " + s.message());
    }
  }

  void stop() {
    cancel = true;
    {
      MutexLock lock(changesMu);
      stopping = true;
    }
    changesCv.notify_all();
    if (dispatcher.joinable()) dispatcher.join();
    for (Worker& w : workers) {
      {
        MutexLock lock(w.mu);
        w.stopping = true;
      }
      w.cv.notify_all();
      if (w.thread.joinable()) w.thread.join();
    }
  }
};

Result<std::unique_ptr<PushService>> PushService::start(const std::vector<PushAppConfig>& apps, Store& store,
                                                        const Clock& clock, const PushServiceOptions& options) {
  auto impl = std::make_unique<Impl>(store, clock, options);
  bool used[kProviderCount] = {};
  for (const PushAppConfig& app : apps) {
    std::unique_ptr<PushSender> sender;
    const Provider p = providerOf(app.platform);
    if (p == kFcm) {
      TETHER_TRY(std::unique_ptr<FcmSender> s, FcmSender::create(app, clock));
      sender = std::move(s);
    } else {
      TETHER_TRY(std::unique_ptr<ApnsSender> s, ApnsSender::create(app, clock));
      sender = std::move(s);
    }
    used[p] = true;
    impl->senders[app.arn] = std::move(sender);
    impl->senderProvider[app.arn] = p;
  }
  Impl* raw = impl.get();
  raw->dispatcher = std::thread([raw] { raw->runDispatcher(); });
  for (int p = 0; p < kProviderCount; ++p)
    if (used[p]) raw->workers[p].thread = std::thread([raw, p] { raw->runWorker(static_cast<Provider>(p)); });
  return std::unique_ptr<PushService>(new PushService(std::move(impl)));
}

PushService::PushService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PushService::~PushService() { impl_->stop(); }

void PushService::datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                                 const std::vector<Record>* /*batch*/) {
  impl_->enqueueChange(writer, dataset, syncCount);
}

std::string PushService::metricsText() const {
  Impl& i = *impl_;
  int64_t depth[kProviderCount] = {};
  int64_t changeDepth = 0;
  {
    MutexLock lock(i.changesMu);
    changeDepth = static_cast<int64_t>(i.changes.size());
  }
  for (int p = 0; p < kProviderCount; ++p) {
    MutexLock lock(i.workers[p].mu);
    depth[p] = static_cast<int64_t>(i.workers[p].pushes.size());
  }
  std::string out;
  auto head = [&out](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  MutexLock lock(i.metricsMu);
  head("tether_push_sent_total", "counter", "Mobile pushes the provider accepted.");
  for (int p = 0; p < kProviderCount; ++p)
    out += std::string("tether_push_sent_total{provider=\"") + kProviderNames[p] + "\"} " + std::to_string(i.sent[p]) + "\n";
  head("tether_push_failed_total", "counter",
       "Failed push attempts by provider and reason (retried ones included: see tether_push_dropped_total).");
  for (const auto& [k, v] : i.failed)
    out += "tether_push_failed_total{provider=\"" + k.first + "\",reason=\"" + k.second + "\"} " + std::to_string(v) + "\n";
  head("tether_push_dropped_total", "counter",
       "Pushes given up: rejected, retries_exhausted, queue_full, no_app (no push application for the device's "
       "platform), store_error.");
  for (const auto& [k, v] : i.dropped)
    out += "tether_push_dropped_total{provider=\"" + k.first + "\",reason=\"" + k.second + "\"} " + std::to_string(v) + "\n";
  head("tether_push_tokens_removed_total", "counter", "Devices removed because the provider reported their token gone.");
  for (int p = 0; p < kProviderCount; ++p)
    out += std::string("tether_push_tokens_removed_total{provider=\"") + kProviderNames[p] + "\"} " +
           std::to_string(i.tokensRemoved[p]) + "\n";
  head("tether_push_queue_depth", "gauge", "Changes waiting for the dispatcher, and pushes waiting per provider.");
  out += "tether_push_queue_depth{queue=\"changes\"} " + std::to_string(changeDepth) + "\n";
  for (int p = 0; p < kProviderCount; ++p)
    out += std::string("tether_push_queue_depth{queue=\"") + kProviderNames[p] + "\"} " + std::to_string(depth[p]) + "\n";
  return out;
}

}  // namespace tether::server::push
