// W1 cold pull, W2 push and W3 propagation through libtether's public API (DESIGN.md section 7).
// Each device is a full Client with its own cache file, as an app would have; setup (filling
// datasets, warming connections) is not timed.
#include "client_workloads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "tether/client.h"

namespace tether::bench {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string recordKey(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%04d", i);
  return buf;
}

// A value of `bytes` ASCII characters that differs per record and per round.
std::string recordValue(int i, int round, int bytes) {
  std::string v(static_cast<size_t>(bytes), static_cast<char>('a' + (i + round) % 26));
  std::string tag = std::to_string(i) + "." + std::to_string(round);
  std::copy(tag.begin(), tag.end(), v.begin());
  return v;
}

Result<std::unique_ptr<Client>> openDevice(const ClientBenchTarget& t, const std::string& name,
                                           const std::string& identity, bool autoSync = false) {
  ClientOptions o;
  o.cachePath = t.cacheDir + "/" + name + ".db";
  o.serverUrl = t.url;
  o.identityPoolId = t.poolId;
  o.identityId = identity;
  o.deviceName = name;
  o.autoSync = autoSync;
  o.autoSyncDebounce = std::chrono::milliseconds(0);
  return Client::open(std::move(o));
}

// Syncs until the connection is up (the client connects in the background after open()).
Status syncWhenUp(Dataset& d, std::chrono::seconds deadline = std::chrono::seconds(20)) {
  auto end = Clock::now() + deadline;
  for (;;) {
    auto r = d.synchronizeAndWait({}, std::chrono::seconds(15));
    if (r.isOk()) return Status::ok();
    if (!r.status().isRetryable() || Clock::now() > end) return r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // backoff between attempts
  }
}

void fail(Timings& t, const std::string& what, const Status& s) {
  t.failures++;
  if (t.error.empty()) t.error = what + ": " + s.toString();
}

// Opens a device and warms its connection (identity, session, socket) with an empty dataset.
Result<std::unique_ptr<Client>> openWarm(const ClientBenchTarget& t, const std::string& name,
                                         const std::string& identity, bool autoSync = false) {
  TETHER_TRY(std::unique_ptr<Client> c, openDevice(t, name, identity, autoSync));
  TETHER_TRY(std::shared_ptr<Dataset> warm, c->openOrCreateDataset("warmup"));
  TETHER_RETURN_IF_ERROR(syncWhenUp(*warm));
  return c;
}

Status fill(Dataset& d, int records, int valueBytes, int round) {
  for (int i = 0; i < records; ++i)
    TETHER_RETURN_IF_ERROR(d.put(recordKey(i), recordValue(i, round, valueBytes)));
  return Status::ok();
}

}  // namespace

double Timings::median() const { return percentile(50); }

