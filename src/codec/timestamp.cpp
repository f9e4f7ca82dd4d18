#include <matchd/codec/timestamp.h>

#include <algorithm>
#include <cstdint>

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

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

inline void two_digits(unsigned v, char* out) noexcept {
  out[0] = kDigitPairs[2 * v];
  out[1] = kDigitPairs[2 * v + 1];
}

}  // namespace

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
