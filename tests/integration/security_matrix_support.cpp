// See security_matrix_support.h.
#include "security_matrix_support.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/secret_store.h"
#include "auth/signing_key.h"
#include "cognito/sigv4.h"

namespace tether::testing::matrix {

namespace sv = tether::server::cognito;
using nlohmann::json;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}


namespace {

// The lower-case headers a boto3-like client signs for `call`.
std::map<std::string, std::string> signedHeaders(const HttpCall& call, const std::string& host, const std::string& date,
                                                 const SigV4Key& key, bool unsignedPayload) {
  std::map<std::string, std::string> h = {{"host", host}, {"x-amz-date", date}};
  if (!key.sessionToken.empty()) h["x-amz-security-token"] = key.sessionToken;
  if (!call.body.empty()) h["content-type"] = call.target.empty() ? "application/json" : "application/x-amz-json-1.1";
  if (!call.target.empty()) h["x-amz-target"] = call.targetHeader();
  if (unsignedPayload) h["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  return h;
}

std::string path(const HttpCall& call) {
  std::string p;
  for (const std::string& s : call.segments) p += "/" + sv::uriEncode(s);
  if (p.empty()) p = "/";
  for (size_t i = 0; i < call.query.size(); ++i)
    p += (i == 0 ? "?" : "&") + sv::uriEncode(call.query[i].first) + "=" + sv::uriEncode(call.query[i].second);
  return p;
}

std::string changedBody(const std::string& body) {
  json j = json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return body + " ";
  j["Tampered"] = true;
  return j.dump();
}

thread_local std::string tlsLastAuthorization;

}  // namespace

const std::string& lastAuthorization() { return tlsLastAuthorization; }

HttpReply sendCognito(int port, const HttpCall& call, const SigV4Key* key, Forgery forgery, const HttpCall* signedAs) {
  const std::string host = "127.0.0.1:" + std::to_string(port);
  std::map<std::string, std::string> send;
  if (!call.target.empty()) send["X-Amz-Target"] = call.targetHeader();
  if (!call.body.empty()) send["Content-Type"] = call.target.empty() ? "application/json" : "application/x-amz-json-1.1";
  send["Host"] = host;
  std::string body = call.body, extraQuery;
  if (key != nullptr) {
    int64_t when = nowMs() - (forgery == Forgery::kSkewedDate ? 10 * 60 * 1000 : 0);
    std::string date = amzDate(when);
    const HttpCall& s = forgery == Forgery::kRetargeted && signedAs != nullptr ? *signedAs : call;
    std::map<std::string, std::string> lower = signedHeaders(s, host, date, *key, forgery == Forgery::kUnsignedPayload);
    sv::SigV4Authorization auth;
    auth.accessKeyId = key->accessKeyId;
    auth.date = forgery == Forgery::kScopeDate ? amzDate(when - 2 * 86400 * 1000).substr(0, 8) : date.substr(0, 8);
    auth.region = "us-east-1";
    auth.service = s.service();
    if (forgery == Forgery::kWrongService) auth.service = s.target.empty() ? "cognito-identity" : "cognito-sync";
    for (const auto& [k, v] : lower) {
      auth.signedHeaders.push_back(k);
      auth.signedHeadersText += (auth.signedHeadersText.empty() ? "" : ";") + k;
    }
    std::string payloadHash = forgery == Forgery::kUnsignedPayload ? "UNSIGNED-PAYLOAD" : sv::sha256Hex(s.body);
    std::string uri = sv::canonicalUri(s.segments);
    std::string query = sv::canonicalQuery(s.query);
    Result<std::string> creq = sv::canonicalRequest(sv::CanonicalInput{s.method, uri, query, &lower, payloadHash}, auth);
    if (!creq.isOk()) return {};
    sv::SigV4Authorization signing = auth;
    if (forgery == Forgery::kWrongRegion) signing.region = "eu-west-1";
    std::string sts = sv::stringToSign(date, signing.scope(), *creq);
    std::string secret = forgery == Forgery::kWrongSecret ? key->secret + "x" : key->secret;
    std::string signature = sv::computeSignature(secret, signing, sts);
    send["X-Amz-Date"] = date;
    if (!key->sessionToken.empty()) send["X-Amz-Security-Token"] = key->sessionToken;
    if (forgery == Forgery::kUnsignedPayload) send["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD";
    send["Authorization"] = std::string(sv::kSigV4Algorithm) + " Credential=" + auth.accessKeyId + "/" +
                            auth.scope() + ", SignedHeaders=" + auth.signedHeadersText + ", Signature=" + signature;
    if (forgery == Forgery::kSignedHeaderChanged) send["Host"] = "localhost:" + std::to_string(port);
    // A request without a body (GET/DELETE: tetherd reads none) gets a query parameter instead.
    if (forgery == Forgery::kBodyChanged && call.body.empty()) extraQuery = call.query.empty() ? "?maxResults=1" : "&x=1";
    else if (forgery == Forgery::kBodyChanged) body = changedBody(body);
  }
  tlsLastAuthorization = send.count("Authorization") ? send["Authorization"] : "";
  return httpRequest(port, call.method, path(call) + extraQuery, send, body);
}

std::string errorType(const HttpReply& reply) {
  std::string type = reply.body.is_object() ? reply.body.value("__type", "") : "";
  size_t h = reply.raw.find("x-amzn-ErrorType: ");
  if (h == std::string::npos) h = reply.raw.find("x-amzn-errortype: ");
  if (h != std::string::npos) {
    size_t start = h + 18, end = reply.raw.find("\r\n", start);
    std::string header = reply.raw.substr(start, end - start);
    header = header.substr(0, header.find(':'));
    if (type.empty()) return header;
    if (header != type) return type + " (x-amzn-ErrorType " + header + ")";
  }
  return type;
}

// ---- JWT forgeries

namespace {

namespace b64 = tether::server::auth;

struct Parts {
  json header, payload;
  std::string signature;  // base64url as received
};

Parts split(const std::string& token) {
  Parts p;
  size_t d1 = token.find('.'), d2 = token.find('.', d1 + 1);
  p.header = json::parse(b64::base64UrlDecode(token.substr(0, d1)).value_or("{}"));
  p.payload = json::parse(b64::base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1)).value_or("{}"));
  p.signature = token.substr(d2 + 1);
  return p;
}

std::string signingInput(const json& header, const json& payload) {
  return b64::base64UrlEncode(header.dump()) + "." + b64::base64UrlEncode(payload.dump());
}

std::string hmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// The P-256 public key of a JWK as PEM (what an "HS256 with the public key" attacker would use).
std::string pemOfJwk(const json& jwk) {
  std::string x = b64::base64UrlDecode(jwk.value("x", "")).value_or("");
  std::string y = b64::base64UrlDecode(jwk.value("y", "")).value_or("");
  std::string point = std::string(1, '\x04') + x + y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  std::string pem;
  if (EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (PEM_write_bio_PUBKEY(bio, pkey) == 1) {
      char* data = nullptr;
      long n = BIO_get_mem_data(bio, &data);
      pem.assign(data, static_cast<size_t>(n));
    }
    BIO_free(bio);
  }
  EVP_PKEY_free(pkey);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return pem;
}

}  // namespace

