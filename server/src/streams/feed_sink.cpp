// See feed_sink.h.
#include "streams/feed_sink.h"

#include <charconv>

namespace tether::server::streams {

std::string feedFloorKey(std::string_view stream) { return "streams.feed-floor:" + std::string(stream); }

SinkDelivery FeedSink::deliver(std::span<const StreamRecord> records) {
  SinkDelivery out;
  out.delivered.assign(records.size(), false);
  std::vector<OutboxEntry> entries;
  entries.reserve(records.size());
  const int64_t now = clock_.nowMs();
  for (const StreamRecord& r : records)
    entries.push_back(OutboxEntry{0, stream_, r.poolId, r.identityId, r.dataset, now, r.json});
  const bool prune = now - lastPruneMs_ >= 1000;
  Status s = runWriteTransaction(store_, [&](StoreTransaction& txn) -> Status {
    TETHER_RETURN_IF_ERROR(txn.appendFeed(entries));
    if (prune) {
      TETHER_TRY(int64_t removed, txn.pruneFeed(stream_, now - retentionMs_));
      if (removed > 0) {
        TETHER_TRY(std::optional<std::string> floor, txn.getMeta(feedFloorKey(stream_)));
        int64_t old = 0;
        if (floor) std::from_chars(floor->data(), floor->data() + floor->size(), old);
        if (removed > old) TETHER_RETURN_IF_ERROR(txn.putMeta(feedFloorKey(stream_), std::to_string(removed)));
      }
    }
    return txn.commit();
  });
  if (!s.isOk()) {
    out.status = s;
    return out;
  }
  if (prune) lastPruneMs_ = now;
  out.delivered.assign(records.size(), true);
  if (appended_) appended_(stream_);
  return out;
}

}  // namespace tether::server::streams
