#pragma once

#include <matchd/engine/decimal.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::engine {

// The trading rules of one instrument. Prices are held in ticks and quantities in lots;
// `price_scale`/`quantity_scale` are the number of decimals of the tick and lot sizes,
// which is also the canonical precision of the API's decimal strings.
struct instrument {
  std::string symbol;
  int price_scale = 2;
  std::int64_t tick_units = 1;  // tick size * 10^price_scale
  int quantity_scale = 8;
  std::int64_t lot_units = 1;  // lot size * 10^quantity_scale
  quantity_lots min_quantity{1};
  quantity_lots max_quantity{1'000'000'000'000};  // 10,000 BTC at 1e-8 lots
  price_ticks max_price{100'000'000'000};         // 1,000,000,000.00 at tick 0.01
  // Price band (docs/api.md, Price bands): a limit price more than this many basis points
  // away from the reference price is refused, and a market order stops at it. 0: no band.
  std::uint32_t band_bps = 0;
  // The most one order may be worth, price x quantity in quote units, held at the price's
  // precision (value * 10^price_scale). 0: no limit.
  std::int64_t max_notional_units = 0;

  // "BTC-USD:0.01:0.00000001" (symbol, tick size, lot size), the command-line form, with
  // optional trailing rules: ":band_bps=500", ":max_notional=1000000".
  static std::optional<instrument> parse_spec(std::string_view spec);
  static instrument btc_usd();

  std::string tick_size() const { return format_decimal(tick_units, price_scale); }
  std::string lot_size() const { return format_decimal(lot_units, quantity_scale); }
  // The same trading rules (symbol, increments, limits, band and notional): every field,
  // so a field added later is compared without anyone having to remember it.
  bool operator==(const instrument&) const = default;
};

inline constexpr std::uint32_t kMaxBandBps = 100'000;  // 1000%
// How many instruments a venue holds at most, configured and added at runtime together
// (engine_options::max_instruments; the gateway sizes its per-instrument flags by it).
inline constexpr std::size_t kDefaultMaxInstruments = 1024;

// A max notional as decimal text in quote units, at the instrument's price precision.
// Nullopt when malformed, not positive, or finer than the price precision.
std::optional<std::int64_t> parse_max_notional(const instrument& ins, std::string_view text);
// A band in basis points: a whole number from 1 to kMaxBandBps.
std::optional<std::uint32_t> parse_band_bps(std::string_view text);

// The id of the instrument called `symbol` in a configuration: its position in the list.
std::optional<instrument_id> find_instrument(const std::vector<instrument>& instruments,
                                             std::string_view symbol) noexcept;

enum class amount_errc : std::uint8_t {
  ok,
  malformed,
  not_positive,
  not_on_increment,  // not a multiple of the tick or lot size
  too_many_decimals,
  out_of_range,
};

struct price_parse_result {
  price_ticks value{};
  amount_errc error = amount_errc::ok;
};
struct quantity_parse_result {
  quantity_lots value{};
  amount_errc error = amount_errc::ok;
};

// Decimal text -> ticks/lots under the instrument's rules (positive, on increment, within
// limits). The gateway calls these; the engine trusts what it is given.
price_parse_result parse_price(const instrument& ins, std::string_view text) noexcept;
quantity_parse_result parse_quantity(const instrument& ins, std::string_view text) noexcept;

// Canonical decimal strings at the instrument's precision.
std::string format_price(const instrument& ins, price_ticks p);
std::string format_quantity(const instrument& ins, quantity_lots q);
std::size_t format_price(const instrument& ins, price_ticks p, char* out) noexcept;
std::size_t format_quantity(const instrument& ins, quantity_lots q, char* out) noexcept;

// Volume-weighted average price, rounded half away from zero to the instrument's price
// precision (not to the tick), as price units (value * 10^price_scale).
std::int64_t average_price_units(const instrument& ins, int128 notional_tick_lots,
                                 quantity_lots filled) noexcept;

}  // namespace matchd::engine
