#pragma once

// A position kept the way docs/api.md states the method, written apart from
// clearing::position: each fill is split into the part that closes the position and the part
// that opens or adds to it. Tests compare the two on long random histories.

#include <matchd/engine/types.h>

#include <cstdint>

namespace matchd::clearing::test_support {

struct reference_position {
  std::int64_t quantity = 0;  // signed lots
  std::int64_t average = 0;   // price units, 0 when flat
  engine::int128 realized = 0;
  engine::int128 cash = 0;
  engine::int128 fees = 0;

  // `price` in price units, `lots` > 0, `fee` in price units; lot_units and fee_to_quote as
  // clearing::quote_scale has them.
  void fill(bool buy, std::int64_t price, std::int64_t lots, std::int64_t fee,
            std::int64_t lot_units, std::int64_t fee_to_quote) {
    std::int64_t delta = buy ? lots : -lots;
    cash -= static_cast<engine::int128>(delta) * price * lot_units;
    cash -= static_cast<engine::int128>(fee) * fee_to_quote;
    fees += fee;

    std::int64_t closing = 0;
    if (quantity > 0 && delta < 0) closing = quantity < -delta ? quantity : -delta;
    if (quantity < 0 && delta > 0) closing = -quantity < delta ? -quantity : delta;
    if (closing != 0) {
      const engine::int128 per_lot = static_cast<engine::int128>(price - average) * lot_units;
      realized += quantity > 0 ? per_lot * closing : -per_lot * closing;
      quantity += quantity > 0 ? -closing : closing;
      delta += delta > 0 ? -closing : closing;
      if (quantity == 0) average = 0;
    }
    if (delta != 0) {
      const engine::int128 held = quantity < 0 ? -quantity : quantity;
      const engine::int128 added = delta < 0 ? -delta : delta;
      const engine::int128 cost = static_cast<engine::int128>(average) * held + price * added;
      // Half up: floor(cost / total + 1/2).
      average = static_cast<std::int64_t>((cost * 2 + held + added) / ((held + added) * 2));
      quantity += delta;
    }
  }

  engine::int128 unrealized(std::int64_t mark, std::int64_t lot_units) const {
    return static_cast<engine::int128>(mark - average) * quantity * lot_units;
  }
};

}  // namespace matchd::clearing::test_support
