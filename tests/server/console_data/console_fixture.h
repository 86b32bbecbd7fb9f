// ConsoleSectionTest: the fixture of the console identity and data section tests. Each test runs
// on SQLite and on PostgreSQL (store_backend.h) with a real Store, a real SyncService (fake
// session tokens and a manual clock, tests/server/sync/sync_fakes.h), a real IdentityService
// (its token issuer in a temp dir) to observe what disable/enable/unlink/delete do to an
// identity's access, a change listener and a commit hook that record what the sync service told
// them (the live-sync notice; the Cognito Streams hook), and both sections. call() routes a
// request the way ConsoleHttp does: to the one section whose handles() claims it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "auth/identity_service.h"
#include "auth/token_issuer.h"
#include "console/console_data.h"
#include "console/console_identities.h"
#include "store_backend.h"
#include "sync/sync_service.h"
#include "sync_fakes.h"

namespace tether::server::console::testing {

inline constexpr const char* kPool = "eu-west-1:00000000-0000-4000-8000-00000000aaaa";
inline constexpr const char* kOtherPool = "eu-west-1:00000000-0000-4000-8000-00000000bbbb";
inline constexpr const char* kOperator = "alice-op";

struct Notice {
  std::string identityId;
  std::string deviceId;
  std::string dataset;
  int64_t syncCount = 0;
  std::vector<Record> batch;  // empty for a deletion
};

class RecordingListener final : public ChangeListener {
 public:
  void datasetChanged(const Caller& writer, std::string_view dataset, int64_t syncCount,
                      const std::vector<Record>* batch) override {
    std::lock_guard lock(mu_);
    notices_.push_back(Notice{writer.identityId, writer.deviceId, std::string(dataset), syncCount,
                              batch != nullptr ? *batch : std::vector<Record>()});
  }
  std::vector<Notice> notices() const {
    std::lock_guard lock(mu_);
    return notices_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Notice> notices_;
};

class CountingHook final : public CommitHook {
 public:
  Status batchCommitting(StoreTransaction&, const Caller& writer, const DatasetRow&, std::span<const Record>) override {
    std::lock_guard lock(mu_);
    writers_.push_back(writer.deviceId);
    return Status::ok();
  }
  Status deletionCommitting(StoreTransaction&, const Caller& writer, const DatasetRow&) override {
    std::lock_guard lock(mu_);
    writers_.push_back("delete:" + writer.deviceId);
    return Status::ok();
  }
  std::vector<std::string> writers() const {
    std::lock_guard lock(mu_);
    return writers_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> writers_;
};

class ConsoleSectionTest : public tether::testing::StoreBackendFixture {
 protected:
  void SetUp() override {
    StoreBackendFixture::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto opened = tryOpenStore();
    ASSERT_TRUE(opened.isOk()) << opened.status();
    store_ = std::move(opened).value();
    sync_ = std::make_unique<SyncService>(*store_, tokens_, clock_);
    sync_->addChangeListener(&listener_);
    sync_->setCommitHook(&hook_);

    const char* root = std::getenv("TETHER_TEST_TMP");
    std::filesystem::path base = root != nullptr && *root != '\0' ? root : "/tmp";
    std::filesystem::create_directories(base);
    std::string pattern = (base / "console-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    keyDir_ = pattern;
    auto issuer = TokenIssuer::open(keyDir_, "http://127.0.0.1:8080");
    ASSERT_TRUE(issuer.isOk()) << issuer.status();
    issuer_ = std::move(*issuer);
    identities_ = std::make_unique<IdentityService>(*store_, *issuer_, clock_);

    identitiesSection_ = std::make_unique<IdentitiesSection>(*store_, *sync_);
    dataSection_ = std::make_unique<DataSection>(*store_, *sync_, tokens_, clock_);
    ASSERT_TRUE(store_->putPool({kPool, "Main", true, 1}).isOk());
    ASSERT_TRUE(store_->putPool({kOtherPool, "Other", true, 2}).isOk());
  }
  void TearDown() override {
    if (!keyDir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(keyDir_, ec);
    }
    StoreBackendFixture::TearDown();
  }

  // A request as ConsoleHttp hands it over; exactly one section must claim it.
  ApiResult call(std::string method, std::vector<std::string> segments,
                 std::vector<std::pair<std::string, std::string>> query = {},
                 nlohmann::json body = nullptr) {
    ApiCall c{std::move(method), std::move(segments), std::move(query), std::move(body), kOperator, "req-1"};
    const bool a = identitiesSection_->handles(c);
    const bool b = dataSection_->handles(c);
    EXPECT_FALSE(a && b) << "two sections claim the call";
    if (!a && !b) {
      ADD_FAILURE() << "no section claims the call";
      return ApiResult::error(404, "NotFound", "unclaimed");
    }
    ApiResult r = a ? identitiesSection_->call(c) : dataSection_->call(c);
    // ConsoleHttp serializes every body: it must be valid JSON text whatever was stored.
    EXPECT_NO_THROW((void)r.body.dump()) << "body does not serialize";
    return r;
  }
  static std::vector<std::string> recordsPath(const std::string& id, const std::string& dataset) {
    return {"identities", id, "datasets", dataset, "records"};
  }
  static std::vector<std::string> recordPath(const std::string& id, const std::string& dataset, const std::string& key) {
    return {"identities", id, "datasets", dataset, "records", key};
  }

  std::string newIdentity(const std::string& id, const char* pool = kPool) {
    EXPECT_TRUE(store_->createIdentity(IdentityInfo{id, pool, clock_.nowMs(), false}).isOk());
    return id;
  }
  void link(const std::string& id, const std::string& provider, const std::string& subject, const char* pool = kPool) {
    ASSERT_TRUE(store_->linkLogin(LoginLink{pool, provider, subject, id}).isOk());
  }

  // A device's push, as the native and Cognito front ends make it.
  Result<proto::UpdateRecordsResponse> devicePush(const std::string& id, const std::string& dataset,
                                                  std::vector<RecordPatch> patches, const std::string& device = "device-1") {
    Caller caller{kPool, id, device};
    proto::UpdateRecordsRequest rq;
    rq.datasetName = dataset;
    rq.syncSessionToken = tokens_.issue(kPool, id, dataset, clock_.nowMs());
    rq.deviceId = device;
    rq.patches = std::move(patches);
    return sync_->updateRecords(caller, rq);
  }
  static RecordPatch put(std::string key, std::string value, int64_t syncCount) {
    RecordPatch p;
    p.key = std::move(key);
    p.value = std::move(value);
    p.syncCount = syncCount;
    return p;
  }
  static RecordPatch del(std::string key, int64_t syncCount) {
    RecordPatch p;
    p.op = PatchOp::kRemove;
    p.key = std::move(key);
    p.syncCount = syncCount;
    return p;
  }
  // Key -> record as a device's full pull sees it.
  std::map<std::string, Record> devicePull(const std::string& id, const std::string& dataset) {
    std::map<std::string, Record> out;
    proto::ListRecordsRequest rq;
    rq.datasetName = dataset;
    auto r = sync_->listRecords(Caller{kPool, id, "device-1"}, rq);
    EXPECT_TRUE(r.isOk()) << r.status();
    if (r.isOk())
      for (const Record& rec : r->records) out[rec.key] = rec;
    return out;
  }
  // An identity token as GetToken issues it (for IdentityService::authenticate).
  std::string tokenFor(const std::string& id, std::vector<std::string> amr) {
    auto t = issuer_->issue(TokenClaims{kPool, id, std::move(amr), 900}, clock_.nowMs());
    EXPECT_TRUE(t.isOk()) << t.status();
    return t.isOk() ? t->token : "";
  }

  server::testing::ManualClock clock_;
  server::testing::FakeSessionTokens tokens_;
  RecordingListener listener_;
  CountingHook hook_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SyncService> sync_;
  std::filesystem::path keyDir_;
  std::unique_ptr<TokenIssuer> issuer_;
  std::unique_ptr<IdentityService> identities_;
  std::unique_ptr<IdentitiesSection> identitiesSection_;
  std::unique_ptr<DataSection> dataSection_;
};

}  // namespace tether::server::console::testing
