// SigV4 computation; see sigv4.h.
#include "cognito/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>

namespace tether::server::cognito {
namespace {

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string hex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Trimmed, with every run of spaces/tabs inside collapsed to one space.
std::string canonicalHeaderValue(std::string_view v) {
  v = trim(v);
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool isHex64(std::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string uriEncode(std::string_view bytes, bool keepSlash) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (isUnreserved(c) || (keepSlash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string canonicalUri(const std::vector<std::string>& decodedSegments) {
  if (decodedSegments.empty()) return "/";
  std::string path;
  for (const std::string& seg : decodedSegments) {
    path += '/';
    path += uriEncode(uriEncode(seg));
  }
  return path;
}

std::string canonicalQuery(const std::vector<std::pair<std::string, std::string>>& decodedPairs) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(decodedPairs.size());
  for (const auto& [k, v] : decodedPairs) enc.emplace_back(uriEncode(k), uriEncode(v));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Result<SigV4Authorization> parseAuthorization(std::string_view header) {
  header = trim(header);
  if (!header.starts_with(kSigV4Algorithm) || header.size() == kSigV4Algorithm.size() ||
      (header[kSigV4Algorithm.size()] != ' ' && header[kSigV4Algorithm.size()] != '\t'))
    return Status::invalidArgument("Authorization header requires the AWS4-HMAC-SHA256 algorithm.");
  std::string_view rest = header.substr(kSigV4Algorithm.size());
  SigV4Authorization auth;
  bool haveCred = false, haveSigned = false, haveSig = false;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return Status::invalidArgument("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    if (name == "Credential") {
      std::vector<std::string_view> parts;
      size_t start = 0;
      while (true) {
        size_t slash = value.find('/', start);
        parts.push_back(value.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
      }
      if (parts.size() != 5 || parts[4] != "aws4_request" || parts[0].empty() || parts[1].size() != 8 ||
          !std::all_of(parts[1].begin(), parts[1].end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          parts[2].empty() || parts[3].empty())
        return Status::invalidArgument("Credential should be scoped to a valid region and service, "
                                       "in the form <key>/<yyyymmdd>/<region>/<service>/aws4_request.");
      auth.accessKeyId = parts[0];
      auth.date = parts[1];
      auth.region = parts[2];
      auth.service = parts[3];
      haveCred = true;
    } else if (name == "SignedHeaders") {
      if (value.empty()) return Status::invalidArgument("SignedHeaders must not be empty.");
      auth.signedHeadersText = value;
      size_t start = 0;
      while (start <= value.size()) {
        size_t semi = value.find(';', start);
        std::string_view h = value.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
        if (h.empty()) return Status::invalidArgument("SignedHeaders contains an empty name.");
        for (char c : h)
          if (c >= 'A' && c <= 'Z') return Status::invalidArgument("SignedHeaders must be lower-case.");
        auth.signedHeaders.emplace_back(h);
        if (semi == std::string_view::npos) break;
        start = semi + 1;
      }
      haveSigned = true;
    } else if (name == "Signature") {
      if (!isHex64(value)) return Status::invalidArgument("Signature must be 64 lower-case hex digits.");
      auth.signature = value;
      haveSig = true;
    } else {
      return Status::invalidArgument("Authorization header has an unknown parameter '" + std::string(name) + "'.");
    }
  }
  if (!haveCred || !haveSigned || !haveSig)
    return Status::invalidArgument("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
  return auth;
}

Result<std::string> canonicalRequest(const CanonicalInput& in, const SigV4Authorization& auth) {
  std::string out;
  out.reserve(512);
  out += in.method;
  out += '\n';
  out += in.canonicalUri;
  out += '\n';
  out += in.canonicalQuery;
  out += '\n';
  for (const std::string& name : auth.signedHeaders) {
    auto it = in.headers->find(name);
    if (it == in.headers->end())
      return Status::invalidArgument("Signed header '" + name + "' is missing from the request.");
    out += name;
    out += ':';
    out += canonicalHeaderValue(it->second);
    out += '\n';
  }
  out += '\n';
  out += auth.signedHeadersText;
  out += '\n';
  out += in.payloadHash;
  return out;
}

std::string stringToSign(std::string_view amzDate, std::string_view scope, std::string_view canonicalRequestText) {
  std::string out(kSigV4Algorithm);
  out += '\n';
  out += amzDate;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256Hex(canonicalRequestText);
  return out;
}

std::string computeSignature(std::string_view secret, const SigV4Authorization& auth, std::string_view sts) {
  std::string k = hmac("AWS4" + std::string(secret), auth.date);
  k = hmac(k, auth.region);
  k = hmac(k, auth.service);
  k = hmac(k, "aws4_request");
  std::string sig = hmac(k, sts);
  OPENSSL_cleanse(k.data(), k.size());
  return hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

std::string sha256Hex(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return hex(out, sizeof out);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<int64_t> parseAmzDate(std::string_view t) {
  auto digits = [&](size_t pos, size_t n, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z' || !digits(0, 4, y) || !digits(4, 2, mo) ||
      !digits(6, 2, d) || !digits(9, 2, h) || !digits(11, 2, mi) || !digits(13, 2, s) || mo < 1 ||
      mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return Status::invalidArgument("X-Amz-Date must have the form yyyyMMddTHHmmssZ");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace tether::server::cognito
