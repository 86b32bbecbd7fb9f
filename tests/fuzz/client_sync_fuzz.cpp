// Fuzz target 9: a hostile server's frames into libtether: the whole client (ClientImpl over a
// real LocalStore cache file, SyncEngine, LiveSync, auto-sync) wired by openClientWith to a
// HostileRemote (fuzz_client_world.h) whose every answer is the next frame of the input, put
// through the real codec and unpacked as WsTransport does. Pulled pages with absurd sync counts,
// records for keys never asked, negative sizes, merges, deletions, wrong response types, ok
// statuses as errors, notifications in the middle of a sync...
//
// Input: byte 0 = n, then n bytes of app script, then the server's frames.
// Script steps: put, remove, synchronize (conflicts resolved local/remote/lww/stop by the
// script), refreshDatasetMetadata, subscribe/unsubscribe, delete the dataset, switch dataset,
// getIdentityId; options (autoSync, followDeviceSubscriptions, a known identity) from the
// first script byte.
// Properties: no crash, hang, leak or UB; every synchronize() ends with exactly one of
// onSuccess / onFailure within the deadline; after everything the cache still opens and reads.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "client_impl.h"
#include "fuzz_client_world.h"
#include "fuzz_executor.h"
#include "fuzz_support.h"
#include "util/executor.h"

using namespace tether;

namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kIdentity = "local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

const std::filesystem::path& dir() {
  static const std::filesystem::path* d = new std::filesystem::path(fuzz::makeTempDir("client-sync"));
  return *d;
}

void syncAndWait(Dataset& ds, int conflictChoice) {
  auto done = std::make_shared<std::promise<void>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  std::future<void> f = done->get_future();
  SyncCallbacks cb;
  cb.onSuccess = [done, calls](Dataset&, const std::vector<Record>&) {
    TETHER_FUZZ_CHECK(calls->fetch_add(1) == 0, "a second end callback");
    done->set_value();
  };
  cb.onFailure = [done, calls](Dataset&, const Status& s) {
    TETHER_FUZZ_CHECK(!s.isOk(), "onFailure with an ok status");
    TETHER_FUZZ_CHECK(calls->fetch_add(1) == 0, "a second end callback: " + s.toString());
    done->set_value();
  };
  cb.onConflict = [conflictChoice](Dataset&, std::vector<SyncConflict>& conflicts) {
    if (conflictChoice == 3) return SyncAction::kStop;
    for (SyncConflict& c : conflicts) {
      if (conflictChoice == 0) c.resolveWithLocalRecord();
      else if (conflictChoice == 1) c.resolveWithRemoteRecord();
      else c.resolveWithValue(std::string("merged"));
    }
    return SyncAction::kContinue;
  };
  cb.onDatasetDeleted = [conflictChoice](Dataset&, const std::string&) {
    return conflictChoice == 3 ? SyncAction::kStop : SyncAction::kContinue;
  };
  cb.onDatasetsMerged = [conflictChoice](Dataset&, const std::vector<std::string>&) {
    return conflictChoice == 2 ? SyncAction::kStop : SyncAction::kContinue;
  };
  Status s = ds.synchronize(std::move(cb));
  if (!s.isOk()) return;  // refused at once: no callback comes
  if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::fprintf(stderr, "fuzz: synchronize() did not end within 60 s (a hang)\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t n = std::min<size_t>(data[0], size - 1);
  fuzz::FuzzInput script(data + 1, n);
  std::string serverBytes(reinterpret_cast<const char*>(data) + 1 + n, size - 1 - n);

  std::filesystem::path cache = dir() / "cache.db";
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(cache.string() + suffix, ec);

  fuzz::Vocabulary vocab;
  vocab.pools = {kPool};
  vocab.identities = {kIdentity, "local:bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee", "bad"};
  vocab.tokens = {"tok", "", "t1.x"};
  vocab.devices = {"other-device", ""};

  uint8_t flags = script.byte();
  auto executor = std::make_shared<fuzz::LaneExecutor>();  // one worker thread per process
  auto remote = std::make_shared<fuzz::HostileRemote>(std::move(serverBytes), executor, vocab);
  ClientOptions o;
  o.cachePath = cache.string();
  o.identityPoolId = kPool;
  o.deviceName = "fuzz-device";
  if (flags & 1) o.identityId = kIdentity;
  o.autoSync = (flags & 2) != 0;
  o.autoSyncDebounce = std::chrono::milliseconds(0);
  o.followDeviceSubscriptions = (flags & 4) != 0;
  o.clock = [] { return kNowMs; };
  Result<std::unique_ptr<Client>> opened = client::openClientWith(o, remote, executor);
  TETHER_FUZZ_CHECK(opened.isOk(), opened.status().toString());
  std::unique_ptr<Client> c = std::move(*opened);

  static const std::vector<std::string> kDatasets = {"prefs", "scores", "x_y-z:1"};
  static const std::vector<std::string> kKeys = {"theme", "k", "score", "lang"};
  auto ds = c->openOrCreateDataset("prefs");
  TETHER_FUZZ_CHECK(ds.isOk(), ds.status().toString());
  std::shared_ptr<Dataset> d = *ds;
  for (int step = 0; step < 16 && !script.empty(); ++step) {
    switch (script.range<int>(0, 9)) {
      case 0: case 1: (void)d->put(script.pick(kKeys, 40), script.pick({"dark", "", "v"}, 100)); break;
      case 2: (void)d->remove(script.pick(kKeys, 40)); break;
      case 3: case 4: syncAndWait(*d, script.range<int>(0, 3)); break;
      case 5: (void)c->refreshDatasetMetadata(std::chrono::seconds(60)); break;
      case 6: (void)(script.boolean() ? d->subscribe() : d->unsubscribe()); break;
      case 7: (void)d->remove(); break;
      case 8: {
        auto other = c->openOrCreateDataset(script.pick(kDatasets, 40));
        if (other.isOk()) d = *other;
        break;
      }
      default: (void)c->getIdentityId(std::chrono::seconds(60)); break;
    }
  }
  // Whatever the server said, the cache still reads.
  Result<std::vector<DatasetMetadata>> list = c->listDatasets();
  TETHER_FUZZ_CHECK(list.isOk(), list.status().toString());
  Result<std::map<std::string, std::string>> all = d->getAll();
  TETHER_FUZZ_CHECK(all.isOk(), all.status().toString());
  d.reset();
  c.reset();  // stops the executor: background syncs end
  return 0;
}
