#pragma once

#include <matchd/engine/decimal.h>
#include <matchd/engine/types.h>

#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <string_view>

namespace matchd::store {

// 128-bit integers travel through numeric columns as decimal text (sums of lots, quote
// amounts): libpqxx 6.4 has no conversion for them.

// A numeric column that holds an integer.
inline engine::int128 wide_integer(const pqxx::field& f) {
  const std::string_view text(f.c_str(), f.size());
  engine::int128 v = 0;
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) i = 1;
  if (i == text.size()) throw std::runtime_error(std::string("not an integer: ").append(text));
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9')
      throw std::runtime_error(std::string("not an integer: ").append(text));
    v = v * 10 + (text[i] - '0');
  }
  return negative ? -v : v;
}

// Appends `v` as an integer literal.
inline void append_wide(std::string& out, engine::int128 v) {
  char buf[engine::kMaxFormattedDecimal];
  out.append(buf, engine::format_decimal_wide(v, 0, buf));
}

}  // namespace matchd::store
