#include <matchd/feed/backoff.h>

#include <algorithm>

namespace matchd::feed {

reconnect_backoff::reconnect_backoff(std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max, std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      random_(seed) {}

std::chrono::milliseconds reconnect_backoff::ceiling() const noexcept {
  // Doubling stops once it passes the cap, so this never overflows.
  std::chrono::milliseconds c = initial_;
  for (unsigned i = 0; i < failures_ && c < max_; ++i) c *= 2;
  return std::min(c, max_);
}

std::chrono::milliseconds reconnect_backoff::next() {
  const std::chrono::milliseconds cap = ceiling();
  ++failures_;
  std::uniform_int_distribution<std::int64_t> pick(0, cap.count());
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace matchd::feed
