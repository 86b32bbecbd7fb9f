// SyncService (Cognito Sync semantics) over a real SQLite store: pulls, pushes, conflicts,
// tombstones, delete + re-create, session tokens, validation, isolation, merged names, usage.
// Limits, paging and concurrency have their own files.
#include "sync/sync_service.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sync_service_fixture.h"

namespace tether::server {
namespace {

using namespace ::tether::server::testing;  // NOLINT: test fixture and helpers

TETHER_INSTANTIATE_BACKENDS(SyncServiceTest);

// ---- ListRecords basics

TEST_P(SyncServiceTest, MissingDatasetListsEmptyWithATokenAndNoError) {
  auto r = pull("prefs", 0);
  EXPECT_TRUE(r.records.empty());
  EXPECT_FALSE(r.datasetExists);
  EXPECT_FALSE(r.datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(r.datasetSyncCount, 0);
  EXPECT_TRUE(r.mergedDatasetNames.empty());
  EXPECT_TRUE(r.nextToken.empty());
  EXPECT_TRUE(tokens_.verify(r.syncSessionToken, kPool, kAliceId, "prefs", clock_.nowMs()).isOk());
  EXPECT_FALSE(describe("prefs").isOk());
}

TEST_P(SyncServiceTest, FirstPushCreatesDatasetAndStampsRecords) {
  const int64_t t0 = clock_.nowMs();
  auto r = push("prefs", {put("theme", "dark", 0, 111), put("lang", "en", 0, 222)});
  ASSERT_TRUE(r.isOk()) << r.status();
  ASSERT_EQ(r->records.size(), 2u);
  EXPECT_EQ(r->records[0], (Record{"theme", "dark", 1, t0, "device-1", 111}));
  EXPECT_EQ(r->records[1], (Record{"lang", "en", 1, t0, "device-1", 222}));

  auto d = describe("prefs");
  ASSERT_TRUE(d.isOk()) << d.status();
  EXPECT_EQ(d->dataset, (DatasetMetadata{"prefs", t0, t0, "device-1", (5 + 4) + (4 + 2), 2, 1}));

  auto pulled = pull("prefs", 0);
  EXPECT_TRUE(pulled.datasetExists);
  EXPECT_EQ(pulled.datasetSyncCount, 1);
  EXPECT_EQ(pulled.lastModifiedBy, "device-1");
  ASSERT_EQ(pulled.records.size(), 2u);
  EXPECT_EQ(pulled.records[0].key, "lang");  // (syncCount, key) order
  EXPECT_EQ(pulled.records[1], r->records[0]);
}

TEST_P(SyncServiceTest, LastModifiedByFallsBackToCallerDeviceThenIdentity) {
  auto r = push("a", {put("k", "v", 0)}, nullptr, "");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->records[0].lastModifiedBy, kAliceId);
  Caller withDevice{kPool, kAliceId, "phone-7"};
  auto r2 = push("a", {put("k", "w", 1)}, &withDevice, "");
  ASSERT_TRUE(r2.isOk());
  EXPECT_EQ(r2->records[0].lastModifiedBy, "phone-7");
  EXPECT_EQ(describe("a")->dataset.lastModifiedBy, "phone-7");
}

TEST_P(SyncServiceTest, DatasetSyncCountRisesByOnePerBatchAndPullsReturnOnlyNewer) {
  mustPush("d", {put("a", "1", 0), put("b", "1", 0), put("c", "1", 0)});
  clock_.advanceMs(10);
  mustPush("d", {put("a", "2", 1), put("b", "2", 1)});
  clock_.advanceMs(10);
  mustPush("d", {put("a", "3", 2)});
  auto all = pull("d", 0);
  EXPECT_EQ(all.datasetSyncCount, 3);
  std::map<std::string, int64_t> counts;
  for (auto& r : all.records) counts[r.key] = r.syncCount;
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"a", 3}, {"b", 2}, {"c", 1}}));
  auto newer = pull("d", 1);
  ASSERT_EQ(newer.records.size(), 2u);
  EXPECT_EQ(newer.records[0].key, "b");
  EXPECT_EQ(newer.records[1].key, "a");
  EXPECT_TRUE(pull("d", 3).records.empty());
  EXPECT_EQ(pull("d", 3).datasetSyncCount, 3);
  EXPECT_TRUE(pull("d", 99).records.empty());
}

