#include <matchd/net/ws_frame.h>

#include <array>

namespace matchd::net {

namespace {

constexpr unsigned char kFinText = 0x81;
constexpr unsigned char kMaskBit = 0x80;

void append_header(std::string& out, std::size_t length, unsigned char mask_bit) {
  out += static_cast<char>(kFinText);
  if (length < 126) {
    out += static_cast<char>(mask_bit | length);
  } else if (length <= 0xffff) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(length >> 8);
    out += static_cast<char>(length & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out += static_cast<char>((static_cast<std::uint64_t>(length) >> shift) & 0xff);
    }
  }
}

}  // namespace

void append_text_frame(std::string& out, std::string_view payload) {
  append_header(out, payload.size(), 0);
  out.append(payload);
}

void append_masked_text_frame(std::string& out, std::string_view payload, std::uint32_t mask_key) {
  append_header(out, payload.size(), kMaskBit);
  const std::array<char, 4> key{
      static_cast<char>(mask_key >> 24), static_cast<char>((mask_key >> 16) & 0xff),
      static_cast<char>((mask_key >> 8) & 0xff), static_cast<char>(mask_key & 0xff)};
  out.append(key.data(), key.size());
  const std::size_t at = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i) out[at + i] ^= key[i & 3];
}

}  // namespace matchd::net
