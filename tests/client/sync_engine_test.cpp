// SyncEngine through the public Client/Dataset API against the in-memory fake server: every
// branch of spec 4.2 (conflict resolutions, deleted dataset, merged datasets, retries
// exhausted, callback stops, edit during sync), identity, offline, pending delete, paging.
#include "sync/sync_engine.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "test_util.h"

namespace tether::client::testing {
namespace {

// Every case runs twice: against a server without conditional pushes (pull, then push with
// the pull's session token) and against one with them (push first, pull only when refused).
class SyncEngineTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = makeTempDir("sync_engine");
    server_ = std::make_shared<FakeServer>();
    server_->setConditionalPush(GetParam());
    a_ = TestDevice::open(server_, dir_ + "/a.db", clock_.fn(), "", "device-a");
    ASSERT_TRUE(a_);
    auto id = a_->client->getIdentityId();
    ASSERT_TRUE(id.isOk()) << id.status();
    id_ = *id;
    b_ = TestDevice::open(server_, dir_ + "/b.db", clock_.fn(), id_, "device-b");
    ASSERT_TRUE(b_);
  }

  static Result<std::vector<Record>> sync(Dataset& ds, SyncCallbacks cb = {}) {
    return ds.synchronizeAndWait(std::move(cb), std::chrono::seconds(20));
  }

  ManualClock clock_;
  std::string dir_;
  std::shared_ptr<FakeServer> server_;
  std::unique_ptr<TestDevice> a_, b_;
  std::string id_;
};

TEST_P(SyncEngineTest, FirstSyncGetsIdentityOnceAndReparentsUnknownData) {
  auto fresh = TestDevice::open(server_, dir_ + "/fresh.db", clock_.fn());
  EXPECT_EQ(fresh->client->identityId(), "");
  auto ds = fresh->dataset("prefs");
  ASSERT_TRUE(ds->put("theme", "dark").isOk());  // before any identity: under "unknown"
  auto other = fresh->dataset("other");
  // Two datasets syncing at once must not mint two identities.
  std::atomic<int> done{0};
  SyncCallbacks cb;
  cb.onSuccess = [&](Dataset&, const std::vector<Record>&) { ++done; };
  cb.onFailure = [&](Dataset&, const Status& s) { ADD_FAILURE() << s; ++done; };
  ASSERT_TRUE(ds->synchronize(cb).isOk());
  ASSERT_TRUE(other->synchronize(cb).isOk());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(done, 2);
  EXPECT_EQ(fresh->remote->getIdCalls(), 1);
  std::string id = fresh->client->identityId();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(server_->liveValues(id, "prefs"), (std::map<std::string, std::string>{{"theme", "dark"}}));
  EXPECT_FALSE(*ds->isChanged("theme"));
}

TEST_P(SyncEngineTest, TwoDevicesConverge) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(da->put("lang", "en").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_FALSE(*da->isChanged("theme"));
  EXPECT_EQ(*da->lastSyncCount(), 1);

  auto db = b_->dataset("prefs");
  auto updated = sync(*db);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_EQ(updated->size(), 2u);
  EXPECT_EQ(*db->get("theme"), "dark");
  ASSERT_TRUE(db->remove("lang").isOk());
  ASSERT_TRUE(sync(*db).isOk());
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_EQ(*da->get("lang"), std::nullopt);
  auto all = da->getAllRecords();
  ASSERT_EQ(all->size(), 2u);  // the tombstone is kept
  EXPECT_EQ(*da->getAll(), (std::map<std::string, std::string>{{"theme", "dark"}}));
  EXPECT_EQ(server_->liveValues(id_, "prefs"), *db->getAll());
}

// Sets up one conflicting key: A pushed "a-value" (remote), B edited "b-value" offline.
class ConflictTest : public SyncEngineTest {
 protected:
  void SetUp() override {
    SyncEngineTest::SetUp();
    da_ = a_->dataset("prefs");
    db_ = b_->dataset("prefs");
    ASSERT_TRUE(da_->put("k", "base").isOk());
    ASSERT_TRUE(da_->put("same", "x").isOk());
    ASSERT_TRUE(sync(*da_).isOk());
    ASSERT_TRUE(sync(*db_).isOk());
    clock_.advance(10);
    ASSERT_TRUE(da_->put("k", "a-value").isOk());
    ASSERT_TRUE(da_->put("same", "y").isOk());
    ASSERT_TRUE(sync(*da_).isOk());
    clock_.advance(10);
    ASSERT_TRUE(db_->put("k", "b-value").isOk());
    ASSERT_TRUE(db_->put("same", "y").isOk());  // same value on both sides: no conflict
  }
  Result<std::vector<Record>> syncB(std::function<void(std::vector<SyncConflict>&)> resolve,
                                    SyncAction action = SyncAction::kContinue) {
    SyncCallbacks cb;
    cb.onConflict = [this, resolve, action](Dataset&, std::vector<SyncConflict>& cs) {
      seen_.clear();
      for (auto& c : cs) seen_.push_back(c.key());
      if (resolve) resolve(cs);
      return action;
    };
    return sync(*db_, cb);
  }
  std::shared_ptr<Dataset> da_, db_;
  std::vector<std::string> seen_;
};

