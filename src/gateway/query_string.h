#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace matchd::gateway {

// "/orderbook?instrument=BTC-USD" -> {"/orderbook", "instrument=BTC-USD"}
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

std::string percent_decode(std::string_view s);

std::vector<std::string_view> split(std::string_view s, char sep);

// Decoded key/value pairs of a query string; the first occurrence of a key wins.
class query_params {
 public:
  explicit query_params(std::string_view query);
  std::optional<std::string_view> get(std::string_view key) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// "trades" | "orderbook_deltas" | "orders" | "candles" | "ticker" -> bus::channel bit; 0 when
// unknown.
std::uint8_t channel_from_name(std::string_view name);
// "1s" ... "1d" -> its bit of bus::read_query::candle_intervals; 0 when unknown.
std::uint8_t candle_interval_bit(std::string_view name);

// A top-level string field of a JSON object body, without exceptions; nullopt if the body
// is not an object or the field is missing or not a string.
std::optional<std::string> json_string_field(std::string_view body, const char* field);

}  // namespace matchd::gateway
