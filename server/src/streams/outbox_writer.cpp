// See outbox_writer.h.
#include "streams/outbox_writer.h"

#include <spdlog/spdlog.h>

#include "streams/stream_record.h"
#include "sync/pool_settings.h"
#include "sync/sync_service.h"

namespace tether::server::streams {

Result<std::string> OutboxWriter::streamOf(StoreTransaction& txn, std::string_view poolId) {
  TETHER_TRY(std::optional<std::string> text, txn.getMeta(poolConfigurationMetaKey(poolId)));
  Result<std::string> stream = enabledStreamOf(text);
  if (!stream.isOk())
    return Status::corruption("stored pool configuration of " + std::string(poolId) + " is not JSON");
  return stream;
}

Status OutboxWriter::append(StoreTransaction& txn, const Caller& writer, const std::string& stream,
                            const std::string& dataset, std::string json) {
  OutboxEntry e{0, stream, writer.poolId, writer.identityId, dataset, clock_.nowMs(), std::move(json)};
  Status s = txn.appendOutbox(e, maxRecords_);
  if (s.code() == StatusCode::kTooManyRequests) {
    refusedFull_++;
    int64_t now = clock_.nowMs();
    int64_t last = lastFullLogMs_.load();
    if (now - last >= 10000 && lastFullLogMs_.compare_exchange_strong(last, now))
      spdlog::warn("streams: outbox full ({} records): refusing writes of pools streaming into it until the "
                   "sinks catch up (tether_stream_outbox_refused_total)",
                   maxRecords_);
  } else if (s.isOk()) {
    written_++;
  }
  return s;
}

Status OutboxWriter::batchCommitting(StoreTransaction& txn, const Caller& writer, const DatasetRow& after,
                                     std::span<const Record> written) {
  TETHER_TRY(std::string stream, streamOf(txn, writer.poolId));
  if (stream.empty()) return Status::ok();
  return append(txn, writer, stream, after.name, batchRecordJson(writer.poolId, writer.identityId, after, written));
}

Status OutboxWriter::deletionCommitting(StoreTransaction& txn, const Caller& writer, const DatasetRow& after) {
  TETHER_TRY(std::string stream, streamOf(txn, writer.poolId));
  if (stream.empty()) return Status::ok();
  return append(txn, writer, stream, after.name, deletionRecordJson(writer.poolId, writer.identityId, after));
}

}  // namespace tether::server::streams
