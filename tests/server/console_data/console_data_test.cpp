// Tests of the console's data browser (console/console_data.h) on both backends: values kept
// verbatim (a <script> value is plain JSON string data), sync-count conflicts (a stale count
// and a device write racing the page) refused with the current record and nothing written,
// paging over 1,024 records, tombstones on request, limits, dataset deletion, and the live
// notice / commit hook every console write triggers like a device's.
#include "console_fixture.h"

#include <atomic>
#include <set>
#include <thread>

#include "tether/limits.h"

namespace tether::server::console::testing {
namespace {

using Json = nlohmann::json;

constexpr const char* kAlice = "eu-west-1:11111111-1111-4111-8111-111111111111";
const std::string kConsoleDevice = std::string("console:") + kOperator;

class ConsoleDataTest : public ConsoleSectionTest {
 protected:
  void SetUp() override {
    ConsoleSectionTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    newIdentity(kAlice);
  }
  ApiResult putRecord(const std::string& key, const Json& value, int64_t syncCount, const std::string& dataset = "settings") {
    return call("PUT", recordPath(kAlice, dataset, key), {}, Json{{"value", value}, {"syncCount", syncCount}});
  }
  int64_t datasetSyncCount(const std::string& dataset) {
    auto d = sync_->describeDataset(Caller{kPool, kAlice, ""}, {dataset});
    return d.isOk() ? d->dataset.syncCount : -1;
  }
};
TETHER_INSTANTIATE_BACKENDS(ConsoleDataTest);

TEST_P(ConsoleDataTest, ScriptValueIsStoredAndReturnedVerbatim) {
  const std::string payload = "<script>alert(\"x\")</script><img src=x onerror=alert(1)> & &amp; </td>";
  ApiResult r = putRecord("bio", payload, 0);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["record"]["value"], payload);
  // A device pulls exactly those bytes: no escaping, no transformation on the way in.
  auto pulled = devicePull(kAlice, "settings");
  ASSERT_EQ(pulled.count("bio"), 1u);
  EXPECT_EQ(pulled["bio"].value, payload);
  // The page gets it back as JSON string data, the same string.
  r = call("GET", recordsPath(kAlice, "settings"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.body["records"].size(), 1u);
  EXPECT_EQ(r.body["records"][0]["value"], payload);
  EXPECT_TRUE(r.body["records"][0]["value"].is_string());
  const std::string text = r.body.dump();
  EXPECT_NE(text.find("<script>alert(\\\"x\\\")</script>"), std::string::npos) << text;
  EXPECT_EQ(text.find("&lt;"), std::string::npos) << "no HTML escaping in the API: " << text;
  EXPECT_EQ(Json::parse(text)["records"][0]["value"], payload);
}

TEST_P(ConsoleDataTest, WritesGoThroughTheSyncServiceWithLiveNotice) {
  ApiResult r = putRecord("theme", "dark", 0);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["record"]["syncCount"], 1);
  EXPECT_EQ(r.body["record"]["lastModifiedBy"], kConsoleDevice);
  EXPECT_EQ(r.body["syncCount"], 1);
  EXPECT_NE(r.auditTarget.find("record theme"), std::string::npos) << r.auditTarget;
  EXPECT_EQ(r.auditDetail.find("dark"), std::string::npos) << "audit never carries a value: " << r.auditDetail;