TEST_P(SyncServiceTest, ZeroPatchesWriteNothingButStillNeedAValidToken) {
  auto r = push("d", {});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_TRUE(r->records.empty());
  EXPECT_EQ(describe("d").status().code(), StatusCode::kNotFound);  // not created
  mustPush("d", {put("a", "1", 0)});
  ASSERT_TRUE(push("d", {}).isOk());
  EXPECT_EQ(pull("d").datasetSyncCount, 1);  // D unchanged

  proto::UpdateRecordsRequest rq;
  rq.datasetName = "d";
  rq.syncSessionToken = "garbage";
  EXPECT_EQ(service_->updateRecords(alice_, rq).status().code(), StatusCode::kInvalidArgument);
}

// ---- conflicts

TEST_P(SyncServiceTest, OneStalePatchRejectsTheWholeBatchAndWritesNothing) {
  mustPush("d", {put("a", "1", 0), put("b", "1", 0)});
  mustPush("d", {put("b", "2", 1)});
  auto before = pull("d");
  auto metaBefore = describe("d");
  ASSERT_TRUE(metaBefore.isOk());
  clock_.advanceMs(50);
  auto r = push("d", {put("a", "new", 1), put("b", "stale", 1), put("c", "new", 0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(r.status().message(), "Current SyncCount for: b is: 2 not: 1");
  auto after = pull("d");
  EXPECT_EQ(after.records, before.records);
  EXPECT_EQ(after.datasetSyncCount, 2);
  EXPECT_EQ(describe("d")->dataset, metaBefore->dataset);
}

TEST_P(SyncServiceTest, SyncCountAheadOfServerOrOnUnknownKeyIsAConflict) {
  mustPush("d", {put("a", "1", 0)});
  auto ahead = push("d", {put("a", "x", 5)});
  EXPECT_EQ(ahead.status().code(), StatusCode::kConflict);
  EXPECT_EQ(ahead.status().message(), "Current SyncCount for: a is: 1 not: 5");
  auto unknown = push("d", {put("zz", "x", 3)});
  EXPECT_EQ(unknown.status().code(), StatusCode::kConflict);
  EXPECT_EQ(unknown.status().message(), "Current SyncCount for: zz is: 0 not: 3");
  EXPECT_EQ(pull("d").datasetSyncCount, 1);
}

// ---- tombstones

TEST_P(SyncServiceTest, RemoveWritesATombstoneThatPullsReturnAndLimitsIgnore) {
  mustPush("d", {put("a", "12345", 0), put("b", "x", 0)});
  auto r = push("d", {del("a", 1)});
  ASSERT_TRUE(r.isOk()) << r.status();
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_FALSE(r->records[0].value.has_value());
  EXPECT_EQ(r->records[0].syncCount, 2);
  auto newer = pull("d", 1);
  ASSERT_EQ(newer.records.size(), 1u);
  EXPECT_EQ(newer.records[0].key, "a");
  EXPECT_TRUE(newer.records[0].isDeleted());
  auto all = pull("d", 0);
  EXPECT_EQ(all.records.size(), 2u);  // tombstones also for lastSyncCount 0
  auto meta = describe("d")->dataset;
  EXPECT_EQ(meta.numRecords, 1);
  EXPECT_EQ(meta.dataStorage, 2);
  // Re-adding the key uses the tombstone's sync count.
  EXPECT_EQ(push("d", {put("a", "back", 0)}).status().code(), StatusCode::kConflict);
  ASSERT_TRUE(push("d", {put("a", "back", 2)}).isOk());
  EXPECT_EQ(describe("d")->dataset.numRecords, 2);
}

TEST_P(SyncServiceTest, RemoveOfANeverSeenKeyIsAcceptedAsATombstone) {
  auto r = push("fresh", {del("ghost", 0)});
  ASSERT_TRUE(r.isOk()) << r.status();
  auto pulled = pull("fresh");
  EXPECT_TRUE(pulled.datasetExists);
  ASSERT_EQ(pulled.records.size(), 1u);
  EXPECT_TRUE(pulled.records[0].isDeleted());
  EXPECT_EQ(describe("fresh")->dataset.numRecords, 0);
  EXPECT_EQ(describe("fresh")->dataset.dataStorage, 0);
}

TEST_P(SyncServiceTest, ReplaceWithEmptyValueIsALiveRecord) {
  mustPush("d", {put("k", "", 0)});
  auto pulled = pull("d");
  ASSERT_EQ(pulled.records.size(), 1u);
  ASSERT_TRUE(pulled.records[0].value.has_value());
  EXPECT_EQ(describe("d")->dataset.numRecords, 1);
  EXPECT_EQ(describe("d")->dataset.dataStorage, 1);
}

// ---- delete + re-create

TEST_P(SyncServiceTest, DeleteReturnsMetadataBeforeDeletionAndDescribeThenFails) {
  const int64_t t0 = clock_.nowMs();
  mustPush("d", {put("a", "1", 0), put("b", "22", 0)});
  clock_.advanceMs(1000);
  auto del = remove("d");
  ASSERT_TRUE(del.isOk()) << del.status();
  EXPECT_EQ(del->dataset, (DatasetMetadata{"d", t0, t0, "device-1", 5, 2, 1}));
  EXPECT_EQ(describe("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(remove("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(remove("never").status().code(), StatusCode::kNotFound);
  proto::ListDatasetsRequest lrq;
  EXPECT_TRUE(service_->listDatasets(alice_, lrq)->datasets.empty());
}

TEST_P(SyncServiceTest, SyncCountStaysMonotonicAcrossDeleteAndRecreate) {
  mustPush("d", {put("a", "1", 0)});
  mustPush("d", {put("a", "2", 1)});  // D = 2
  ASSERT_TRUE(remove("d").isOk());   // deletion consumes 3

  auto gone = pull("d", 0);
  EXPECT_FALSE(gone.datasetExists);
  EXPECT_FALSE(gone.datasetDeletedAfterRequestedSyncCount);  // N = 0: nothing to invalidate
  EXPECT_EQ(gone.datasetSyncCount, 3);
  EXPECT_TRUE(gone.records.empty());
  EXPECT_TRUE(pull("d", 2).datasetDeletedAfterRequestedSyncCount);   // deletedAt 3 > 2
  EXPECT_FALSE(pull("d", 3).datasetDeletedAfterRequestedSyncCount);  // boundary: 3 > 3 false

  // Re-creation continues from D; old keys start over at 0.
  auto r = push("d", {put("a", "fresh", 0)});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->records[0].syncCount, 4);
  auto back = pull("d", 2);
  EXPECT_TRUE(back.datasetExists);
  EXPECT_TRUE(back.datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(back.datasetSyncCount, 4);
  ASSERT_EQ(back.records.size(), 1u);
  EXPECT_EQ(*back.records[0].value, "fresh");
  EXPECT_FALSE(pull("d", 3).datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(describe("d")->dataset.numRecords, 1);
  EXPECT_EQ(describe("d")->dataset.creationMs, clock_.nowMs());

  ASSERT_TRUE(remove("d").isOk());  // deletedAt = 5
  EXPECT_TRUE(pull("d", 4).datasetDeletedAfterRequestedSyncCount);
  EXPECT_EQ(pull("d", 0).datasetSyncCount, 5);
}

// ---- session tokens

TEST_P(SyncServiceTest, SessionTokenIsBoundToPoolIdentityDatasetAndExpiry) {
  mustPush("d", {put("a", "1", 0)});
  const std::string good = token("d");
  auto tryWith = [this](const Caller& who, const std::string& dataset, const std::string& tok) {
    proto::UpdateRecordsRequest rq;
    rq.datasetName = dataset;
    rq.syncSessionToken = tok;
    rq.patches = {put("z", "1", 0)};
    return service_->updateRecords(who, rq).status();
  };
  const std::string kMsg = "SyncSessionToken not valid for these inputs";
  Status s = tryWith(alice_, "d", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), kMsg);
  EXPECT_EQ(tryWith(alice_, "other", good).message(), kMsg);
  EXPECT_EQ(tryWith(bob_, "d", good).message(), kMsg);
  Caller otherPool{"local:00000000-0000-0000-0000-00000000bbbb", kAliceId, ""};
  EXPECT_EQ(tryWith(otherPool, "d", good).message(), kMsg);
  EXPECT_EQ(pull("d").datasetSyncCount, 1);  // none of those wrote

  clock_.advanceMs(FakeSessionTokens::kLifetimeMs - 1);
  EXPECT_TRUE(tryWith(alice_, "d", good).isOk());  // reusable within its lifetime
  clock_.advanceMs(1);
  EXPECT_EQ(tryWith(alice_, "d", good).message(), kMsg);
}

// ---- identity isolation

TEST_P(SyncServiceTest, IdentitiesNeverSeeEachOthersData) {
  mustPush("shared-name", {put("secret", "alice", 0)});
  auto bobView = pull("shared-name", 0, &bob_);
  EXPECT_FALSE(bobView.datasetExists);
  EXPECT_TRUE(bobView.records.empty());
  EXPECT_EQ(bobView.datasetSyncCount, 0);
  EXPECT_EQ(describe("shared-name", &bob_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(remove("shared-name", &bob_).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->listDatasets(bob_, {})->datasets.empty());
  EXPECT_EQ(service_->describeIdentityUsage(bob_)->datasetCount, 0);
  // Bob writing the same name creates his own dataset at count 1, with no conflict.
  auto r = push("shared-name", {put("secret", "bob", 0)}, &bob_);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->records[0].syncCount, 1);
  EXPECT_EQ(*snapshot("shared-name")["secret"], "alice");
  // Same identity id in another pool: separate data.
  Caller elsewhere{"local:00000000-0000-0000-0000-00000000cccc", kAliceId, ""};
  EXPECT_FALSE(pull("shared-name", 0, &elsewhere).datasetExists);
}

// ---- validation

TEST_P(SyncServiceTest, InvalidInputsAreRejectedAndWriteNothing) {
  mustPush("d", {put("a", "1", 0)});
  auto expectInvalid = [this](std::vector<RecordPatch> patches, std::string dataset = "d",
                              std::string device = "device-1") {
    auto r = push(dataset, std::move(patches), nullptr, std::move(device));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  };
  expectInvalid({put("", "v", 0)});                                // empty key
  expectInvalid({put(std::string(1025, 'k'), "v", 0)});           // key too long
  expectInvalid({put("bad\xFF", "v", 0)});                         // key not UTF-8
  expectInvalid({put("ok", "bad\xC0\x80", 0)});                    // overlong encoding
  expectInvalid({put("ok", "\xED\xA0\x80", 0)});                   // surrogate
  expectInvalid({put("ok", std::string(kMaxRecordValueChars + 1, 'v'), 0)});
  expectInvalid({put("ok", "v", -1)});                             // negative count
  expectInvalid({put("dup", "1", 0), put("dup", "2", 0)});         // duplicate key
  expectInvalid({put("dup", "1", 0), del("dup", 0)});
  RecordPatch weird = put("ok", "v", 0);
  weird.op = static_cast<PatchOp>(7);
  expectInvalid({weird});
  expectInvalid({put("ok", "v", 0)}, "d", std::string(257, 'x'));  // device id too long
  expectInvalid({put("ok", "v", 0)}, "d", "bad\xFF");
  EXPECT_EQ(pull("d").datasetSyncCount, 1);
  EXPECT_EQ(pull("d").records.size(), 1u);

  // Dataset names: every operation checks them.
  for (std::string bad : {std::string(), std::string(129, 'n'), std::string("has space"),
                          std::string("slash/"), std::string("\xC3\xA9")}) {
    proto::ListRecordsRequest lr;
    lr.datasetName = bad;
    EXPECT_EQ(service_->listRecords(alice_, lr).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(describe(bad).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(remove(bad).status().code(), StatusCode::kInvalidArgument);
    proto::UpdateRecordsRequest ur;
    ur.datasetName = bad;
    ur.syncSessionToken = tokens_.issue(kPool, kAliceId, bad, clock_.nowMs());
    ur.patches = {put("k", "v", 0)};
    EXPECT_EQ(service_->updateRecords(alice_, ur).status().code(), StatusCode::kInvalidArgument);
  }
  proto::ListRecordsRequest negative;
  negative.datasetName = "d";
  negative.lastSyncCount = -1;
  EXPECT_EQ(service_->listRecords(alice_, negative).status().code(), StatusCode::kInvalidArgument);

  // Caller IDs are checked too.
  Caller badPool{"nocolon", kAliceId, ""};
  Caller badIdentity{kPool, "local:UPPERCASE", ""};
  Caller badDevice{kPool, kAliceId, std::string(300, 'd')};
  for (const Caller* c : {&badPool, &badIdentity, &badDevice}) {
    EXPECT_EQ(service_->listDatasets(*c, {}).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(service_->describeIdentityUsage(*c).status().code(), StatusCode::kInvalidArgument);
    proto::ListRecordsRequest lr;
    lr.datasetName = "d";
    EXPECT_EQ(service_->listRecords(*c, lr).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_P(SyncServiceTest, LongMultibyteKeysAndMergedStyleNamesAreValid) {
  std::string key;
  for (int i = 0; i < 1024; ++i) key += "\xF0\x9F\x98\x80";  // 1024 chars, 4096 bytes
  ASSERT_TRUE(push("prefs.local:abc-123", {put(key, "v", 0)}).isOk());
  EXPECT_EQ(describe("prefs.local:abc-123")->dataset.dataStorage, 4097);
}

// ---- merged datasets

TEST_P(SyncServiceTest, MergedNamesAreReportedUntilTheMergedDatasetIsDeleted) {
  const OwnerRef alice{kPool, kAliceId};
  const std::string merged = std::string("prefs.") + kBobId;
  mustPush(merged, {put("k", "from-bob", 0)});
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(alice, "prefs", merged).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  // Reported even before "prefs" itself exists, and on later pulls.
  EXPECT_EQ(pull("prefs").mergedDatasetNames, (std::vector<std::string>{merged}));
  mustPush("prefs", {put("k", "mine", 0)});
  EXPECT_EQ(pull("prefs", 1).mergedDatasetNames, (std::vector<std::string>{merged}));
  EXPECT_TRUE(pull(merged).mergedDatasetNames.empty());
  EXPECT_TRUE(pull("prefs", 0, &bob_).mergedDatasetNames.empty());
  ASSERT_TRUE(remove(merged).isOk());
  EXPECT_TRUE(pull("prefs").mergedDatasetNames.empty());
}

// ---- conditional pushes (ifDatasetSyncCount, omitValues)

proto::UpdateRecordsRequest conditionalPush(const std::string& dataset, int64_t ifCount,
                                            std::vector<RecordPatch> patches, bool omitValues) {
  proto::UpdateRecordsRequest rq;
  rq.datasetName = dataset;
  rq.deviceId = "device-1";
  rq.patches = std::move(patches);
  rq.ifDatasetSyncCount = ifCount;
  rq.omitValues = omitValues;
  return rq;
}

TEST_P(SyncServiceTest, ConditionalPushNeedsNoTokenAndWritesOnlyAtTheStatedCount) {
  const int64_t t0 = clock_.nowMs();
  // A dataset never written is at 0.
  auto first = service_->updateRecords(alice_, conditionalPush("d", 0, {put("a", "1", 0)}, true));
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_TRUE(first->records.empty());  // omitValues: only the batch's fields
  EXPECT_EQ(first->syncCount, 1);
  EXPECT_EQ(first->lastModifiedMs, t0);
  EXPECT_EQ(first->lastModifiedBy, "device-1");
  // Without omitValues the records come back as with a token.
  auto second = service_->updateRecords(alice_, conditionalPush("d", 1, {put("b", "2", 0)}, false));
  ASSERT_TRUE(second.isOk()) << second.status();
  ASSERT_EQ(second->records.size(), 1u);
  EXPECT_EQ(second->records[0], (Record{"b", "2", 2, t0, "device-1", 5}));
  EXPECT_EQ(second->syncCount, 2);

  // Stale (another batch came in since 1) or ahead: refused, nothing written.
  auto before = pull("d");
  for (int64_t stale : {0, 1, 3}) {
    auto r = service_->updateRecords(alice_, conditionalPush("d", stale, {put("c", "3", 0)}, true));
    ASSERT_FALSE(r.isOk()) << stale;
    EXPECT_EQ(r.status().code(), StatusCode::kConflict) << stale;
    EXPECT_EQ(r.status().message(), "Dataset d is at SyncCount 2, not " + std::to_string(stale) +
                                        "; pull first");
  }
  EXPECT_EQ(pull("d").records, before.records);
  EXPECT_EQ(pull("d").datasetSyncCount, 2);
  // The record sync counts are still checked at the right dataset count.
  auto staleRecord = service_->updateRecords(alice_, conditionalPush("d", 2, {put("a", "x", 0)}, true));
  EXPECT_EQ(staleRecord.status().code(), StatusCode::kConflict);
  EXPECT_EQ(staleRecord.status().message(), "Current SyncCount for: a is: 1 not: 0");
  // A deletion consumes a count: a device that did not see it is refused too.
  ASSERT_TRUE(remove("d").isOk());
  EXPECT_EQ(service_->updateRecords(alice_, conditionalPush("d", 2, {put("a", "y", 1)}, true))
                .status().code(), StatusCode::kConflict);
  EXPECT_EQ(describe("d").status().code(), StatusCode::kNotFound);

  // Bad inputs: a count below -1, or a token that is present but wrong.
  EXPECT_EQ(service_->updateRecords(alice_, conditionalPush("e", -2, {put("a", "1", 0)}, true))
                .status().code(), StatusCode::kInvalidArgument);
  auto forged = conditionalPush("e", 0, {put("a", "1", 0)}, true);
  forged.syncSessionToken = "garbage";
  EXPECT_EQ(service_->updateRecords(alice_, forged).status().code(), StatusCode::kInvalidArgument);
  // -1 (the default) still requires a token.
  EXPECT_EQ(service_->updateRecords(alice_, conditionalPush("e", -1, {put("a", "1", 0)}, true))
                .status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(describe("e").status().code(), StatusCode::kNotFound);
}

TEST_P(SyncServiceTest, ConditionalPushIsRefusedWhileMergedDatasetsAreReported) {
  const OwnerRef alice{kPool, kAliceId};
  const std::string merged = std::string("prefs.") + kBobId;
  mustPush("prefs", {put("k", "mine", 0)});
  mustPush(merged, {put("k", "from-bob", 0)});
  {
    auto txn = store_->begin();
    ASSERT_TRUE(txn.isOk());
    ASSERT_TRUE((*txn)->addMergedDataset(alice, "prefs", merged).isOk());
    ASSERT_TRUE((*txn)->commit().isOk());
  }
  // The device is current on "prefs", but only a pull tells it about the merge.
  auto r = service_->updateRecords(alice_, conditionalPush("prefs", 1, {put("k", "x", 1)}, true));
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(pull("prefs").datasetSyncCount, 1);
  ASSERT_TRUE(remove(merged).isOk());
  EXPECT_TRUE(service_->updateRecords(alice_, conditionalPush("prefs", 1, {put("k", "x", 1)}, true)).isOk());
}

// ---- usage

TEST_P(SyncServiceTest, IdentityUsageSumsLiveDatasetsAndTracksLastChange) {
  auto empty = service_->describeIdentityUsage(alice_);
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(empty->identityId, kAliceId);
  EXPECT_EQ(empty->identityPoolId, kPool);
  EXPECT_EQ(empty->datasetCount, 0);
  EXPECT_EQ(empty->lastModifiedMs, 0);
  mustPush("a", {put("k", "123", 0)});          // 4 bytes
  clock_.advanceMs(100);
  mustPush("b", {put("kk", "12345678", 0)});    // 10 bytes
  mustPush("c", {put("x", "y", 0)});
  auto u = service_->describeIdentityUsage(alice_);
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->datasetCount, 3);
  EXPECT_EQ(u->dataStorage, 16);
  EXPECT_EQ(u->lastModifiedMs, clock_.nowMs());
  clock_.advanceMs(100);
  ASSERT_TRUE(remove("b").isOk());
  u = service_->describeIdentityUsage(alice_);
  EXPECT_EQ(u->datasetCount, 2);
  EXPECT_EQ(u->dataStorage, 6);
  EXPECT_EQ(u->lastModifiedMs, clock_.nowMs());  // the deletion is the latest change
}

}  // namespace
}  // namespace tether::server
