#include <matchd/codec/timestamp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

namespace matchd::codec {

namespace {

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;
// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
constexpr std::int64_t kMinMicros = -62'167'219'200 * kMicrosPerSecond;
constexpr std::int64_t kMaxMicros = 253'402'300'799 * kMicrosPerSecond + 999'999;

struct civil_date {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Howard Hinnant's days_from_civil inverse: proleptic Gregorian calendar, day 0 is
// 1970-01-01, valid for every day of the clamped range.
constexpr civil_date civil_from_days(std::int64_t days) noexcept {
  const std::int64_t z = days + 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(z - era * 146'097);                     // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                       // [0, 11]
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

static_assert(civil_from_days(0).year == 1970 && civil_from_days(0).month == 1 &&
              civil_from_days(0).day == 1);
static_assert(civil_from_days(11'016).month == 2 && civil_from_days(11'016).day == 29);

// Howard Hinnant's days_from_civil: the day number (0 is 1970-01-01) of a proleptic
// Gregorian date.
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);  // [0, 399]
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146'097 + static_cast<std::int64_t>(doe) - 719'468;
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 2, 29) == 11'016);

constexpr bool leap_year(std::int64_t y) noexcept {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

constexpr unsigned days_in_month(std::int64_t year, unsigned month) noexcept {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap_year(year) ? 29 : kDays[month - 1];
}

// The value of text[at, at + n) when all are digits.
std::optional<unsigned> digits(std::string_view text, std::size_t at, std::size_t n) noexcept {
  if (at + n > text.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return v;
}

std::optional<engine::timestamp_us> parse_rfc3339(std::string_view t) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const auto year = digits(t, 0, 4);
  const auto month = digits(t, 5, 2);
  const auto day = digits(t, 8, 2);
  const auto hour = digits(t, 11, 2);
  const auto minute = digits(t, 14, 2);
  const auto second = digits(t, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  // No leap second: Unix time has none to put it in.
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (at < t.size() && t[at] == '.') {
    ++at;
    std::size_t n = 0;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
      // Beyond microseconds only zeros: a finer time cannot be held exactly.
      if (n >= 6 && t[at] != '0') return std::nullopt;
      if (n < 6) micros = micros * 10 + (t[at] - '0');
      ++n;
      ++at;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (std::size_t k = n; k < 6; ++k) micros *= 10;
  }
  std::int64_t offset_s = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    const auto oh = digits(t, at + 1, 2);
    const auto om = digits(t, at + 4, 2);
    if (!oh || !om || t[at + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = (t[at] == '+' ? 1 : -1) * static_cast<std::int64_t>(*oh * 3600 + *om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != t.size()) return std::nullopt;
  const std::int64_t seconds = days_from_civil(*year, *month, *day) * 86'400 + *hour * 3600 +
                               *minute * 60 + *second - offset_s;
  return seconds * kMicrosPerSecond + micros;
}

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

inline void two_digits(unsigned v, char* out) noexcept {
  out[0] = kDigitPairs[2 * v];
  out[1] = kDigitPairs[2 * v + 1];
}

}  // namespace

std::optional<engine::timestamp_us> parse_query_time(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    // Epoch milliseconds, up to the year 9999.
    if (text.size() > 15) return std::nullopt;
    std::int64_t ms = 0;
    for (char c : text) ms = ms * 10 + (c - '0');
    if (ms * 1000 > kMaxMicros) return std::nullopt;
    return ms * 1000;
  }
  return parse_rfc3339(text);
}

std::size_t format_timestamp(engine::timestamp_us t, char* out) noexcept {
  t = std::clamp(t, kMinMicros, kMaxMicros);
  std::int64_t days = t / kMicrosPerDay;
  std::int64_t in_day = t % kMicrosPerDay;
  if (in_day < 0) {
    in_day += kMicrosPerDay;
    --days;
  }
  const civil_date date = civil_from_days(days);
  const auto seconds = static_cast<unsigned>(in_day / kMicrosPerSecond);
  auto micros = static_cast<unsigned>(in_day % kMicrosPerSecond);

  const auto year = static_cast<unsigned>(date.year);
  two_digits(year / 100, out);
  two_digits(year % 100, out + 2);
  out[4] = '-';
  two_digits(date.month, out + 5);
  out[7] = '-';
  two_digits(date.day, out + 8);
  out[10] = 'T';
  two_digits(seconds / 3600, out + 11);
  out[13] = ':';
  two_digits(seconds / 60 % 60, out + 14);
  out[16] = ':';
  two_digits(seconds % 60, out + 17);
  out[19] = '.';
  for (int k = 25; k >= 20; --k) {
    out[k] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  out[26] = 'Z';
  return kTimestampLength;
}

std::string format_timestamp(engine::timestamp_us t) {
  char buf[kTimestampLength];
  return std::string(buf, format_timestamp(t, buf));
}

}  // namespace matchd::codec