  // The live-sync notice, as for a device's write, naming the console as the writer.
  auto notices = listener_.notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].identityId, kAlice);
  EXPECT_EQ(notices[0].dataset, "settings");
  EXPECT_EQ(notices[0].deviceId, kConsoleDevice);
  EXPECT_EQ(notices[0].syncCount, 1);
  ASSERT_EQ(notices[0].batch.size(), 1u);
  EXPECT_EQ(notices[0].batch[0].value, "dark");
  // The commit hook (Cognito Streams) ran inside the write.
  EXPECT_EQ(hook_.writers(), std::vector<std::string>{kConsoleDevice});

  // A device sees it, and "last modified by" shows the console on the page and the identity page.
  auto pulled = devicePull(kAlice, "settings");
  EXPECT_EQ(pulled["theme"].value, "dark");
  EXPECT_EQ(pulled["theme"].lastModifiedBy, kConsoleDevice);
  r = call("GET", recordsPath(kAlice, "settings"));
  EXPECT_EQ(r.body["records"][0]["lastModifiedBy"], kConsoleDevice);
  EXPECT_EQ(r.body["dataset"]["lastModifiedBy"], kConsoleDevice);

  // Edit with the shown sync count; then delete with the new one.
  r = putRecord("theme", "light", 1);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["record"]["syncCount"], 2);
  r = call("DELETE", recordPath(kAlice, "settings", "theme"), {{"syncCount", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["record"]["deleted"], true);
  EXPECT_EQ(listener_.notices().size(), 3u);
  EXPECT_FALSE(devicePull(kAlice, "settings")["theme"].value.has_value());
}

TEST_P(ConsoleDataTest, StaleSyncCountIsAConflictAndWritesNothing) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("theme", "dark", 0)}).isOk());
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("theme", "blue", 1)}).isOk());  // record at 2
  const size_t noticesBefore = listener_.notices().size();
  const int64_t before = datasetSyncCount("settings");

  for (int64_t stale : {0, 1, 3}) {
    ApiResult r = putRecord("theme", "light", stale);
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(r.body["error"], "Conflict");
    ASSERT_TRUE(r.body.contains("current")) << r.body;
    EXPECT_EQ(r.body["current"]["value"], "blue");
    EXPECT_EQ(r.body["current"]["syncCount"], 2);
    EXPECT_EQ(r.body["current"]["lastModifiedBy"], "device-1");
    EXPECT_NE(r.auditTarget.find("record theme"), std::string::npos) << r.auditTarget;
    EXPECT_NE(r.auditDetail.find("refused"), std::string::npos) << r.auditDetail;
  }
  ApiResult r = call("DELETE", recordPath(kAlice, "settings", "theme"), {{"syncCount", "1"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.body["current"]["value"], "blue");

  EXPECT_EQ(datasetSyncCount("settings"), before) << "a refused write consumed a sync count";
  EXPECT_EQ(devicePull(kAlice, "settings")["theme"].value, "blue");
  EXPECT_EQ(listener_.notices().size(), noticesBefore) << "a refused write told the devices";
  // A new key with a non-zero count conflicts too (current: null).
  r = putRecord("fresh", "x", 5);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_TRUE(r.body["current"].is_null());
}

TEST_P(ConsoleDataTest, DeviceWriteBetweenReadAndPutIsDetected) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("theme", "dark", 0)}).isOk());
  // The page reads the record...
  ApiResult page = call("GET", recordsPath(kAlice, "settings"));
  ASSERT_EQ(page.status, 200) << page.body;
  const int64_t shown = page.body["records"][0]["syncCount"].get<int64_t>();
  // ...a device writes it meanwhile...
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("theme", "from-phone", shown)}, "phone-7").isOk());
  // ...and the operator's edit, made on the old picture, is refused, not applied over it.
  ApiResult r = putRecord("theme", "from-console", shown);
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.body["current"]["value"], "from-phone");
  EXPECT_EQ(r.body["current"]["lastModifiedBy"], "phone-7");
  EXPECT_NE(r.body["message"].get<std::string>().find("phone-7"), std::string::npos) << r.body;
  EXPECT_EQ(devicePull(kAlice, "settings")["theme"].value, "from-phone");
  // Retrying with the current count succeeds.
  r = putRecord("theme", "from-console", r.body["current"]["syncCount"].get<int64_t>());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(devicePull(kAlice, "settings")["theme"].value, "from-console");
}

