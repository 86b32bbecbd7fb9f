// The AWS JSON client of `tetherd import-cognito`; see aws_client.h.
#include "app/aws_client.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "cognito/sigv4.h"
#include "common/clock.h"

namespace tether::server {
namespace {

using Json = nlohmann::json;

std::string trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(a, b - a + 1));
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Error names AWS uses for "slow down": worth a retry after a wait.
bool throttling(std::string_view name) {
  return name == "TooManyRequestsException" || name == "LimitExceededException" || name == "ThrottlingException" ||
         name == "Throttling" || name == "RequestLimitExceeded" || name == "ServiceUnavailable" ||
         name == "RequestTimeout";
}

// The AWS error name of an error response: x-amzn-ErrorType (before ':'), else the body's __type
// (after the last '#') or code.
std::string errorName(const outbound::HttpResponse& r, const Json& body) {
  std::string name;
  if (const std::string* h = r.header("x-amzn-errortype")) name = h->substr(0, h->find(':'));
  if (name.empty() && body.is_object()) {
    for (const char* key : {"__type", "code", "Code"}) {
      auto it = body.find(key);
      if (it != body.end() && it->is_string()) {
        name = it->get<std::string>();
        break;
      }
    }
    if (size_t hash = name.rfind('#'); hash != std::string::npos) name = name.substr(hash + 1);
  }
  return name.empty() ? "HTTP " + std::to_string(r.status) : name;
}

std::string errorMessage(const Json& body) {
  if (!body.is_object()) return "";
  for (const char* key : {"message", "Message"}) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

}  // namespace

Result<cognito::AwsCredentials> parseCredentialsFile(std::string_view text, std::string_view profile) {
  cognito::AwsCredentials creds;
  bool inProfile = false, seen = false;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      if (t.back() != ']') return Status::invalidArgument("malformed section line: " + t);
      std::string name = trim(std::string_view(t).substr(1, t.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = trim(name.substr(8));  // the config file's spelling
      inProfile = name == profile;
      seen = seen || inProfile;
      continue;
    }
    if (!inProfile) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(std::string_view(t).substr(0, eq)), value = trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id") creds.accessKeyId = value;
    else if (key == "aws_secret_access_key") creds.secretAccessKey = value;
    else if (key == "aws_session_token") creds.sessionToken = value;
  }
  if (!seen) return Status::invalidArgument("no profile [" + std::string(profile) + "]");
  if (creds.accessKeyId.empty() || creds.secretAccessKey.empty())
    return Status::invalidArgument("profile [" + std::string(profile) +
                                   "] lacks aws_access_key_id or aws_secret_access_key");
  return creds;
}

Result<cognito::AwsCredentials> loadAwsCredentials() {
  const std::string key = envOr("AWS_ACCESS_KEY_ID", ""), secret = envOr("AWS_SECRET_ACCESS_KEY", "");
  if (!key.empty() || !secret.empty()) {
    if (key.empty() || secret.empty())
      return Status::invalidArgument("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    return cognito::AwsCredentials{key, secret, envOr("AWS_SESSION_TOKEN", "")};
  }
  const std::string profile = envOr("AWS_PROFILE", "default");
  const std::string home = envOr("HOME", "");
  const std::string file = envOr("AWS_SHARED_CREDENTIALS_FILE", home.empty() ? "" : home + "/.aws/credentials");
  std::ifstream in(file);
  if (file.empty() || !in)
    return Status::notFound("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put profile [" +
                            profile + "] in " + (file.empty() ? std::string("~/.aws/credentials") : file));
  std::stringstream text;
  text << in.rdbuf();
  Result<cognito::AwsCredentials> creds = parseCredentialsFile(text.str(), profile);
  if (!creds.isOk()) return Status::invalidArgument(file + ": " + creds.status().message());
  return creds;
}

Result<AwsEndpoints> awsEndpoints(const std::string& region, const std::string& override) {
  AwsEndpoints e;
  e.region = region;
  if (override.empty()) {
    e.identityUrl = "https://cognito-identity." + region + ".amazonaws.com";
    e.syncUrl = "https://cognito-sync." + region + ".amazonaws.com";
    return e;
  }
  std::string url = override;
  while (!url.empty() && url.back() == '/') url.pop_back();
  size_t scheme = url.find("://");
  if ((url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) || scheme + 3 >= url.size() ||
      url.find('/', scheme + 3) != std::string::npos)
    return Status::invalidArgument("--endpoint must be http(s)://host[:port], got '" + override + "'");
  e.identityUrl = e.syncUrl = url;
  return e;
}

AwsClient::AwsClient(AwsEndpoints endpoints, cognito::AwsCredentials credentials, RetryPolicy policy)
    : endpoints_(std::move(endpoints)), credentials_(std::move(credentials)), policy_(policy) {}

Result<Json> AwsClient::identity(std::string_view op, const Json& body) {
  return send(op, endpoints_.identityUrl, "cognito-identity", "POST", {}, {},
              {{"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", "AWSCognitoIdentityService." + std::string(op)}},
              body.dump());
}

Result<Json> AwsClient::syncGet(std::string_view op, const std::vector<std::string>& pathSegments,
                                const std::vector<std::pair<std::string, std::string>>& query) {
  return send(op, endpoints_.syncUrl, "cognito-sync", "GET", pathSegments, query, {}, "");
}

Result<Json> AwsClient::send(std::string_view op, const std::string& baseUrl, const std::string& service,
                             const std::string& method, const std::vector<std::string>& pathSegments,
                             const std::vector<std::pair<std::string, std::string>>& query,
                             std::vector<std::pair<std::string, std::string>> headers, const std::string& body) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string host = baseUrl.substr(baseUrl.find("://") + 3);
  std::string url = baseUrl + cognito::encodedPath(pathSegments);
  if (!query.empty()) url += "?" + cognito::canonicalQuery(query);
  SystemClock clock;
  std::string lastError;
  for (int attempt = 1;; ++attempt) {
    cognito::SignInput in{.method = method, .host = host, .pathSegments = pathSegments, .query = query,
                          .headers = headers, .body = body, .region = endpoints_.region, .service = service,
                          .nowMs = clock.nowMs()};
    outbound::HttpRequest request;
    request.method = method;
    request.url = url;
    request.headers = cognito::signRequest(in, credentials_);
    request.body = body;
    request.timeout = policy_.timeout;
    request.maxResponseBytes = 16 << 20;  // a ListRecords page of 1024 records of up to 1 MB in all
    request.caFile = endpoints_.caFile;
    requests_.fetch_add(1, std::memory_order_relaxed);
    outbound::HttpOutcome out = http_.send(request);
    bool retryable = false;
    if (!out.ok()) {
      retryable = out.failure == outbound::HttpFailure::kTimeout || out.failure == outbound::HttpFailure::kUnreachable;
      lastError = std::string(op) + ": " + std::string(outbound::httpFailureName(out.failure)) + ": " + out.error;
      if (!retryable) return Status::unavailable(lastError);
    } else {
      const outbound::HttpResponse& r = out.response;
      Json parsed = Json::parse(r.body.empty() ? std::string("{}") : r.body, nullptr, false);
      if (r.status / 100 == 2) {
        if (!parsed.is_object())
          return Status::protocolError(std::string(op) + ": the response is not a JSON object (HTTP " +
                                       std::to_string(r.status) + ", " + std::to_string(r.body.size()) + " bytes)");
        return parsed;
      }
      const std::string name = errorName(r, parsed);
      lastError = std::string(op) + ": " + name + " (HTTP " + std::to_string(r.status) + ")";
      if (std::string m = errorMessage(parsed); !m.empty()) lastError += ": " + m;
      retryable = throttling(name) || r.status == 429 || r.status >= 500;
      if (!retryable) {
        if (r.status == 401 || r.status == 403 || name.find("NotAuthorized") != std::string::npos ||
            name.find("AccessDenied") != std::string::npos || name.find("Signature") != std::string::npos ||
            name == "UnrecognizedClientException")
          return Status::permissionDenied(lastError);
        if (name == "ResourceNotFoundException") return Status::notFound(lastError);
        return Status::invalidArgument(lastError);
      }
    }
    if (attempt >= policy_.maxAttempts)
      return Status::unavailable(lastError + " (gave up after " + std::to_string(attempt) + " attempts)");
    const int64_t ceiling = std::min<int64_t>(policy_.cap.count(), policy_.base.count() << std::min(attempt - 1, 20));
    std::chrono::milliseconds wait{std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 1))(rng)};
    retries_.fetch_add(1, std::memory_order_relaxed);
    if (onRetry_) onRetry_(lastError, attempt, wait);
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace tether::server
