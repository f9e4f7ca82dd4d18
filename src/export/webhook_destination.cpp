#include <matchd/export/webhook_destination.h>

#include <array>
#include <cstdint>

namespace matchd::event_export {

namespace {

struct v4_block {
  std::uint32_t base;
  int prefix;
};

constexpr std::uint32_t v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d;
}

// IANA's IPv4 special-purpose registry, less the blocks that are globally reachable.
constexpr std::array<v4_block, 15> kNotPublicV4{{
    {v4(0, 0, 0, 0), 8},        // "this network"
    {v4(10, 0, 0, 0), 8},       // private
    {v4(100, 64, 0, 0), 10},    // shared address space (carrier-grade NAT)
    {v4(127, 0, 0, 0), 8},      // loopback
    {v4(169, 254, 0, 0), 16},   // link-local (cloud metadata services live here)
    {v4(172, 16, 0, 0), 12},    // private
    {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
    {v4(192, 0, 2, 0), 24},     // documentation
    {v4(192, 88, 99, 0), 24},   // deprecated 6to4 relays
    {v4(192, 168, 0, 0), 16},   // private
    {v4(198, 18, 0, 0), 15},    // benchmarking
    {v4(198, 51, 100, 0), 24},  // documentation
    {v4(203, 0, 113, 0), 24},   // documentation
    {v4(224, 0, 0, 0), 4},      // multicast
    {v4(240, 0, 0, 0), 4},      // reserved, and the broadcast address
}};

bool is_public_v4(std::uint32_t address) noexcept {
  for (const v4_block& b : kNotPublicV4) {
    const std::uint32_t mask = ~std::uint32_t{0} << (32 - b.prefix);
    if ((address & mask) == b.base) return false;
  }
  return true;
}

std::uint32_t embedded_v4(const boost::asio::ip::address_v6::bytes_type& bytes) noexcept {
  return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

bool is_public_v6(const boost::asio::ip::address_v6& address) noexcept {
  const auto bytes = address.to_bytes();
  const auto starts_with = [&bytes](std::initializer_list<std::uint8_t> prefix) {
    std::size_t i = 0;
    for (const std::uint8_t b : prefix) {
      if (bytes[i++] != b) return false;
    }
    return true;
  };
  if (address.is_unspecified() || address.is_loopback()) return false;
  if (address.is_v4_mapped()) return is_public_v4(embedded_v4(bytes));
  // 64:ff9b::/96, the well-known NAT64 prefix, reaches the IPv4 address it carries.
  if (starts_with({0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_public_v4(embedded_v4(bytes));
  }
  if ((bytes[0] & 0xfe) == 0xfc) return false;                      // fc00::/7 unique local
  if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) return false;  // fe80::/10 link-local
  if (bytes[0] == 0xff) return false;                               // ff00::/8 multicast
  if (starts_with({0x20, 0x01, 0x0d, 0xb8})) return false;          // 2001:db8::/32 documentation
  // ::/96 (IPv4-compatible, deprecated) and the rest of ::/8 are not routable.
  if (bytes[0] == 0) return false;
  return true;
}

}  // namespace

bool is_public_address(const boost::asio::ip::address& address) noexcept {
  return address.is_v4() ? is_public_v4(address.to_v4().to_uint()) : is_public_v6(address.to_v6());
}

std::string destination_refusal(const webhook_url& url, const webhook_destinations& allowed) {
  if (!url.tls && !allowed.allow_http) {
    return "url must be https:// (this matchd runs without --webhook-allow-http)";
  }
  if (!allowed.allow_private) {
    boost::system::error_code not_an_address;
    const auto address = boost::asio::ip::make_address(url.host, not_an_address);
    if (!not_an_address && !is_public_address(address)) {
      return "url points to a loopback, private or reserved address (this matchd runs without "
             "--webhook-allow-private)";
    }
  }
  return {};
}

}  // namespace matchd::event_export
