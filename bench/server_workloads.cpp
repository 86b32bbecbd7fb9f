// W4 (throughput) and W5 (idle connections): many simulated devices on LoadClient against a
// real tetherd. See DESIGN.md section 7.
#include "server_workloads.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

#include "load_client.h"

namespace tether::bench {
namespace {

using namespace proto;
using Clock = std::chrono::steady_clock;

// Guest sign-in shared by the devices: hello -> getId -> getToken -> authenticate.
class SignedInDevice : public BenchDevice {
 public:
  explicit SignedInDevice(std::string poolId) : poolId_(std::move(poolId)) {}
  void onOpen() override {
    hello();
    request(GetIdRequest{poolId_, {}});
  }
  void onMessage(ServerMessage msg) override {
    if (auto* ack = std::get_if<HelloAck>(&msg)) conditionalPush_ = ack->conditionalPush;
    auto* resp = std::get_if<Response>(&msg);
    if (!resp) return;
    if (auto* err = std::get_if<Status>(&resp->body)) {
      onError(*err);
      return;
    }
    if (auto* id = std::get_if<GetIdResponse>(&resp->body)) {
      identity_ = id->identityId;
      request(GetTokenRequest{identity_, {}});
    } else if (auto* tok = std::get_if<GetTokenResponse>(&resp->body)) {
      request(AuthenticateRequest{tok->token});
    } else if (std::get_if<AuthenticateResponse>(&resp->body)) {
      onSignedIn();
    } else {
      onResponse(*resp);
    }
  }
  virtual void onSignedIn() = 0;
  virtual void onResponse(Response&) {}
  virtual void onError(const Status&) { failed = true; }
  bool signedIn() const { return !identity_.empty(); }

 protected:
  std::string poolId_;
  std::string identity_;
  bool conditionalPush_ = false;  // the server's helloAck announced it
};

class ThroughputDevice final : public SignedInDevice {
 public:
  ThroughputDevice(std::string poolId, int rounds, int recordsPerRound, const bool* go)
      : SignedInDevice(std::move(poolId)), rounds_(rounds), perRound_(recordsPerRound), go_(go) {}
  void onSignedIn() override { ready = true; }
  void start() { sync(); }
  std::vector<double> roundMs;  // each round: from its first request to the acknowledged push
  // A round syncs as libtether does: with conditional pushes, push first on the condition that
  // the server is still at our last count, and pull only if refused; without, pull then push.
  void onResponse(Response& r) override {
    if (auto* lr = std::get_if<ListRecordsResponse>(&r.body)) {
      for (auto& rec : lr->records) counts_[rec.key] = rec.syncCount;
      lastSync_ = lr->datasetSyncCount;
      push(lr->syncSessionToken);
    } else if (auto* ur = std::get_if<UpdateRecordsResponse>(&r.body)) {
      if (ur->records.empty()) {  // omitValues: the batch's count stands for every record
        for (int i = 0; i < perRound_; ++i) counts_["k" + std::to_string(i)] = ur->syncCount;
        accepted += perRound_;
      } else {
        for (auto& rec : ur->records) counts_[rec.key] = rec.syncCount;
        accepted += static_cast<int64_t>(ur->records.size());
      }
      lastSync_ = ur->syncCount;  // we are the dataset's only writer
      next();
    }
  }
  void onError(const Status& s) override {
    if (conditional_ && s.code() == StatusCode::kConflict) {
      conditional_ = false;  // someone else wrote: pull, then push with the token
      pull();
      return;
    }
    errors++;
    next();
  }
  bool ready = false;
  int64_t accepted = 0;
  int64_t errors = 0;

 private:
  void sync() {
    roundStart_ = Clock::now();
    if (conditionalPush_) {
      conditional_ = true;
      push("");
    } else {
      pull();
    }
  }
  void pull() { request(ListRecordsRequest{"w4", lastSync_, 0, ""}); }
  void push(std::string sessionToken) {
    std::vector<RecordPatch> patches;
    for (int i = 0; i < perRound_; ++i) {
      std::string key = "k" + std::to_string(i);
      std::string value(100, static_cast<char>('a' + (round_ + i) % 26));
      patches.push_back(RecordPatch{PatchOp::kReplace, key, value, counts_[key], 1});
    }
    UpdateRecordsRequest req{"w4", std::move(sessionToken), "bench", std::move(patches)};
    if (conditional_) req.ifDatasetSyncCount = lastSync_;
    req.omitValues = conditionalPush_;
    request(std::move(req));
  }
  void next() {
    roundMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - roundStart_).count());
    conditional_ = false;
    if (++round_ >= rounds_) done = true;
    else sync();
  }
  int rounds_, perRound_;
  const bool* go_;
  int round_ = 0;
  int64_t lastSync_ = 0;
  bool conditional_ = false;  // the push in flight is conditional
  Clock::time_point roundStart_;
  std::map<std::string, int64_t> counts_;
};

