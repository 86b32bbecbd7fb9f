#include "streams/kinesis_sink.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

namespace tether::server::streams {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kTargetPutRecords = "Kinesis_20131202.PutRecords";
constexpr std::chrono::milliseconds kThrottlePause{1000};

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// "https://host:port/path" -> {"https", "host:port"}; nullopt when it is not a URL we accept.
std::optional<std::pair<std::string, std::string>> schemeAndHost(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  std::string host(rest.substr(0, rest.find('/')));
  if (host.empty()) return std::nullopt;
  return std::make_pair(std::move(scheme), std::move(host));
}

// The error name of an AWS JSON 1.1 error answer (x-amzn-ErrorType or __type, "ns#Name" -> Name).
std::string awsErrorName(const outbound::HttpResponse& r) {
  std::string name;
  if (const std::string* h = r.header("x-amzn-errortype")) name = *h;
  if (name.empty()) {
    Json body = Json::parse(r.body, nullptr, false);
    if (body.is_object() && body.contains("__type") && body["__type"].is_string()) name = body["__type"];
  }
  if (size_t hash = name.find('#'); hash != std::string::npos) name = name.substr(hash + 1);
  if (size_t colon = name.find(':'); colon != std::string::npos) name = name.substr(0, colon);
  return name;
}

bool isThrottle(std::string_view error) {
  return error == "ProvisionedThroughputExceededException" || error == "LimitExceededException" ||
         error == "ThrottlingException";
}

template <class T>
Status readKey(const toml::table& t, std::string_view key, T& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status();
  if constexpr (std::is_same_v<T, std::string>) {
    if (!n->is_string()) return Status::invalidArgument("streams.kinesis." + std::string(key) + " must be a string");
    out = n->value<std::string>().value();
  } else {
    if (!n->is_integer()) return Status::invalidArgument("streams.kinesis." + std::string(key) + " must be an integer");
    out = n->value<int64_t>().value();
  }
  return Status();
}

Status checkKeys(const toml::table& t, std::initializer_list<std::string_view> allowed, std::string_view where) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
      return Status::invalidArgument("unknown key " + std::string(where) + "." + std::string(k.str()));
  }
  return Status();
}

}  // namespace

Result<KinesisSinkOptions> kinesisOptionsFromToml(const toml::table& t, std::string_view cognitoStreamName) {
  TETHER_RETURN_IF_ERROR(checkKeys(t, {"stream_name", "region", "endpoint", "access_key_id", "secret_access_key",
                                       "session_token", "ca_file", "timeout_ms", "s3"},
                                   "streams.kinesis"));
  KinesisSinkOptions o;
  o.streamName = std::string(cognitoStreamName);
  TETHER_RETURN_IF_ERROR(readKey(t, "stream_name", o.streamName));
  TETHER_RETURN_IF_ERROR(readKey(t, "region", o.region));
  TETHER_RETURN_IF_ERROR(readKey(t, "endpoint", o.endpoint));
  TETHER_RETURN_IF_ERROR(readKey(t, "access_key_id", o.credentials.accessKeyId));
  TETHER_RETURN_IF_ERROR(readKey(t, "secret_access_key", o.credentials.secretAccessKey));
  TETHER_RETURN_IF_ERROR(readKey(t, "session_token", o.credentials.sessionToken));
  TETHER_RETURN_IF_ERROR(readKey(t, "ca_file", o.caFile));
  int64_t timeoutMs = o.timeout.count();
  TETHER_RETURN_IF_ERROR(readKey(t, "timeout_ms", timeoutMs));
  if (timeoutMs < 100 || timeoutMs > 120000)
    return Status::invalidArgument("streams.kinesis.timeout_ms must be 100..120000");
  o.timeout = std::chrono::milliseconds(timeoutMs);
  if (o.streamName.empty() || o.streamName.size() > 128)
    return Status::invalidArgument("streams.kinesis.stream_name must be 1-128 characters");
  if (o.region.empty()) return Status::invalidArgument("streams.kinesis.region must not be empty");
  if (o.endpoint.empty()) o.endpoint = "https://kinesis." + o.region + ".amazonaws.com";
  if (!schemeAndHost(o.endpoint))
    return Status::invalidArgument("streams.kinesis.endpoint must be an http:// or https:// URL");
  if (o.credentials.accessKeyId.empty() || o.credentials.secretAccessKey.empty())
    return Status::invalidArgument("streams.kinesis needs access_key_id and secret_access_key");
  if (const toml::node* s3node = t.get("s3")) {
    const toml::table* s3t = s3node->as_table();
    if (s3t == nullptr) return Status::invalidArgument("streams.kinesis.s3 must be a table");
    TETHER_RETURN_IF_ERROR(checkKeys(*s3t, {"bucket", "endpoint", "region", "prefix", "access_key_id",
                                            "secret_access_key", "session_token", "url_expiry_seconds"},
                                     "streams.kinesis.s3"));
    S3Options s3;
    s3.region = o.region;
    s3.credentials = o.credentials;
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "bucket", s3.bucket));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "endpoint", s3.endpoint));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "region", s3.region));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "prefix", s3.prefix));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "access_key_id", s3.credentials.accessKeyId));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "secret_access_key", s3.credentials.secretAccessKey));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "session_token", s3.credentials.sessionToken));
    TETHER_RETURN_IF_ERROR(readKey(*s3t, "url_expiry_seconds", s3.urlExpirySeconds));
    if (s3.bucket.empty()) return Status::invalidArgument("streams.kinesis.s3.bucket must not be empty");
    if (s3.urlExpirySeconds < 60 || s3.urlExpirySeconds > 7 * 24 * 3600)
      return Status::invalidArgument("streams.kinesis.s3.url_expiry_seconds must be 60..604800 (S3's limit)");
    if (s3.endpoint.empty()) s3.endpoint = "https://s3." + s3.region + ".amazonaws.com";
    if (!schemeAndHost(s3.endpoint))
      return Status::invalidArgument("streams.kinesis.s3.endpoint must be an http:// or https:// URL");
    o.s3 = std::move(s3);
  }
  return o;
}

