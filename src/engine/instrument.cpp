#include <matchd/engine/instrument.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace matchd::engine {

namespace {

// Upper bounds keep every sum the engine forms inside int64: a level total is at most
// max_open_orders_per_book (5e6) x max quantity (1e12 lots) = 5e18 < 9.2e18.
constexpr std::int64_t kMaxQuantityLots = 1'000'000'000'000;
constexpr std::int64_t kMaxPriceUnitsWhole = 1'000'000'000;  // in whole currency units
constexpr std::int64_t kMaxPriceTicks = 1'000'000'000'000'000;

bool valid_symbol(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/';
  });
}

// The scale of an increment is its number of fractional digits, trailing zeros ignored:
// "0.01" -> 2, "0.050" -> 2, "1" -> 0.
std::optional<std::pair<int, std::int64_t>> parse_increment(std::string_view text) {
  int scale = 0;
  if (const auto dot = text.find('.'); dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
    scale = static_cast<int>(frac.size());
  }
  if (scale > kMaxDecimalScale) return std::nullopt;
  if (text.find_first_of("eE") != std::string_view::npos) return std::nullopt;
  const auto parsed = parse_decimal(text, scale);
  if (!parsed.ok() || parsed.units <= 0) return std::nullopt;
  return std::make_pair(scale, parsed.units);
}

std::int64_t default_max_price_ticks(int price_scale, std::int64_t tick_units) {
  std::int64_t units = 0;
  if (__builtin_mul_overflow(kMaxPriceUnitsWhole, pow10(price_scale), &units)) {
    return kMaxPriceTicks;
  }
  return std::clamp<std::int64_t>(units / tick_units, 1, kMaxPriceTicks);
}

amount_errc to_amount_errc(decimal_errc e) {
  switch (e) {
    case decimal_errc::ok:
      return amount_errc::ok;
    case decimal_errc::empty:
    case decimal_errc::malformed:
      return amount_errc::malformed;
    case decimal_errc::negative:
      return amount_errc::not_positive;
    case decimal_errc::not_representable:
      return amount_errc::not_on_increment;
    case decimal_errc::too_many_decimals:
      return amount_errc::too_many_decimals;
    case decimal_errc::out_of_range:
      return amount_errc::out_of_range;
  }
  return amount_errc::malformed;
}

// Decimal text -> count of increments, with the checks shared by prices and quantities.
std::pair<std::int64_t, amount_errc> parse_increments(std::string_view text, int scale,
                                                      std::int64_t increment_units,
                                                      std::int64_t max_increments) {
  const auto parsed = parse_decimal(text, scale);
  if (!parsed.ok()) return {0, to_amount_errc(parsed.error)};
  if (parsed.units <= 0) return {0, amount_errc::not_positive};
  if (parsed.units % increment_units != 0) return {0, amount_errc::not_on_increment};
  const std::int64_t count = parsed.units / increment_units;
  if (count > max_increments) return {0, amount_errc::out_of_range};
  return {count, amount_errc::ok};
}

// ":band_bps=500:max_notional=1000000" after the lot size, each at most once.
bool parse_rules(instrument& ins, std::string_view rules) {
  bool band = false;
  bool notional = false;
  while (true) {
    const auto end = rules.find(':');
    const std::string_view item = rules.substr(0, end);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view name = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (name == "band_bps" && !band) {
      const auto bps = parse_band_bps(value);
      if (!bps) return false;
      ins.band_bps = *bps;
      band = true;
    } else if (name == "max_notional" && !notional) {
      const auto units = parse_max_notional(ins, value);
      if (!units) return false;
      ins.max_notional_units = *units;
      notional = true;
    } else {
      return false;
    }
    if (end == std::string_view::npos) return true;
    rules.remove_prefix(end + 1);
  }
}

}  // namespace

