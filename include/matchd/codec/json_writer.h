#pragma once

#include <matchd/engine/types.h>

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::codec {

// Appends `s` as a JSON string literal (with the quotes). Escapes '"', '\\' and control
// characters; passes valid UTF-8 through and replaces each invalid byte with U+FFFD, so
// the output is always valid JSON whatever bytes come in.
void append_json_string(std::string& out, std::string_view s);

// Streams compact JSON into a caller-owned std::string: no DOM and no allocation other
// than the string's own growth. Commas are placed automatically, so helpers that write a
// whole value (append_order, append_error, ...) compose anywhere a value may go.
//
//   json_writer w(out);
//   w.begin_object();
//   w.key("order"); append_order(w, o, ins);
//   w.end_object();
//
// Nesting deeper than kMaxDepth is a programming error (asserted in debug builds).
// Not thread-safe; cheap to construct, one per document.
class json_writer {
 public:
  static constexpr int kMaxDepth = 63;

  explicit json_writer(std::string& out) noexcept : out_(&out) {}

  std::string& buffer() const noexcept { return *out_; }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  // `name` is written verbatim: keys are the API's literal field names and need no
  // escaping.
  void key(std::string_view name) {
    separate();
    out_->push_back('"');
    out_->append(name);
    out_->append("\":", 2);
    after_key_ = true;
  }

  void string_value(std::string_view s) {
    before_value();
    append_json_string(*out_, s);
  }
  // Writes "text" without escaping. Only for text that needs none: decimals, timestamps,
  // the engine's enum names.
  void plain_string_value(std::string_view text) {
    before_value();
    out_->push_back('"');
    out_->append(text);
    out_->push_back('"');
  }
  void int_value(std::int64_t v);
  void uint_value(std::uint64_t v);
  void bool_value(bool v) {
    before_value();
    out_->append(v ? std::string_view("true") : std::string_view("false"));
  }
  void null_value() {
    before_value();
    out_->append("null", 4);
  }
  // A decimal string at a fixed number of decimals: (7015050, 2) -> "70150.50".
  void decimal_value(std::int64_t units, int scale);
  // An RFC 3339 UTC timestamp string with microseconds (see timestamp.h).
  void timestamp_value(engine::timestamp_us t);
  // An already serialized JSON value, written verbatim.
  void raw_value(std::string_view json) {
    before_value();
    out_->append(json);
  }

  int depth() const noexcept { return depth_; }

 private:
  bool has_items() const noexcept { return (items_ >> depth_) & 1U; }

  // A comma before every member or element but the first of its container.
  void separate() {
    if (depth_ == 0) return;
    if (has_items()) out_->push_back(',');
    items_ |= std::uint64_t{1} << depth_;
  }
  void before_value() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    separate();
  }
  void open(char c) {
    before_value();
    out_->push_back(c);
    assert(depth_ < kMaxDepth);
    ++depth_;
    items_ &= ~(std::uint64_t{1} << depth_);
  }
  void close(char c) {
    assert(depth_ > 0 && !after_key_);
    --depth_;
    out_->push_back(c);
  }

  std::string* out_;
  std::uint64_t items_ = 0;  // bit d: the container at depth d has a member already
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace matchd::codec
