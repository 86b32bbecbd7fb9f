// Fuzz target 7: the opaque tokens tetherd hands out and takes back: ListRecords / ListDatasets
// page tokens (sync/page_token), SyncSessionTokens (auth/session_token_signer) and the
// temporary credentials' session tokens (cognito/temporary_credentials).
//
// Input: first byte = which token; then the fields of a genuine token (owner, dataset, cursor,
// times) and a list of edits applied to its text (overwrite, insert, truncate), or free text.
// Properties: a genuine token decodes to exactly what was encoded / verifies for its inputs; a
// token whose text differs from the genuine one, or presented for other inputs, is refused
// with the documented error (kInvalidArgument for page and session tokens) - never accepted,
// never a crash. Credentials: a changed session token is never kValid.
#include <string>

#include "auth/session_token_signer.h"
#include "cognito/temporary_credentials.h"
#include "fuzz_input.h"
#include "sync/page_token.h"

using namespace tether;
using namespace tether::server;

namespace {

const std::vector<std::string> kPools = {"local:11111111-2222-3333-4444-555555555555",
                                         "us-east-1:11111111-2222-3333-4444-555555555556", ""};
const std::vector<std::string> kIds = {"local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                                       "local:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee0", ""};
const std::vector<std::string> kDatasets = {"prefs", "settings", "", "a.b"};

// Edits `text` as the input says; returns whether the result differs.
bool edit(std::string& text, fuzz::FuzzInput& in) {
  std::string before = text;
  int n = in.range<int>(0, 3);
  for (int i = 0; i < n; ++i) {
    switch (in.range<int>(0, 3)) {
      case 0:
        if (!text.empty()) text[in.integral<uint16_t>() % text.size()] = static_cast<char>(in.byte());
        break;
      case 1: text.insert(text.empty() ? 0 : in.integral<uint16_t>() % text.size(), in.bytes(8)); break;
      case 2: if (!text.empty()) text.resize(in.integral<uint16_t>() % text.size()); break;
      default: text += in.bytes(8); break;
    }
  }
  return text != before;
}

void recordsPageToken(fuzz::FuzzInput& in) {
  // What the server encodes for: its own IDs and names (never '\n', which the binding relies on).
  std::string pool = in.choose(kPools), id = in.choose(kIds), ds = in.choose(kDatasets);
  RecordsPageToken t;
  if (in.boolean()) {  // the shape the server makes
    t.lastSyncCount = in.range<int64_t>(0, 100);
    t.cursor.syncCount = t.lastSyncCount + in.range<int64_t>(1, 50);
    t.pinnedSyncCount = t.cursor.syncCount + in.range<int64_t>(0, 50);
  } else {
    t.lastSyncCount = in.int64();
    t.pinnedSyncCount = in.int64();
    t.cursor.syncCount = in.int64();
  }
  t.cursor.key = in.pick({"theme", "", "k\n|.x", std::string(1024, 'k')}, 1100);
  OwnerRef owner{pool, id};
  std::string text = encodeRecordsPageToken(owner, ds, t);
  Result<RecordsPageToken> back = decodeRecordsPageToken(owner, ds, text);
  // What the server can hand out: counts >= 0, a record key, and a cursor record the request
  // could have returned (last < cursor <= pinned). The decoder refuses anything else.
  bool possible = t.lastSyncCount >= 0 && t.pinnedSyncCount >= 0 && t.cursor.syncCount > t.lastSyncCount &&
                  t.cursor.syncCount <= t.pinnedSyncCount && !t.cursor.key.empty();
  if (!possible) {
    TETHER_FUZZ_CHECK(!back.isOk(), "a page token the server cannot make decoded");
    return;
  } else {
    TETHER_FUZZ_CHECK(back.isOk() && *back == t, back.isOk() ? "decoded other values" : back.status().toString());
  }

  std::string otherPool = in.pick(kPools), otherId = in.pick(kIds), otherDs = in.pick(kDatasets);
  bool changed = edit(text, in);
  OwnerRef other{otherPool, otherId};
  Result<RecordsPageToken> r = decodeRecordsPageToken(other, otherDs, text);
  bool sameInputs = otherPool == pool && otherId == id && otherDs == ds;
  if (!r.isOk()) {
    TETHER_FUZZ_CHECK(r.status().code() == StatusCode::kInvalidArgument, r.status().toString());
  } else {
    TETHER_FUZZ_CHECK(sameInputs, "page token accepted for other inputs");
    TETHER_FUZZ_CHECK(!changed || *r == t, "altered page token decoded to other values: " + text);
  }
}

void datasetsPageToken(fuzz::FuzzInput& in) {
  std::string pool = in.choose(kPools), id = in.choose(kIds);
  std::string last = in.pick(kDatasets, 300);
  OwnerRef owner{pool, id};
  std::string text = encodeDatasetsPageToken(owner, last);
  Result<std::string> back = decodeDatasetsPageToken(owner, text);
  if (last.empty()) {
    TETHER_FUZZ_CHECK(!back.isOk(), "a datasets token without a name decoded");
    return;
  }
  TETHER_FUZZ_CHECK(back.isOk() && *back == last, back.isOk() ? *back : back.status().toString());
  std::string otherPool = in.pick(kPools), otherId = in.pick(kIds);
  bool changed = edit(text, in);
  Result<std::string> r = decodeDatasetsPageToken(OwnerRef{otherPool, otherId}, text);
  if (!r.isOk()) {
    TETHER_FUZZ_CHECK(r.status().code() == StatusCode::kInvalidArgument, r.status().toString());
  } else {
    TETHER_FUZZ_CHECK(otherPool == pool && otherId == id, "datasets token accepted for another owner");
    TETHER_FUZZ_CHECK(!changed || *r == last, "altered datasets token decoded to another name");
  }
}

void sessionToken(fuzz::FuzzInput& in) {
  static const SessionTokenSigner signer(std::string(32, 'k'));
  std::string pool = in.choose(kPools), id = in.choose(kIds), ds = in.choose(kDatasets);
  int64_t issuedAt = in.int64();
  if (issuedAt > (int64_t{1} << 60) || issuedAt < -(int64_t{1} << 60)) issuedAt = 1'700'000'000'000;
  std::string token = signer.issue(pool, id, ds, issuedAt);
  Status ok = signer.verify(token, pool, id, ds, issuedAt);
  TETHER_FUZZ_CHECK(ok.isOk(), ok.toString());
  int64_t at = in.boolean() ? issuedAt + in.range<int64_t>(-1000, kSessionTokenLifetimeMs + 1000) : in.int64();
  std::string otherPool = in.pick(kPools), otherId = in.pick(kIds), otherDs = in.pick(kDatasets);
  bool changed = edit(token, in);
  Status s = signer.verify(token, otherPool, otherId, otherDs, at);
  if (!s.isOk()) {
    TETHER_FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, s.toString());
  } else {
    TETHER_FUZZ_CHECK(!changed, "altered session token verified: " + token);
    TETHER_FUZZ_CHECK(otherPool == pool && otherId == id && otherDs == ds, "session token verified for other inputs");
    TETHER_FUZZ_CHECK(at < issuedAt + kSessionTokenLifetimeMs, "session token verified after its lifetime");
  }
}

void credentials(fuzz::FuzzInput& in) {
  static const cognito::TemporaryCredentials creds(std::string(32, 'c'));
  std::string pool = in.choose(kPools), id = in.choose(kIds);
  bool authenticated = in.boolean();
  int64_t now = 1'700'000'000'000 + in.range<int64_t>(0, 1'000'000);
  cognito::IssuedCredentials c = creds.issue(pool, id, authenticated, now);
  cognito::CredentialScope scope;
  TETHER_FUZZ_CHECK(creds.check(c.accessKeyId, c.sessionToken, now, scope) == cognito::CredentialCheck::kValid, c.sessionToken);
  TETHER_FUZZ_CHECK(scope.identityId == id && scope.poolId == pool && scope.secretKey == c.secretKey &&
                        scope.authenticated == authenticated, "credential scope differs");
  std::string token = c.sessionToken, akid = in.boolean() ? c.accessKeyId : in.bytes(24);
  bool changed = edit(token, in);
  int64_t at = in.boolean() ? now + in.range<int64_t>(-1000, cognito::kCredentialLifetimeMs + 1000) : in.int64();
  cognito::CredentialScope out;
  cognito::CredentialCheck r = creds.check(akid, token, at, out);
  if (r == cognito::CredentialCheck::kValid) {
    TETHER_FUZZ_CHECK(!changed && akid == c.accessKeyId, "altered credentials accepted: " + token);
    TETHER_FUZZ_CHECK(at < c.expiresAtMs, "credentials accepted after expiry");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  switch (in.range<int>(0, 4)) {
    case 0: recordsPageToken(in); break;
    case 1: datasetsPageToken(in); break;
    case 2: sessionToken(in); break;
    case 3: credentials(in); break;
    default: {
      // Free text against every decoder.
      std::string text = in.rest();
      OwnerRef owner{kPools[0], kIds[0]};
      (void)decodeRecordsPageToken(owner, "prefs", text);
      (void)decodeDatasetsPageToken(owner, text);
      static const SessionTokenSigner signer(std::string(32, 'k'));
      Status s = signer.verify(text, kPools[0], kIds[0], "prefs", 1'700'000'000'000);
      TETHER_FUZZ_CHECK(!s.isOk(), "free text verified as a session token");
      static const cognito::TemporaryCredentials creds(std::string(32, 'c'));
      cognito::CredentialScope out;
      TETHER_FUZZ_CHECK(creds.check("ASIAAAAAAAAAAAAAAAAA", text, 1'700'000'000'000, out) != cognito::CredentialCheck::kValid,
                        "free text accepted as credentials");
      break;
    }
  }
  return 0;
}
