#pragma once

// A position kept the way docs/api.md states the method, written apart from
// clearing::position: each fill is split into the part that closes the position and the part
// that opens or adds to it, and the closed part's cost is taken as one product. Tests compare
// the two on long random histories.

#include <matchd/engine/types.h>

#include <cstdint>

namespace matchd::clearing::test_support {

struct reference_position {
  std::int64_t quantity = 0;  // signed lots
  engine::int128 cost = 0;    // quote units, signed like quantity
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
      const std::int64_t held = quantity < 0 ? -quantity : quantity;
      // The closed part's cost: cost x closing / held, half away from zero.
      const engine::int128 product = cost * closing;
      const engine::int128 magnitude = product < 0 ? -product : product;
      engine::int128 part = (magnitude * 2 + held) / (2 * static_cast<engine::int128>(held));
      if (product < 0) part = -part;
      const engine::int128 value = static_cast<engine::int128>(price) * closing * lot_units;
      realized += (quantity > 0 ? value : -value) - part;
      cost -= part;
      quantity += quantity > 0 ? -closing : closing;
      delta += delta > 0 ? -closing : closing;
    }
    if (delta != 0) {
      cost += static_cast<engine::int128>(delta) * price * lot_units;
      quantity += delta;
    }
  }

  // The cost per unit held, half up, in price units; 0 when flat.
  std::int64_t average(std::int64_t lot_units) const {
    if (quantity == 0) return 0;
    const engine::int128 units =
        static_cast<engine::int128>(quantity < 0 ? -quantity : quantity) * lot_units;
    const engine::int128 c = cost < 0 ? -cost : cost;
    return static_cast<std::int64_t>((2 * c + units) / (2 * units));
  }

  engine::int128 unrealized(std::int64_t mark, std::int64_t lot_units) const {
    if (quantity == 0) return 0;
    return static_cast<engine::int128>(mark) * quantity * lot_units - cost;
  }
};

}  // namespace matchd::clearing::test_support
