// The TIMESTAMP of an SRP PASSWORD_VERIFIER response (spec 5.4 step 6): `EEE MMM d HH:mm:ss UTC
// yyyy` in UTC with English names, e.g. "Tue Jan 2 03:04:05 UTC 2024". The day of the month
// is NOT zero-padded; hours, minutes and seconds are. AWS rejects a zero-padded day and a
// weekday that does not match the date, and so do we: the signature covers the exact string,
// so accepting only the one canonical spelling of each instant keeps us AWS-compatible.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tether/status.h"

namespace tether::server::idp::srp {

// Epoch seconds of a TIMESTAMP. kInvalidArgument unless `text` is exactly the canonical form:
// single spaces, a known weekday and month (case-sensitive, as clients write them), a day
// 1..days-in-month without a leading zero, HH 00-23, mm and ss 00-59, the literal "UTC", a
// 4-digit year from 1970, and a weekday that is the date's.
Result<int64_t> parseTimestamp(std::string_view text);

// The canonical TIMESTAMP of `epochSeconds` (>= 0, year <= 9999), as the JS clients write it.
std::string formatTimestamp(int64_t epochSeconds);

}  // namespace tether::server::idp::srp