TEST_P(ConflictTest, ResolveWithRemote) {
  ASSERT_TRUE(syncB([](auto& cs) {
    EXPECT_EQ(cs[0].local().value, "b-value");
    EXPECT_EQ(cs[0].remote().value, "a-value");
    cs[0].resolveWithRemoteRecord();
  }).isOk());
  EXPECT_EQ(seen_, std::vector<std::string>{"k"});
  EXPECT_EQ(*db_->get("k"), "a-value");
  EXPECT_FALSE(*db_->isChanged("k"));
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "a-value");
}

TEST_P(ConflictTest, ResolveWithLocal) {
  ASSERT_TRUE(syncB([](auto& cs) { cs[0].resolveWithLocalRecord(); }).isOk());
  EXPECT_EQ(*db_->get("k"), "b-value");
  EXPECT_FALSE(*db_->isChanged("k"));
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "b-value");
  ASSERT_TRUE(sync(*da_).isOk());
  EXPECT_EQ(*da_->get("k"), "b-value");
}

TEST_P(ConflictTest, ResolveWithNewValueOrRemoval) {
  ASSERT_TRUE(syncB([](auto& cs) { cs[0].resolveWithValue("merged"); }).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "merged");
  EXPECT_EQ(*db_->get("k"), "merged");
  // Removal as a resolution.
  clock_.advance(10);
  ASSERT_TRUE(sync(*da_).isOk());
  ASSERT_TRUE(da_->put("k", "a2").isOk());
  ASSERT_TRUE(sync(*da_).isOk());
  ASSERT_TRUE(db_->put("k", "b2").isOk());
  ASSERT_TRUE(syncB([](auto& cs) { cs[0].resolveWithValue(std::nullopt); }).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs").count("k"), 0u);
  EXPECT_EQ(*db_->get("k"), std::nullopt);
}

TEST_P(ConflictTest, AndroidStyleResolveThroughDataset) {
  ASSERT_TRUE(syncB([this](auto& cs) {
    cs[0].resolveWithLocalRecord();
    std::vector<SyncConflict> copy = cs;
    cs[0] = SyncConflict(cs[0].remote(), cs[0].local());  // handler leaves it "unresolved" here
    ASSERT_TRUE(db_->resolve(copy).isOk());
  }).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "b-value");
}

TEST_P(ConflictTest, DefaultIsLastWriterWins) {
  // B's edit is later (clock advanced), so B wins without a handler.
  ASSERT_TRUE(sync(*db_).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "b-value");
}

TEST_P(ConflictTest, LastWriterWinsRemoteLaterAndTieBreak) {
  Record local{"k", std::string("aaa"), 1, 0, "x", 100};
  Record remote{"k", std::string("bbb"), 2, 0, "y", 200};
  EXPECT_FALSE(SyncConflict::localWinsLastWriterWins(local, remote));
  EXPECT_TRUE(SyncConflict::localWinsLastWriterWins(remote, local));
  remote.deviceLastModifiedMs = 100;  // tie: the greater value wins, from both sides
  EXPECT_FALSE(SyncConflict::localWinsLastWriterWins(local, remote));
  EXPECT_TRUE(SyncConflict::localWinsLastWriterWins(remote, local));
  Record removed{"k", std::nullopt, 2, 0, "y", 100};
  EXPECT_TRUE(SyncConflict::localWinsLastWriterWins(local, removed));
  EXPECT_FALSE(SyncConflict::localWinsLastWriterWins(removed, local));
}

TEST_P(ConflictTest, StopLeavesEverythingAsItWas) {
  int64_t before = *db_->lastSyncCount();
  auto r = syncB(nullptr, SyncAction::kStop);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(*db_->get("k"), "b-value");
  EXPECT_TRUE(*db_->isChanged("k"));
  EXPECT_EQ(*db_->lastSyncCount(), before);
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "a-value");
}

