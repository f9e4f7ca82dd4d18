#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>

namespace matchd::engine {

// 128-bit signed integer for notional values (price x quantity). __extension__ keeps
// -Wpedantic quiet about the GCC/Clang builtin.
__extension__ using int128 = __int128;

// A signed 64-bit integer that only mixes with itself, so ticks and lots cannot be
// confused. Money never passes through floating point.
template <class Tag>
struct strong_int {
  std::int64_t value{};

  constexpr strong_int() noexcept = default;
  constexpr explicit strong_int(std::int64_t v) noexcept : value(v) {}

  constexpr auto operator<=>(const strong_int&) const noexcept = default;

  constexpr strong_int& operator+=(strong_int o) noexcept {
    value += o.value;
    return *this;
  }
  constexpr strong_int& operator-=(strong_int o) noexcept {
    value -= o.value;
    return *this;
  }
  friend constexpr strong_int operator+(strong_int a, strong_int b) noexcept { return a += b; }
  friend constexpr strong_int operator-(strong_int a, strong_int b) noexcept { return a -= b; }
  friend constexpr strong_int min(strong_int a, strong_int b) noexcept {
    return a.value < b.value ? a : b;
  }
};

// Price in multiples of the instrument's tick size.
using price_ticks = strong_int<struct price_ticks_tag>;
// Quantity in multiples of the instrument's lot size.
using quantity_lots = strong_int<struct quantity_lots_tag>;

// Microseconds since the Unix epoch, UTC. The engine never reads a clock: the gateway
// stamps each command on receipt, so replaying commands reproduces the same events.
using timestamp_us = std::int64_t;

using sequence_number = std::uint64_t;
using trade_id = std::uint64_t;
using instrument_id = std::uint32_t;

enum class side : std::uint8_t { buy, sell };
enum class order_type : std::uint8_t { limit, market };
enum class time_in_force : std::uint8_t { gtc, ioc, fok };
enum class order_status : std::uint8_t { open, partially_filled, filled, cancelled, rejected };

// Why an order ended, where its status alone does not say (the API's `reason`; none is
// left out of the JSON). New reasons are added at the end: the journal and the orders
// table keep them by name or number, so a value never changes meaning.
enum class end_reason : std::uint8_t {
  none,
  self_trade_prevention,  // cancelled by its own or an incoming order's stp
  would_take,             // a post_only order that would have crossed: rejected
  price_band,             // a market order stopped at the instrument's price band
  max_notional,           // a market order stopped at the instrument's max notional
  would_trigger,          // a stop order whose condition already held when placed: rejected
};
inline constexpr end_reason kLastEndReason = end_reason::would_trigger;

// Self-trade prevention: what happens when an incoming order (the taker) reaches a resting
// order of its own client. The taker's mode decides (Binance's EXPIRE_TAKER, EXPIRE_MAKER,
// EXPIRE_BOTH and NONE).
enum class stp_mode : std::uint8_t {
  cancel_taker,  // the taker's remainder is cancelled; the resting order stays (default)
  cancel_maker,  // the resting order is cancelled and the taker goes on matching
  cancel_both,   // both are cancelled
  none,          // they trade
};

constexpr side opposite(side s) noexcept {
  return s == side::buy ? side::sell : side::buy;
}

constexpr bool is_final(order_status s) noexcept {
  return s == order_status::filled || s == order_status::cancelled || s == order_status::rejected;
}

std::string_view to_string(side s) noexcept;
std::string_view to_string(order_type t) noexcept;
std::string_view to_string(time_in_force t) noexcept;
std::string_view to_string(order_status s) noexcept;
std::string_view to_string(end_reason r) noexcept;
std::string_view to_string(stp_mode m) noexcept;
// The inverse of to_string, for the codec and the tables; false on anything else.
bool parse_end_reason(std::string_view text, end_reason& out) noexcept;
bool parse_stp_mode(std::string_view text, stp_mode& out) noexcept;

// Fixed-capacity inline string: order and client ids travel inside commands and events
// by value, so neither the queues nor the engine allocate for them.
template <std::size_t Capacity>
class fixed_string {
  static_assert(Capacity < 256, "size is kept in one byte");

 public:
  static constexpr std::size_t capacity = Capacity;

  constexpr fixed_string() noexcept = default;

  // Truncates silently; callers validate ids first (codec::valid_id).
  static constexpr fixed_string from(std::string_view s) noexcept {
    fixed_string r;
    r.size_ = static_cast<std::uint8_t>(std::min(s.size(), Capacity));
    std::copy_n(s.data(), r.size_, r.data_.data());
    return r;
  }

  constexpr std::string_view view() const noexcept { return {data_.data(), size_}; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }

  friend constexpr bool operator==(const fixed_string& a, const fixed_string& b) noexcept {
    return a.view() == b.view();
  }
  // Found by boost::hash, so an id keys boost's hash maps as it is, with no string made.
  friend std::size_t hash_value(const fixed_string& s) noexcept {
    return std::hash<std::string_view>{}(s.view());
  }

 private:
  std::array<char, Capacity> data_{};
  std::uint8_t size_ = 0;
};

inline constexpr std::size_t kMaxIdLength = 64;
using order_id = fixed_string<kMaxIdLength>;
using client_id = fixed_string<kMaxIdLength>;

// The API's rule for client_id, order_id and idempotency keys: 1-64 chars of
// [A-Za-z0-9._:-]. Whoever makes an id from outside text (the gateway's codec, the market-data
// feed) checks it with this before fixed_string::from, which would truncate.
constexpr bool is_id_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}
constexpr bool valid_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= kMaxIdLength && std::all_of(id.begin(), id.end(), is_id_char);
}

// The client's own label for an order, kept beside order_id (the API's client_order_id):
// 1-36 chars of the id alphabet, Binance's newClientOrderId limit (a UUID fits).
inline constexpr std::size_t kMaxClientOrderIdLength = 36;
using order_label = fixed_string<kMaxClientOrderIdLength>;
constexpr bool valid_client_order_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= kMaxClientOrderIdLength &&
         std::all_of(id.begin(), id.end(), is_id_char);
}

}  // namespace matchd::engine
