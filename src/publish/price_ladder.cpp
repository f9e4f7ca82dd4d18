#include <matchd/engine/level_order.h>
#include <matchd/publish/price_ladder.h>

namespace matchd::publish {

void price_ladder::set(engine::price_ticks price, engine::quantity_lots quantity,
                       std::uint32_t orders) {
  const auto it = engine::touch_first_lower_bound(levels_.begin(), levels_.end(), side_, price,
                                                  [](const level& l) { return l.price; });
  const bool present = it != levels_.end() && it->price == price;
  if (present) orders_ -= it->orders;
  if (quantity.value == 0) {
    if (present) levels_.erase(it);
    return;
  }
  orders_ += orders;
  if (present) {
    it->quantity = quantity;
    it->orders = orders;
  } else {
    levels_.insert(it, level{price, quantity, orders});
  }
}

void price_ladder::assign_best_first(std::span<const level> best_first) {
  levels_.assign(best_first.rbegin(), best_first.rend());
  orders_ = 0;
  for (const level& l : levels_) orders_ += l.orders;
}

}  // namespace matchd::publish
