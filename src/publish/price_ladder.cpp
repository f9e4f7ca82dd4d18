#include <matchd/publish/price_ladder.h>

#include <algorithm>

namespace matchd::publish {

std::vector<price_ladder::level>::iterator price_ladder::position_of(engine::price_ticks price) {
  // Look near the touch first; only a delta deep in the book pays for a binary search.
  constexpr std::size_t kNearTouch = 8;
  auto it = levels_.end();
  for (std::size_t scanned = 0; scanned < kNearTouch; ++scanned) {
    if (it == levels_.begin() || worse((it - 1)->price, price)) return it;
    --it;
  }
  return std::lower_bound(
      levels_.begin(), it, price,
      [this](const level& l, engine::price_ticks p) { return worse(l.price, p); });
}

void price_ladder::set(engine::price_ticks price, engine::quantity_lots quantity,
                       std::uint32_t orders) {
  const auto it = position_of(price);
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