class IdleDevice final : public SignedInDevice {
 public:
  using SignedInDevice::SignedInDevice;
  void onSignedIn() override { request(SubscribeRequest{{"settings"}, "idle"}); }
  void onResponse(Response& r) override {
    if (std::get_if<SubscribeResponse>(&r.body)) done = true;
  }
};

// W1/W2 server share: per trial, a timed push of a new dataset (as libtether pushes: conditional,
// without the echo, when the server announces it; else after a pull for the session token),
// then a timed full pull.
class RawSyncDevice final : public SignedInDevice {
 public:
  RawSyncDevice(std::string poolId, int trials, int records, int valueBytes)
      : SignedInDevice(std::move(poolId)), trials_(trials), records_(records), bytes_(valueBytes) {}
  void onSignedIn() override { startTrial(); }
  void onResponse(Response& r) override {
    if (auto* lr = std::get_if<ListRecordsResponse>(&r.body)) {
      if (!pulling_) {  // the session token for the push
        push(lr->syncSessionToken);
        return;
      }
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0_).count();
      if (lr->records.size() != static_cast<size_t>(records_)) errors++;
      else pullMs.push_back(ms);
      if (++trial_ >= trials_) done = true;
      else startTrial();
    } else if (auto* ur = std::get_if<UpdateRecordsResponse>(&r.body)) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0_).count();
      bool whole = conditionalPush_ ? ur->syncCount == 1
                                    : ur->records.size() == static_cast<size_t>(records_);
      if (!whole) errors++;
      else pushMs.push_back(ms);
      pulling_ = true;
      t0_ = Clock::now();
      request(ListRecordsRequest{dataset(), 0, 0, ""});
    }
  }
  void onError(const Status&) override {
    errors++;
    failed = true;
  }
  std::vector<double> pushMs, pullMs;
  int errors = 0;

 private:
  std::string dataset() const { return "raw" + std::to_string(trial_); }
  void startTrial() {
    pulling_ = false;
    if (conditionalPush_) push("");
    else request(ListRecordsRequest{dataset(), 0, 0, ""});
  }
  void push(std::string sessionToken) {
    std::vector<RecordPatch> patches;
    patches.reserve(static_cast<size_t>(records_));
    for (int i = 0; i < records_; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "k%04d", i);
      patches.push_back(RecordPatch{PatchOp::kReplace, key,
                                    std::string(static_cast<size_t>(bytes_), static_cast<char>('a' + i % 26)),
                                    0, 1});
    }
    UpdateRecordsRequest req{dataset(), std::move(sessionToken), "raw", std::move(patches)};
    if (conditionalPush_) {
      req.ifDatasetSyncCount = 0;  // a new dataset
      req.omitValues = true;
    }
    t0_ = Clock::now();
    request(std::move(req));
  }
  int trials_, records_, bytes_;
  int trial_ = 0;
  bool pulling_ = false;
  Clock::time_point t0_;
};

// ProcStats plus what only the CPU accounting of a process tree needs.
struct FullStats : ProcStats {
  long ppid = 0;
  long reapedChildrenTicks = 0;  // cutime + cstime: children that exited and were waited for
};

FullStats procStats(pid_t pid) {
  FullStats s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) s.rssKb = std::atol(line.c_str() + 6);
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(content.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 17 && rest >> field; ++i) {
      if (i == 4) s.ppid = std::atol(field.c_str());
      if (i == 14) utime = std::atol(field.c_str());
      if (i == 15) stime = std::atol(field.c_str());
      if (i == 16) s.reapedChildrenTicks += std::atol(field.c_str());
      if (i == 17) s.reapedChildrenTicks += std::atol(field.c_str());
    }
    s.cpuSeconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return s;
}

double percentileOf(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double cpuOf(const std::vector<pid_t>& pids) {
  double sum = 0;
  for (pid_t p : pids) sum += procStats(p).cpuSeconds;
  return sum;
}

double ownCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace

ProcStats readProcStats(pid_t pid) { return procStats(pid); }

double postgresCpuSeconds(pid_t postmasterPid) {
  if (postmasterPid <= 0) return -1;
  FullStats pm = procStats(postmasterPid);
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double sum = pm.cpuSeconds + static_cast<double>(pm.reapedChildrenTicks) / ticks;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    FullStats child = procStats(static_cast<pid_t>(std::atol(name.c_str())));
    if (child.ppid == postmasterPid) sum += child.cpuSeconds;
  }
  return sum;
}

