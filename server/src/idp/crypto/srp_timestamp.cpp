// Strict SRP TIMESTAMP parsing and formatting; see srp_timestamp.h. Calendar arithmetic is the
// proleptic Gregorian days-from-civil algorithm (H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms"), so no locale, time zone or libc call is involved.
#include "idp/crypto/srp_timestamp.h"

#include <array>

namespace tether::server::idp::srp {
namespace {

constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr int64_t kSecondsPerDay = 86400;
constexpr int kMinYear = 1970;

bool isLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int64_t year, int month) {  // month 1..12
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeap(year) ? 29 : kDays[static_cast<size_t>(month - 1)];
}

// Days since 1970-01-01 of a valid date.
int64_t daysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year;
  int month;
  int day;
};

Civil civilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int weekdayFromDays(int64_t days) {  // 0 = Sunday; 1970-01-01 was a Thursday
  return static_cast<int>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

// Reads exactly `n` ASCII digits at `pos`.
bool digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

template <size_t N>
int indexOf(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<int>(i);
  return -1;
}

Status bad(const char* why) { return Status::invalidArgument(std::string("invalid TIMESTAMP: ") + why); }

void appendTwoDigits(std::string& out, int64_t v) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}

}  // namespace

Result<int64_t> parseTimestamp(std::string_view s) {
  // "Www Mmm D HH:MM:SS UTC YYYY" (27 chars) or with a two-digit day (28 chars).
  if (s.size() != 27 && s.size() != 28) return bad("wrong length");
  const size_t dayLen = s.size() - 26;
  int weekday = indexOf(kWeekdays, s.substr(0, 3));
  int month = indexOf(kMonths, s.substr(4, 3));
  if (weekday < 0) return bad("unknown weekday");
  if (month < 0) return bad("unknown month");
  ++month;
  if (s[3] != ' ' || s[7] != ' ') return bad("expected single spaces");
  int64_t day = 0, hour = 0, minute = 0, second = 0, year = 0;
  size_t p = 8;
  if (s[p] == '0') return bad("zero-padded day");
  if (!digits(s, p, dayLen, &day)) return bad("day is not a number");
  p += dayLen;
  if (s[p] != ' ' || !digits(s, p + 1, 2, &hour) || s[p + 3] != ':' || !digits(s, p + 4, 2, &minute) ||
      s[p + 6] != ':' || !digits(s, p + 7, 2, &second))
    return bad("time is not HH:mm:ss");
  p += 9;
  if (s.substr(p, 5) != " UTC ") return bad("time zone is not UTC");
  p += 5;
  if (!digits(s, p, 4, &year)) return bad("year is not 4 digits");
  if (year < kMinYear) return bad("year before 1970");
  if (day < 1 || day > daysInMonth(year, month)) return bad("no such day in that month");
  if (hour > 23 || minute > 59 || second > 59) return bad("time out of range");
  const int64_t days = daysFromCivil(year, month, static_cast<int>(day));
  if (weekdayFromDays(days) != weekday) return bad("weekday does not match the date");
  return days * kSecondsPerDay + hour * 3600 + minute * 60 + second;
}

std::string formatTimestamp(int64_t epochSeconds) {
  if (epochSeconds < 0) epochSeconds = 0;
  const int64_t days = epochSeconds / kSecondsPerDay;
  const int64_t rem = epochSeconds % kSecondsPerDay;
  const Civil c = civilFromDays(days);
  std::string out;
  out.reserve(27);
  out += kWeekdays[static_cast<size_t>(weekdayFromDays(days))];
  out += ' ';
  out += kMonths[static_cast<size_t>(c.month - 1)];
  out += ' ';
  out += std::to_string(c.day);
  out += ' ';
  appendTwoDigits(out, rem / 3600);
  out += ':';
  appendTwoDigits(out, rem / 60 % 60);
  out += ':';
  appendTwoDigits(out, rem % 60);
  out += " UTC ";
  out += std::to_string(c.year);
  return out;
}

}  // namespace tether::server::idp::srp
