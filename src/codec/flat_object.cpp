#include <matchd/codec/flat_object.h>

namespace matchd::codec {

namespace {

constexpr std::size_t kMaxIntegerDigits = 19;  // always fits an unsigned 64-bit integer
constexpr std::size_t kMaxNumberLength = 40;   // far inside a double's range

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

class scanner {
 public:
  explicit scanner(std::string_view text) noexcept : p_(text.data()), end_(p_ + text.size()) {}

  bool object(flat_object& out) noexcept {
    out.size = 0;
    skip_space();
    if (!take('{')) return false;
    skip_space();
    if (take('}')) return at_end();
    for (;;) {
      if (out.size == flat_object::kMaxMembers) return false;
      flat_member& m = out.members[out.size];
      if (!string(m.key)) return false;
      for (std::size_t i = 0; i < out.size; ++i) {
        if (out.members[i].key == m.key) return false;
      }
      skip_space();
      if (!take(':')) return false;
      skip_space();
      if (!value(m)) return false;
      ++out.size;
      skip_space();
      if (take('}')) return at_end();
      if (!take(',')) return false;
      skip_space();
    }
  }

 private:
  bool value(flat_member& m) noexcept {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"':
        m.kind = json_kind::string;
        return string(m.text);
      case 't':
        m.kind = json_kind::boolean;
        return literal("true", m.text);
      case 'f':
        m.kind = json_kind::boolean;
        return literal("false", m.text);
      case 'n':
        m.kind = json_kind::null;
        return literal("null", m.text);
      default:
        m.kind = json_kind::number;
        return number(m.text);
    }
  }

  bool string(std::string_view& out) noexcept {
    if (!take('"')) return false;
    const char* start = p_;
    while (p_ != end_) {
      const char c = *p_;
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c > 0x7E || c == '\\') return false;  // control, non-ASCII, escape
      ++p_;
    }
    return false;
  }

  bool literal(std::string_view word, std::string_view& out) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    out = std::string_view(p_, word.size());
    p_ += word.size();
    return true;
  }

  // JSON's int frac? with no sign and no exponent.
  bool number(std::string_view& out) noexcept {
    const char* start = p_;
    if (p_ == end_ || !is_digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) return false;
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) return false;
    const auto length = static_cast<std::size_t>(p_ - start);
    if (length > (integral ? kMaxIntegerDigits : kMaxNumberLength)) return false;
    out = std::string_view(start, length);
    return true;
  }

  void skip_space() noexcept {
    while (p_ != end_ && is_space(*p_)) ++p_;
  }
  bool take(char c) noexcept {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool at_end() noexcept {
    skip_space();
    return p_ == end_;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool scan_flat_object(std::string_view text, flat_object& out) noexcept {
  return scanner(text).object(out);
}

}  // namespace matchd::codec