TEST_P(ConsoleDataTest, RacingConsoleAndDeviceWritesNeverBothWin) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("theme", "start", 0)}).isOk());
  for (int round = 0; round < 20; ++round) {
    ApiResult page = call("GET", recordsPath(kAlice, "settings"));
    ASSERT_EQ(page.status, 200) << page.body;
    const int64_t shown = page.body["records"][0]["syncCount"].get<int64_t>();
    std::string fromConsole("console-");
    fromConsole += std::to_string(round);
    std::string fromPhone("phone-");
    fromPhone += std::to_string(round);
    std::atomic<bool> go{false};
    ApiResult consoleResult;
    Status deviceStatus;
    std::thread console([&] {
      while (!go.load()) std::this_thread::yield();
      consoleResult = putRecord("theme", fromConsole, shown);
    });
    std::thread device([&] {
      while (!go.load()) std::this_thread::yield();
      deviceStatus = devicePush(kAlice, "settings", {put("theme", fromPhone, shown)}).status();
    });
    go = true;
    console.join();
    device.join();
    const bool consoleWon = consoleResult.status == 200;
    ASSERT_NE(consoleWon, deviceStatus.isOk()) << "round " << round << ": exactly one write may win; console "
                                                << consoleResult.body << ", device " << deviceStatus;
    if (consoleWon) {
      EXPECT_EQ(deviceStatus.code(), StatusCode::kConflict);
    } else {
      EXPECT_EQ(consoleResult.status, 409) << consoleResult.body;
      EXPECT_EQ(consoleResult.body["current"]["value"], fromPhone);
    }
    EXPECT_EQ(devicePull(kAlice, "settings")["theme"].value, consoleWon ? fromConsole : fromPhone);
  }
}

TEST_P(ConsoleDataTest, PagesOverAFullDatasetInKeyOrder) {
  std::vector<RecordPatch> patches;
  std::set<std::string> live;
  std::set<std::string> all;
  for (int i = 0; i < kMaxRecordsPerDataset; ++i) {
    std::string key("k");
    key += std::to_string(i * 7919 % 100003);  // not in sync-count order
    std::string value("v");
    value += std::to_string(i);
    live.insert(key);
    patches.push_back(put(key, value, 0));
  }
  all = live;
  ASSERT_TRUE(devicePush(kAlice, "big", patches).isOk());
  // More batches, so records span several sync counts and the dataset holds more rows
  // (1,024 live + 10 tombstones) than one store read returns.
  std::vector<RecordPatch> removals;
  std::vector<RecordPatch> additions;
  for (int i = 1; i <= 10; ++i) {
    std::string gone("k");
    gone += std::to_string(i * 7919 % 100003);
    std::string added("new");
    added += std::to_string(i);
    live.erase(gone);
    live.insert(added);
    all.insert(added);
    removals.push_back(del(gone, 1));
    additions.push_back(put(added, "x", 0));
  }
  ASSERT_TRUE(devicePush(kAlice, "big", removals).isOk());
  ASSERT_TRUE(devicePush(kAlice, "big", additions).isOk());
  ASSERT_TRUE(devicePush(kAlice, "big", {put("k0", "again", 1)}).isOk());

  for (bool tombstones : {false, true}) {
    std::vector<std::string> seen;
    std::string after;
    int pages = 0;
    while (true) {
      std::vector<std::pair<std::string, std::string>> q{{"limit", "200"}, {"tombstones", tombstones ? "1" : "0"}};
      if (!after.empty()) q.emplace_back("after", after);
      ApiResult r = call("GET", recordsPath(kAlice, "big"), q);
      ASSERT_EQ(r.status, 200) << r.body;
      ++pages;
      EXPECT_LE(r.body["records"].size(), 200u);
      for (const Json& rec : r.body["records"]) seen.push_back(rec["key"].get<std::string>());
      EXPECT_EQ(r.body["syncCount"], 4);
      if (r.body["next"].is_null()) break;
      after = r.body["next"].get<std::string>();
      ASSERT_LT(pages, 10) << "paging does not end";
    }
    EXPECT_EQ(pages, 6);  // 5 x 200 + 24 (or + 34 with the tombstones)
    const std::set<std::string>& want = tombstones ? all : live;
    EXPECT_EQ(seen, std::vector<std::string>(want.begin(), want.end())) << "every key once, in key order";
  }
  // Default page size 100; limits outside 1..200 refused.
  EXPECT_EQ(call("GET", recordsPath(kAlice, "big")).body["records"].size(), 100u);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "big"), {{"limit", "201"}}).status, 400);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "big"), {{"limit", "0"}}).status, 400);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "big"), {{"limit", "ten"}}).status, 400);
  // The 1,025th record is over the limit: refused by the sync service, nothing written.
  ApiResult r = putRecord("one-too-many", "x", 0, "big");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.body["error"], "InvalidParameter");
  EXPECT_EQ(datasetSyncCount("big"), 4);
}

