// Fuzz target 8: the TOML config file (auth/config: parseConfig, then validateConfig as
// `tetherd serve` does, and the small parsers behind flags: listen addresses and log levels).
//
// Input: first byte = mode. Even: the rest is the file's text. Odd: a config built from the
// input - the [server] table, [[pools]] with [[pools.oidc_providers]], [[developer_credentials]]
// - with keys mostly from the real key set and values of every TOML type, so inputs get past
// the TOML syntax into the key and value checks. config.dict holds the keys for raw mode.
// Properties: parseConfig returns ok or kInvalidArgument naming "<file>:" (no other code, no
// exception escapes); an accepted config passes through validateConfig without a crash.
#include <string>
#include <vector>

#include "auth/config.h"
#include "fuzz_input.h"

using namespace tether;
using namespace tether::server;

namespace {

const std::vector<std::string> kServerKeys = {"listen", "data_dir", "issuer", "tls_cert", "tls_key", "log_level", "nothing"};
const std::vector<std::string> kPoolKeys = {"id", "name", "allow_guests", "developer_provider", "region"};
const std::vector<std::string> kOidcKeys = {"name", "issuer", "audiences", "jwks", "jwks_file", "leeway_seconds"};
const std::vector<std::string> kCredKeys = {"access_key_id", "secret_access_key"};

std::string value(fuzz::FuzzInput& in) {
  static const std::vector<std::string> kStrings = {
      "\"127.0.0.1:8080\"", "\"[::1]:0\"", "\"local:11111111-2222-3333-4444-555555555555\"", "\"demo\"",
      "\"debug\"", "\"https://issuer.example\"", "\"AKIAAAAAAAAAAAAAAAAA\"", "\"0123456789abcdef0123\"",
      "\"accounts.google.com\"", "\"{\\\"keys\\\":[]}\"", "\"./data\"", "\"\"", "\"host:99999\"", "'literal'",
      "\"\"\"multi\nline\"\"\"", "\"\\u0000\"", "\"login.dev\""};
  switch (in.range<int>(0, 7)) {
    case 0: return in.pick(kStrings);
    case 1: return in.boolean() ? "true" : "false";
    case 2: return std::to_string(in.int64());
    case 3: return in.boolean() ? "1.5" : "nan";
    case 4: return "[" + in.pick(kStrings) + ", " + in.pick(kStrings) + "]";
    case 5: return "{ a = " + in.pick(kStrings) + " }";
    case 6: return "1979-05-27T07:32:00Z";
    default: return "\"" + in.bytes(40) + "\"";
  }
}

void keyValues(std::string& out, fuzz::FuzzInput& in, const std::vector<std::string>& keys) {
  int n = in.range<int>(0, 6);
  for (int i = 0; i < n; ++i) out += in.pick(keys, 20) + " = " + value(in) + "\n";
}

std::string buildConfig(fuzz::FuzzInput& in) {
  std::string out;
  int tables = in.range<int>(0, 6);
  for (int t = 0; t < tables; ++t) {
    switch (in.range<int>(0, 4)) {
      case 0: out += "[server]\n"; keyValues(out, in, kServerKeys); break;
      case 1: out += "[[pools]]\n"; keyValues(out, in, kPoolKeys); break;
      case 2: out += "[[pools.oidc_providers]]\n"; keyValues(out, in, kOidcKeys); break;
      case 3: out += "[[developer_credentials]]\n"; keyValues(out, in, kCredKeys); break;
      default: out += "[" + in.bytes(12) + "]\n"; keyValues(out, in, kServerKeys); break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text;
  if ((data[0] & 1) == 0) {
    text.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  } else {
    fuzz::FuzzInput in(data + 1, size - 1);
    text = buildConfig(in);
  }
  Result<ServerConfig> c = parseConfig(text, "fuzz.toml", "/nonexistent-base");
  if (!c.isOk()) {
    TETHER_FUZZ_CHECK(c.status().code() == StatusCode::kInvalidArgument, c.status().toString());
    TETHER_FUZZ_CHECK(c.status().message().rfind("fuzz.toml", 0) == 0, c.status().toString());
  } else {
    (void)validateConfig(*c);
    (void)c->effectiveIssuer(8080);
  }
  // The flag parsers on the same text.
  std::string_view head(text.data(), std::min<size_t>(text.size(), 300));
  (void)parseListenAddress(head);
  (void)parseLogLevel(head);
  (void)validateOidcProviderName(head);
  (void)validateDeveloperProviderName(head);
  return 0;
}
