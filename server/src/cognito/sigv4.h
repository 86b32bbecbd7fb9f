// AWS Signature Version 4 (header form, AWS4-HMAC-SHA256) as a pure computation: parsing the
// Authorization header, building the canonical request and string to sign, deriving the
// signing key and comparing signatures (cognito-compat.md section 6.2, Appendix B).
//
// What arrives from libwebsockets is already percent-decoded (net/http.h), so the canonical
// URI is rebuilt from the decoded path segments: each segment is encoded once the way every
// AWS SDK encodes a URI label (everything but A-Z a-z 0-9 - _ . ~), then once more, as SigV4
// does for every service but S3 ("double encoding"). The canonical query is built from the
// decoded pairs the same way (encoded once, sorted).
// Who may sign (credential lookup, clock skew, the security token) is request_auth.h's job.
// Thread-safety: free functions over their arguments.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/status.h"

namespace tether::server::cognito {

constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigV4Authorization {
  std::string accessKeyId;
  std::string date;      // yyyymmdd of the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signedHeaders;  // lower-case, in the order given
  std::string signedHeadersText;           // "host;x-amz-date", exactly as sent
  std::string signature;                   // 64 lower-case hex digits
  std::string scope() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// Parses `AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
// SignedHeaders=a;b, Signature=<64 hex>` (any spacing after the commas, any order of the three).
// kInvalidArgument with a reason when anything is missing or malformed.
Result<SigV4Authorization> parseAuthorization(std::string_view header);

// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (and '/' when keepSlash) as %XX with
// upper-case hex.
std::string uriEncode(std::string_view bytes, bool keepSlash = false);

// The canonical URI for a path whose segments are given decoded ("us-east-1:abc"): each is
// encoded as an SDK encodes a label, then the whole path once more. No segments = "/".
std::string canonicalUri(const std::vector<std::string>& decodedSegments);

// Sorted "k=v&..." from decoded pairs, each side encoded once.
std::string canonicalQuery(const std::vector<std::pair<std::string, std::string>>& decodedPairs);

struct CanonicalInput {
  std::string_view method;
  std::string_view canonicalUri;
  std::string_view canonicalQuery;
  const std::map<std::string, std::string>* headers = nullptr;  // lower-case names
  std::string_view payloadHash;                                 // hex sha256 of the body
};

// The canonical request; kInvalidArgument if a signed header is absent from the request.
Result<std::string> canonicalRequest(const CanonicalInput& in, const SigV4Authorization& auth);
std::string stringToSign(std::string_view amzDate, std::string_view scope,
                         std::string_view canonicalRequestText);
// hex(HMAC(kSigning, stringToSign)) with kSigning derived from `secret` and the scope.
std::string computeSignature(std::string_view secret, const SigV4Authorization& auth,
                             std::string_view stringToSignText);

std::string sha256Hex(std::string_view data);
// Equal length and bytes, in time independent of where they differ.
bool constantTimeEquals(std::string_view a, std::string_view b);

// "20240102T030405Z" -> ms since the epoch; kInvalidArgument if not exactly that form.
Result<int64_t> parseAmzDate(std::string_view text);

}  // namespace tether::server::cognito
