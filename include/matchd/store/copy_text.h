#pragma once

#include <matchd/engine/decimal.h>
#include <matchd/engine/key_id.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::store {

// Rows in PostgreSQL's COPY text format, built in one growing buffer and handed to the
// server in large pieces. pqxx::stream_to builds a string per row and escapes it a
// character at a time; the writer's rows are mostly ids, fixed words and integers, so this
// spends a fraction of that (the store thread's CPU per order was a tenth of the REST
// path's in a profile).
class copy_text {
 public:
  // A text column, escaped as COPY requires (backslash, tab, newline, carriage return).
  copy_text& text(std::string_view v) {
    separate();
    if (v.find_first_of("\\\t\n\r") == std::string_view::npos) {
      buffer_.append(v);
    } else {
      append_escaped(v);
    }
    return *this;
  }
  copy_text& number(std::int64_t v) {
    separate();
    char digits[24];
    buffer_.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
    return *this;
  }
  // A 128-bit integer (a notional in ticks times lots), for a numeric column.
  copy_text& wide(engine::int128 v) {
    separate();
    char digits[engine::kMaxFormattedDecimal];
    buffer_.append(digits, engine::format_decimal_wide(v, 0, digits));
    return *this;
  }
  // SQL NULL.
  copy_text& null() {
    separate();
    buffer_.append("\\N", 2);
    return *this;
  }
  // An API key's id as its 16 hex digits, NULL for none (0).
  copy_text& key(engine::key_id id) {
    if (id == 0) return null();
    separate();
    char digits[engine::kKeyIdLength];
    buffer_.append(digits, engine::write_key_id(id, digits));
    return *this;
  }
  void end_row() {
    buffer_.push_back('\n');
    row_open_ = false;
    ++rows_;
  }

  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  // Whole rows, each ended by a newline.
  [[nodiscard]] std::string_view data() const noexcept { return buffer_; }

 private:
  void separate() {
    if (row_open_) buffer_.push_back('\t');
    row_open_ = true;
  }
  void append_escaped(std::string_view v);

  std::string buffer_;
  bool row_open_ = false;
  std::size_t rows_ = 0;
};

}  // namespace matchd::store
