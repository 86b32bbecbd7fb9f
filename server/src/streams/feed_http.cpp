// See feed_http.h.
#include "streams/feed_http.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include "cognito/cognito_http.h"
#include "cognito/sigv4.h"
#include "streams/feed_sink.h"

namespace tether::server::streams {
namespace {

constexpr std::string_view kPrefix = "/streams/";
constexpr std::string_view kSuffix = "/records";
constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
constexpr int64_t kMaxWaitSeconds = 30;
// Parked long-polls at most: past it a request that would wait gets 429 (each costs a reply
// callback and its connection; the connection caps bound them too).
constexpr size_t kMaxWaiters = 1000;
constexpr int kHubPollMs = 200;

HttpResponse error(int status, const std::string& type, const std::string& message, const HttpRequest* req = nullptr) {
  HttpResponse r = cognito::CognitoHttp::errorResponse(cognito::ApiError{status, type, message}, "application/json");
  if (req) cognito::CognitoHttp::addCommonHeaders(r, *req);
  return r;
}

bool parseInt(const std::string* text, int64_t lo, int64_t hi, int64_t& out) {
  if (text == nullptr) return true;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

FeedHttp::FeedHttp(Store& store, const cognito::RequestAuthenticator& auth, WorkPool& pool, const Clock& clock,
                   std::set<std::string> streams, HttpHandler* next)
    : store_(store), auth_(auth), pool_(pool), clock_(clock), streams_(std::move(streams)), next_(next) {
  hub_ = std::thread([this] { hubLoop(); });
}

FeedHttp::~FeedHttp() { stop(); }

void FeedHttp::stop() {
  std::vector<Waiter> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !hub_.joinable()) return;
    stop_ = true;
    left.swap(waiters_);
  }
  cv_.notify_all();
  if (hub_.joinable()) hub_.join();
  for (Waiter& w : left) w.reply(error(503, "ServiceUnavailableException", "tetherd is shutting down; retry"));
}

void FeedHttp::appended(const std::string& stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_.insert(stream);
  }
  cv_.notify_all();
}

void FeedHttp::handle(HttpRequest request, Reply reply) {
  if (!request.path.starts_with(kPrefix)) {
    if (next_) return next_->handle(std::move(request), std::move(reply));
    return reply(HttpResponse{404, "application/json", {}, R"({"message":"no such endpoint"})"});
  }
  pool_.post([this, req = std::move(request), reply = std::move(reply)]() mutable {
    std::string_view rest = std::string_view(req.path).substr(kPrefix.size());
    if (req.method != "GET" || !rest.ends_with(kSuffix) || rest.size() == kSuffix.size())
      return reply(error(404, "UnknownOperationException", "Use GET /streams/<name>/records", &req));
    std::string name(rest.substr(0, rest.size() - kSuffix.size()));
    cognito::ApiResult<cognito::Principal> who =
        auth_.authenticate(req, cognito::canonicalUri({"streams", name, "records"}), "cognito-sync");
    if (!who.isOk()) {
      HttpResponse r = cognito::CognitoHttp::errorResponse(who.error(), "application/json");
      cognito::CognitoHttp::addCommonHeaders(r, req);
      return reply(std::move(r));
    }
    if (!who->isDeveloper())
      return reply(error(403, "NotAuthorizedException", "The changes feed requires developer credentials.", &req));
    if (!streams_.count(name))
      return reply(error(404, "ResourceNotFoundException", "No changes feed for stream '" + name + "'.", &req));
    int64_t after = 0, limit = kDefaultLimit, wait = 0;
    if (!parseInt(req.queryParam("after"), 0, INT64_MAX, after) ||
        !parseInt(req.queryParam("limit"), 1, kMaxLimit, limit) ||
        !parseInt(req.queryParam("wait"), 0, kMaxWaitSeconds, wait))
      return reply(error(400, "InvalidParameterException",
                         "after must be a position >= 0, limit 1-1000, wait 0-30 (seconds)", &req));
    serve(name, after, static_cast<int>(limit), wait > 0 ? clock_.nowMs() + wait * 1000 : 0, std::move(reply));
  });
}

