#pragma once

#include <matchd/engine/command.h>
#include <matchd/engine/instrument.h>
#include <matchd/feed/feed_options.h>
#include <matchd/feed/trade_message.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::feed {

// A decimal held exactly as units * 10^-scale, scale in [0, 18], units >= 0.
struct exact_decimal {
  std::int64_t units = 0;
  int scale = 0;
};

// Parses a non-negative decimal (JSON number grammar, exponents allowed) at the smallest
// scale that holds it exactly: "0.00150000" -> {15, 4}. nullopt when it is malformed,
// negative, needs more than 18 decimals or does not fit in 64 bits.
std::optional<exact_decimal> parse_exact_decimal(std::string_view text) noexcept;

// Why a parsed trade did not become an order.
enum class mapping_errc : std::uint8_t {
  ok,
  unknown_symbol,      // no symbol_map entry for the trade's symbol
  bad_quantity,        // "q" is not a usable decimal
  bad_price,           // "p" is not a usable positive decimal
  below_lot,           // quantity * scale rounds down to less than the instrument's minimum
  above_max,           // quantity * scale exceeds the instrument's maximum order size
  price_out_of_range,  // the guarded limit price is outside the instrument's price range
};

// Stable label value for metrics and logs, e.g. "below_lot".
std::string_view to_string(mapping_errc e) noexcept;

// True for the errors that mean the message itself was bad (counted as parse errors); false
// for a good trade that simply cannot be replayed here (counted as skipped).
constexpr bool is_malformed(mapping_errc e) noexcept {
  return e == mapping_errc::unknown_symbol || e == mapping_errc::bad_quantity ||
         e == mapping_errc::bad_price;
}

// The options that turn trades into orders, checked and converted once at start-up.
struct trade_mapping {
  struct route {
    std::string source_symbol;  // upper case, e.g. "BTCUSDT"
    engine::instrument_id instrument = 0;
    engine::instrument rules;
  };
  std::vector<route> routes;
  engine::client_id client;
  exact_decimal quantity_scale{1, 0};
  std::optional<exact_decimal> price_guard_bps;

  // Throws std::invalid_argument naming the bad option: a symbol_map entry whose source
  // symbol is not [A-Z0-9]{1,32} (case-insensitive) or whose instrument is not in
  // `instruments`, an invalid client_id, a quantity_scale that is not a positive decimal, a
  // price guard outside [0, 10000) bps.
  static trade_mapping make(const feed_options& options,
                            const std::vector<engine::instrument>& instruments);

  // The route for a trade's symbol (case-insensitive), or nullptr.
  const route* find(std::string_view source_symbol) const noexcept;
};

// "feed-<SOURCE_SYMBOL>-<trade id>", e.g. "feed-BTCUSDT-3601234567". Deterministic, so a
// trade delivered twice (a reconnect that overlaps, a replay) is refused by the engine as a
// duplicate order id: each trade id trades at most once while the engine remembers it.
std::string feed_order_id(std::string_view source_symbol, std::uint64_t trade_id);

// The order that replays `trade`: the taker's side, quantity = q * quantity_scale rounded
// down to the lot; a market IOC order, or a limit IOC at the guarded price when a guard
// is configured. received_at is the wall-clock receipt time (microseconds since the epoch).
// nullopt with *error set (when given) if the trade cannot be replayed.
std::optional<engine::place_order> to_market_order(const parsed_trade& trade,
                                                   const trade_mapping& mapping,
                                                   engine::timestamp_us received_at,
                                                   mapping_errc* error = nullptr);

}  // namespace matchd::feed
