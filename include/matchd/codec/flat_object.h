#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace matchd::codec {

// The JSON type of a value, or `absent` for a field that is not there.
enum class json_kind : std::uint8_t { absent, null, boolean, number, string, object, array };

// One member of a flat JSON object. `text` points into the scanned text: a string's
// content (without quotes; it has no escapes), a number's source text, or the literal
// (true/false/null).
struct flat_member {
  std::string_view key;
  json_kind kind = json_kind::absent;
  std::string_view text;
};

// The members of a flat JSON object, in source order.
struct flat_object {
  static constexpr std::size_t kMaxMembers = 24;

  std::array<flat_member, kMaxMembers> members;
  std::size_t size = 0;

  const flat_member* begin() const noexcept { return members.data(); }
  const flat_member* end() const noexcept { return members.data() + size; }
};

// The order-entry fast path: reads a JSON object in one pass without allocating, if the
// text is the plain shape every client sends, and returns false otherwise, leaving the
// answer (and every error message) to the full parser. Plain means:
//   - one object, with JSON whitespace around tokens and nothing after it;
//   - no key repeated, at most kMaxMembers members;
//   - keys and string values of printable ASCII without escapes (0x20-0x7E, no '"' or
//     '\'), so the text is the decoded value;
//   - numbers as non-negative decimals without an exponent, at most 19 digits when
//     integral and at most 40 characters, so they never overflow a double and the source
//     text is exactly what the full parser reports for them;
//   - values that are strings, numbers, true, false or null: no nested objects or arrays.
// Whatever this accepts, nlohmann's parser accepts with the same members and values; the
// codec tests hold the two to that on generated and mutated bodies.
bool scan_flat_object(std::string_view text, flat_object& out) noexcept;

}  // namespace matchd::codec