double Timings::percentile(double p) const {
  if (ms.empty()) return 0;
  std::vector<double> s = ms;
  std::sort(s.begin(), s.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
  return s[std::min(s.size() - 1, rank == 0 ? 0 : rank - 1)];
}

Timings runColdPull(const ClientBenchTarget& target, int trials, int records, int valueBytes) {
  Timings out;
  auto writer = openWarm(target, "w1-writer", "");
  if (!writer.isOk()) {
    fail(out, "W1 writer", writer.status());
    return out;
  }
  std::string identity = (*writer)->identityId();
  auto ds = (*writer)->openOrCreateDataset("w1");
  Status s = ds.isOk() ? fill(**ds, records, valueBytes, 0) : ds.status();
  if (s.isOk()) s = syncWhenUp(**ds);
  if (!s.isOk()) {
    fail(out, "W1 writer push", s);
    return out;
  }
  for (int t = 0; t < trials; ++t) {
    auto reader = openWarm(target, "w1-reader" + std::to_string(t), identity);
    if (!reader.isOk()) {
      fail(out, "W1 reader open", reader.status());
      continue;
    }
    auto rd = (*reader)->openOrCreateDataset("w1");
    if (!rd.isOk()) {
      fail(out, "W1 reader dataset", rd.status());
      continue;
    }
    auto t0 = Clock::now();
    auto r = (*rd)->synchronizeAndWait({}, std::chrono::seconds(30));
    double ms = msSince(t0);
    if (!r.isOk()) {
      fail(out, "W1 pull", r.status());
      continue;
    }
    auto all = (*rd)->getAll();
    if (!all.isOk() || all->size() != static_cast<size_t>(records)) {
      fail(out, "W1 check", Status::internal("device has " +
                                             std::to_string(all.isOk() ? all->size() : 0) +
                                             " records after the pull"));
      continue;
    }
    out.ms.push_back(ms);
  }
  return out;
}

Timings runPush(const ClientBenchTarget& target, int trials, int records, int valueBytes) {
  Timings out;
  for (int t = 0; t < trials; ++t) {
    // A fresh guest per trial: its datasets and limits start empty.
    auto dev = openWarm(target, "w2-device" + std::to_string(t), "");
    if (!dev.isOk()) {
      fail(out, "W2 open", dev.status());
      continue;
    }
    auto ds = (*dev)->openOrCreateDataset("w2");
    Status s = ds.isOk() ? fill(**ds, records, valueBytes, t) : ds.status();
    if (!s.isOk()) {
      fail(out, "W2 local writes", s);
      continue;
    }
    auto t0 = Clock::now();
    auto r = (*ds)->synchronizeAndWait({}, std::chrono::seconds(30));
    double ms = msSince(t0);
    if (!r.isOk()) {
      fail(out, "W2 push", r.status());
      continue;
    }
    auto dirty = (*ds)->isChanged(recordKey(records - 1));
    auto count = (*ds)->lastSyncCount();
    if (!dirty.isOk() || *dirty || !count.isOk() || *count <= 0) {
      fail(out, "W2 check", Status::internal("records still dirty after the push"));
      continue;
    }
    out.ms.push_back(ms);
  }
  return out;
}

Timings runPropagation(const ClientBenchTarget& target, int trials, Timings* putMs) {
  Timings out;
  auto a = openWarm(target, "w3-a", "", /*autoSync=*/true);
  if (!a.isOk()) {
    fail(out, "W3 device A", a.status());
    return out;
  }
  std::string identity = (*a)->identityId();
  ClientBenchTarget targetB = target;
  if (!target.urlB.empty()) targetB.url = target.urlB;
  auto b = openWarm(targetB, "w3-b", identity);
  if (!b.isOk()) {
    fail(out, "W3 device B", b.status());
    return out;
  }
  auto da = (*a)->openOrCreateDataset("w3");
  auto db = (*b)->openOrCreateDataset("w3");
  if (!da.isOk() || !db.isOk()) {
    fail(out, "W3 datasets", da.isOk() ? db.status() : da.status());
    return out;
  }

  // B's listener publishes the last value it saw for "k" and when.
  std::mutex mu;
  std::condition_variable cv;
  std::string seen;
  Clock::time_point seenAt;
  std::shared_ptr<Dataset> bds = *db;
  ChangeListenerId listener = (*b)->addChangeListener([&mu, &cv, &seen, &seenAt, bds](const std::string& dataset,
                                                          const std::vector<std::string>& keys) {
    if (dataset != "w3" || std::find(keys.begin(), keys.end(), "k") == keys.end()) return;
    auto now = Clock::now();
    auto v = bds->get("k");
    std::lock_guard<std::mutex> lock(mu);
    if (v.isOk() && *v) {
      seen = **v;
      seenAt = now;
    }
    cv.notify_all();
  });
  // Removed before the locals it uses go away; it also holds `bds`, which would otherwise keep
  // B's client alive in a cycle (listener -> dataset -> client -> listener).
  struct RemoveListener {
    Client& client;
    ChangeListenerId id;
    ~RemoveListener() { client.removeChangeListener(id); }
  } removeListener{**b, listener};
  Status s = (*db)->subscribe();
  if (s.isOk()) s = (*da)->put("k", "start");
  if (s.isOk()) s = syncWhenUp(**da);
  if (s.isOk()) s = syncWhenUp(**db);  // B is now current and subscribed (renewed on connect)
  if (!s.isOk()) {
    fail(out, "W3 setup", s);
    return out;
  }
  // The subscription is asynchronous: wait until a first change reaches B before timing.
  for (int t = -1; t < trials; ++t) {
    std::string value = "v" + std::to_string(t);
    auto t0 = Clock::now();
    s = (*da)->put("k", value);
    double put = msSince(t0);
    if (!s.isOk()) {
      fail(out, "W3 put", s);
      continue;
    }
    std::unique_lock<std::mutex> lock(mu);
    bool arrived = cv.wait_for(lock, std::chrono::seconds(t < 0 ? 10 : 5), [&] { return seen == value; });
    if (!arrived) {
      fail(out, "W3 propagation", Status::unavailable("B did not see " + value + " in time"));
      continue;
    }
    if (t < 0) continue;  // warm-up trial
    out.ms.push_back(std::chrono::duration<double, std::milli>(seenAt - t0).count());
    if (putMs) putMs->ms.push_back(put);
  }
  return out;
}

}  // namespace tether::bench
