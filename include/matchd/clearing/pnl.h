#pragma once

#include <matchd/clearing/position.h>
#include <matchd/engine/instrument.h>

#include <optional>
#include <span>
#include <vector>

namespace matchd::clearing {

// One instrument's part of a client's PnL at one time: the position then (its base, cost,
// realized PnL and fees; the other fields unused) and the mark then, in price units (none
// before the instrument's first trade).
struct pnl_part {
  engine::instrument_id instrument = 0;
  position held;
  std::optional<std::int64_t> mark;

  // In quote units of the instrument (price + quantity decimals): 0 without a mark.
  int128 unrealized(const quote_scale& scale) const noexcept {
    return mark ? held.unrealized(*mark, scale) : 0;
  }
};

// A client's PnL over all its instruments at one time, at the finest precision among them
// (`decimals`: the most price + quantity decimals), so that adding them is exact. `net` is
// realized + unrealized - fees: what the client made. The sum assumes the instruments share
// their quote asset, as matchd's instruments do not name one (docs/api.md).
struct pnl_total {
  int decimals = 0;
  int128 realized = 0;
  int128 unrealized = 0;
  int128 fees = 0;
  int128 net = 0;
};

// `parts` name instruments by their index in `instruments`.
pnl_total sum_pnl(std::span<const pnl_part> parts,
                  const std::vector<engine::instrument>& instruments) noexcept;

}  // namespace matchd::clearing