TokenForger::TokenForger(server::auth::SecretStore& secrets, const std::string& jwks) : secrets_(secrets) {
  json doc = json::parse(jwks, nullptr, false);
  if (doc.is_object() && doc.contains("keys") && !doc["keys"].empty()) publicPem_ = pemOfJwk(doc["keys"][0]);
}

std::string TokenForger::resign(const std::string& genuine, const std::string& claimPatchJson,
                                const std::string& kid) const {
  Parts p = split(genuine);
  p.payload.merge_patch(json::parse(claimPatchJson));
  if (!kid.empty()) p.header["kid"] = kid;
  auto key = server::SigningKey::loadOrCreate(secrets_);
  if (!key.isOk()) return "";
  std::string input = signingInput(p.header, p.payload);
  Result<std::string> sig = (*key)->sign(input);
  return sig.isOk() ? input + "." + b64::base64UrlEncode(*sig) : "";
}

std::string TokenForger::algNone(const std::string& genuine) const {
  Parts p = split(genuine);
  return signingInput(json{{"alg", "none"}, {"typ", "JWT"}}, p.payload) + ".";
}

std::string TokenForger::hs256WithPublicKey(const std::string& genuine) const {
  Parts p = split(genuine);
  json header = {{"alg", "HS256"}, {"kid", p.header.value("kid", "")}, {"typ", "JWT"}};
  std::string input = signingInput(header, p.payload);
  return input + "." + b64::base64UrlEncode(hmacSha256(publicPem_, input));
}

