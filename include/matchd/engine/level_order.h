#pragma once

#include <matchd/engine/types.h>

#include <algorithm>
#include <cstddef>

namespace matchd::engine {

// How a side's price levels are kept in a vector: worst price first and the best at the
// back (ascending for bids, descending for asks). The touch, where nearly every add, fill
// and cancel lands, is then at the end, where inserts and removals move few elements. The
// engine's book and the publish stage's depth view both keep their levels this way.

// True when `a` is further from the touch than `b` on side `s`.
constexpr bool worse_price(side s, price_ticks a, price_ticks b) noexcept {
  return s == side::buy ? a < b : a > b;
}

// In levels [first, last) ordered as above, the first whose price is not worse than `p`:
// the level at `p` if there is one, otherwise where it would be inserted. `price_of(level)`
// gives a level's price. The few levels nearest the touch are looked at first; only a price
// deeper in the book pays for a binary search.
template <class It, class PriceOf>
It touch_first_lower_bound(It first, It last, side s, price_ticks p, PriceOf price_of) {
  constexpr std::size_t kNearTouch = 8;
  It it = last;
  for (std::size_t scanned = 0; scanned < kNearTouch; ++scanned) {
    if (it == first || worse_price(s, price_of(*(it - 1)), p)) return it;
    --it;
  }
  return std::lower_bound(first, it, p, [s, &price_of](const auto& level, price_ticks v) {
    return worse_price(s, price_of(level), v);
  });
}

}  // namespace matchd::engine
