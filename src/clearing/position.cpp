#include <matchd/clearing/position.h>
#include <matchd/engine/decimal.h>

namespace matchd::clearing {

quote_scale quote_scale::of(const engine::instrument& ins) noexcept {
  return {ins.tick_units, ins.lot_units, engine::pow10(ins.quantity_scale)};
}

namespace {

int128 magnitude(int128 v) noexcept {
  return v < 0 ? -v : v;
}

// n / d rounded half away from zero; d > 0.
int128 divide_rounded(int128 n, int128 d) noexcept {
  const int128 q = (2 * magnitude(n) + d) / (2 * d);
  return n < 0 ? -q : q;
}

// cost x part / whole, rounded half away from zero, without forming cost x part (which could
// pass 128 bits): whole quotients first, then the remainder's share. 0 < part <= whole.
int128 share(int128 cost, std::int64_t part, std::int64_t whole) noexcept {
  return cost / whole * part + divide_rounded(cost % whole * part, whole);
}

}  // namespace

void position::apply(const fill& f, const quote_scale& scale) noexcept {
  const int128 price = static_cast<int128>(f.price.value) * scale.tick_units;
  const std::int64_t quantity = f.quantity.value;
  const bool buy = f.fill_side == engine::side::buy;
  const int128 notional = price * quantity * scale.lot_units;

  quote += buy ? -notional : notional;
  quote -= static_cast<int128>(f.fee) * scale.fee_to_quote;
  fees += f.fee;
  (buy ? bought : sold) += quantity;
  ++trades;
  updated_at = f.at;
  last_trade = f.trade;

  if (base == 0 || (base > 0) == buy) {  // opens or adds
    cost += buy ? notional : -notional;
    base += buy ? quantity : -quantity;
    return;
  }
  const std::int64_t held = base < 0 ? -base : base;
  const std::int64_t closed = quantity < held ? quantity : held;
  const int128 closed_cost = closed == held ? cost : share(cost, closed, held);
  const int128 closed_value = price * closed * scale.lot_units;
  realized += (base > 0 ? closed_value : -closed_value) - closed_cost;
  cost -= closed_cost;
  base += buy ? quantity : -quantity;
  if (quantity > held) {  // flipped: the rest opens at the fill's price
    const int128 rest = price * (quantity - held) * scale.lot_units;
    cost = buy ? rest : -rest;
  }
}

std::int64_t position::average_entry(const quote_scale& scale) const noexcept {
  if (base == 0) return 0;
  const int128 units = magnitude(static_cast<int128>(base)) * scale.lot_units;
  return static_cast<std::int64_t>((2 * magnitude(cost) + units) / (2 * units));
}

int128 position::unrealized(std::int64_t mark, const quote_scale& scale) const noexcept {
  if (base == 0) return 0;
  return static_cast<int128>(mark) * base * scale.lot_units - cost;
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
