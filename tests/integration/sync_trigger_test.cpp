// Issue 14, the Cognito sync trigger on the native protocol and through libtether, against the
// real tetherd on SQLite and on PostgreSQL (docs/events.md "Sync trigger"). The triggers are small
// Python programs written by the test (command targets); each pool of the config file names one
// with `sync_trigger`. The boto3 side (webhooks, signature, memory, latency) is
// tests/compat/boto3_trigger_test.py.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "pg_test_cluster.h"
#include "tether/client.h"
#include "tetherd_process.h"
#include "ws_test_client.h"

namespace tether::testing {
namespace {

using namespace proto;

constexpr const char* kArn = "arn:aws:lambda:us-east-1:123456789012:function:";

// name -> the body of a Python program: the event is `ev` (read from stdin), the reply is `ev`.
const std::map<std::string, std::string>& scripts() {
  static const std::map<std::string, std::string> s = {
      {"upper",
       "for r in ev['datasetRecords'].values():\n"
       "    if r.get('op') == 'replace' and isinstance(r.get('newValue'), str): r['newValue'] = r['newValue'].upper()\n"},
      {"remove_add",
       "if 'secret' in ev['datasetRecords']: ev['datasetRecords']['secret']['op'] = 'remove'\n"
       "ev['datasetRecords']['added'] = {'newValue': 'by-trigger', 'op': 'replace'}\n"},
      {"sleep", "time.sleep(30)\n"},
      {"garbage", "print('not json'); sys.exit(0)\n"},
      {"throttle", "sys.exit(75)\n"},
      {"slow", "time.sleep(2) if ev['datasetName'] == 'slow' else None\n"},
  };
  return s;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RecordPatch put(std::string key, std::string value, int64_t syncCount = 0) {
  return RecordPatch{PatchOp::kReplace, std::move(key), std::move(value), syncCount, nowMs()};
}

std::map<std::string, std::optional<std::string>> byKey(const std::vector<Record>& records) {
  std::map<std::string, std::optional<std::string>> out;
  for (const Record& r : records) out[r.key] = r.value;
  return out;
}

class SyncTriggerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string store;
    if (GetParam() == "Postgres") {
      PG_TEST_OR_SKIP(cluster);
      auto schema = cluster->freshSchema(::testing::UnitTest::GetInstance()->current_test_info()->name());
      ASSERT_TRUE(schema.isOk()) << schema.status();
      store = cluster->url(*schema);
    }
    dir_ = makeTempDir("sync_trigger");
    std::ofstream config(dir_ / "tetherd.toml");
    int n = 0;
    for (const auto& [name, body] : scripts()) {
      std::filesystem::path script = dir_ / (name + ".py");
      std::ofstream(script) << "import json, sys, time\nev = json.load(sys.stdin)\n" << body
                            << "json.dump(ev, sys.stdout)\n";
      std::string pool = "us-east-1:00000000-0000-0000-0000-0000000000" + std::to_string(10 + n++);
      pools_[name] = pool;
      config << "[[sync_triggers]]\nfunction = \"" << kArn << name << "\"\ncommand = [\"/usr/bin/python3\", \""
             << script.string() << "\"]\ntimeout_ms = " << (name == "sleep" ? 1000 : 5000) << "\n\n"
             << "[[pools]]\nid = \"" << pool << "\"\nname = \"" << name << "\"\nallow_guests = true\n"
             << "sync_trigger = \"" << kArn << name << "\"\n\n";
    }
    config.close();
    TetherdOptions o;
    o.store = store;
    o.createPool = false;
    o.logLevel = "info";
    o.extraArgs = {"--config", (dir_ / "tetherd.toml").string()};
    if (!store.empty()) o.extraArgs.insert(o.extraArgs.end(), {"--issuer", "http://trigger.test"});
    server_ = TetherdProcess::start(o);
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<WsTestClient> guest(const std::string& trigger, std::string* identity = nullptr) {
    auto c = WsTestClient::connect(server_->url());
    EXPECT_NE(c, nullptr);
    if (!c) return nullptr;
    Result<std::string> id = c->loginAsNewGuest(pools_.at(trigger));
    EXPECT_TRUE(id.isOk()) << id.status();
    if (identity != nullptr && id.isOk()) *identity = *id;
    return c;
  }

  static Result<UpdateRecordsResponse> push(WsTestClient& c, const std::string& ds, std::vector<RecordPatch> patches) {
    auto pulled = c.callAs<ListRecordsResponse>(ListRecordsRequest{ds, 0, 0, ""});
    if (!pulled.isOk()) return pulled.status();
    return c.callAs<UpdateRecordsResponse>(UpdateRecordsRequest{ds, pulled->syncSessionToken, "", std::move(patches)});
  }

  std::unique_ptr<tether::Client> libtether(const std::string& trigger, const std::string& name) {
    tether::ClientOptions o;
    o.cachePath = (dir_ / (name + ".db")).string();
    o.serverUrl = server_->url();
    o.identityPoolId = pools_.at(trigger);
    o.connectTimeout = std::chrono::seconds(5);
    o.requestTimeout = std::chrono::seconds(10);
    auto c = tether::Client::open(o);
    EXPECT_TRUE(c.isOk()) << c.status();
    return c.isOk() ? std::move(*c) : nullptr;
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> pools_;  // trigger name -> its pool
  std::unique_ptr<TetherdProcess> server_;
};

TEST_P(SyncTriggerTest, NativeUppercaseAndConditionalPushGetTheTriggersValues) {
  auto c = guest("upper");
  ASSERT_NE(c, nullptr);
  auto up = push(*c, "prefs", {put("theme", "dark"), put("lang", "en")});
  ASSERT_TRUE(up.isOk()) << up.status();
  EXPECT_EQ(up->syncCount, 1);
  EXPECT_EQ(byKey(up->records), (std::map<std::string, std::optional<std::string>>{{"lang", "EN"}, {"theme", "DARK"}}));
  // A conditional push asks for no values back; a triggered one gets them anyway. "lang" is
  // named by the trigger but unchanged: not written again.
  UpdateRecordsRequest cond{"prefs", "", "", {put("theme", "light", 1)}};
  cond.ifDatasetSyncCount = 1;
  cond.omitValues = true;
  auto up2 = c->callAs<UpdateRecordsResponse>(cond);
  ASSERT_TRUE(up2.isOk()) << up2.status();
  EXPECT_EQ(byKey(up2->records), (std::map<std::string, std::optional<std::string>>{{"theme", "LIGHT"}}));
  auto pulled = c->callAs<ListRecordsResponse>(ListRecordsRequest{"prefs", 0, 0, ""});
  ASSERT_TRUE(pulled.isOk());
  EXPECT_EQ(pulled->datasetSyncCount, 2);
}

TEST_P(SyncTriggerTest, NativeRemoveAndAddKeys) {
  auto c = guest("remove_add");
  ASSERT_NE(c, nullptr);
  auto up = push(*c, "d", {put("secret", "s"), put("mine", "v")});
  ASSERT_TRUE(up.isOk()) << up.status();
  EXPECT_EQ(byKey(up->records), (std::map<std::string, std::optional<std::string>>{
                                    {"added", "by-trigger"}, {"mine", "v"}, {"secret", std::nullopt}}));
  for (const Record& r : up->records) EXPECT_EQ(r.syncCount, 1) << r.key;
}

TEST_P(SyncTriggerTest, NativeFailuresAreTypedAndWriteNothing) {
  for (auto [trigger, code] : {std::pair{"sleep", StatusCode::kTriggerFailed},
                               std::pair{"garbage", StatusCode::kTriggerFailed},
                               std::pair{"throttle", StatusCode::kTriggerThrottled}}) {
    SCOPED_TRACE(trigger);
    auto c = guest(trigger);
    ASSERT_NE(c, nullptr);
    auto up = push(*c, "d", {put("k", "v")});
    ASSERT_FALSE(up.isOk());
    EXPECT_EQ(up.status().code(), code) << up.status();
    auto pulled = c->callAs<ListRecordsResponse>(ListRecordsRequest{"d", 0, 0, ""});
    ASSERT_TRUE(pulled.isOk());
    EXPECT_FALSE(pulled->datasetExists);
    EXPECT_TRUE(pulled->records.empty());
  }
}

TEST_P(SyncTriggerTest, ConcurrentWriteDuringTheCallConflictsAndNothingIsHalfWritten) {
  std::string identity;
  auto a = guest("slow", &identity);
  ASSERT_NE(a, nullptr);
  auto b = WsTestClient::connect(server_->url());  // a second device of the same identity
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->loginAs(identity).isOk());
  auto tokenA = a->callAs<ListRecordsResponse>(ListRecordsRequest{"slow", 0, 0, ""});
  auto tokenB = b->callAs<ListRecordsResponse>(ListRecordsRequest{"slow", 0, 0, ""});
  ASSERT_TRUE(tokenA.isOk() && tokenB.isOk());
  // Both in flight at once (each trigger call takes 2 s): the identity's strand is not held.
  auto t0 = std::chrono::steady_clock::now();
  uint64_t ida = a->sendRequest(UpdateRecordsRequest{"slow", tokenA->syncSessionToken, "", {put("ka", "a"), put("ka2", "a")}});
  // Other keys: no patch conflicts; the loser fails because the dataset changed during its call.
  uint64_t idb = b->sendRequest(UpdateRecordsRequest{"slow", tokenB->syncSessionToken, "", {put("kb", "b")}});
  auto ra = a->waitResponse(ida, 15000);
  auto rb = b->waitResponse(idb, 15000);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(ra && rb);
  const Status* ea = std::get_if<Status>(&ra->body);
  const Status* eb = std::get_if<Status>(&rb->body);
  ASSERT_NE(ea == nullptr, eb == nullptr) << "exactly one of the two writes wins";
  const Status* lost = ea != nullptr ? ea : eb;
  EXPECT_EQ(lost->code(), StatusCode::kConflict) << *lost;
  EXPECT_LT(seconds, 3.9) << "the two trigger calls ran one after the other";
  auto pulled = a->callAs<ListRecordsResponse>(ListRecordsRequest{"slow", 0, 0, ""});
  ASSERT_TRUE(pulled.isOk());
  EXPECT_EQ(pulled->datasetSyncCount, 1);
  if (ea == nullptr) {
    EXPECT_EQ(byKey(pulled->records), (std::map<std::string, std::optional<std::string>>{{"ka", "a"}, {"ka2", "a"}}));
  } else {
    EXPECT_EQ(byKey(pulled->records), (std::map<std::string, std::optional<std::string>>{{"kb", "b"}}));
  }
}

TEST_P(SyncTriggerTest, LibtetherStoresWhatTheTriggerWrote) {
  auto c = libtether("remove_add", "dev");
  ASSERT_NE(c, nullptr);
  auto d = c->openOrCreateDataset("d");
  ASSERT_TRUE(d.isOk()) << d.status();
  ASSERT_TRUE((*d)->put("secret", "s").isOk());
  ASSERT_TRUE((*d)->put("mine", "v").isOk());
  auto r = (*d)->synchronizeAndWait({}, std::chrono::seconds(20));
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ((*d)->get("mine").value(), std::optional<std::string>("v"));
  EXPECT_EQ((*d)->get("secret").value(), std::nullopt);
  EXPECT_EQ((*d)->get("added").value(), std::optional<std::string>("by-trigger"));

  auto u = libtether("upper", "dev-upper");
  ASSERT_NE(u, nullptr);
  auto du = u->openOrCreateDataset("prefs");
  ASSERT_TRUE(du.isOk());
  ASSERT_TRUE((*du)->put("theme", "dark").isOk());
  ASSERT_TRUE((*du)->synchronizeAndWait({}, std::chrono::seconds(20)).isOk());
  EXPECT_EQ((*du)->get("theme").value(), std::optional<std::string>("DARK"));
}

TEST_P(SyncTriggerTest, LibtetherSurfacesTriggerErrorsAndKeepsTheEdits) {
  for (auto [trigger, code] : {std::pair{"garbage", StatusCode::kTriggerFailed},
                               std::pair{"throttle", StatusCode::kTriggerThrottled}}) {
    SCOPED_TRACE(trigger);
    auto c = libtether(trigger, std::string("dev-") + trigger);
    ASSERT_NE(c, nullptr);
    auto d = c->openOrCreateDataset("d");
    ASSERT_TRUE(d.isOk());
    ASSERT_TRUE((*d)->put("k", "mine").isOk());
    auto r = (*d)->synchronizeAndWait({}, std::chrono::seconds(20));
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_EQ(r.status().isRetryable(), code == StatusCode::kTriggerThrottled);
    EXPECT_EQ((*d)->get("k").value(), std::optional<std::string>("mine"));  // kept, still to push
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, SyncTriggerTest, ::testing::Values("Sqlite", "Postgres"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace tether::testing
