#include <matchd/engine/decimal.h>
#include <matchd/feed/order_mapping.h>

#include <algorithm>
#include <stdexcept>

namespace matchd::feed {

namespace {

using engine::int128;

// 10^n for n in [0, 38].
int128 pow10_wide(int n) noexcept {
  int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

bool mul(int128 a, int128 b, int128& out) noexcept {
  return !__builtin_mul_overflow(a, b, &out);
}

char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return upper(x) == upper(y); });
}

bool valid_source_symbol(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// floor(value * scale) in lots of `ins`, exactly. nullopt when it does not fit.
std::optional<int128> scaled_lots(exact_decimal value, exact_decimal scale,
                                  const engine::instrument& ins) noexcept {
  // value * scale = (v * s) / 10^(vs + ss); in lots: * 10^quantity_scale / lot_units.
  int128 n = static_cast<int128>(value.units) * scale.units;  // < 2^126
  const int shift = value.scale + scale.scale - ins.quantity_scale;
  if (shift >= 0) {
    n /= pow10_wide(shift);  // shift <= 36: fits
  } else if (!mul(n, pow10_wide(-shift), n)) {
    return std::nullopt;
  }
  // floor(floor(a / b) / c) == floor(a / (b * c)) for positive integers.
  return n / ins.lot_units;
}

// The guarded IOC limit in ticks: price moved against the taker by `bps`, then rounded to
// the tick in the taker's favour's opposite direction (never beyond the guard).
std::optional<int128> guarded_ticks(exact_decimal price, exact_decimal bps, engine::side taker,
                                    const engine::instrument& ins) noexcept {
  // price * (1 +- bps / 10^4) in ticks = P * (10^(4+gs) +- G) * 10^ps_ins
  //                                      / (10^(ps + 4 + gs) * tick_units)
  const int128 whole = pow10_wide(4 + bps.scale);
  const int128 factor = taker == engine::side::buy ? whole + bps.units : whole - bps.units;
  int128 num = 0;
  int128 den = 0;
  if (!mul(price.units, factor, num) || !mul(num, pow10_wide(ins.price_scale), num)) {
    return std::nullopt;
  }
  if (!mul(pow10_wide(price.scale + 4 + bps.scale), ins.tick_units, den)) return std::nullopt;
  if (taker == engine::side::buy) return num / den;
  return num / den + (num % den != 0 ? 1 : 0);
}

}  // namespace

std::optional<exact_decimal> parse_exact_decimal(std::string_view text) noexcept {
  for (int scale = 0; scale <= engine::kMaxDecimalScale; ++scale) {
    const engine::decimal_parse_result r = engine::parse_decimal(text, scale);
    if (r.ok()) return exact_decimal{r.units, scale};
    if (r.error != engine::decimal_errc::not_representable) return std::nullopt;
  }
  return std::nullopt;
}

std::string_view to_string(mapping_errc e) noexcept {
  switch (e) {
    case mapping_errc::ok:
      return "ok";
    case mapping_errc::unknown_symbol:
      return "unknown_symbol";
    case mapping_errc::bad_quantity:
      return "bad_quantity";
    case mapping_errc::bad_price:
      return "bad_price";
    case mapping_errc::below_lot:
      return "below_lot";
    case mapping_errc::above_max:
      return "above_max";
    case mapping_errc::price_out_of_range:
      return "price_out_of_range";
  }
  return "unknown";
}