TEST_P(SyncEngineTest, DatasetDeletedOnServer) {
  auto da = a_->dataset("prefs");
  auto db = b_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  ASSERT_TRUE(sync(*db).isOk());
  ASSERT_TRUE(da->remove().isOk());
  EXPECT_EQ(*da->lastSyncCount(), -1);
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_FALSE(server_->dataset(id_, "prefs")->live);
  EXPECT_TRUE(a_->client->listDatasets()->empty());

  // B first says stop: nothing changes locally.
  SyncCallbacks stop;
  std::string deletedName;
  stop.onDatasetDeleted = [&](Dataset&, const std::string& n) { deletedName = n; return SyncAction::kStop; };
  auto r = sync(*db, stop);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(deletedName, "prefs");
  EXPECT_EQ(*db->get("k"), "v");
  // Then accepts (the default): the local copy is dropped.
  ASSERT_TRUE(sync(*db).isOk());
  EXPECT_EQ(*db->get("k"), std::nullopt);
  EXPECT_TRUE(b_->client->listDatasets()->empty());
}

TEST_P(SyncEngineTest, UnpushedEditsSurviveRemoteDeletion) {
  auto da = a_->dataset("prefs");
  auto db = b_->dataset("prefs");
  ASSERT_TRUE(da->put("synced", "1").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  ASSERT_TRUE(sync(*db).isOk());
  ASSERT_TRUE(db->put("offline-edit", "keep me").isOk());
  ASSERT_TRUE(da->remove().isOk());
  ASSERT_TRUE(sync(*da).isOk());
  std::string deleted;
  SyncCallbacks cb;
  cb.onDatasetDeleted = [&](Dataset&, const std::string& n) { deleted = n; return SyncAction::kContinue; };
  ASSERT_TRUE(sync(*db, cb).isOk());
  EXPECT_EQ(deleted, "prefs");
  // The synced record went with the deletion; the unpushed edit re-created the dataset.
  EXPECT_EQ(*db->getAll(), (std::map<std::string, std::string>{{"offline-edit", "keep me"}}));
  EXPECT_EQ(server_->liveValues(id_, "prefs"), *db->getAll());
  EXPECT_FALSE(*db->isChanged("offline-edit"));
}

TEST_P(SyncEngineTest, LocalOnlyDatasetDeleteIgnoresNotFound) {
  auto da = a_->dataset("scratch");
  ASSERT_TRUE(da->put("k", "v").isOk());
  ASSERT_TRUE(da->remove().isOk());
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_FALSE(server_->dataset(id_, "scratch"));
}

TEST_P(SyncEngineTest, PutAfterDeleteRecreatesDataset) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("old", "1").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  ASSERT_TRUE(da->remove().isOk());
  ASSERT_TRUE(da->put("new", "2").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs"), (std::map<std::string, std::string>{{"new", "2"}}));
  EXPECT_EQ(*da->getAll(), (std::map<std::string, std::string>{{"new", "2"}}));
}

TEST_P(SyncEngineTest, MergedDatasetsReportedAndStoppable) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  std::string merged = "prefs.local:00000000-0000-4000-8000-0000000000ff";
  server_->setMergedNames(id_, "prefs", {merged});
  std::vector<std::string> names;
  SyncCallbacks cb;
  cb.onDatasetsMerged = [&](Dataset&, const std::vector<std::string>& n) { names = n; return SyncAction::kStop; };
  ASSERT_TRUE(da->put("k", "v2").isOk());
  auto r = sync(*da, cb);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(names, std::vector<std::string>{merged});
  EXPECT_TRUE(*da->isChanged("k"));
  // Continue (default): the sync goes on.
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "v2");
}

TEST_P(SyncEngineTest, UnknownDataJoinsKnownIdentity) {
  // Data written before any identity in a cache then opened with a known identity (--identity):
  // it is re-parented and merged into that identity's dataset on the next sync.
  auto dev = TestDevice::open(server_, dir_ + "/c.db", clock_.fn());
  ASSERT_TRUE(dev->dataset("prefs")->put("mine", "1").isOk());
  dev.reset();
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  auto again = TestDevice::open(server_, dir_ + "/c.db", clock_.fn(), id_);
  EXPECT_EQ(again->client->identityId(), id_);
  auto ds = again->dataset("prefs");
  ASSERT_TRUE(sync(*ds).isOk());
  EXPECT_EQ(*ds->getAll(), (std::map<std::string, std::string>{{"k", "v"}, {"mine", "1"}}));
  EXPECT_EQ(server_->liveValues(id_, "prefs"), *ds->getAll());
  EXPECT_EQ(again->remote->getIdCalls(), 0);
}

