#include "fixture.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace matchd::load {

namespace {

bool valid_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// Offset of the closing quote of the order_id value in `body`, or npos. The key is matched
// literally ("order_id" then optional blanks, ':', optional blanks, '"'); ids never need
// escapes, so the value ends at the next quote.
std::size_t find_order_id_end(std::string_view body) {
  constexpr std::string_view kKey = "\"order_id\"";
  for (std::size_t at = body.find(kKey); at != std::string_view::npos;
       at = body.find(kKey, at + 1)) {
    std::size_t p = at + kKey.size();
    auto skip_blanks = [&] {
      while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
    };
    skip_blanks();
    if (p >= body.size() || body[p] != ':') continue;
    ++p;
    skip_blanks();
    if (p >= body.size() || body[p] != '"') continue;
    const std::size_t end = body.find('"', p + 1);
    if (end != std::string_view::npos) return end;
  }
  return std::string_view::npos;
}

std::size_t decimal_digits(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

}  // namespace

fixture fixture::load(const std::string& path, std::string tag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  for (char c : tag) {
    if (!valid_id_char(c)) {
      throw std::runtime_error("--id-tag may only use [A-Za-z0-9._:-], got \"" + tag + "\"");
    }
  }
  fixture f;
  if (!tag.empty()) f.tag_suffix_ = "." + tag;
  std::string raw;
  std::size_t number = 0;
  while (std::getline(in, raw)) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    if (raw.find_first_not_of(" \t") == std::string::npos) continue;
    const auto where = [&] { return path + ":" + std::to_string(number) + ": "; };
    const auto doc = nlohmann::json::parse(raw, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      throw std::runtime_error(where() + "not a JSON object");
    }
    if (f.text_.size() + raw.size() >= std::numeric_limits<std::uint32_t>::max()) {
      throw std::runtime_error(where() + "fixture too large (4 GiB at most)");
    }
    line l;
    l.begin = static_cast<std::uint32_t>(f.text_.size());
    l.length = static_cast<std::uint32_t>(raw.size());
    l.empty_object = doc.empty();
    if (const auto it = doc.find("order_id"); it != doc.end()) {
      if (!it->is_string()) throw std::runtime_error(where() + "order_id must be a string");
      const std::string& id = it->get_ref<const std::string&>();
      for (char c : id) {
        if (!valid_id_char(c)) {
          throw std::runtime_error(where() + "order_id \"" + id +
                                   "\" has characters outside "
                                   "[A-Za-z0-9._:-]");
        }
      }
      const std::size_t end = find_order_id_end(raw);
      if (end == std::string::npos || end < id.size() ||
          std::string_view(raw).substr(end - id.size(), id.size()) != id) {
        throw std::runtime_error(where() +
                                 "cannot locate the order_id value in the text "
                                 "(write it as \"order_id\":\"...\")");
      }
      l.id_end = static_cast<std::uint32_t>(l.begin + end);
      l.id_length = static_cast<std::uint32_t>(id.size());
    }
    f.text_ += raw;
    f.lines_.push_back(l);
  }
  if (f.lines_.empty()) throw std::runtime_error("fixture " + path + " has no orders");
  return f;
}

std::size_t fixture::longest_order_id(std::uint64_t cycles) const {
  std::size_t longest = 0;
  for (const line& l : lines_) longest = std::max<std::size_t>(longest, l.id_length);
  if (longest == 0) return 0;
  longest += tag_suffix_.size();
  if (cycles > 1) longest += 2 + decimal_digits(cycles - 1);
  return longest;
}

void fixture::append_from(std::uint64_t request, std::size_t skip, std::string& out) const {
  const line& l = lines_[request % lines_.size()];
  const std::uint64_t cycle = request / lines_.size();
  const char* base = text_.data();
  if (l.id_length == 0 || (cycle == 0 && tag_suffix_.empty())) {
    out.append(base + l.begin + skip, l.length - skip);
    return;
  }
  out.append(base + l.begin + skip, l.id_end - l.begin - skip);
  out += tag_suffix_;
  if (cycle > 0) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, cycle);
    out += ".c";
    out.append(digits, r.ptr);
  }
  out.append(base + l.id_end, l.begin + l.length - l.id_end);
}

void fixture::append_body(std::uint64_t request, std::string& out) const {
  append_from(request, 0, out);
}

void fixture::append_members(std::uint64_t request, std::string& out, bool& leading_comma) const {
  const line& l = lines_[request % lines_.size()];
  leading_comma = !l.empty_object;
  // Skip up to and including the opening brace.
  std::size_t skip = 0;
  while (skip < l.length && text_[l.begin + skip] != '{') ++skip;
  append_from(request, skip + 1, out);
}

}  // namespace matchd::load
