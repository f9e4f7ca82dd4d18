#include <matchd/bus/backoff.h>

#include <algorithm>

namespace matchd::bus {

retry_backoff::retry_backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                             jitter kind, std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      kind_(kind),
      random_(seed) {}

std::chrono::milliseconds retry_backoff::ceiling() const noexcept {
  // Doubling stops once it passes the cap, so this never overflows.
  std::chrono::milliseconds c = initial_;
  for (unsigned i = 0; i < failures_ && c < max_; ++i) c *= 2;
  return std::min(c, max_);
}

std::chrono::milliseconds retry_backoff::next() {
  const std::int64_t cap = ceiling().count();
  ++failures_;
  const std::int64_t low = kind_ == jitter::equal ? cap / 2 : 0;
  std::uniform_int_distribution<std::int64_t> pick(low, cap);
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace matchd::bus
