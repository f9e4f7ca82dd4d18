#include <matchd/engine/venue_rules.h>

#include <algorithm>
#include <limits>

namespace matchd::engine {

namespace {
constexpr std::int64_t kBpsPerUnit = 10'000;
}  // namespace

instrument_rules instrument_rules::of(const instrument& ins) noexcept {
  instrument_rules r;
  r.band_bps = ins.band_bps;
  if (ins.max_notional_units > 0) {
    // price_units x quantity_units <= max_units x 10^quantity_scale, in ticks and lots.
    const int128 limit = static_cast<int128>(ins.max_notional_units) * pow10(ins.quantity_scale);
    r.max_notional_tick_lots = limit / (static_cast<int128>(ins.tick_units) * ins.lot_units);
    if (r.max_notional_tick_lots == 0) r.max_notional_tick_lots = -1;  // nothing fits
  }
  return r;
}

price_ticks band_ceiling(price_ticks reference, std::uint32_t band_bps) noexcept {
  const int128 edge = static_cast<int128>(reference.value) * (kBpsPerUnit + band_bps) / kBpsPerUnit;
  // A wide band over a price near the top of int64 reaches past it: no price is that high,
  // so the ceiling is the highest there is, not a wrapped (negative) one.
  return price_ticks{
      static_cast<std::int64_t>(std::min<int128>(edge, std::numeric_limits<std::int64_t>::max()))};
}

price_ticks band_floor(price_ticks reference, std::uint32_t band_bps) noexcept {
  if (band_bps >= kBpsPerUnit) return price_ticks{1};
  const int128 scaled = static_cast<int128>(reference.value) * (kBpsPerUnit - band_bps);
  const int128 edge = (scaled + kBpsPerUnit - 1) / kBpsPerUnit;  // rounded up: inside the band
  return price_ticks{std::max<std::int64_t>(1, static_cast<std::int64_t>(edge))};
}

rules_check check_rules(const instrument_rules& rules, const place_order& cmd,
                        std::optional<price_ticks> reference) noexcept {
  rules_check r;
  const bool banded = rules.band_bps != 0 && reference.has_value();
  if (cmd.type == order_type::market) {
    if (banded) {
      r.limits.worst_price = cmd.order_side == side::buy ? band_ceiling(*reference, rules.band_bps)
                                                         : band_floor(*reference, rules.band_bps);
    }
    r.limits.max_notional = rules.max_notional_tick_lots;
    return r;
  }
  if (rules.max_notional_tick_lots != 0 &&
      static_cast<int128>(cmd.price.value) * cmd.quantity.value > rules.max_notional_tick_lots) {
    r.error = errc::notional_too_large;
    return r;
  }
  if (banded && (cmd.price > band_ceiling(*reference, rules.band_bps) ||
                 cmd.price < band_floor(*reference, rules.band_bps))) {
    r.error = errc::price_out_of_band;
  }
  return r;
}

}  // namespace matchd::engine