ThroughputResult runThroughput(const ThroughputTarget& target, int devices, int rounds, int recordsPerRound,
                               int idleConnections) {
  ThroughputResult out;
  // The idle ones need no service during the run (the server's first ping is 30 s away).
  std::vector<std::unique_ptr<IdleDevice>> idle;
  std::vector<BenchDevice*> idleRaw;
  for (int i = 0; i < idleConnections; ++i) {
    idle.push_back(std::make_unique<IdleDevice>(target.poolId));
    idleRaw.push_back(idle.back().get());
  }
  LoadClient idleClient(target.urls.front());
  if (idleConnections > 0 && !idleClient.run(idleRaw, [&] {
        for (auto& d : idle) if (!d->done && !d->failed) return false;
        return true;
      }, std::chrono::seconds(120), 128)) {
    out.errors = idleConnections;
    return out;
  }
  bool go = false;
  std::vector<std::unique_ptr<ThroughputDevice>> devs;
  std::vector<BenchDevice*> raw;
  for (int i = 0; i < devices; ++i) {
    devs.push_back(std::make_unique<ThroughputDevice>(target.poolId, rounds, recordsPerRound, &go));
    raw.push_back(devs.back().get());
  }
  LoadClient client(target.urls);
  bool ok = client.run(raw, [&] {
    for (auto& d : devs) if (!d->ready && !d->failed) return false;
    return true;
  }, std::chrono::seconds(60));
  if (!ok) {
    out.errors = devices;
    return out;
  }
  double serverBefore = cpuOf(target.serverPids);
  double clientBefore = ownCpuSeconds();
  double dbBefore = postgresCpuSeconds(target.postmasterPid);
  auto t0 = Clock::now();
  for (auto& d : devs) if (d->ready) d->start();
  client.pump([&] {
    for (auto& d : devs) if (!d->done && !d->failed) return false;
    return true;
  }, std::chrono::seconds(300));
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.serverCpuSeconds = cpuOf(target.serverPids) - serverBefore;
  out.clientCpuSeconds = ownCpuSeconds() - clientBefore;
  if (target.postmasterPid > 0) out.databaseCpuSeconds = postgresCpuSeconds(target.postmasterPid) - dbBefore;
  std::vector<double> roundMs;
  for (auto& d : devs) {
    out.recordsAccepted += d->accepted;
    out.errors += d->errors + (d->failed ? 1 : 0) + (d->done ? 0 : 1);
    roundMs.insert(roundMs.end(), d->roundMs.begin(), d->roundMs.end());
  }
  out.rounds = static_cast<int64_t>(roundMs.size());
  out.roundP50Ms = percentileOf(roundMs, 50);
  out.roundP99Ms = percentileOf(roundMs, 99);
  out.recordsPerSecond = out.seconds > 0 ? static_cast<double>(out.recordsAccepted) / out.seconds : 0;
  return out;
}

IdleResult runIdle(const std::string& url, const std::string& poolId, pid_t serverPid, int connections,
                   const std::string& caFile) {
  IdleResult out;
  out.connections = connections;
  std::vector<std::unique_ptr<IdleDevice>> devs;
  std::vector<BenchDevice*> raw;
  for (int i = 0; i < connections; ++i) {
    devs.push_back(std::make_unique<IdleDevice>(poolId));
    raw.push_back(devs.back().get());
  }
  LoadClient client(url, caFile);
  ProcStats before = procStats(serverPid);
  bool ok = client.run(raw, [&] {
    for (auto& d : devs) if (!d->done && !d->failed) return false;
    return true;
  }, std::chrono::seconds(120), 128);
  // Let the server settle (freed handshake buffers) before reading its memory.
  client.pump([] { return false; }, std::chrono::milliseconds(500));
  ProcStats after = procStats(serverPid);
  for (auto& d : devs) if (d->done && !d->failed) out.established++;
  out.complete = ok && out.established == connections;
  out.rssBeforeKb = before.rssKb;
  out.rssAfterKb = after.rssKb;
  out.bytesPerConnection = out.established > 0
      ? static_cast<double>(after.rssKb - before.rssKb) * 1024.0 / out.established : 0;
  return out;
}

RawSyncResult runRawPushPull(const std::string& url, const std::string& poolId, int trials,
                             int records, int valueBytes) {
  RawSyncResult out;
  RawSyncDevice dev(poolId, trials, records, valueBytes);
  LoadClient client(url);
  bool ok = client.run({&dev}, [&dev] { return dev.done || dev.failed; }, std::chrono::seconds(120));
  out.pushMs = dev.pushMs;
  out.pullMs = dev.pullMs;
  out.errors = dev.errors + (ok && dev.done && !dev.failed ? 0 : 1);
  return out;
}

}  // namespace tether::bench
