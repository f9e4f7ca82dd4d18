#pragma once

#include <matchd/engine/command.h>
#include <matchd/engine/errc.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/order_book.h>

#include <optional>

namespace matchd::engine {

// What an instrument's rules mean to a placement, precomputed from engine::instrument so the
// order path reads one small struct: the trading status, the band and the max notional.
struct instrument_rules {
  bool halted = false;
  std::uint32_t band_bps = 0;
  // max_notional_units as price ticks x quantity lots (what order::notional counts); 0: none.
  int128 max_notional_tick_lots = 0;

  static instrument_rules of(const instrument& ins) noexcept;
  bool constrains() const noexcept { return band_bps != 0 || max_notional_tick_lots != 0; }
};

struct rules_check {
  errc error = errc::ok;
  order_book::taker_limits limits;  // for a market order: where it must stop
};

// The venue's rules for one placement on an instrument that is trading:
//   - a limit order worth more than the max notional (price x quantity) is notional_too_large;
//   - with a band and a reference price, a limit price more than band_bps from the reference is
//     price_out_of_band (no reference: no band check);
//   - a market order is never refused here: it gets the limits it stops at, the band's far edge
//     (a buy never pays above reference x (1 + band), a sell never sells below
//     reference x (1 - band)) and the max notional of its fills.
rules_check check_rules(const instrument_rules& rules, const place_order& cmd,
                        std::optional<price_ticks> reference) noexcept;

// The band's edges around `reference`, inclusive: the highest price a buy may reach and the
// lowest a sell may (at least one tick).
price_ticks band_ceiling(price_ticks reference, std::uint32_t band_bps) noexcept;
price_ticks band_floor(price_ticks reference, std::uint32_t band_bps) noexcept;

}  // namespace matchd::engine