KinesisSink::KinesisSink(KinesisSinkOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

outbound::HttpOutcome KinesisSink::post(const std::string& host, const std::string& url, const std::string& target,
                                        const std::string& body) {
  cognito::SignInput in{.method = "POST", .host = host, .body = body, .region = options_.region,
                        .service = "kinesis", .nowMs = clock_.nowMs()};
  in.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", target}};
  outbound::HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = cognito::signRequest(in, options_.credentials);
  request.body = body;
  request.timeout = options_.timeout;
  request.caFile = options_.caFile;
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  return http_.send(request);
}

Result<std::string> KinesisSink::uploadToS3(const StreamRecord& record) {
  const S3Options& s3 = *options_.s3;
  auto [scheme, host] = *schemeAndHost(s3.endpoint);
  Json full = Json::parse(record.json, nullptr, false);
  const std::string body = full.is_object() && full.contains("kinesisSyncRecords")
                               ? full["kinesisSyncRecords"].dump()
                               : std::string("[]");
  const std::string key = s3.prefix + record.poolId + "/" + record.identityId + "/" + record.dataset + "/" +
                          std::to_string(record.seq) + ".json";
  cognito::SignInput in{.method = "PUT", .host = host, .pathSegments = {s3.bucket}, .body = body,
                        .region = s3.region, .service = "s3", .nowMs = clock_.nowMs(), .s3 = true};
  // The key's '/' separate path segments (S3 keeps them in the key).
  std::string_view rest = key;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    in.pathSegments.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  in.headers = {{"Content-Type", "application/json"}};
  outbound::HttpRequest request;
  request.method = "PUT";
  request.url = scheme + "://" + host + cognito::encodedPath(in.pathSegments);
  request.headers = cognito::signRequest(in, s3.credentials);
  request.body = body;
  request.timeout = options_.timeout;
  request.caFile = options_.caFile;
  outbound::HttpOutcome out = http_.send(request);
  if (!out.ok()) return Status::unavailable("S3 upload: " + out.error);
  if (out.response.status / 100 != 2)
    return Status::unavailable("S3 upload: HTTP " + std::to_string(out.response.status));
  cognito::SignInput get = in;
  get.method = "GET";
  get.headers.clear();
  get.body = "";
  return cognito::presignGetUrl(scheme, get, s3.credentials, s3.urlExpirySeconds);
}

Result<std::vector<std::string>> KinesisSink::piecesOf(const StreamRecord& record) {
  const size_t limit = options_.maxRecordBytes - std::min(options_.maxRecordBytes, record.identityId.size());
  if (record.json.size() <= limit) return std::vector<std::string>{record.json};

  Json envelope = Json::parse(record.json, nullptr, false);
  if (!envelope.is_object() || !envelope.contains("kinesisSyncRecords") || !envelope["kinesisSyncRecords"].is_array()) {
    stats_.undeliverable.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("stream {}: record {} of {}/{} is {} bytes and not a splittable stream record; skipped",
                  record.streamName, record.seq, record.identityId, record.dataset, record.json.size());
    return std::vector<std::string>{};
  }
  if (options_.s3) {
    TETHER_TRY(std::string url, uploadToS3(record));
    envelope.erase("kinesisSyncRecords");
    envelope["kinesisSyncRecordsURL"] = url;
    envelope["payloadType"] = "S3Url";
    stats_.viaS3.fetch_add(1, std::memory_order_relaxed);
    return std::vector<std::string>{envelope.dump()};
  }

  // Split: consecutive slices of kinesisSyncRecords under copies of the envelope.
  Json items = std::move(envelope["kinesisSyncRecords"]);
  envelope["kinesisSyncRecords"] = Json::array();
  const size_t envelopeBytes = envelope.dump().size();  // includes "[]"
  std::vector<std::string> pieces;
  std::string slice;
  auto flush = [&] {
    if (slice.empty()) return;
    std::string text = envelope.dump();
    const size_t at = text.find("\"kinesisSyncRecords\":[]");
    text.insert(at + std::string_view("\"kinesisSyncRecords\":[").size(), slice);
    pieces.push_back(std::move(text));
    slice.clear();
  };
  for (const Json& item : items) {
    std::string one = item.dump();
    if (envelopeBytes + one.size() > limit) {
      stats_.undeliverable.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("stream {}: record {} of {}/{}: synced record '{}' alone is {} bytes, over Kinesis's limit; "
                    "the stream record is skipped (configure streams.kinesis.s3 to publish such records)",
                    record.streamName, record.seq, record.identityId, record.dataset,
                    item.value("key", std::string()), one.size());
      return std::vector<std::string>{};
    }
    if (envelopeBytes + slice.size() + (slice.empty() ? 0 : 1) + one.size() > limit) flush();
    if (!slice.empty()) slice.push_back(',');
    slice += one;
  }
  flush();
  stats_.split.fetch_add(1, std::memory_order_relaxed);
  return pieces;
}

SinkDelivery KinesisSink::deliver(std::span<const StreamRecord> records) {
  SinkDelivery out;
  out.delivered.assign(records.size(), false);
  auto [scheme, host] = *schemeAndHost(options_.endpoint);
  const std::string url = options_.endpoint;

  // Every stream record becomes one or more Kinesis records ("pieces"), sent in requests within
  // Kinesis's count and size limits. A stream record is delivered when all its pieces are.
  struct Pending {
    size_t record;  // index into `records`
    std::string data;
  };
  std::vector<Pending> pending;
  std::vector<int> missing(records.size(), 0);  // pieces of each record not yet accepted
  for (size_t i = 0; i < records.size(); ++i) {
    Result<std::vector<std::string>> pieces = piecesOf(records[i]);
    if (!pieces.isOk()) {
      out.status = pieces.status();
      missing[i] = -1;  // never delivered in this call
      continue;
    }
    if (pieces->empty()) {
      out.delivered[i] = true;  // undeliverable: skipped, logged and counted (see header)
      continue;
    }
    missing[i] = static_cast<int>(pieces->size());
    for (std::string& p : *pieces) pending.push_back({i, std::move(p)});
  }

  size_t next = 0;
  while (next < pending.size()) {
    // One PutRecords call.
    Json list = Json::array();
    size_t bytes = 0;
    size_t end = next;
    while (end < pending.size() && list.size() < options_.maxRequestRecords) {
      const StreamRecord& r = records[pending[end].record];
      const size_t size = pending[end].data.size() + r.identityId.size();
      if (!list.empty() && bytes + size > options_.maxRequestBytes) break;
      list.push_back({{"Data", base64(pending[end].data)}, {"PartitionKey", r.identityId}});
      bytes += size;
      ++end;
    }
    const Json body = {{"StreamName", options_.streamName}, {"Records", std::move(list)}};
    outbound::HttpOutcome sent = post(host, url, std::string(kTargetPutRecords), body.dump());
    if (!sent.ok()) {
      stats_.failed.fetch_add(1, std::memory_order_relaxed);
      out.status = Status::unavailable("Kinesis PutRecords: " + sent.error);
      break;  // the endpoint is unreachable: the rest waits for the publisher's backoff
    }
    const outbound::HttpResponse& reply = sent.response;
    if (reply.status != 200) {
      const std::string error = awsErrorName(reply);
      if (reply.status == 429 || isThrottle(error)) {
        stats_.throttled.fetch_add(1, std::memory_order_relaxed);
        out.retryAfter = kThrottlePause;
        out.status = Status::tooManyRequests("Kinesis throttled PutRecords: " + (error.empty() ? "HTTP 429" : error));
      } else {
        stats_.failed.fetch_add(1, std::memory_order_relaxed);
        out.status = Status::unavailable("Kinesis PutRecords: HTTP " + std::to_string(reply.status) +
                                         (error.empty() ? "" : " " + error));
      }
      break;
    }
    Json answer = Json::parse(reply.body, nullptr, false);
    const Json* results = answer.is_object() && answer.contains("Records") && answer["Records"].is_array()
                              ? &answer["Records"]
                              : nullptr;
    if (results == nullptr || results->size() != end - next) {
      stats_.failed.fetch_add(1, std::memory_order_relaxed);
      out.status = Status::protocolError("Kinesis PutRecords: unexpected answer");
      break;
    }
    for (size_t k = 0; k < results->size(); ++k) {
      const Json& one = (*results)[k];
      const size_t i = pending[next + k].record;
      if (one.contains("ErrorCode") && !one["ErrorCode"].is_null()) {
        const std::string code = one["ErrorCode"].is_string() ? one["ErrorCode"].get<std::string>() : "";
        if (isThrottle(code)) {
          stats_.throttled.fetch_add(1, std::memory_order_relaxed);
          out.retryAfter = kThrottlePause;
          out.status = Status::tooManyRequests("Kinesis throttled records: " + code);
        } else {
          stats_.failed.fetch_add(1, std::memory_order_relaxed);
          out.status = Status::unavailable("Kinesis refused a record: " + code);
        }
        missing[i] = -1;
      } else {
        stats_.recordsPut.fetch_add(1, std::memory_order_relaxed);
        if (missing[i] > 0) --missing[i];
      }
    }
    next = end;
  }
  for (size_t i = 0; i < records.size(); ++i)
    if (missing[i] == 0) out.delivered[i] = true;
  return out;
}

std::string KinesisSink::metricsText() const {
  std::ostringstream m;
  const std::string label = "{stream=\"" + options_.streamName + "\"}";
  auto counter = [&](std::string_view name, std::string_view help, const std::atomic<uint64_t>& v) {
    m << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
      << name << label << " " << v.load(std::memory_order_relaxed) << "\n";
  };
  counter("tether_stream_kinesis_requests_total", "PutRecords calls made.", stats_.requests);
  counter("tether_stream_kinesis_records_put_total", "Kinesis records accepted (slices count one each).",
          stats_.recordsPut);
  counter("tether_stream_kinesis_throttled_total", "Calls or records Kinesis refused for throughput.",
          stats_.throttled);
  counter("tether_stream_kinesis_failed_total", "Calls or records that failed otherwise (network, 5xx, errors).",
          stats_.failed);
  counter("tether_stream_kinesis_split_total", "Stream records over 1 MiB sent as several slices.", stats_.split);
  counter("tether_stream_kinesis_s3_total", "Stream records over 1 MiB sent as S3Url.", stats_.viaS3);
  counter("tether_stream_kinesis_undeliverable_total",
          "Stream records skipped: one synced record alone over Kinesis's limit and no S3 bucket.",
          stats_.undeliverable);
  return m.str();
}

}  // namespace tether::server::streams
