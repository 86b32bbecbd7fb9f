// AwsClient: the small AWS JSON client `tetherd import-cognito` reads a Cognito pool with. It
// calls the Cognito Identity JSON 1.1 API (POST /, X-Amz-Target) and the Cognito Sync REST API
// (GET with path and query), SigV4-signed with cognito/sigv4_signer.h, over
// outbound/http_client.h, and retries what AWS says is worth retrying: TooManyRequestsException,
// LimitExceededException and the other throttling names, HTTP 429 and 5xx, timeouts and
// connection failures, with exponential backoff and full jitter, a bounded number of times. Every
// other error is returned at once as a Status whose message names the operation, the AWS error
// name, the HTTP status and AWS's message.
//
// Credentials come from where the AWS CLI and SDKs look (loadAwsCredentials): the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the profile AWS_PROFILE
// (default "default") of the shared credentials file AWS_SHARED_CREDENTIALS_FILE (default
// ~/.aws/credentials, INI).
//
// Threading: one AwsClient per thread (it owns an HttpClient); the counters are atomic so another
// thread may read them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cognito/sigv4_signer.h"
#include "outbound/http_client.h"
#include "tether/status.h"

namespace tether::server {

// The environment first, then the profile file. kNotFound naming both places when neither has a
// key pair; kInvalidArgument for a profile file without the named profile or a half key pair.
Result<cognito::AwsCredentials> loadAwsCredentials();

// Parses an INI credentials file's text for one profile (exposed for tests).
Result<cognito::AwsCredentials> parseCredentialsFile(std::string_view text, std::string_view profile);

struct AwsEndpoints {
  std::string region;
  std::string identityUrl;  // "https://cognito-identity.R.amazonaws.com" (scheme://host[:port])
  std::string syncUrl;      // "https://cognito-sync.R.amazonaws.com"
  std::string caFile;       // PEM bundle to trust instead of the system's; empty = system
};

// The AWS endpoints of a region, or `override` (scheme://host[:port], one tetherd) for both.
// kInvalidArgument for a URL that is not http(s)://host.
Result<AwsEndpoints> awsEndpoints(const std::string& region, const std::string& override);

struct RetryPolicy {
  int maxAttempts = 8;                       // first try included
  std::chrono::milliseconds base{100};       // backoff before retry k: random(0, min(cap, base * 2^k))
  std::chrono::milliseconds cap{20000};
  std::chrono::milliseconds timeout{30000};  // per request
};

class AwsClient {
 public:
  AwsClient(AwsEndpoints endpoints, cognito::AwsCredentials credentials, RetryPolicy policy);

  // Cognito Identity operation `op` ("ListIdentities") with `body`; the response object.
  Result<nlohmann::json> identity(std::string_view op, const nlohmann::json& body);
  // Cognito Sync GET of the decoded path segments with the query pairs; `op` names it in errors.
  Result<nlohmann::json> syncGet(std::string_view op, const std::vector<std::string>& pathSegments,
                                 const std::vector<std::pair<std::string, std::string>>& query);

  int64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  int64_t retries() const { return retries_.load(std::memory_order_relaxed); }
  // Called (from the calling thread) before each retry's wait: what failed, attempt, the wait.
  void setRetryListener(std::function<void(const std::string&, int, std::chrono::milliseconds)> fn) {
    onRetry_ = std::move(fn);
  }

 private:
  Result<nlohmann::json> send(std::string_view op, const std::string& baseUrl, const std::string& service,
                              const std::string& method, const std::vector<std::string>& pathSegments,
                              const std::vector<std::pair<std::string, std::string>>& query,
                              std::vector<std::pair<std::string, std::string>> headers, const std::string& body);

  AwsEndpoints endpoints_;
  cognito::AwsCredentials credentials_;
  RetryPolicy policy_;
  outbound::HttpClient http_;
  std::function<void(const std::string&, int, std::chrono::milliseconds)> onRetry_;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> retries_{0};
};

}  // namespace tether::server
