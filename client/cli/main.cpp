// tether: a command-line client of a tetherd server, built on libtether's public C++ API.
// Each cache file is one device. Local commands (put, get, rm, ls, delete) never need the
// server; sync, datasets and whoami talk to it; watch stays connected and prints changes as
// they arrive (live sync) until SIGINT/SIGTERM. Exit code 0 on success; otherwise a one-line
// reason on stderr and 1 (error), 2 (usage) or 3 (server unreachable: retry later).
// Threads: the main thread, plus libtether's sync thread, which runs the watch listener.
#include <CLI/CLI.hpp>

#include <signal.h>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "tether/client.h"

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 3;

int failWith(const tether::Status& s) {
  std::cerr << "tether: " << s.toString() << '\n';
  return s.code() == tether::StatusCode::kUnavailable ? kExitUnavailable : kExitError;
}

struct Args {
  std::string server, pool, cache, identity, device, ca;
  std::string conflict = "lww";
  std::string dataset, key, value;
  std::vector<std::string> watched;
  std::vector<std::string> logins;  // PROVIDER=TOKEN
  bool all = false;
  int timeoutSec = 30;
};

tether::SyncCallbacks callbacksFor(const std::string& policy) {
  tether::SyncCallbacks cb;
  cb.onConflict = [policy](tether::Dataset&, std::vector<tether::SyncConflict>& conflicts) {
    for (auto& c : conflicts) {
      if (policy == "remote") c.resolveWithRemoteRecord();
      else if (policy == "local") c.resolveWithLocalRecord();
      else c.resolveWithLastWriterWins();
      std::cerr << "conflict on " << c.key() << ": resolved with "
                << (c.resolvedNeedsPush() ? "local" : "remote") << " value\n";
    }
    return tether::SyncAction::kContinue;
  };
  return cb;
}

int syncOne(tether::Client& client, const std::string& name, const Args& a) {
  auto ds = client.openOrCreateDataset(name);
  if (!ds.isOk()) return failWith(ds.status());
  auto r = (*ds)->synchronizeAndWait(callbacksFor(a.conflict), std::chrono::seconds(a.timeoutSec));
  if (!r.isOk()) return failWith(r.status());
  std::cout << name << ": synced, " << r->size() << " record(s) updated from the server\n";
  return 0;
}

