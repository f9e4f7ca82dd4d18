#pragma once

#include <matchd/engine/order_book.h>
#include <matchd/engine/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace matchd::publish {

// One side of a book's aggregated depth as the level deltas describe it: the quantity and
// the number of orders resting at each price.
//
// The levels sit in a vector in the engine's level order (engine/level_order.h): worst
// price first, so the touch, where nearly every delta lands, is at the back. There an
// update is found in one or two cache lines and an insert or removal moves few elements; a
// balanced tree took a cache miss per node on every delta, the largest item of the publish
// thread's own time at 50,000 orders/s.
class price_ladder {
 public:
  // The engine's view of one aggregated level: price, quantity and order count.
  using level = engine::order_book::level_view;

  explicit price_ladder(engine::side s) noexcept : side_(s) {}

  // The level at `price` now holds `quantity` in `orders` orders. A zero quantity removes
  // it (and is a no-op for a price that has no level).
  void set(engine::price_ticks price, engine::quantity_lots quantity, std::uint32_t orders);

  // Replaces every level with `best_first`: distinct prices, best first, none empty. For
  // recovery, which reads a rebuilt book best first: set() would insert each at the front.
  void assign_best_first(std::span<const level> best_first);

  std::size_t level_count() const noexcept { return levels_.size(); }
  // The orders resting on this side: the sum over its levels.
  std::uint64_t order_count() const noexcept { return orders_; }

  // Calls f(const level&) for the best `max_levels` levels, best first.
  template <class F>
  void for_each_best_first(std::size_t max_levels, F&& f) const {
    std::size_t n = 0;
    for (auto it = levels_.rbegin(); it != levels_.rend() && n < max_levels; ++it, ++n) f(*it);
  }

 private:
  engine::side side_;
  std::vector<level> levels_;  // worst first, best at the back
  std::uint64_t orders_ = 0;
};

}  // namespace matchd::publish
