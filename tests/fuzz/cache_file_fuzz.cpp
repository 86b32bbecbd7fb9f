// Fuzz target 10: a corrupted or truncated cache file opened by the client and then used: the
// client (ClientImpl, LocalStore, SyncEngine) is opened on it with openClientWith - the same
// wiring Client::open does, with a server that is never reachable instead of the WebSocket
// transport (no network in a fuzz run) - then the app reads, writes, deletes and syncs.
//
// Structure-aware: the target makes one valid cache file at start (two datasets with records,
// written through the library) and every input is a list of edits to a copy of it: overwrite
// bytes at an offset (offsets mostly in the first pages: header, schema, b-tree roots),
// truncate, or append; the edited file is then opened. First byte 0xFF: the rest of the input is
// the whole file.
// Properties: no crash, hang, leak or UB; open fails with a typed error (kCorruption, kIOError,
// kInvalidArgument, kInternal for SQLite's own refusals) or succeeds, and then every call
// returns a Status instead of crashing; a sync ends with exactly one callback.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <string>

#include "client_impl.h"
#include "fuzz_client_world.h"
#include "fuzz_executor.h"
#include "fuzz_support.h"
#include "util/executor.h"

using namespace tether;

namespace {

constexpr const char* kPool = "local:11111111-2222-3333-4444-555555555555";
constexpr const char* kIdentity = "local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

const std::filesystem::path& dir() {
  static const std::filesystem::path* d = new std::filesystem::path(fuzz::makeTempDir("cache-file"));
  return *d;
}

ClientOptions options(const std::filesystem::path& file) {
  ClientOptions o;
  o.cachePath = file.string();
  o.identityPoolId = kPool;
  o.identityId = kIdentity;
  o.deviceName = "fuzz-device";
  o.clock = [] { return int64_t{1'700'000'000'000}; };
  return o;
}

std::unique_ptr<Client> openOffline(const std::filesystem::path& file, Status* error) {
  auto executor = std::make_shared<fuzz::LaneExecutor>();  // one worker thread per process
  auto remote = std::make_shared<fuzz::OfflineRemote>(executor);
  Result<std::unique_ptr<Client>> c = client::openClientWith(options(file), remote, executor);
  if (!c.isOk()) {
    *error = c.status();
    executor->shutdown();
    return nullptr;
  }
  return std::move(*c);
}

void removeCache(const std::filesystem::path& file) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(file.string() + suffix, ec);
}

// A valid cache file: two datasets, a few records, one removed, one long value.
const std::string& seedFile() {
  static const std::string* bytes = [] {
    std::filesystem::path file = dir() / "seed.db";
    removeCache(file);
    Status err;
    {
      std::unique_ptr<Client> c = openOffline(file, &err);
      if (!c) std::abort();
      for (const char* name : {"prefs", "scores"}) {
        auto ds = c->openOrCreateDataset(name);
        if (!ds.isOk()) std::abort();
        (void)(*ds)->put("theme", "dark");
        (void)(*ds)->put("k", std::string(3000, 'v'));
        (void)(*ds)->put("gone", "x");
        (void)(*ds)->remove("gone");
      }
    }
    std::ifstream in(file, std::ios::binary);
    auto* s = new std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (s->empty()) std::abort();
    removeCache(file);
    return s;
  }();
  return *bytes;
}

void use(Client& c, fuzz::FuzzInput& in) {
  (void)c.listDatasets();
  (void)c.identityId();
  auto ds = c.openOrCreateDataset(in.boolean() ? "prefs" : "scores");
  if (!ds.isOk()) return;
  Dataset& d = **ds;
  (void)d.get("theme");
  (void)d.getAll();
  (void)d.getAllRecords();
  (void)d.metadata();
  (void)d.sizeInBytes();
  (void)d.lastSyncCount();
  (void)d.isChanged("k");
  (void)d.put("theme", "light");
  (void)d.remove("k");
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  SyncCallbacks cb;
  cb.onSuccess = [done](Dataset&, const std::vector<Record>&) { done->set_value(); };
  cb.onFailure = [done](Dataset&, const Status&) { done->set_value(); };
  if (d.synchronize(std::move(cb)).isOk() && f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::fprintf(stderr, "fuzz: synchronize() did not end within 60 s (a hang)\n");
    std::abort();
  }
  if (in.boolean()) (void)d.remove();
  if (in.range<int>(0, 7) == 0) (void)c.wipeData();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file = seedFile();
  fuzz::FuzzInput in(data, size);
  if (size > 0 && data[0] == 0xFF) {
    file.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    in = fuzz::FuzzInput(nullptr, 0);
  } else {
    int edits = in.range<int>(1, 8);
    for (int i = 0; i < edits && !file.empty(); ++i) {
      switch (in.range<int>(0, 7)) {
        case 0: file.resize(in.integral<uint32_t>() % file.size()); break;  // truncated
        case 1: file += in.bytes(64); break;
        default: {
          // Mostly the first 4 KiB (the header and page 1, the schema), else anywhere.
          size_t at = in.boolean() ? in.integral<uint16_t>() % std::min<size_t>(file.size(), 4096)
                                   : in.integral<uint32_t>() % file.size();
          std::string patch = in.bytes(16);
          for (size_t k = 0; k < patch.size() && at + k < file.size(); ++k) file[at + k] = patch[k];
          break;
        }
      }
    }
  }
  std::filesystem::path path = dir() / "cache.db";
  removeCache(path);
  {
    std::ofstream out(path, std::ios::binary);
    out << file;
  }
  Status err;
  std::unique_ptr<Client> c = openOffline(path, &err);
  if (!c) {
    StatusCode code = err.code();
    TETHER_FUZZ_CHECK(code == StatusCode::kCorruption || code == StatusCode::kIOError ||
                          code == StatusCode::kInvalidArgument || code == StatusCode::kInternal,
                      err.toString());
    return 0;
  }
  use(*c, in);
  c.reset();
  return 0;
}
