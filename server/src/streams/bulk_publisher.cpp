// See bulk_publisher.h.
#include "streams/bulk_publisher.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "streams/outbox_writer.h"
#include "streams/stream_record.h"
#include "sync/pool_settings.h"

namespace tether::server::streams {
namespace {

constexpr const char* kPrefix = "cognito.bulk-publish:";
// Identities per step and job: a step is short, so the publisher's deliveries interleave.
constexpr int kIdentitiesPerStep = 25;

// The stream the pool streams into now ("" = disabled), read in `txn`.
Result<std::string> currentStream(StoreTransaction& txn, std::string_view poolId) {
  TETHER_TRY(std::optional<std::string> text, txn.getMeta(poolConfigurationMetaKey(poolId)));
  Result<std::string> stream = enabledStreamOf(text);
  return stream.isOk() ? *stream : std::string();  // unreadable: as disabled
}

}  // namespace

bool BulkPublisher::step() {
  Result<std::vector<std::pair<std::string, std::string>>> jobs = store_.listMeta(kPrefix);
  if (!jobs.isOk()) return false;
  bool more = false;
  int64_t running = 0;
  for (const auto& [key, value] : *jobs) {
    BulkPublishState s = decodeBulkPublish(value);
    if (s.status != "IN_PROGRESS") continue;
    running++;
    Outcome o = advance(key.substr(std::string_view(kPrefix).size()), s);
    more = more || o == Outcome::kMore;
  }
  running_.store(running);
  return more;
}

Status BulkPublisher::finish(const std::string& poolId, const BulkPublishState& seen, const std::string& status,
                             const std::string& message) {
  const std::string key = bulkPublishKey(poolId);
  return runWriteTransaction(store_, [&](StoreTransaction& txn) -> Status {
    TETHER_TRY(std::optional<std::string> text, txn.getMetaForUpdate(key));
    BulkPublishState s = decodeBulkPublish(text);
    if (s.status != "IN_PROGRESS" || s.startMs != seen.startMs) return Status::ok();  // not ours any more
    s.status = status;
    s.completeMs = clock_.nowMs();
    s.failureMessage = message;
    TETHER_RETURN_IF_ERROR(txn.putMeta(key, encodeBulkPublish(s)));
    TETHER_RETURN_IF_ERROR(txn.commit());
    if (status == "SUCCEEDED") {
      succeeded_++;
      spdlog::info("streams: bulk publish of pool {} succeeded ({} records to stream {})", poolId, s.published, s.stream);
    } else {
      failed_++;
      spdlog::warn("streams: bulk publish of pool {} failed: {}", poolId, message);
    }
    return Status::ok();
  });
}

BulkPublisher::Outcome BulkPublisher::advance(const std::string& poolId, const BulkPublishState& seen) {
  Result<std::vector<IdentityInfo>> ids = store_.listIdentities(poolId, seen.cursor, kIdentitiesPerStep);
  if (!ids.isOk()) {
    spdlog::warn("streams: bulk publish of pool {}: cannot list identities: {}", poolId, ids.status().message());
    return Outcome::kWait;
  }
  if (ids->empty()) {
    (void)finish(poolId, seen, "SUCCEEDED", "");
    return Outcome::kDone;
  }
  const std::string key = bulkPublishKey(poolId);
  for (const IdentityInfo& identity : *ids) {
    std::string failure;
    int64_t appended = 0;
    Status s = runWriteTransaction(store_, [&](StoreTransaction& txn) -> Status {
      appended = 0;
      failure.clear();
      TETHER_TRY(std::optional<std::string> text, txn.getMetaForUpdate(key));
      BulkPublishState st = decodeBulkPublish(text);
      if (st.status != "IN_PROGRESS" || st.startMs != seen.startMs) return Status::cancelled("job ended");
      TETHER_TRY(std::string stream, currentStream(txn, poolId));
      if (stream != st.stream) {
        failure = stream.empty() ? "Cognito Streams was disabled for the pool during the bulk publish."
                                 : "The pool's stream was renamed during the bulk publish.";
        return Status::cancelled(failure);
      }
      OwnerRef owner{poolId, identity.id};
      if (!identity.disabled) {
        TETHER_TRY(std::vector<DatasetRow> datasets, txn.listDatasets(owner, DatasetFilter::kLiveOnly, "", 1024));
        for (const DatasetRow& d : datasets) {
          // Every record page (tombstones are skipped but may be many).
          std::vector<Record> live;
          RecordQuery q;
          for (;;) {
            TETHER_TRY(std::vector<Record> page, txn.listRecords(owner, d.name, q));
            if (page.empty()) break;
            q.after = RecordCursor{page.back().syncCount, page.back().key};
            const bool last = static_cast<int>(page.size()) < q.limit;
            for (Record& r : page)
              if (r.value) live.push_back(std::move(r));
            if (last) break;
          }
          OutboxEntry e{0, st.stream, poolId, identity.id, d.name, clock_.nowMs(),
                        batchRecordJson(poolId, identity.id, d, live)};
          // Half the bound: live writes keep the other half.
          TETHER_RETURN_IF_ERROR(txn.appendOutbox(e, std::max<int64_t>(1, maxOutbox_ / 2)));
          appended++;
        }
      }
      st.cursor = identity.id;
      st.published += appended;
      TETHER_RETURN_IF_ERROR(txn.putMeta(key, encodeBulkPublish(st)));
      return txn.commit();
    });
    if (!failure.empty()) {
      (void)finish(poolId, seen, "FAILED", failure);
      return Outcome::kDone;
    }
    if (s.code() == StatusCode::kCancelled) return Outcome::kDone;
    if (s.code() == StatusCode::kTooManyRequests) return Outcome::kWait;  // paced: the sinks catch up first
    if (!s.isOk()) {
      spdlog::warn("streams: bulk publish of pool {} at identity {}: {}", poolId, identity.id, s.message());
      return Outcome::kWait;
    }
    published_ += appended;
  }
  return Outcome::kMore;
}

}  // namespace tether::server::streams
