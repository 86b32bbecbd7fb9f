// See config_streams.h. toml++ nodes only; parseConfig() (config.cpp) catches toml++'s
// exceptions for the whole file.
#include "auth/config_streams_parse.h"

#include <set>
#include <sstream>

namespace tether::server {
namespace {

class Ck {
 public:
  explicit Ck(std::string_view source) : source_(source) {}
  Status error(const toml::node& at, const std::string& what) const {
    return Status::invalidArgument(std::string(source_) + ":" + std::to_string(at.source().begin.line) + ":" +
                                   std::to_string(at.source().begin.column) + ": " + what);
  }
  Status unknownKey(const toml::key& key, const std::string& path) const {
    return Status::invalidArgument(std::string(source_) + ":" + std::to_string(key.source().begin.line) + ":" +
                                   std::to_string(key.source().begin.column) + ": unknown key '" + path +
                                   "' (check the spelling; see docs/config.md)");
  }
  Result<std::string> string(const toml::node& n, const std::string& path) const {
    const auto* s = n.as_string();
    if (s == nullptr) return error(n, path + " must be a string");
    return s->get();
  }
  Result<int64_t> integer(const toml::node& n, const std::string& path, int64_t lo, int64_t hi) const {
    const auto* i = n.as_integer();
    if (i == nullptr) return error(n, path + " must be an integer");
    if (i->get() < lo || i->get() > hi)
      return error(n, path + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return i->get();
  }

 private:
  std::string_view source_;
};

Status parseOutbox(const Ck& ck, const toml::table& t, StreamsConfig& out) {
  for (auto&& [key, node] : t) {
    const std::string path = "outbox." + std::string(key.str());
    if (key == "max_records") {
      TETHER_TRY(out.maxRecords, ck.integer(node, path, 1, int64_t{100000000}));
    } else if (key == "retry_initial_ms") {
      TETHER_TRY(int64_t v, ck.integer(node, path, 10, 600000));
      out.retryInitialMs = static_cast<int>(v);
    } else if (key == "retry_max_ms") {
      TETHER_TRY(int64_t v, ck.integer(node, path, 10, 3600000));
      out.retryMaxMs = static_cast<int>(v);
    } else if (key == "poll_interval_ms") {
      TETHER_TRY(int64_t v, ck.integer(node, path, 10, 60000));
      out.pollIntervalMs = static_cast<int>(v);
    } else {
      return ck.unknownKey(key, path);
    }
  }
  if (out.retryMaxMs < out.retryInitialMs)
    return ck.error(t, "outbox.retry_max_ms must not be less than outbox.retry_initial_ms");
  return Status::ok();
}

Status parseStream(const Ck& ck, const toml::node& element, const std::filesystem::path& baseDir,
                   StreamConfig& s) {
  const toml::table* t = element.as_table();
  if (t == nullptr) return ck.error(element, "streams must be an array of tables ([[streams]])");
  const toml::node* kinesis = nullptr;
  for (auto&& [key, node] : *t) {
    const std::string path = "streams." + std::string(key.str());
    if (key == "name") {
      TETHER_TRY(s.name, ck.string(node, path));
      if (s.name.empty() || s.name.size() > 128) return ck.error(node, "streams.name must be 1-128 characters");
    } else if (key == "sink") {
      TETHER_TRY(s.sink, ck.string(node, path));
      if (s.sink != "webhook" && s.sink != "feed" && s.sink != "kinesis")
        return ck.error(node, "streams.sink must be \"webhook\", \"feed\" or \"kinesis\"");
    } else if (key == "url") {
      TETHER_TRY(s.webhook.url, ck.string(node, path));
      if (!s.webhook.url.starts_with("http://") && !s.webhook.url.starts_with("https://"))
        return ck.error(node, "streams.url must start with http:// or https://");
    } else if (key == "hmac_secret") {
      TETHER_TRY(s.webhook.hmacSecret, ck.string(node, path));
    } else if (key == "batch_size") {
      TETHER_TRY(int64_t v, ck.integer(node, path, 1, 500));
      s.webhook.batchSize = static_cast<int>(v);
    } else if (key == "timeout_ms") {
      TETHER_TRY(int64_t v, ck.integer(node, path, 100, 60000));
      s.webhook.timeoutMs = static_cast<int>(v);
    } else if (key == "ca_file") {
      TETHER_TRY(std::string f, ck.string(node, path));
      std::filesystem::path p(f);
      if (p.is_relative() && !baseDir.empty()) p = baseDir / p;
      s.webhook.caFile = p.lexically_normal().string();
    } else if (key == "retention_seconds") {
      TETHER_TRY(s.feed.retentionSeconds, ck.integer(node, path, 1, int64_t{30} * 86400));
    } else if (key == "kinesis") {
      if (node.as_table() == nullptr) return ck.error(node, "streams.kinesis must be a table ([streams.kinesis])");
      kinesis = &node;
    } else {
      return ck.unknownKey(key, path);
    }
  }
  if (s.name.empty()) return ck.error(element, "a [[streams]] entry needs name");
  if (s.sink.empty()) return ck.error(element, "stream " + s.name + " needs sink");
  // Keys of one sink given to another are mistakes, not options to ignore.
  const bool webhookKeys = !s.webhook.url.empty() || !s.webhook.hmacSecret.empty() || !s.webhook.caFile.empty() ||
                           s.webhook.batchSize != WebhookSinkConfig{}.batchSize ||
                           s.webhook.timeoutMs != WebhookSinkConfig{}.timeoutMs;
  if (s.sink != "webhook" && webhookKeys)
    return ck.error(element, "stream " + s.name + ": url, hmac_secret, batch_size, timeout_ms and ca_file "
                             "belong to sink = \"webhook\"");
  if (s.sink == "webhook" && s.webhook.url.empty())
    return ck.error(element, "stream " + s.name + ": sink = \"webhook\" needs url");
  if (s.sink != "feed" && s.feed.retentionSeconds != FeedSinkConfig{}.retentionSeconds)
    return ck.error(element, "stream " + s.name + ": retention_seconds belongs to sink = \"feed\"");
  if ((s.sink == "kinesis") != (kinesis != nullptr))
    return ck.error(element, "stream " + s.name + ": [streams.kinesis] is required with sink = \"kinesis\" "
                             "and allowed only with it");
  if (kinesis != nullptr) {
    std::ostringstream text;
    text << *kinesis->as_table();
    s.kinesisToml = text.str();
  }
  return Status::ok();
}

}  // namespace

bool isStreamsConfigKey(std::string_view key) { return key == "streams" || key == "outbox"; }

Status parseStreamsConfig(std::string_view source, std::string_view key, const toml::node& node,
                          const std::filesystem::path& baseDir, StreamsConfig& out) {
  Ck ck(source);
  if (key == "outbox") {
    const toml::table* t = node.as_table();
    if (t == nullptr) return ck.error(node, "outbox must be a table ([outbox])");
    return parseOutbox(ck, *t, out);
  }
  const toml::array* list = node.as_array();
  if (list == nullptr) return ck.error(node, "streams must be an array of tables ([[streams]])");
  std::set<std::string> names;
  for (const toml::node& element : *list) {
    StreamConfig s;
    TETHER_RETURN_IF_ERROR(parseStream(ck, element, baseDir, s));
    if (!names.insert(s.name).second) return ck.error(element, "stream " + s.name + " is configured twice");
    out.streams.push_back(std::move(s));
  }
  return Status::ok();
}

}  // namespace tether::server