std::optional<instrument> instrument::parse_spec(std::string_view spec) {
  const auto first = spec.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = spec.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const auto rules_at = spec.find(':', second + 1);
  const std::string_view symbol = spec.substr(0, first);
  const auto tick = parse_increment(spec.substr(first + 1, second - first - 1));
  const auto lot = parse_increment(spec.substr(second + 1, rules_at == std::string_view::npos
                                                               ? std::string_view::npos
                                                               : rules_at - second - 1));
  if (!valid_symbol(symbol) || !tick || !lot) return std::nullopt;

  instrument ins;
  ins.symbol = std::string(symbol);
  ins.price_scale = tick->first;
  ins.tick_units = tick->second;
  ins.quantity_scale = lot->first;
  ins.lot_units = lot->second;
  ins.min_quantity = quantity_lots{1};
  // Clamped so that one order's price and quantity always fit in int64 as decimal units.
  constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
  ins.max_quantity = quantity_lots{std::min(kMaxQuantityLots, kInt64Max / ins.lot_units)};
  ins.max_price = price_ticks{std::min(default_max_price_ticks(ins.price_scale, ins.tick_units),
                                       kInt64Max / ins.tick_units)};
  if (rules_at != std::string_view::npos && !parse_rules(ins, spec.substr(rules_at + 1))) {
    return std::nullopt;
  }
  return ins;
}

std::optional<std::int64_t> parse_max_notional(const instrument& ins, std::string_view text) {
  const auto parsed = parse_decimal(text, ins.price_scale);
  if (!parsed.ok() || parsed.units <= 0) return std::nullopt;
  return parsed.units;
}

std::optional<std::uint32_t> parse_band_bps(std::string_view text) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v == 0 || v > kMaxBandBps) {
    return std::nullopt;
  }
  return v;
}

instrument instrument::btc_usd() {
  return *parse_spec("BTC-USD:0.01:0.00000001");
}

price_parse_result parse_price(const instrument& ins, std::string_view text) noexcept {
  const auto [ticks, error] =
      parse_increments(text, ins.price_scale, ins.tick_units, ins.max_price.value);
  return {price_ticks{ticks}, error};
}

quantity_parse_result parse_quantity(const instrument& ins, std::string_view text) noexcept {
  const auto [lots, error] =
      parse_increments(text, ins.quantity_scale, ins.lot_units, ins.max_quantity.value);
  if (error == amount_errc::ok && lots < ins.min_quantity.value) {
    return {quantity_lots{0}, amount_errc::out_of_range};
  }
  return {quantity_lots{lots}, error};
}

// Through int128: a level total in lots times a large lot size can exceed int64.
std::size_t format_price(const instrument& ins, price_ticks p, char* out) noexcept {
  return format_decimal_wide(static_cast<int128>(p.value) * ins.tick_units, ins.price_scale, out);
}

std::size_t format_quantity(const instrument& ins, quantity_lots q, char* out) noexcept {
  return format_decimal_wide(static_cast<int128>(q.value) * ins.lot_units, ins.quantity_scale, out);
}

std::string format_price(const instrument& ins, price_ticks p) {
  char buf[kMaxFormattedDecimal];
  return std::string(buf, format_price(ins, p, buf));
}

std::string format_quantity(const instrument& ins, quantity_lots q) {
  char buf[kMaxFormattedDecimal];
  return std::string(buf, format_quantity(ins, q, buf));
}

std::int64_t average_price_units(const instrument& ins, int128 notional_tick_lots,
                                 quantity_lots filled) noexcept {
  if (filled.value <= 0) return 0;
  const int128 numerator = notional_tick_lots * ins.tick_units;
  const int128 divisor = filled.value;
  return static_cast<std::int64_t>((numerator * 2 + divisor) / (divisor * 2));
}

std::optional<instrument_id> find_instrument(const std::vector<instrument>& instruments,
                                             std::string_view symbol) noexcept {
  for (std::size_t i = 0; i < instruments.size(); ++i) {
    if (instruments[i].symbol == symbol) return static_cast<instrument_id>(i);
  }
  return std::nullopt;
}

}  // namespace matchd::engine