TEST_P(ConsoleDataTest, TombstonesOnlyOnRequest) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("a", "1", 0), put("b", "2", 0), put("c", "3", 0)}).isOk());
  ASSERT_TRUE(devicePush(kAlice, "settings", {del("b", 1)}).isOk());
  ApiResult r = call("GET", recordsPath(kAlice, "settings"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.body["records"].size(), 2u);
  EXPECT_EQ(r.body["records"][0]["key"], "a");
  EXPECT_EQ(r.body["records"][1]["key"], "c");
  r = call("GET", recordsPath(kAlice, "settings"), {{"tombstones", "1"}});
  ASSERT_EQ(r.body["records"].size(), 3u);
  EXPECT_EQ(r.body["records"][1]["key"], "b");
  EXPECT_EQ(r.body["records"][1]["deleted"], true);
  EXPECT_TRUE(r.body["records"][1]["value"].is_null());
  EXPECT_EQ(r.body["records"][1]["syncCount"], 2);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "settings"), {{"tombstones", "0"}}).body["records"].size(), 2u);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "settings"), {{"tombstones", "yes"}}).status, 400);
  // Deleting a tombstone or an absent key: 404, nothing written.
  EXPECT_EQ(call("DELETE", recordPath(kAlice, "settings", "b"), {{"syncCount", "2"}}).status, 404);
  EXPECT_EQ(call("DELETE", recordPath(kAlice, "settings", "zz"), {{"syncCount", "1"}}).status, 404);
  EXPECT_EQ(call("DELETE", recordPath(kAlice, "settings", "a"), {}).status, 400);
  EXPECT_EQ(datasetSyncCount("settings"), 2);
}

TEST_P(ConsoleDataTest, NonUtf8ValueIsShownAsBase64) {
  // A value no API accepts today (imports of old data could hold one): written beneath them.
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk()) << txn.status();
    const OwnerRef owner{kPool, kAlice};
    DatasetRow row;
    row.name = "raw";
    row.live = true;
    row.syncCount = 1;
    row.numRecords = 1;
    row.dataStorage = 4;
    ASSERT_TRUE((*txn)->putDataset(owner, row).isOk());
    Record rec{"k", std::string("\xff\xfe", 2), 1, 5, "imp\xc3", 0};
    Status put = (*txn)->putRecords(owner, "raw", std::vector<Record>{rec});
    if (postgres()) {
      // A UTF8 database cannot hold such a value at all: there is nothing to show.
      EXPECT_FALSE(put.isOk());
      return;
    }
    ASSERT_TRUE(put.isOk()) << put;
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  ApiResult r = call("GET", recordsPath(kAlice, "raw"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.body["records"].size(), 1u);
  EXPECT_FALSE(r.body["records"][0].contains("value"));
  EXPECT_EQ(r.body["records"][0]["valueBase64"], "//4=");
  EXPECT_EQ(r.body["records"][0]["lastModifiedBy"], "imp\xEF\xBF\xBD");
}

