// Tests for sync/trigger_event.h: the event of cognito-compat.md 5.1 and the reading of replies.
#include "sync/trigger_event.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tether::server {
namespace {

using Json = nlohmann::json;

Record live(std::string key, std::string value) {
  Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

class TriggerEventTest : public ::testing::Test {
 protected:
  std::string event() {
    return buildTriggerEvent(TriggerEventInput{"us-east-1:11111111-2222-3333-4444-555555555555",
                                               "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "Settings", &live_,
                                               &patches_});
  }
  std::vector<Record> live_ = {live("keep", "same"), live("edit", "old"), live("gone", "g")};
  std::vector<RecordPatch> patches_ = {RecordPatch{PatchOp::kReplace, "edit", "new", 1, 0},
                                       RecordPatch{PatchOp::kReplace, "fresh", "f", 0, 0},
                                       RecordPatch{PatchOp::kRemove, "gone", "", 1, 0}};
};

TEST_F(TriggerEventTest, EventHasTheSpecFieldsAndEveryLiveRecord) {
  Json e = Json::parse(event());
  EXPECT_EQ(e, Json::parse(R"({
    "version": 2, "eventType": "SyncTrigger", "region": "us-east-1",
    "identityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555",
    "identityId": "us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "datasetName": "Settings",
    "datasetRecords": {
      "keep": {"oldValue": "same", "newValue": "same", "op": "replace"},
      "edit": {"oldValue": "old", "newValue": "new", "op": "replace"},
      "fresh": {"newValue": "f", "op": "replace"},
      "gone": {"oldValue": "g", "op": "remove"}}})"));
}

TEST_F(TriggerEventTest, ReplyChangesRemovesAndAdds) {
  std::string ev = event();
  Json reply = Json::parse(ev);
  reply["datasetRecords"]["edit"]["newValue"] = "NEW";
  reply["datasetRecords"]["keep"] = {{"newValue", nullptr}, {"op", "replace"}};  // null = remove
  reply["datasetRecords"]["fresh"]["op"] = "remove";
  reply["datasetRecords"]["added"] = {{"newValue", "a"}, {"op", "replace"}};
  reply["datasetRecords"].erase("gone");  // omitted: as the event had it
  auto r = parseTriggerReply(reply.dump(), ev);
  ASSERT_TRUE(r.isOk()) << r.status();
  std::map<std::string, std::optional<std::string>> want = {
      {"edit", "NEW"}, {"keep", std::nullopt}, {"fresh", std::nullopt}, {"added", "a"}};
  EXPECT_EQ(*r, want);
}

TEST_F(TriggerEventTest, BadRepliesAreTriggerFailures) {
  std::string ev = event();
  auto changed = [&](auto edit) {
    Json j = Json::parse(ev);
    edit(j);
    return j.dump();
  };
  const std::vector<std::string> bad = {
      "", "not json", "[1,2]", "\"s\"", "{}",
      changed([](Json& j) { j["identityId"] = "us-east-1:00000000-0000-0000-0000-000000000000"; }),
      changed([](Json& j) { j["version"] = 3; }),
      changed([](Json& j) { j["extra"] = 1; }),
      changed([](Json& j) { j.erase("region"); }),
      changed([](Json& j) { j["datasetRecords"] = Json::array(); }),
      changed([](Json& j) { j["datasetRecords"]["edit"] = "x"; }),
      changed([](Json& j) { j["datasetRecords"]["edit"]["op"] = "upsert"; }),
      changed([](Json& j) { j["datasetRecords"]["edit"].erase("op"); }),
      changed([](Json& j) { j["datasetRecords"]["edit"]["newValue"] = 5; }),
      std::string(100000, '[') + std::string(100000, ']'),  // refused before the recursive parser
  };
  for (const std::string& reply : bad) {
    auto r = parseTriggerReply(reply, ev);
    ASSERT_FALSE(r.isOk()) << reply.substr(0, 200);
    EXPECT_EQ(r.status().code(), StatusCode::kTriggerFailed) << reply.substr(0, 200);
  }
  EXPECT_TRUE(parseTriggerReply(ev, ev).isOk());  // the event itself is a valid "no change" reply
}

}  // namespace
}  // namespace tether::server