// watch: subscribe, print every change the listener reports, wait for SIGINT/SIGTERM. The
// signals are blocked before the client starts its threads (they inherit the mask) and taken
// with sigwait, so no handler runs on a library thread.
int watch(tether::Client& client, const Args& a, const sigset_t& stopSignals) {
  std::vector<std::shared_ptr<tether::Dataset>> sets;
  for (const std::string& name : a.watched) {
    auto ds = client.openOrCreateDataset(name);
    if (!ds.isOk()) return failWith(ds.status());
    sets.push_back(*ds);
  }
  auto printMu = std::make_shared<std::mutex>();
  client.addChangeListener([&client, printMu](const std::string& dataset, const std::vector<std::string>& keys) {
    auto ds = client.openOrCreateDataset(dataset);
    if (!ds.isOk()) return;
    auto records = (*ds)->getAllRecords();
    if (!records.isOk()) return;
    std::lock_guard lock(*printMu);
    for (const std::string& key : keys) {
      for (const tether::LocalRecord& lr : *records) {
        if (lr.record.key != key) continue;
        std::cout << dataset << ' ' << key;
        if (lr.record.value) std::cout << '=' << *lr.record.value;
        else std::cout << " removed";
        std::cout << " syncCount=" << lr.record.syncCount << '\n';
      }
      // A key missing from the cache was dropped with a dataset deleted on the server.
      bool present = false;
      for (const tether::LocalRecord& lr : *records) present = present || lr.record.key == key;
      if (!present) std::cout << dataset << ' ' << key << " removed (dataset deleted)\n";
    }
    std::cout.flush();
  });
  for (auto& ds : sets) {
    tether::Status s = ds->subscribe();
    if (!s.isOk()) return failWith(s);
  }
  std::cerr << "tether: watching";
  for (const std::string& name : a.watched) std::cerr << ' ' << name;
  std::cerr << " (Ctrl-C to stop)" << std::endl;
  int sig = 0;
  sigwait(&stopSignals, &sig);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tether: command-line client for a tetherd sync server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tether " TETHER_VERSION);
  Args a;
  app.add_option("--server", a.server, "server URL (ws://host:port or wss://host:port)")->required();
  app.add_option("--pool", a.pool, "identity pool ID (region:uuid)");
  app.add_option("--cache", a.cache, "local cache file (one per device)")->required();
  app.add_option("--identity", a.identity, "use this known identity ID (e.g. a second device)");
  app.add_option("--device", a.device, "device name recorded with changes (default: per cache file)");
  app.add_option("--ca", a.ca, "PEM file of CAs to trust for wss://");
  app.add_option("--conflict", a.conflict, "conflict policy for sync: remote|local|lww")
      ->check(CLI::IsMember({"remote", "local", "lww"}));
  app.add_option("--login", a.logins, "sign in: PROVIDER=TOKEN (e.g. an OIDC ID token); repeatable");
  app.add_option("--timeout", a.timeoutSec, "seconds to wait for the server")->check(CLI::PositiveNumber);

  auto* put = app.add_subcommand("put", "set KEY to VALUE in DATASET (local; pushed by sync)");
  put->add_option("DATASET", a.dataset)->required();
  put->add_option("KEY", a.key)->required();
  put->add_option("VALUE", a.value)->required();
  auto* get = app.add_subcommand("get", "print the local value of KEY");
  get->add_option("DATASET", a.dataset)->required();
  get->add_option("KEY", a.key)->required();
  auto* rm = app.add_subcommand("rm", "remove KEY (local; pushed by sync)");
  rm->add_option("DATASET", a.dataset)->required();
  rm->add_option("KEY", a.key)->required();
  auto* ls = app.add_subcommand("ls", "print KEY=VALUE for every record of DATASET");
  ls->add_option("DATASET", a.dataset)->required();
  auto* datasets = app.add_subcommand("datasets", "list datasets (refreshed from the server if reachable)");
  auto* sync = app.add_subcommand("sync", "synchronize DATASET (or --all) with the server");
  sync->add_option("DATASET", a.dataset);
  sync->add_flag("--all", a.all, "every dataset");
  auto* del = app.add_subcommand("delete", "delete DATASET (local now; on the server at the next sync)");
  del->add_option("DATASET", a.dataset)->required();
  auto* whoami = app.add_subcommand("whoami", "print the identity ID, getting one if needed");
  auto* watchCmd = app.add_subcommand(
      "watch", "print changes to DATASET... as they arrive from other devices, until Ctrl-C");
  watchCmd->add_option("DATASET", a.watched)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (sync->parsed() && a.all == !a.dataset.empty()) {
    std::cerr << "tether: sync needs a DATASET or --all\n";
    return kExitUsage;
  }
  if (a.pool.empty() && a.identity.empty()) {
    std::cerr << "tether: --pool (or --identity) is required\n";
    return kExitUsage;
  }

  // Before any thread exists, so every thread inherits the mask and only sigwait takes them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  if (watchCmd->parsed()) {
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  }

  tether::ClientOptions o;
  o.cachePath = a.cache;
  o.serverUrl = a.server;
  o.caFile = a.ca;
  o.identityPoolId = a.pool;
  o.identityId = a.identity;
  o.deviceName = a.device;
  o.connectTimeout = std::chrono::seconds(std::min(a.timeoutSec, 10));
  o.requestTimeout = std::chrono::seconds(a.timeoutSec);
  if (!a.logins.empty()) {
    tether::Logins logins;
    for (const std::string& l : a.logins) {
      size_t eq = l.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == l.size()) {
        std::cerr << "tether: --login wants PROVIDER=TOKEN\n";
        return 2;
      }
      logins[l.substr(0, eq)] = l.substr(eq + 1);
    }
    o.loginsProvider = [logins](bool) -> tether::Result<tether::Logins> { return logins; };
  }
  if (watchCmd->parsed()) {
    // Pulls run in the background; the --conflict policy applies to them.
    o.autoSync = true;
    o.backgroundSync = callbacksFor(a.conflict);
    o.backgroundSync.onFailure = [](tether::Dataset& ds, const tether::Status& s) {
      if (s.code() != tether::StatusCode::kCancelled)
        std::cerr << "tether: " << ds.name() << ": " << s.toString() << " (will retry)" << std::endl;
    };
  }
  auto opened = tether::Client::open(o);
  if (!opened.isOk()) return failWith(opened.status());
  tether::Client& client = **opened;
  const auto timeout = std::chrono::seconds(a.timeoutSec);

  if (put->parsed() || rm->parsed() || get->parsed() || ls->parsed() || del->parsed()) {
    auto ds = client.openOrCreateDataset(a.dataset);
    if (!ds.isOk()) return failWith(ds.status());
    if (put->parsed()) {
      tether::Status s = (*ds)->put(a.key, a.value);
      return s.isOk() ? 0 : failWith(s);
    }
    if (rm->parsed()) {
      tether::Status s = (*ds)->remove(std::string_view(a.key));
      return s.isOk() ? 0 : failWith(s);
    }
    if (del->parsed()) {
      tether::Status s = (*ds)->remove();
      return s.isOk() ? 0 : failWith(s);
    }
    if (get->parsed()) {
      auto v = (*ds)->get(a.key);
      if (!v.isOk()) return failWith(v.status());
      if (!*v) return failWith(tether::Status::notFound("no record " + a.key + " in " + a.dataset));
      std::cout << **v << '\n';
      return 0;
    }
    auto all = (*ds)->getAll();
    if (!all.isOk()) return failWith(all.status());
    for (const auto& [k, v] : *all) std::cout << k << '=' << v << '\n';
    return 0;
  }
  if (watchCmd->parsed()) return watch(client, a, stopSignals);
  if (whoami->parsed()) {
    auto id = client.getIdentityId(timeout);
    if (!id.isOk()) return failWith(id.status());
    std::cout << *id << '\n';
    return 0;
  }
  if (datasets->parsed()) {
    tether::Status s = client.refreshDatasetMetadata(timeout);
    if (!s.isOk() && s.code() != tether::StatusCode::kUnavailable) return failWith(s);
    if (!s.isOk()) std::cerr << "tether: offline, showing the local cache (" << s.message() << ")\n";
    auto list = client.listDatasets();
    if (!list.isOk()) return failWith(list.status());
    for (const auto& m : *list)
      std::cout << m.name << '\t' << m.numRecords << " records\t" << m.dataStorage << " bytes\n";
    return 0;
  }
  // sync
  if (!a.all) return syncOne(client, a.dataset, a);
  tether::Status s = client.refreshDatasetMetadata(timeout);
  if (!s.isOk()) return failWith(s);
  auto list = client.listDatasets();
  if (!list.isOk()) return failWith(list.status());
  int rc = 0;
  for (const auto& m : *list) {
    int one = syncOne(client, m.name, a);
    if (one != 0) rc = one;
  }
  return rc;
}
