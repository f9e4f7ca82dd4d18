#include <matchd/engine/decimal.h>

#include <array>
#include <limits>

namespace matchd::engine {

namespace {

constexpr std::array<std::int64_t, 19> kPow10 = {
    1LL,
    10LL,
    100LL,
    1'000LL,
    10'000LL,
    100'000LL,
    1'000'000LL,
    10'000'000LL,
    100'000'000LL,
    1'000'000'000LL,
    10'000'000'000LL,
    100'000'000'000LL,
    1'000'000'000'000LL,
    10'000'000'000'000LL,
    100'000'000'000'000LL,
    1'000'000'000'000'000LL,
    10'000'000'000'000'000LL,
    100'000'000'000'000'000LL,
    1'000'000'000'000'000'000LL,
};

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// The digits of "<int>.<frac>" as one sequence, without the point.
struct digit_run {
  std::string_view int_part;
  std::string_view frac_part;

  std::size_t size() const noexcept { return int_part.size() + frac_part.size(); }
  char operator[](std::size_t i) const noexcept {
    return i < int_part.size() ? int_part[i] : frac_part[i - int_part.size()];
  }
};

}  // namespace

std::int64_t pow10(int n) noexcept {
  return kPow10[static_cast<std::size_t>(n)];
}

decimal_parse_result parse_decimal(std::string_view s, int scale) noexcept {
  if (s.empty()) return {0, decimal_errc::empty};
  const std::size_t n = s.size();
  std::size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative) ++i;

  // JSON number grammar: int = "0" | [1-9][0-9]*, frac = "." [0-9]+, exp = [eE][+-]?[0-9]+
  const std::size_t int_begin = i;
  if (i >= n || !is_digit(s[i])) return {0, decimal_errc::malformed};
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < n && is_digit(s[i])) ++i;
  }
  const std::string_view int_part = s.substr(int_begin, i - int_begin);

  std::string_view frac_part;
  if (i < n && s[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < n && is_digit(s[i])) ++i;
    if (i == frac_begin) return {0, decimal_errc::malformed};
    frac_part = s.substr(frac_begin, i - frac_begin);
  }

  long exponent = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) exponent_negative = s[i++] == '-';
    if (i >= n || !is_digit(s[i])) return {0, decimal_errc::malformed};
    while (i < n && is_digit(s[i])) {
      // Saturate: anything this large is out of range or unrepresentable anyway.
      if (exponent < 1'000'000) exponent = exponent * 10 + (s[i] - '0');
      ++i;
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (i != n) return {0, decimal_errc::malformed};
  if (negative) return {0, decimal_errc::negative};

  const digit_run digits{int_part, frac_part};
  std::size_t first = 0;
  while (first < digits.size() && digits[first] == '0') ++first;
  if (first == digits.size()) return {0, decimal_errc::ok};  // zero, however written
  std::size_t last = digits.size() - 1;
  while (digits[last] == '0') --last;
  const long trailing_zeros = static_cast<long>(digits.size() - 1 - last);

  // value = significant * 10^(exponent - frac digits + trailing zeros)
  const long power = exponent - static_cast<long>(frac_part.size()) + trailing_zeros;
  const long shift = power + scale;
  if (shift < 0) {
    return {0, -power > kMaxDecimalScale ? decimal_errc::too_many_decimals
                                         : decimal_errc::not_representable};
  }
  const std::size_t significant_digits = last - first + 1;
  if (static_cast<long>(significant_digits) + shift > 19) return {0, decimal_errc::out_of_range};

  std::int64_t units = 0;
  for (std::size_t k = first; k <= last; ++k) {
    if (__builtin_mul_overflow(units, 10, &units) ||
        __builtin_add_overflow(units, digits[k] - '0', &units)) {
      return {0, decimal_errc::out_of_range};
    }
  }
  if (__builtin_mul_overflow(units, kPow10[static_cast<std::size_t>(shift)], &units)) {
    return {0, decimal_errc::out_of_range};
  }
  return {units, decimal_errc::ok};
}

std::size_t format_decimal(std::int64_t units, int scale, char* out) noexcept {
  return format_decimal_wide(units, scale, out);
}

std::size_t format_decimal_wide(int128 units, int scale, char* out) noexcept {
  // Digits are produced backwards into a scratch buffer, then copied out.
  char buf[kMaxFormattedDecimal];
  std::size_t pos = sizeof buf;
  __extension__ using uint128 = unsigned __int128;
  uint128 magnitude = units < 0 ? 0 - static_cast<uint128>(units) : static_cast<uint128>(units);
  int written = 0;
  do {
    if (written == scale && scale > 0) buf[--pos] = '.';
    buf[--pos] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
    ++written;
  } while (magnitude != 0 || written <= scale);
  if (units < 0) buf[--pos] = '-';
  const std::size_t len = sizeof buf - pos;
  for (std::size_t k = 0; k < len; ++k) out[k] = buf[pos + k];
  return len;
}

std::string format_decimal(std::int64_t units, int scale) {
  char buf[kMaxFormattedDecimal];
  return std::string(buf, format_decimal(units, scale, buf));
}

}  // namespace matchd::engine