TEST_P(SyncEngineTest, LocalMergedDatasetsReported) {
  // A "<name>.<identity id>" dataset left locally by an identity merge makes "<name>" report it.
  auto da = a_->dataset("prefs");
  std::string merged = "prefs.local:00000000-0000-4000-8000-0000000000aa";
  ASSERT_TRUE(a_->dataset(merged)->put("old", "1").isOk());
  ASSERT_TRUE(da->put("k", "v").isOk());
  std::vector<std::string> names;
  SyncCallbacks cb;
  cb.onDatasetsMerged = [&](Dataset&, const std::vector<std::string>& n) { names = n; return SyncAction::kStop; };
  EXPECT_EQ(sync(*da, cb).status().code(), StatusCode::kCancelled);
  EXPECT_EQ(names, std::vector<std::string>{merged});
  EXPECT_FALSE(server_->dataset(id_, "prefs"));  // stopped before anything was sent
  // Reconcile and delete the merged copy: the notice stops.
  ASSERT_TRUE(a_->dataset(merged)->remove().isOk());
  ASSERT_TRUE(sync(*a_->dataset(merged)).isOk());
  names.clear();
  ASSERT_TRUE(sync(*da, cb).isOk());
  EXPECT_TRUE(names.empty());
}

TEST_P(SyncEngineTest, RetriesExhausted) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  a_->remote->failNextUpdatesWithConflict(100);
  auto r = sync(*da);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_TRUE(*da->isChanged("k"));
  a_->remote->failNextUpdatesWithConflict(0);
  ASSERT_TRUE(sync(*da).isOk());
}

TEST_P(SyncEngineTest, ConflictRetryRewindsAndSucceeds) {
  auto da = a_->dataset("prefs");
  auto db = b_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "1").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  ASSERT_TRUE(sync(*db).isOk());
  // Another device writes between B's pull and push: B's push is rejected, B re-pulls.
  ASSERT_TRUE(db->put("k", "b").isOk());
  bool injected = false;
  std::vector<std::string> conflicts;
  // With conditional pushes B does not pull first: the write lands just before its push.
  const std::string when = GetParam() ? "updateRecords" : "listRecords";
  const auto phaseOf = GetParam() ? FakeRemote::Phase::kBefore : FakeRemote::Phase::kAfter;
  b_->remote->setHook([&](const std::string& op, FakeRemote::Phase phase) {
    if (op == when && phase == phaseOf && !injected) {
      injected = true;
      clock_.advance(1);
      server_->remoteWrite(id_, "prefs", "k", std::string("other"), clock_.now->load() + 1000);
    }
  });
  SyncCallbacks cb;
  cb.onConflict = [&](Dataset&, std::vector<SyncConflict>& cs) {
    for (auto& c : cs) conflicts.push_back(c.key());
    return SyncAction::kContinue;  // LWW: "other" is later
  };
  auto r = sync(*db, cb);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(conflicts, std::vector<std::string>{"k"});
  EXPECT_EQ(*db->get("k"), "other");
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "other");
}

TEST_P(SyncEngineTest, EditDuringPushStaysDirtyAndIsPushedNextTime) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  a_->remote->setHook([&](const std::string& op, FakeRemote::Phase phase) {
    if (op == "updateRecords" && phase == FakeRemote::Phase::kBefore) {
      clock_.advance(1);
      ASSERT_TRUE(da->put("theme", "light").isOk());  // lands while the push is in flight
    }
  });
  ASSERT_TRUE(sync(*da).isOk());
  a_->remote->setHook(nullptr);
  EXPECT_TRUE(*da->isChanged("theme"));
  EXPECT_EQ(*da->get("theme"), "light");
  EXPECT_EQ(server_->liveValues(id_, "prefs")["theme"], "dark");
  int conflicts = 0;
  SyncCallbacks cb;
  cb.onConflict = [&](Dataset&, std::vector<SyncConflict>&) { ++conflicts; return SyncAction::kContinue; };
  ASSERT_TRUE(sync(*da, cb).isOk());
  EXPECT_EQ(conflicts, 0);  // our own push is not a conflict with ourselves
  EXPECT_FALSE(*da->isChanged("theme"));
  EXPECT_EQ(server_->liveValues(id_, "prefs")["theme"], "light");
}

