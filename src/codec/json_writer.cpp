#include <matchd/codec/json_writer.h>
#include <matchd/codec/timestamp.h>
#include <matchd/engine/decimal.h>

#include <charconv>
#include <cstddef>

namespace matchd::codec {

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 if it is
// not one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned b = byte(i);
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b == 0xE0) return cont(i + 1, 0xA0, 0xBF) && cont(i + 2) ? 3 : 0;
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (b == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
  if (b == 0xF0) return cont(i + 1, 0x90, 0xBF) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b >= 0xF1 && b <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run_start = 0;  // bytes [run_start, i) are copied as they are
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t n = utf8_sequence_length(s, i); n != 0) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run_start, i - run_start);
    switch (c) {
      case '"':
        out.append("\\\"", 2);
        break;
      case '\\':
        out.append("\\\\", 2);
        break;
      case '\b':
        out.append("\\b", 2);
        break;
      case '\f':
        out.append("\\f", 2);
        break;
      case '\n':
        out.append("\\n", 2);
        break;
      case '\r':
        out.append("\\r", 2);
        break;
      case '\t':
        out.append("\\t", 2);
        break;
      default:
        if (c < 0x20) {
          const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(escape, sizeof escape);
        } else {
          out.append("\\ufffd", 6);  // an invalid UTF-8 byte
        }
    }
    run_start = ++i;
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

void json_writer::int_value(std::int64_t v) {
  before_value();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_->append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void json_writer::uint_value(std::uint64_t v) {
  before_value();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_->append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void json_writer::decimal_value(std::int64_t units, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  plain_string_value({buf, engine::format_decimal(units, scale, buf)});
}

void json_writer::timestamp_value(engine::timestamp_us t) {
  char buf[kTimestampLength];
  plain_string_value({buf, format_timestamp(t, buf)});
}

}  // namespace matchd::codec