TEST_P(ConsoleDataTest, BadRequestsWriteNothing) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("a", "1", 0)}).isOk());
  const int64_t before = datasetSyncCount("settings");
  for (const Json& body : {Json(nullptr), Json::array(), Json{{"value", "x"}}, Json{{"syncCount", 1}},
                           Json{{"value", 5}, {"syncCount", 1}}, Json{{"value", "x"}, {"syncCount", -1}},
                           Json{{"value", "x"}, {"syncCount", 1.5}}, Json{{"value", "x"}, {"syncCount", "1"}}}) {
    ApiResult r = call("PUT", recordPath(kAlice, "settings", "a"), {}, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
  }
  EXPECT_EQ(call("PUT", recordPath(kAlice, "bad name!", "a"), {}, Json{{"value", "x"}, {"syncCount", 1}}).status, 400);
  EXPECT_EQ(call("GET", recordsPath(kAlice, std::string(129, 'd'))).status, 400);
  EXPECT_EQ(call("PUT", recordPath(kAlice, "settings", std::string(1025, 'k')), {}, Json{{"value", "x"}, {"syncCount", 0}}).status, 400);
  EXPECT_EQ(call("PUT", recordPath(kAlice, "settings", "\xff"), {}, Json{{"value", "x"}, {"syncCount", 0}}).status, 400);
  // Over the 1 MB dataset limit: refused by the sync service.
  ApiResult r = putRecord("huge", std::string(kMaxDatasetBytes, 'x'), 0);
  EXPECT_EQ(r.status, 400) << r.body["message"];
  EXPECT_EQ(datasetSyncCount("settings"), before);
  EXPECT_EQ(devicePull(kAlice, "settings").size(), 1u);
  // No such dataset to read.
  EXPECT_EQ(call("GET", recordsPath(kAlice, "nothing")).status, 404);
}

TEST_P(ConsoleDataTest, TwentyFirstDatasetIsRefused) {
  for (int i = 0; i < kMaxDatasetsPerIdentity; ++i) {
    std::string name("ds");
    name += std::to_string(i);
    ASSERT_TRUE(devicePush(kAlice, name, {put("k", "v", 0)}).isOk());
  }
  ApiResult r = putRecord("k", "v", 0, "one-more");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(call("GET", recordsPath(kAlice, "one-more")).status, 404);
}

TEST_P(ConsoleDataTest, DeleteDataset) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("a", "1", 0), put("b", "2", 0)}).isOk());
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("a", "3", 1)}).isOk());
  // The page showed sync count 1; a device has written since.
  ApiResult r = call("DELETE", {"identities", kAlice, "datasets", "settings"}, {{"syncCount", "1"}});
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.body["current"]["syncCount"], 2);
  EXPECT_EQ(devicePull(kAlice, "settings").size(), 2u);
  const size_t noticesBefore = listener_.notices().size();

  r = call("DELETE", {"identities", kAlice, "datasets", "settings"}, {{"syncCount", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body["deleted"], "settings");
  EXPECT_EQ(r.auditTarget, std::string("identity ") + kAlice + " dataset settings");
  auto notices = listener_.notices();
  ASSERT_EQ(notices.size(), noticesBefore + 1);
  EXPECT_EQ(notices.back().dataset, "settings");
  EXPECT_EQ(notices.back().deviceId, kConsoleDevice);
  EXPECT_EQ(hook_.writers().back(), "delete:" + kConsoleDevice);
  EXPECT_EQ(sync_->describeDataset(Caller{kPool, kAlice, ""}, {"settings"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "settings")).status, 404);
  EXPECT_EQ(call("DELETE", {"identities", kAlice, "datasets", "settings"}).status, 404);
}

TEST_P(ConsoleDataTest, DisabledIdentitysDataIsReadOnly) {
  ASSERT_TRUE(devicePush(kAlice, "settings", {put("a", "1", 0)}).isOk());
  ASSERT_TRUE(store_->setIdentityDisabled(kAlice, true).isOk());
  ApiResult r = putRecord("a", "2", 1);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.body["error"], "IdentityDisabled");
  EXPECT_EQ(call("DELETE", {"identities", kAlice, "datasets", "settings"}).status, 409);
  EXPECT_EQ(call("GET", recordsPath(kAlice, "settings")).status, 200) << "still readable";
  EXPECT_EQ(devicePull(kAlice, "settings")["a"].value, "1");
}

}  // namespace
}  // namespace tether::server::console::testing
