// Checks every Cognito HTTP response of the fuzz targets must pass: a status that is not a
// server error (bad input is a client error, never a 5xx), a JSON body, and on errors the
// `x-amzn-ErrorType` header plus `__type` and `message` in the body (what AWS SDKs parse).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_input.h"
#include "net/http.h"

namespace tether::fuzz {

inline void checkCognitoResponse(const server::HttpResponse& r, const std::string& what) {
  TETHER_FUZZ_CHECK(r.status >= 200 && r.status < 500, std::to_string(r.status) + " " + r.body + " for " + what);
  if (r.body.empty()) return;
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  TETHER_FUZZ_CHECK(!body.is_discarded(), "response body is not JSON: " + r.body);
  if (r.status >= 400) {
    bool typed = false;
    for (const auto& [k, v] : r.headers) typed = typed || (k == "x-amzn-ErrorType" && !v.empty());
    TETHER_FUZZ_CHECK(typed, "error without x-amzn-ErrorType: " + r.body);
    TETHER_FUZZ_CHECK(body.is_object() && body.contains("__type") && body.contains("message"), r.body);
  }
}

// A JSON value of the type a field wants most of the time, else one of another type.
inline nlohmann::json fuzzJsonValue(FuzzInput& in, const nlohmann::json& typical) {
  switch (in.range<int>(0, 9)) {
    case 0: return nullptr;
    case 1: return in.int64();
    case 2: return in.boolean();
    case 3: return in.bytes(40);
    case 4: return nlohmann::json::array({typical});
    case 5: return nlohmann::json::object({{in.bytes(8), typical}});
    case 6: return 1e300;
    default: return typical;
  }
}

inline std::string dumpLenient(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tether::fuzz
