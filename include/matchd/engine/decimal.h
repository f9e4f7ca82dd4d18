#pragma once

#include <matchd/engine/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::engine {

// Exact decimal text <-> scaled 64-bit integers. The only place decimal text is read
// or written; prices and quantities are converted here and nowhere else.

enum class decimal_errc : std::uint8_t {
  ok,
  empty,
  malformed,          // not a JSON-number-like decimal
  negative,           // a leading minus sign (money inputs are never negative)
  not_representable,  // non-zero digits beyond the requested scale
  too_many_decimals,  // more fractional digits than any instrument supports (> 18)
  out_of_range,       // does not fit in a signed 64-bit integer at the requested scale
};

struct decimal_parse_result {
  std::int64_t units = 0;  // value * 10^scale
  decimal_errc error = decimal_errc::ok;

  constexpr bool ok() const noexcept { return error == decimal_errc::ok; }
};

inline constexpr int kMaxDecimalScale = 18;

// Parses `text` as an exact decimal and returns value * 10^scale. Accepts the JSON number
// grammar without a sign ("0.25", "70150.5", "1e-3", "2.5E+2"); exponents are applied
// exactly, never through floating point. Trailing zeros beyond `scale` are fine; any
// other digit beyond it is `not_representable`. `scale` must be in [0, 18].
decimal_parse_result parse_decimal(std::string_view text, int scale) noexcept;

// Formats value * 10^-scale with exactly `scale` fractional digits: (7015050, 2) ->
// "70150.50". Negative values get a leading '-'. Writes at most kMaxFormattedDecimal chars.
inline constexpr std::size_t kMaxFormattedDecimal = 48;
std::size_t format_decimal(std::int64_t units, int scale, char* out) noexcept;
std::size_t format_decimal_wide(int128 units, int scale, char* out) noexcept;
std::string format_decimal(std::int64_t units, int scale);

// 10^n for n in [0, 18].
std::int64_t pow10(int n) noexcept;

}  // namespace matchd::engine
