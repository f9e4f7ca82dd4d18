#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace matchd::engine {

// The public id of the API key that placed an order: 64 random bits, written as 16
// lowercase hex digits. 0 means no key (--auth none).
using key_id = std::uint64_t;

inline constexpr std::size_t kKeyIdLength = 16;

// Writes the 16 digits at `out` (no terminator), for writers that must not allocate (the
// order JSON, the COPY rows); returns the end.
inline char* write_key_id(key_id id, char* out) noexcept {
  constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = kKeyIdLength; i-- > 0; id >>= 4) out[i] = kDigits[id & 0xf];
  return out + kKeyIdLength;
}

inline std::string format_key_id(key_id id) {
  std::string s(kKeyIdLength, '0');
  write_key_id(id, s.data());
  return s;
}

// Exactly 16 hex digits (either case), not all zero.
inline std::optional<key_id> parse_key_id(std::string_view s) noexcept {
  if (s.size() != 16) return std::nullopt;
  key_id id = 0;
  for (const char c : s) {
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    id = (id << 4) | static_cast<key_id>(v);
  }
  if (id == 0) return std::nullopt;
  return id;
}

}  // namespace matchd::engine
