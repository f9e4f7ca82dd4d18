#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <optional>

namespace matchd::clearing {

using engine::int128;

// An instrument's amounts in the units a position keeps them, so every sum is exact:
//   - prices in price units (value x 10^price_scale): a trade's price is ticks x tick_units,
//     and the average entry price, which need not be on a tick, is kept at that precision;
//   - base quantities in lots;
//   - quote amounts (cash, PnL) in quote units at price_scale + quantity_scale decimals, where
//     price units x lots x lot_units is exact (the candles' quote_volume precision);
//   - fees as the engine charged them, in price units (quote at the price precision).
struct quote_scale {
  std::int64_t tick_units = 1;
  std::int64_t lot_units = 1;
  std::int64_t fee_to_quote = 1;  // 10^quantity_scale: a fee unit in quote units

  static quote_scale of(const engine::instrument& ins) noexcept;
};

// One side of one trade, as its client's position sees it.
struct fill {
  engine::side fill_side = engine::side::buy;
  engine::price_ticks price{};
  engine::quantity_lots quantity{};
  std::int64_t fee = 0;  // price units
  engine::trade_id trade = 0;
  engine::timestamp_us at = 0;
};

// A client's position in one instrument, average-cost (docs/api.md, "Positions and PnL"),
// kept as its cost basis so that PnL is exact:
//   - a fill that adds to the position (or opens it) adds its notional to the cost;
//   - a fill that reduces it realizes the fill's value less the closed part's share of the
//     cost (cost x closed / held, rounded half away from zero to the quote unit; the whole
//     cost when the position closes, so a position that goes flat has realized exactly the
//     cash it moved, fees aside);
//   - a fill that flips the sign closes the whole position first, then opens the rest at the
//     fill's price.
// The average entry price is the cost per unit held, rounded half up to the price precision:
// shown, never used to compute. The cash (`quote`) moves by the notional and the fee, so per
// instrument the clients' base sums to zero and their cash to minus the fees.
struct position {
  std::int64_t base = 0;  // lots, signed: long above zero
  int128 quote = 0;       // quote units: sells add, buys and fees take away
  int128 cost = 0;        // quote units, signed like base: the open position's cost; 0 flat
  int128 realized = 0;    // quote units, gross of fees
  int128 fees = 0;        // price units
  int128 bought = 0;      // lots
  int128 sold = 0;        // lots
  std::int64_t trades = 0;
  engine::timestamp_us updated_at = 0;
  engine::trade_id last_trade = 0;  // the newest trade in it

  bool operator==(const position&) const = default;

  void apply(const fill& f, const quote_scale& scale) noexcept;
  bool flat() const noexcept { return base == 0; }
  // The cost per unit held in price units, rounded half up; 0 when flat.
  std::int64_t average_entry(const quote_scale& scale) const noexcept;
  // At `mark` (price units): the position's value there less its cost, in quote units; 0
  // when flat.
  int128 unrealized(std::int64_t mark, const quote_scale& scale) const noexcept;
};

// A trade as both its sides' fills: the maker pays maker_fee, the taker taker_fee.
fill buyer_fill(const engine::trade& t) noexcept;
fill seller_fill(const engine::trade& t) noexcept;

}  // namespace matchd::clearing