std::string TokenForger::wrongAudience(const std::string& genuine) const {
  return resign(genuine, R"({"aud":"local:99999999-1111-4222-8333-444455556666"})");
}
std::string TokenForger::wrongIssuer(const std::string& genuine) const {
  return resign(genuine, R"({"iss":"https://evil.example"})");
}
std::string TokenForger::expired(const std::string& genuine) const {
  int64_t now = nowMs() / 1000;
  return resign(genuine, json{{"iat", now - 4000}, {"exp", now - 3000}}.dump());
}
std::string TokenForger::futureNotBefore(const std::string& genuine) const {
  return resign(genuine, json{{"nbf", nowMs() / 1000 + 3600}}.dump());
}
std::string TokenForger::unknownKid(const std::string& genuine) const {
  return resign(genuine, "{}", "not-a-published-kid");
}
std::string TokenForger::badSignature(const std::string& genuine) const {
  std::string t = genuine;
  size_t d2 = t.rfind('.');
  char& c = t[d2 + 5];
  c = c == 'A' ? 'B' : 'A';
  return t;
}
std::string TokenForger::tamperedPayload(const std::string& genuine) const {
  Parts p = split(genuine);
  p.payload["exp"] = p.payload.value("exp", int64_t{0}) + 86400;
  return b64::base64UrlEncode(p.header.dump()) + "." + b64::base64UrlEncode(p.payload.dump()) + "." + p.signature;
}

// ---- store snapshot

std::vector<std::string> sqliteSnapshot(const std::filesystem::path& dataDir) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((dataDir / "tether.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return {"cannot open the store"};
  }
  sqlite3_busy_timeout(db, 5000);
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  for (const std::string& t : tables) {
    if (sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\"").c_str(), -1, &st, nullptr) != SQLITE_OK) continue;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row = t;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* v = sqlite3_column_text(st, i);
        row += '|';
        if (v) row.append(reinterpret_cast<const char*>(v), static_cast<size_t>(sqlite3_column_bytes(st, i)));
        else row += "NULL";
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  std::sort(rows.begin(), rows.end());
  return rows;
}

struct PgSnapshot::Conn {
  PGconn* pg = nullptr;
  ~Conn() { PQfinish(pg); }
};

PgSnapshot::PgSnapshot(const std::string& conninfo, const std::string& schema)
    : conn_(std::make_unique<Conn>()), schema_(schema) {
  conn_->pg = PQconnectdb(conninfo.c_str());
}

PgSnapshot::~PgSnapshot() = default;

std::vector<std::string> PgSnapshot::operator()() {
  if (PQstatus(conn_->pg) != CONNECTION_OK) return {"cannot connect"};
  if (sql_.empty()) {
    // The tables exist once tetherd has started; the statement unions them all.
    std::string list = "SELECT string_agg(format('SELECT %L || ''|'' || row_to_json(t)::text FROM %I.%I t', "
                       "table_name, table_schema, table_name), ' UNION ALL ') FROM information_schema.tables "
                       "WHERE table_schema = $1 AND table_type = 'BASE TABLE'";
    const char* params[] = {schema_.c_str()};
    PGresult* q = PQexecParams(conn_->pg, list.c_str(), 1, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(q) == PGRES_TUPLES_OK && PQntuples(q) == 1) sql_ = PQgetvalue(q, 0, 0);
    PQclear(q);
    if (sql_.empty()) return {"no tables"};
  }
  std::vector<std::string> rows;
  PGresult* r = PQexec(conn_->pg, sql_.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) rows.push_back(std::string("query failed: ") + PQerrorMessage(conn_->pg));
  else
    for (int i = 0; i < PQntuples(r); ++i) rows.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace tether::testing::matrix
