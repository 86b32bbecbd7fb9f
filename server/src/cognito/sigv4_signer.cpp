#include "cognito/sigv4_signer.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "cognito/sigv4.h"

namespace tether::server::cognito {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

SigV4Authorization scopeFor(const SignInput& in, const AwsCredentials& creds, const std::string& date) {
  SigV4Authorization auth;
  auth.accessKeyId = creds.accessKeyId;
  auth.date = date.substr(0, 8);
  auth.region = std::string(in.region);
  auth.service = std::string(in.service);
  return auth;
}

std::string canonicalPath(const SignInput& in) {
  return in.s3 ? encodedPath(in.pathSegments) : canonicalUri(in.pathSegments);
}

}  // namespace

std::string amzDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string encodedPath(const std::vector<std::string>& pathSegments) {
  if (pathSegments.empty()) return "/";
  std::string path;
  for (const std::string& s : pathSegments) path += "/" + uriEncode(s);
  return path;
}

std::vector<std::pair<std::string, std::string>> signRequest(const SignInput& in, const AwsCredentials& creds) {
  const std::string date = amzDate(in.nowMs);
  const std::string payloadHash = sha256Hex(in.body);
  std::vector<std::pair<std::string, std::string>> out = in.headers;
  out.emplace_back("Host", std::string(in.host));
  out.emplace_back("X-Amz-Date", date);
  if (!creds.sessionToken.empty()) out.emplace_back("X-Amz-Security-Token", creds.sessionToken);
  if (in.s3) out.emplace_back("X-Amz-Content-Sha256", payloadHash);

  std::map<std::string, std::string> canonical;  // sorted by lower-case name: the signing order
  for (const auto& [name, value] : out) canonical[lower(name)] = value;
  SigV4Authorization auth = scopeFor(in, creds, date);
  for (const auto& [name, value] : canonical) {
    auth.signedHeaders.push_back(name);
    auth.signedHeadersText += (auth.signedHeadersText.empty() ? "" : ";") + name;
  }
  const std::string path = canonicalPath(in);
  const std::string query = canonicalQuery(in.query);
  // Every signed header is in `canonical`, so this cannot fail.
  const std::string creq = canonicalRequest(CanonicalInput{in.method, path, query, &canonical, payloadHash}, auth).value();
  const std::string signature = computeSignature(creds.secretAccessKey, auth, stringToSign(date, auth.scope(), creq));
  out.emplace_back("Authorization", std::string(kSigV4Algorithm) + " Credential=" + auth.accessKeyId + "/" +
                                        auth.scope() + ", SignedHeaders=" + auth.signedHeadersText +
                                        ", Signature=" + signature);
  return out;
}

std::string presignGetUrl(std::string_view scheme, const SignInput& in, const AwsCredentials& creds,
                          int64_t expiresSeconds) {
  const std::string date = amzDate(in.nowMs);
  SigV4Authorization auth = scopeFor(in, creds, date);
  auth.signedHeaders = {"host"};
  auth.signedHeadersText = "host";
  std::vector<std::pair<std::string, std::string>> query = in.query;
  query.emplace_back("X-Amz-Algorithm", std::string(kSigV4Algorithm));
  query.emplace_back("X-Amz-Credential", auth.accessKeyId + "/" + auth.scope());
  query.emplace_back("X-Amz-Date", date);
  query.emplace_back("X-Amz-Expires", std::to_string(expiresSeconds));
  if (!creds.sessionToken.empty()) query.emplace_back("X-Amz-Security-Token", creds.sessionToken);
  query.emplace_back("X-Amz-SignedHeaders", "host");
  const std::map<std::string, std::string> headers = {{"host", std::string(in.host)}};
  const std::string path = canonicalPath(in);
  const std::string canonicalQ = canonicalQuery(query);
  const std::string creq =
      canonicalRequest(CanonicalInput{"GET", path, canonicalQ, &headers, "UNSIGNED-PAYLOAD"}, auth).value();
  const std::string signature = computeSignature(creds.secretAccessKey, auth, stringToSign(date, auth.scope(), creq));
  return std::string(scheme) + "://" + std::string(in.host) + encodedPath(in.pathSegments) + "?" + canonicalQ +
         "&X-Amz-Signature=" + signature;
}

}  // namespace tether::server::cognito