trade_mapping trade_mapping::make(const feed_options& options,
                                  const std::vector<engine::instrument>& instruments) {
  trade_mapping m;
  if (options.symbol_map.empty()) throw std::invalid_argument("feed: the symbol map is empty");
  for (const auto& [source, target] : options.symbol_map) {
    if (!valid_source_symbol(source)) {
      throw std::invalid_argument("feed: bad source symbol \"" + source +
                                  "\" (expected 1-32 letters and digits, e.g. BTCUSDT)");
    }
    const auto it = std::find_if(instruments.begin(), instruments.end(),
                                 [&](const engine::instrument& i) { return i.symbol == target; });
    if (it == instruments.end()) {
      throw std::invalid_argument("feed: symbol " + source + " maps to unknown instrument \"" +
                                  target + "\"");
    }
    if (m.find(source) != nullptr) {
      throw std::invalid_argument("feed: symbol " + source + " is mapped twice");
    }
    route r;
    r.source_symbol.resize(source.size());
    std::transform(source.begin(), source.end(), r.source_symbol.begin(), upper);
    r.instrument = static_cast<engine::instrument_id>(it - instruments.begin());
    r.rules = *it;
    m.routes.push_back(std::move(r));
  }
  if (!engine::valid_id(options.client_id)) {
    throw std::invalid_argument("feed: bad client id \"" + options.client_id +
                                "\" (1-64 chars of [A-Za-z0-9._:-])");
  }
  m.client = engine::client_id::from(options.client_id);

  const auto scale = parse_exact_decimal(options.quantity_scale);
  if (!scale || scale->units <= 0) {
    throw std::invalid_argument("feed: quantity scale \"" + options.quantity_scale +
                                "\" is not a positive decimal");
  }
  m.quantity_scale = *scale;

  if (options.price_guard_bps) {
    const auto guard = parse_exact_decimal(*options.price_guard_bps);
    if (!guard || guard->scale > 8 ||
        static_cast<int128>(guard->units) >= 10'000 * pow10_wide(guard->scale)) {
      throw std::invalid_argument("feed: price guard \"" + *options.price_guard_bps +
                                  "\" is not a decimal number of basis points in [0, 10000) "
                                  "with at most 8 decimals");
    }
    m.price_guard_bps = *guard;
  }
  return m;
}

const trade_mapping::route* trade_mapping::find(std::string_view source_symbol) const noexcept {
  for (const route& r : routes) {
    if (equal_ignoring_case(r.source_symbol, source_symbol)) return &r;
  }
  return nullptr;
}

std::string feed_order_id(std::string_view source_symbol, std::uint64_t trade_id) {
  std::string id = "feed-";
  id.reserve(5 + source_symbol.size() + 21);
  std::transform(source_symbol.begin(), source_symbol.end(), std::back_inserter(id), upper);
  id += '-';
  id += std::to_string(trade_id);
  return id;
}

std::optional<engine::place_order> to_market_order(const parsed_trade& trade,
                                                   const trade_mapping& mapping,
                                                   engine::timestamp_us received_at,
                                                   mapping_errc* error) {
  const auto fail = [error](mapping_errc e) -> std::optional<engine::place_order> {
    if (error != nullptr) *error = e;
    return std::nullopt;
  };
  const trade_mapping::route* route = mapping.find(trade.symbol);
  if (route == nullptr) return fail(mapping_errc::unknown_symbol);
  const engine::instrument& ins = route->rules;

  const auto price = parse_exact_decimal(trade.price);
  if (!price || price->units <= 0) return fail(mapping_errc::bad_price);
  const auto quantity = parse_exact_decimal(trade.quantity);
  if (!quantity) return fail(mapping_errc::bad_quantity);

  const auto lots = scaled_lots(*quantity, mapping.quantity_scale, ins);
  if (!lots || *lots > ins.max_quantity.value) return fail(mapping_errc::above_max);
  if (*lots < ins.min_quantity.value || *lots <= 0) return fail(mapping_errc::below_lot);

  engine::place_order order;
  order.id = engine::order_id::from(feed_order_id(route->source_symbol, trade.trade_id));
  order.client = mapping.client;
  order.instrument = route->instrument;
  order.order_side = trade.taker_side();
  order.tif = engine::time_in_force::ioc;
  order.quantity = engine::quantity_lots{static_cast<std::int64_t>(*lots)};
  order.received_at = received_at;
  if (mapping.price_guard_bps) {
    const auto ticks = guarded_ticks(*price, *mapping.price_guard_bps, order.order_side, ins);
    if (!ticks || *ticks < 1 || *ticks > ins.max_price.value) {
      return fail(mapping_errc::price_out_of_range);
    }
    order.type = engine::order_type::limit;
    order.price = engine::price_ticks{static_cast<std::int64_t>(*ticks)};
  } else {
    order.type = engine::order_type::market;
  }
  if (error != nullptr) *error = mapping_errc::ok;
  return order;
}

}  // namespace matchd::feed