TEST_P(SyncEngineTest, EditDuringPullIsNotOverwritten) {
  auto da = a_->dataset("prefs");
  auto db = b_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "from-a").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  b_->remote->setHook([&](const std::string& op, FakeRemote::Phase phase) {
    if (op == "listRecords" && phase == FakeRemote::Phase::kAfter) {
      clock_.advance(1);
      ASSERT_TRUE(db->put("k", "from-b").isOk());  // after the server answered the pull
    }
  });
  ASSERT_TRUE(sync(*db).isOk());
  b_->remote->setHook(nullptr);
  // The pulled value did not overwrite the edit; it was pushed after a conflict round (LWW:
  // B's edit is later), or stays dirty for the next sync. Either way it is not lost.
  EXPECT_EQ(*db->get("k"), "from-b");
  ASSERT_TRUE(sync(*db).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "from-b");
}

TEST_P(SyncEngineTest, OfflineFailsFastAndTouchesNothing) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  auto before = *da->getAllRecords();
  a_->remote->setOnline(false);
  auto start = std::chrono::steady_clock::now();
  auto r = sync(*da);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(r.status().isRetryable());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(*da->getAllRecords(), before);
  EXPECT_EQ(*da->lastSyncCount(), 0);
  ASSERT_TRUE(da->put("k2", "offline write").isOk());  // local writes keep working
  a_->remote->setOnline(true);
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_EQ(server_->liveValues(id_, "prefs").size(), 2u);
}

TEST_P(SyncEngineTest, SyncsOfOneDatasetNeverOverlap) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  std::mutex mu;
  std::vector<std::string> ops;
  a_->remote->setHook([&](const std::string& op, FakeRemote::Phase phase) {
    if (phase == FakeRemote::Phase::kBefore && op != "authenticate") {
      std::lock_guard lock(mu);
      ops.push_back(op);
    }
  });
  std::atomic<int> done{0};
  SyncCallbacks cb;
  cb.onSuccess = [&](Dataset& ds, const std::vector<Record>&) {
    (void)ds.put("k", "v" + std::to_string(done.load() + 2));  // each sync leaves an edit
    ++done;
  };
  cb.onFailure = [&](Dataset&, const Status& s) { ADD_FAILURE() << s; ++done; };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(da->synchronize(cb).isOk());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(done, 3);
  std::lock_guard lock(mu);
  // Each sync is a complete pull -> push before the next starts (with conditional pushes a
  // device that stays current never needs the pull).
  if (GetParam())
    EXPECT_EQ(ops, (std::vector<std::string>{"updateRecords", "updateRecords", "updateRecords"}));
  else
    EXPECT_EQ(ops, (std::vector<std::string>{"listRecords", "updateRecords", "listRecords",
                                             "updateRecords", "listRecords", "updateRecords"}));
}

TEST_P(SyncEngineTest, PagedPull) {
  auto dev = TestDevice::open(server_, dir_ + "/paged.db", clock_.fn(), id_, "paged",
                              SyncEngineOptions{3, 7});
  auto da = a_->dataset("big");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(da->put("k" + std::to_string(i), "v").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  auto ds = dev->dataset("big");
  auto r = sync(*ds);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->size(), 50u);
  EXPECT_EQ(ds->getAll()->size(), 50u);
  EXPECT_EQ(*ds->lastSyncCount(), 1);
}

TEST_P(SyncEngineTest, ServerLimitRefusalIsReported) {
  // The fake server refuses a 21st dataset; the local store only knows its own datasets.
  for (int i = 0; i < 20; ++i) server_->remoteWrite(id_, "s" + std::to_string(i), "k", std::string("v"), 1);
  auto da = a_->dataset("one-too-many");
  ASSERT_TRUE(da->put("k", "v").isOk());
  auto r = sync(*da);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(*da->isChanged("k"));
}

TEST_P(SyncEngineTest, RefreshDatasetMetadataListsRemoteDatasets) {
  server_->remoteWrite(id_, "elsewhere", "k", std::string("v"), 1);
  ASSERT_TRUE(a_->client->refreshDatasetMetadata().isOk());
  auto list = a_->client->listDatasets();
  ASSERT_TRUE(list.isOk());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "elsewhere");
}

