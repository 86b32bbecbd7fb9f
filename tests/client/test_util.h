// Helpers for the client unit tests: a unique temp directory under $TETHER_TEST_TMP, a manual
// clock, and a TestDevice = one cache file + ThreadExecutor + FakeRemote + Client.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>
#include <filesystem>
#include <memory>
#include <string>

#include "client_impl.h"
#include "fake_remote.h"
#include "store/local_store.h"
#include "tether/client.h"

namespace tether::client::testing {

inline std::string makeTempDir(const std::string& tag) {
  const char* root = std::getenv("TETHER_TEST_TMP");
  std::filesystem::path base = root ? root : std::filesystem::temp_directory_path();
  std::filesystem::create_directories(base);
  std::string tmpl = (base / (tag + ".XXXXXX")).string();
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

// Polls `done` until it holds or `timeout` passes (waiting on a condition with a deadline).
inline bool waitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'700'000'000'000);
  std::function<int64_t()> fn() const {
    return [n = now] { return n->load(); };
  }
  void set(int64_t ms) { now->store(ms); }
  void advance(int64_t ms) { now->fetch_add(ms); }
};

struct TestDevice {
  std::shared_ptr<ThreadExecutor> executor;
  std::shared_ptr<FakeRemote> remote;
  std::unique_ptr<Client> client;

  static std::unique_ptr<TestDevice> open(std::shared_ptr<FakeServer> server, const std::string& path,
                                          std::function<int64_t()> clock, std::string identityId = "",
                                          std::string deviceName = "",
                                          SyncEngineOptions engineOptions = {},
                                          std::function<void(ClientOptions&)> configure = {},
                                          const LiveSyncOptions* liveTuning = nullptr) {
    auto d = std::make_unique<TestDevice>();
    d->executor = std::make_shared<ThreadExecutor>();
    d->remote = std::make_shared<FakeRemote>(server, d->executor);
    ClientOptions o;
    o.cachePath = path;
    o.identityPoolId = "local:11111111-2222-3333-4444-555555555555";
    o.identityId = std::move(identityId);
    o.deviceName = std::move(deviceName);
    o.clock = std::move(clock);
    if (configure) configure(o);
    Result<std::unique_ptr<Client>> c = openClientWith(o, d->remote, d->executor, engineOptions, liveTuning);
    EXPECT_TRUE(c.isOk()) << c.status();
    if (!c.isOk()) return nullptr;
    d->client = std::move(*c);
    return d;
  }

  LiveSyncStats liveStats() const { return static_cast<ClientImpl&>(*client).liveSyncStats(); }

  std::shared_ptr<Dataset> dataset(const std::string& name) {
    Result<std::shared_ptr<Dataset>> ds = client->openOrCreateDataset(name);
    EXPECT_TRUE(ds.isOk()) << ds.status();
    return ds.isOk() ? *ds : nullptr;
  }
};

// A LocalStore on a fresh cache file with a ManualClock, reopenable (for durability checks).
class LocalStoreFixture : public ::testing::Test {
 protected:
  explicit LocalStoreFixture(std::string tag) : tag_(std::move(tag)) {}
  void SetUp() override {
    dir_ = makeTempDir(tag_);
    path_ = dir_ + "/cache.db";
    reopen();
  }
  void reopen() {
    store_.reset();
    auto s = LocalStore::open(path_, clock_.fn());
    ASSERT_TRUE(s.isOk()) << s.status();
    store_ = std::move(*s);
  }
  std::optional<LocalRecord> rec(std::string_view id, std::string_view ds, std::string_view key) {
    auto r = store_->getRecord(id, ds, key);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : std::nullopt;
  }

  std::string tag_;
  ManualClock clock_;
  std::string dir_, path_;
  std::unique_ptr<LocalStore> store_;
};

}  // namespace tether::client::testing