void FeedHttp::serve(const std::string& stream, int64_t after, int limit, int64_t deadlineMs, Reply reply) {
  Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead();
  if (!txn.isOk()) return reply(error(503, "ServiceUnavailableException", "the store is unavailable; retry"));
  StoreTransaction& t = **txn;
  Result<std::optional<std::string>> floorText = t.getMeta(feedFloorKey(stream));
  Result<int64_t> last = t.lastFeedPosition(stream);
  if (!floorText.isOk() || !last.isOk()) return reply(error(503, "ServiceUnavailableException", "the store is unavailable; retry"));
  int64_t floor = 0;
  if (*floorText) std::from_chars((*floorText)->data(), (*floorText)->data() + (*floorText)->size(), floor);
  if (after < floor)
    return reply(error(410, "ExpiredCursorException",
                       "Cursor " + std::to_string(after) + " is older than the feed's retention window: records up to " +
                           std::to_string(floor) + " were dropped. Start again from " + std::to_string(floor) +
                           " (a full re-read: BulkPublish) or a later cursor."));
  if (after > *last)
    return reply(error(400, "InvalidParameterException",
                       "Cursor " + std::to_string(after) + " is past the end of the feed (" + std::to_string(*last) + ")."));
  if (after == *last && deadlineMs > clock_.nowMs()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_ && waiters_.size() < kMaxWaiters) {
        waiters_.push_back(Waiter{stream, after, limit, deadlineMs, std::move(reply)});
        return;
      }
    }
    return reply(error(429, "TooManyRequestsException", "Too many long-polls waiting; retry"));
  }
  Result<std::vector<OutboxEntry>> rows = t.listFeed(stream, after, limit);
  if (!rows.isOk()) return reply(error(503, "ServiceUnavailableException", "the store is unavailable; retry"));
  std::string body = "{\"records\":[";
  int64_t cursor = after;
  for (size_t i = 0; i < rows->size(); ++i) {
    const OutboxEntry& e = (*rows)[i];
    if (i > 0) body += ',';
    body += "{\"position\":" + std::to_string(e.seq) + ",\"record\":" + e.json + "}";
    cursor = e.seq;
  }
  body += "],\"cursor\":" + std::to_string(cursor) + "}";
  reply(HttpResponse{200, "application/json", {}, std::move(body)});
}

void FeedHttp::hubLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(kHubPollMs), [this] { return stop_ || !dirty_.empty(); });
    if (stop_) break;
    dirty_.clear();
    if (waiters_.empty()) continue;
    std::set<std::string> names;
    for (const Waiter& w : waiters_) names.insert(w.stream);
    lock.unlock();
    // The last position of each watched stream: another node's deliveries show up here.
    std::map<std::string, int64_t> lastOf;
    if (Result<std::unique_ptr<StoreTransaction>> txn = store_.beginRead(); txn.isOk()) {
      for (const std::string& n : names)
        if (Result<int64_t> last = (*txn)->lastFeedPosition(n); last.isOk()) lastOf[n] = *last;
    }
    const int64_t now = clock_.nowMs();
    lock.lock();
    std::vector<Waiter> ready;
    for (size_t i = 0; i < waiters_.size();) {
      Waiter& w = waiters_[i];
      auto it = lastOf.find(w.stream);
      if ((it != lastOf.end() && it->second > w.after) || now >= w.deadlineMs) {
        ready.push_back(std::move(w));
        waiters_[i] = std::move(waiters_.back());
        waiters_.pop_back();
      } else {
        ++i;
      }
    }
    lock.unlock();
    for (Waiter& w : ready)
      pool_.post([this, w = std::move(w)]() mutable { serve(w.stream, w.after, w.limit, 0, std::move(w.reply)); });
    lock.lock();
  }
}

}  // namespace tether::server::streams