TEST_P(SyncEngineTest, ClosedClientCancels) {
  auto da = a_->dataset("prefs");
  a_->client.reset();
  EXPECT_EQ(da->synchronize({}).code(), StatusCode::kCancelled);
  EXPECT_TRUE(da->put("k", "still works locally").isOk());
}

// Conditional pushes only: what they save, and that being refused costs nothing but a pull.
class ConditionalPushTest : public SyncEngineTest {};

TEST_P(ConditionalPushTest, CurrentDeviceSyncsInOneRoundTrip) {
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("theme", "dark").isOk());
  ASSERT_TRUE(da->put("lang", "en").isOk());
  ASSERT_TRUE(sync(*da).isOk());  // a new dataset: the server is at 0, as is the device
  ASSERT_TRUE(da->put("theme", "light").isOk());
  ASSERT_TRUE(da->remove("lang").isOk());
  server_->setNowMs(1'800'000'000'000);
  ASSERT_TRUE(sync(*da).isOk());
  EXPECT_EQ(server_->listCalls(), 0);
  EXPECT_EQ(server_->updateCalls(), 2);
  EXPECT_EQ(server_->conditionalRefusals(), 0);
  EXPECT_EQ(*da->lastSyncCount(), 2);
  // The reply carried no values: the local rows are what was sent, with the batch's fields.
  auto all = da->getAllRecords();
  ASSERT_TRUE(all.isOk());
  ASSERT_EQ(all->size(), 2u);
  for (const LocalRecord& lr : *all) {
    EXPECT_FALSE(lr.dirty) << lr.record.key;
    EXPECT_EQ(lr.record.syncCount, 2) << lr.record.key;
    EXPECT_EQ(lr.record.lastModifiedBy, "device-a") << lr.record.key;
    EXPECT_EQ(lr.record.lastModifiedMs, 1'800'000'000'000) << lr.record.key;
  }
  EXPECT_EQ(*da->get("theme"), "light");
  EXPECT_EQ(server_->liveValues(id_, "prefs"), (std::map<std::string, std::string>{{"theme", "light"}}));
  // B, behind, pulls both batches and agrees.
  auto db = b_->dataset("prefs");
  ASSERT_TRUE(sync(*db).isOk());
  EXPECT_EQ(*db->getAll(), *da->getAll());
}

TEST_P(ConditionalPushTest, DeviceBehindIsRefusedThenPullsAndPushes) {
  auto da = a_->dataset("prefs");
  auto db = b_->dataset("prefs");
  ASSERT_TRUE(da->put("a", "1").isOk());
  ASSERT_TRUE(sync(*da).isOk());
  ASSERT_TRUE(db->put("b", "2").isOk());  // B never pulled: the server is ahead of it
  auto r = sync(*db);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(server_->conditionalRefusals(), 1);
  EXPECT_EQ(server_->listCalls(), 1);
  EXPECT_EQ(*db->getAll(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(server_->liveValues(id_, "prefs"), *db->getAll());
  EXPECT_FALSE(*db->isChanged("b"));
  EXPECT_EQ(*db->lastSyncCount(), 2);
  // Now B is current: its next edit goes straight through.
  ASSERT_TRUE(db->put("b", "3").isOk());
  ASSERT_TRUE(sync(*db).isOk());
  EXPECT_EQ(server_->conditionalRefusals(), 1);
  EXPECT_EQ(server_->listCalls(), 1);
}

TEST_P(ConditionalPushTest, ServerWithoutItAfterAnnouncingFallsBackToPull) {
  // The client remembers a helloAck that announced it, but its request reaches a server that
  // wants a session token (invalidArgument): the sync still completes the old way.
  server_->setConditionalPush(false);
  a_->remote->announceConditionalPush(true);
  auto da = a_->dataset("prefs");
  ASSERT_TRUE(da->put("k", "v").isOk());
  auto r = sync(*da);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(server_->listCalls(), 1);
  EXPECT_EQ(server_->updateCalls(), 2);
  EXPECT_EQ(server_->liveValues(id_, "prefs")["k"], "v");
  EXPECT_FALSE(*da->isChanged("k"));
}

INSTANTIATE_TEST_SUITE_P(Push, ConditionalPushTest, ::testing::Values(true),
                         [](const auto&) { return "Conditional"; });
INSTANTIATE_TEST_SUITE_P(Push, SyncEngineTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Conditional" : "AfterPull"; });
INSTANTIATE_TEST_SUITE_P(Push, ConflictTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Conditional" : "AfterPull"; });

}  // namespace
}  // namespace tether::client::testing
