#include <matchd/clearing/position.h>
#include <matchd/engine/decimal.h>

namespace matchd::clearing {

quote_scale quote_scale::of(const engine::instrument& ins) noexcept {
  return {ins.tick_units, ins.lot_units, engine::pow10(ins.quantity_scale)};
}

namespace {

std::int64_t magnitude(std::int64_t v) noexcept {
  return v < 0 ? -v : v;
}

// n / d rounded half up; n >= 0, d > 0.
std::int64_t divide_half_up(int128 n, int128 d) noexcept {
  return static_cast<std::int64_t>((2 * n + d) / (2 * d));
}

}  // namespace

void position::apply(const fill& f, const quote_scale& scale) noexcept {
  const std::int64_t price = f.price.value * scale.tick_units;
  const std::int64_t quantity = f.quantity.value;
  const std::int64_t signed_quantity = f.fill_side == engine::side::buy ? quantity : -quantity;
  const int128 notional = static_cast<int128>(price) * quantity * scale.lot_units;

  quote += f.fill_side == engine::side::buy ? -notional : notional;
  quote -= static_cast<int128>(f.fee) * scale.fee_to_quote;
  fees += f.fee;
  (f.fill_side == engine::side::buy ? bought : sold) += quantity;
  ++trades;
  updated_at = f.at;
  last_trade = f.trade;

  const bool adds = base == 0 || (base > 0) == (signed_quantity > 0);
  if (adds) {
    const std::int64_t held = magnitude(base);
    average_entry = divide_half_up(
        static_cast<int128>(average_entry) * held + static_cast<int128>(price) * quantity,
        held + quantity);
    base += signed_quantity;
    return;
  }
  const std::int64_t held = magnitude(base);
  const std::int64_t closed = quantity < held ? quantity : held;
  const int128 gain_per_lot = static_cast<int128>(price - average_entry) * scale.lot_units;
  realized += (base > 0 ? gain_per_lot : -gain_per_lot) * closed;
  base += signed_quantity;
  if (base == 0) {
    average_entry = 0;
  } else if (quantity > held) {
    average_entry = price;  // flipped: the rest opens at the fill's price
  }
}

int128 position::unrealized(std::int64_t mark, const quote_scale& scale) const noexcept {
  if (base == 0) return 0;
  return static_cast<int128>(mark - average_entry) * base * scale.lot_units;
}

fill buyer_fill(const engine::trade& t) noexcept {
  return {engine::side::buy,
          t.price,
          t.quantity,
          t.aggressor == engine::side::buy ? t.taker_fee : t.maker_fee,
          t.id,
          t.executed_at};
}

fill seller_fill(const engine::trade& t) noexcept {
  return {engine::side::sell,
          t.price,
          t.quantity,
          t.aggressor == engine::side::sell ? t.taker_fee : t.maker_fee,
          t.id,
          t.executed_at};
}

}  // namespace matchd::clearing
