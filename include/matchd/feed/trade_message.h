#pragma once

#include <matchd/engine/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace matchd::feed {

// One trade of a Binance `<symbol>@trade` stream:
//   {"e":"trade","E":1717243200123,"s":"BTCUSDT","t":3601234567,"p":"70012.34000000",
//    "q":"0.00150000","T":1717243200121,"m":true,"M":true}
// Decimals stay text here; they are converted exactly, with the instrument's rules, by
// to_market_order.
struct parsed_trade {
  std::string symbol;              // "s"
  std::uint64_t trade_id = 0;      // "t"
  std::string price;               // "p"
  std::string quantity;            // "q"
  std::int64_t event_time_ms = 0;  // "E"
  std::int64_t trade_time_ms = 0;  // "T"
  bool buyer_is_maker = false;     // "m"

  // The side of the order that took liquidity. m == true means the buyer's order was
  // resting, so the seller was the aggressor.
  constexpr engine::side taker_side() const noexcept {
    return buyer_is_maker ? engine::side::sell : engine::side::buy;
  }
};

enum class message_kind : std::uint8_t {
  trade,            // `trade` is valid
  server_shutdown,  // {"e":"serverShutdown",...}: the server asks us to reconnect now
  ignored,          // well-formed but not for us: another event type, a subscription reply
  malformed,        // see `error`
};

enum class parse_errc : std::uint8_t {
  ok,
  bad_json,       // not JSON at all
  not_an_object,  // JSON, but not an object (or a combined-stream "data" that is not one)
  missing_field,  // a required trade field is absent
  bad_field,      // a field has the wrong JSON type or an impossible value
  bad_decimal,    // "p" or "q" is not a non-negative decimal string
};

// Stable label value for metrics and logs, e.g. "missing_field".
std::string_view to_string(parse_errc e) noexcept;

struct feed_message {
  message_kind kind = message_kind::malformed;
  parse_errc error = parse_errc::ok;
  std::string_view detail;  // what was wrong (static text), for logs
  parsed_trade trade;       // kind == trade
};

// Classifies one text message of the stream, raw or wrapped by a combined stream as
// {"stream":"btcusdt@trade","data":{...}}. Pure; never throws (allocation aside).
feed_message parse_feed_message(std::string_view json);

// The trade in `json`, or nullopt for anything else (see parse_feed_message for why).
std::optional<parsed_trade> parse_trade_message(std::string_view json);

}  // namespace matchd::feed
